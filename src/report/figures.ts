// The figures the benchmark commands write beside their tables: utility over rounds, utility
// against bandwidth, and reconstruction quality per defense. Plain data in, LinePlotSpec out, so
// the commands stay free of drawing and the figures can be rebuilt from saved JSON.
import type { LinePlotSpec, PlotSeries } from './svg.js';

export interface CurveInput {
  label: string;
  curve: readonly { round: number; trainLoss: number; testAccuracy?: number }[];
}

/** Test accuracy (%) per evaluated round, one line per configuration; null when no run was evaluated twice. */
export function accuracyFigure(rows: readonly CurveInput[], title: string): LinePlotSpec | null {
  const series: PlotSeries[] = rows.map((r) => ({
    name: r.label,
    points: r.curve.filter((c) => c.testAccuracy !== undefined).map((c) => [c.round, 100 * c.testAccuracy!] as const),
  }));
  if (!series.some((s) => s.points.length > 1)) return null;
  return { series, title, xLabel: 'round', yLabel: 'test accuracy (%)' };
}

/** Training loss per round (a moving mean over `window` rounds), one line per configuration. */
export function lossFigure(rows: readonly CurveInput[], title: string, window = 10): LinePlotSpec {
  const series: PlotSeries[] = rows.map((r) => ({
    name: r.label,
    points: r.curve.map((c, i) => {
      const from = Math.max(0, i - window + 1);
      const part = r.curve.slice(from, i + 1);
      return [c.round, part.reduce((s, p) => s + p.trainLoss, 0) / part.length] as const;
    }),
  }));
  return { series, title, xLabel: 'round', yLabel: `training loss (mean of ${window} rounds)`, markers: false };
}

export interface TradeoffInput {
  label: string;
  testAccuracy: number;
  upPerClient: number;
  downPerClient: number;
}

/** Final test accuracy against megabytes per client (up + down): one point per configuration. */
export function bandwidthFigure(rows: readonly TradeoffInput[], title: string): LinePlotSpec {
  const most = Math.max(...rows.map((r) => (r.upPerClient + r.downPerClient) / 1e6));
  return {
    // From zero, and a margin past the largest, so no point sits on the frame.
    xRange: [0, most * 1.1],
    series: rows.map((r) => ({ name: r.label, points: [[(r.upPerClient + r.downPerClient) / 1e6, 100 * r.testAccuracy]] })),
    title,
    xLabel: 'MB per client, up + down, whole run',
    yLabel: 'final test accuracy (%)',
    markers: true,
  };
}

export interface PrivacyInput {
  attack: string;
  defense: string;
  psnr: number;
}

/**
 * PSNR per defense (categories, named without their parenthesised details so the axis stays
 * legible), one line per attack, dashed for mask-aware ones; exact read-outs are capped for the axis.
 */
export function privacyFigure(rows: readonly PrivacyInput[], title: string, cap = 60): LinePlotSpec {
  const short = (d: string) => d.replace(/\s*\(.*\)$/, '');
  rows = rows.map((r) => ({ ...r, defense: short(r.defense) }));
  const defenses = [...new Set(rows.map((r) => r.defense))];
  const attacks = [...new Set(rows.map((r) => r.attack))];
  return {
    series: attacks.map((a) => ({
      name: a,
      dashed: a.endsWith('-mask'),
      points: rows.filter((r) => r.attack === a).map((r) => [defenses.indexOf(r.defense), Math.min(cap, r.psnr)] as const),
    })),
    xCategories: defenses,
    title,
    yLabel: `mean PSNR (dB, capped at ${cap})`,
    markers: true,
  };
}
