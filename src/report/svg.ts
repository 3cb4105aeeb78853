// Line plots as standalone SVG text: no browser, no canvas, viewable anywhere and easy to diff.
// Enough for the figures this project needs (test accuracy per round for several defenses,
// PSNR per defense): axes with round-number ticks, labels, a legend, several series.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PlotSeries {
  name: string;
  /** [x, y] pairs; a non-finite y breaks the line there (e.g. an infinite PSNR). */
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
}

export interface LinePlotSpec {
  series: readonly PlotSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Names for x = 0, 1, 2...: turns the x axis into categories (e.g. defenses). */
  xCategories?: readonly string[];
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Draw a dot at every point (default: when no series has more than 40 points). */
  markers?: boolean;
}

/** matplotlib's tab10 colours, so figures look familiar next to the Python tools' own. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A round step (1, 2 or 5 times a power of ten) giving about `target` intervals over [min, max]. */
export function niceStep(min: number, max: number, target = 5): number {
  // d3's rule: the power of ten below the rough step, times 1, 2, 5 or 10 whichever is nearest
  // (geometrically) to the rough step.
  const rough = (max - min) / Math.max(1, target);
  const base = 10 ** Math.floor(Math.log10(rough));
  const ratio = rough / base;
  return base * (ratio >= Math.sqrt(50) ? 10 : ratio >= Math.sqrt(10) ? 5 : ratio >= Math.SQRT2 ? 2 : 1);
}

/** Ticks at multiples of a round step, about `target` of them, inside [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max)) || max <= min) return [min];
  const step = niceStep(min, max, target);
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    ticks.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  }
  return ticks;
}

function tickLabel(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(v) || 1;
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

function extent(values: number[], fallback: readonly [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [fallback[0], fallback[1]];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  return [lo, hi];
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

/** The plot as SVG text. */
export function linePlotSvg(spec: LinePlotSpec): string {
  const cats = spec.xCategories;
  const legendWidth = spec.series.length ? 36 + 7 * Math.max(...spec.series.map((s) => s.name.length)) : 0;
  // By default the plot area keeps about 460 px however long the legend's names are.
  const width = spec.width ?? Math.max(640, 540 + legendWidth);
  const height = spec.height ?? 400;
  const margin = { left: 64, right: 16 + legendWidth, top: spec.title ? 36 : 16, bottom: spec.xLabel ? 52 : 36 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  if (plotW < 40 || plotH < 40) throw new Error(`line plot: ${width}x${height} leaves no room to plot`);

  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = spec.xRange ?? (cats ? [-0.5, cats.length - 0.5] : extent(xs, [0, 1]));
  let [y0, y1] = spec.yRange ?? extent(ys, [0, 1]);
  const yTarget = Math.max(2, Math.round(plotH / 60));
  if (!spec.yRange) {
    // out to the next round values, so the data never touches the frame
    const step = niceStep(y0, y1, yTarget);
    y0 = Math.floor(y0 / step + 1e-9) * step;
    y1 = Math.ceil(y1 / step - 1e-9) * step;
  }
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const xTicks = cats ? cats.map((_, i) => i) : niceTicks(x0, x1, Math.max(2, Math.round(plotW / 90)));
  const yTicksShown = niceTicks(y0, y1, yTarget);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  if (spec.title) out.push(`<text x="${fmt(width / 2)}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`);
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const t of yTicksShown) out.push(`<line x1="${margin.left}" x2="${fmt(margin.left + plotW)}" y1="${fmt(sy(t))}" y2="${fmt(sy(t))}"/>`);
  out.push('</g>');
  out.push('<g class="axes" stroke="#333" stroke-width="1" fill="none">');
  out.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${fmt(margin.top + plotH)}"/>`);
  out.push(`<line x1="${margin.left}" x2="${fmt(margin.left + plotW)}" y1="${fmt(margin.top + plotH)}" y2="${fmt(margin.top + plotH)}"/>`);
  out.push('</g>');
  out.push('<g class="ticks" fill="#333">');
  for (const t of yTicksShown) {
    out.push(`<line x1="${margin.left - 4}" x2="${margin.left}" y1="${fmt(sy(t))}" y2="${fmt(sy(t))}" stroke="#333"/>`);
    out.push(`<text x="${margin.left - 7}" y="${fmt(sy(t) + 4)}" text-anchor="end">${escapeXml(tickLabel(t, yTicksShown))}</text>`);
  }
  for (const t of xTicks) {
    const label = cats ? cats[t]! : tickLabel(t, xTicks);
    const x = fmt(sx(t));
    out.push(`<line x1="${x}" x2="${x}" y1="${fmt(margin.top + plotH)}" y2="${fmt(margin.top + plotH + 4)}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${fmt(margin.top + plotH + 18)}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  out.push('</g>');
  if (spec.xLabel) out.push(`<text x="${fmt(margin.left + plotW / 2)}" y="${height - 12}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  if (spec.yLabel) {
    const cy = fmt(margin.top + plotH / 2);
    out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeXml(spec.yLabel)}</text>`);
  }

  const markers = spec.markers ?? spec.series.every((s) => s.points.length <= 40);
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p[0]));
    let d = '';
    let pen = false;
    for (const [x, y] of pts) {
      if (!Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${fmt(sx(x))},${fmt(sy(y))}`;
      pen = true;
    }
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    out.push(`<title>${escapeXml(s.name)}</title>`);
    if (d) out.push(`<path d="${d}" fill="none" stroke="${escapeXml(color)}" stroke-width="2"${dash}/>`);
    if (markers) {
      for (const [x, y] of pts) {
        if (Number.isFinite(y)) out.push(`<circle cx="${fmt(sx(x))}" cy="${fmt(sy(y))}" r="3" fill="${escapeXml(color)}"/>`);
      }
    }
    out.push('</g>');
  });

  out.push('<g class="legend">');
  spec.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const lx = width - legendWidth - 4;
    const ly = margin.top + 10 + i * 18;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${escapeXml(color)}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function writeLinePlot(path: string, spec: LinePlotSpec): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, linePlotSvg(spec));
}
