// Defenses side by side on the same federated run (same data, partition, model, seed and rounds):
// final test accuracy, bytes per client up and down as counted on the wire, and the relative
// gradient distance the defense left. The paper's claim to check: DGP with error feedback ends
// within about a point of undefended training while uploading about a quarter of the bytes.
import type { DatasetSplits } from '../data/index.js';
import { markdownTable } from '../report/index.js';
import { runFederated } from './run.js';
import type { FederatedSpec } from './spec.js';

export interface CompareConfig {
  label: string;
  defense: FederatedSpec['defense'];
  /** PRECODE's bottleneck on the run's model (a defense that changes the model rather than the update). */
  precode?: { k: number; beta: number };
}

/** Rows `dgp compare --also` adds after the six: defenses from other papers. */
export const EXTRA_COMPARE_ROWS = ['precode', 'outpost'] as const;

export function extraConfigs(names: readonly (typeof EXTRA_COMPARE_ROWS)[number][], o: { precode: { k: number; beta: number } }): CompareConfig[] {
  return names.map((n) =>
    n === 'precode'
      ? { label: `PRECODE (K ${o.precode.k}, β ${o.precode.beta}), dense updates`, defense: { name: 'none', options: {} }, precode: o.precode }
      : { label: 'Outpost (prune < 80th pct, φ 40 %, noise 0.8, decay 0.125)', defense: { name: 'outpost', options: {} } },
  );
}

/** The six configurations of the comparison; `dp` sets the DP row's clip and noise multiplier. */
export function defaultConfigs(dp: { clip: number; noiseMultiplier: number }): CompareConfig[] {
  return [
    { label: 'undefended', defense: { name: 'none', options: {} } },
    { label: 'DGP 5 %/20 %, error feedback', defense: { name: 'dgp', options: { pTop: 0.05, pKeep: 0.2 } } },
    { label: 'DGP 5 %/20 %, no error feedback', defense: { name: 'dgp', options: { pTop: 0.05, pKeep: 0.2, ef: false } } },
    { label: 'ADGP 5 %/20 %, error feedback', defense: { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } } },
    { label: 'Top-k 20 %, error feedback', defense: { name: 'topk', options: { fraction: 0.2 } } },
    { label: `DP Gaussian, clip ${dp.clip}, noise ${dp.noiseMultiplier} x clip`, defense: { name: 'dp', options: { ...dp, mechanism: 'gaussian' } } },
  ];
}

export interface CompareRow {
  label: string;
  defense: FederatedSpec['defense'];
  testAccuracy: number;
  /** Mean over clients of the bytes each sent (up) and received (down) over the whole run. */
  upPerClient: number;
  downPerClient: number;
  /** Mean over rounds of the round's mean relative gradient distance. */
  relGradDistance: number;
  seconds: number;
  /** Per round: training loss, and test accuracy where evaluated (the spec's evalEvery). */
  curve: { round: number; trainLoss: number; testAccuracy?: number }[];
}

export async function compareDefenses(
  base: Omit<FederatedSpec, 'defense'>,
  data: DatasetSplits,
  configs: readonly CompareConfig[],
  onRound?: (config: CompareConfig, round: number, rounds: number) => void,
): Promise<CompareRow[]> {
  const rows: CompareRow[] = [];
  for (const c of configs) {
    const t0 = performance.now();
    const model = c.precode ? { ...base.model, precode: c.precode } : base.model;
    const r = await runFederated({ ...base, model, defense: c.defense }, data, { onRound: (e, rounds) => onRound?.(c, e.round, rounds) });
    const dist = r.history.map((e) => e.relGradDistance ?? NaN);
    rows.push({
      label: c.label,
      defense: c.defense,
      testAccuracy: r.testAccuracy,
      upPerClient: mean(r.bytesUp),
      downPerClient: mean(r.bytesDown),
      relGradDistance: mean(dist),
      seconds: (performance.now() - t0) / 1000,
      curve: r.history.map((e) => ({ round: e.round, trainLoss: e.trainLoss, ...(e.testAccuracy !== undefined ? { testAccuracy: e.testAccuracy } : {}) })),
    });
  }
  return rows;
}

/** One row per configuration; the shares compare with the first row (the undefended run). */
export function comparisonTable(rows: readonly CompareRow[]): string {
  const ref = rows[0]!;
  const mb = (b: number) => (b / 1e6).toFixed(2);
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  return markdownTable(
    ['defense', 'test accuracy', 'vs first row', 'MB up / client', 'MB down / client', 'up, share of first row', 'up + down, share', 'rel. grad distance'],
    rows.map((r) => [
      r.label,
      `${(100 * r.testAccuracy).toFixed(2)} %`,
      r === ref ? '-' : `${(100 * (r.testAccuracy - ref.testAccuracy)).toFixed(2)} pt`,
      mb(r.upPerClient),
      mb(r.downPerClient),
      pct(r.upPerClient / ref.upPerClient),
      pct((r.upPerClient + r.downPerClient) / (ref.upPerClient + ref.downPerClient)),
      r.relGradDistance.toFixed(3),
    ]),
    { align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] },
  );
}

function mean(a: readonly number[]): number {
  return a.reduce((s, x) => s + x, 0) / a.length;
}
