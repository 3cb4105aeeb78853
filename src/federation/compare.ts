// Defenses side by side on the same federated run (same data, partition, model, seed and rounds):
// final test accuracy, bytes per client up and down as counted on the wire, and the relative
// gradient distance the defense left. The paper's claim to check: DGP with error feedback ends
// within about a point of undefended training while uploading about a quarter of the bytes.
// With several seeds every configuration runs once per seed, and each row's accuracy is compared
// with the first row's seed by seed (a paired difference: the seed fixes the initial model, the
// partition and the sampling, so what differs between the pair is the defense alone).
import type { DatasetSplits } from '../data/index.js';
import { markdownTable } from '../report/index.js';
import { describeCheckpoint } from '../train/index.js';
import { runFederated } from './run.js';
import type { FederatedSpec } from './spec.js';

export interface CompareConfig {
  /** A short name for --defenses and checkpoint folders: none, dgp, dgp-noef, adgp, topk, dp (and precode, outpost). */
  key: string;
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
      ? { key: 'precode', label: `PRECODE (K ${o.precode.k}, β ${o.precode.beta}), dense updates`, defense: { name: 'none', options: {} }, precode: o.precode }
      : { key: 'outpost', label: 'Outpost (prune < 80th pct, φ 40 %, noise 0.8, decay 0.125)', defense: { name: 'outpost', options: {} } },
  );
}

/** The six configurations of the comparison; `dp` sets the DP row's clip and noise multiplier. */
export function defaultConfigs(dp: { clip: number; noiseMultiplier: number }): CompareConfig[] {
  return [
    { key: 'none', label: 'undefended', defense: { name: 'none', options: {} } },
    { key: 'dgp', label: 'DGP 5 %/20 %, error feedback', defense: { name: 'dgp', options: { pTop: 0.05, pKeep: 0.2 } } },
    { key: 'dgp-noef', label: 'DGP 5 %/20 %, no error feedback', defense: { name: 'dgp', options: { pTop: 0.05, pKeep: 0.2, ef: false } } },
    { key: 'adgp', label: 'ADGP 5 %/20 %, error feedback', defense: { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } } },
    { key: 'topk', label: 'Top-k 20 %, error feedback', defense: { name: 'topk', options: { fraction: 0.2 } } },
    { key: 'dp', label: `DP Gaussian, clip ${dp.clip}, noise ${dp.noiseMultiplier} x clip`, defense: { name: 'dp', options: { ...dp, mechanism: 'gaussian' } } },
  ];
}

/** The configurations named in `keys` (comma-separated, in the order given); throws naming an unknown one. */
export function selectConfigs(all: readonly CompareConfig[], keys: string): CompareConfig[] {
  const picked = keys.split(',').filter(Boolean).map((k) => {
    const c = all.find((x) => x.key === k);
    if (!c) throw new Error(`no configuration ${JSON.stringify(k)}; the configurations are ${all.map((x) => x.key).join(', ')}`);
    return c;
  });
  if (picked.length === 0) throw new Error('no configuration chosen');
  if (new Set(picked).size !== picked.length) throw new Error(`a configuration is named twice in ${keys}`);
  return picked;
}

export interface CompareRow {
  label: string;
  defense: FederatedSpec['defense'];
  /** Mean over the seeds. */
  testAccuracy: number;
  /** The seeds run, and the test accuracy of each (same order). */
  seeds: number[];
  accuracies: number[];
  /** Seed by seed against the first row (absent on the first row and with one seed). */
  paired?: PairedDifference;
  /** Mean over clients (and seeds) of the bytes each sent (up) and received (down) over the whole run. */
  upPerClient: number;
  downPerClient: number;
  /** Mean over rounds (and seeds) of the round's mean relative gradient distance. */
  relGradDistance: number;
  /** Wall-clock seconds of all its runs together (a run taken from a finished checkpoint counts only its evaluation). */
  seconds: number;
  /** Per round of the first seed: training loss, and test accuracy where evaluated (the spec's evalEvery). */
  curve: { round: number; trainLoss: number; testAccuracy?: number }[];
}

/** This row's accuracy minus the first row's, per seed: mean, standard error and a 95 % t interval. */
export interface PairedDifference {
  differences: number[];
  mean: number;
  standardError: number;
  low: number;
  high: number;
}

export interface CompareOptions {
  /** Seeds to run every configuration with (default: the base spec's seed). */
  seeds?: readonly number[];
  /**
   * A checkpoint folder per configuration and seed: each run checkpoints there and, when the folder
   * already holds a checkpoint of the same run, continues from it (a finished run is only evaluated).
   */
  checkpoint?: (config: CompareConfig, seed: number) => string;
  checkpointEvery?: number;
  onRound?: (config: CompareConfig, seed: number, round: number, rounds: number) => void;
}

export async function compareDefenses(
  base: Omit<FederatedSpec, 'defense'>,
  data: DatasetSplits,
  configs: readonly CompareConfig[],
  options: CompareOptions = {},
): Promise<CompareRow[]> {
  const seeds = options.seeds ?? [base.seed];
  const rows: CompareRow[] = [];
  for (const c of configs) {
    const runs: { accuracy: number; up: number; down: number; distance: number; history: Awaited<ReturnType<typeof runFederated>>['history'] }[] = [];
    const t0 = performance.now();
    const model = c.precode ? { ...base.model, precode: c.precode } : base.model;
    for (const seed of seeds) {
      const dir = options.checkpoint?.(c, seed);
      const resume = dir !== undefined && describeCheckpoint(dir) !== null ? dir : undefined;
      const r = await runFederated({ ...base, model, seed, defense: c.defense }, data, {
        checkpoint: dir, checkpointEvery: options.checkpointEvery, resume, onRound: (e, rounds) => options.onRound?.(c, seed, e.round, rounds),
      });
      runs.push({ accuracy: r.testAccuracy, up: mean(r.bytesUp), down: mean(r.bytesDown), distance: mean(r.history.map((e) => e.relGradDistance ?? NaN)), history: r.history });
    }
    const accuracies = runs.map((r) => r.accuracy);
    const first = rows[0];
    rows.push({
      label: c.label,
      defense: c.defense,
      testAccuracy: mean(accuracies),
      seeds: [...seeds],
      accuracies,
      ...(first && seeds.length > 1 ? { paired: pairedDifference(accuracies, first.accuracies) } : {}),
      upPerClient: mean(runs.map((r) => r.up)),
      downPerClient: mean(runs.map((r) => r.down)),
      relGradDistance: mean(runs.map((r) => r.distance)),
      seconds: (performance.now() - t0) / 1000,
      curve: runs[0]!.history.map((e) => ({ round: e.round, trainLoss: e.trainLoss, ...(e.testAccuracy !== undefined ? { testAccuracy: e.testAccuracy } : {}) })),
    });
  }
  return rows;
}

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** a - b per seed: the mean, its standard error (the differences' sample standard deviation over sqrt(n)) and a 95 % t interval. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length || a.length < 2) throw new Error(`pairedDifference: needs two equal lists of at least 2 values, got ${a.length} and ${b.length}`);
  const differences = a.map((x, i) => x - b[i]!);
  const n = differences.length;
  const m = mean(differences);
  const sd = Math.sqrt(differences.reduce((s, d) => s + (d - m) ** 2, 0) / (n - 1));
  const standardError = sd / Math.sqrt(n);
  const t = T95[n - 2] ?? 1.96;
  return { differences, mean: m, standardError, low: m - t * standardError, high: m + t * standardError };
}

/** One row per configuration; the shares compare with the first row (the undefended run). With several seeds: per-seed accuracies and the paired difference. */
export function comparisonTable(rows: readonly CompareRow[]): string {
  const ref = rows[0]!;
  const mb = (b: number) => (b / 1e6).toFixed(2);
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const pt = (x: number) => (100 * x).toFixed(2);
  const several = (ref.seeds?.length ?? 1) > 1;
  const versus = (r: CompareRow): string => {
    if (r === ref) return '-';
    if (!several || !r.paired) return `${pt(r.testAccuracy - ref.testAccuracy)} pt`;
    const p = r.paired;
    return `${pt(p.mean)} ± ${pt(p.standardError)} pt [${pt(p.low)}, ${pt(p.high)}]`;
  };
  const headers = ['defense', several ? `test accuracy, mean of ${ref.seeds.length} seeds` : 'test accuracy', ...(several ? ['per seed'] : []),
    several ? 'vs first row, paired: mean ± s.e. [95 % CI]' : 'vs first row', 'MB up / client', 'MB down / client', 'up, share of first row', 'up + down, share', 'rel. grad distance'];
  return markdownTable(
    headers,
    rows.map((r) => [
      r.label,
      `${pt(r.testAccuracy)} %`,
      ...(several ? [r.accuracies.map((a) => (100 * a).toFixed(1)).join(', ')] : []),
      versus(r),
      mb(r.upPerClient),
      mb(r.downPerClient),
      pct(r.upPerClient / ref.upPerClient),
      pct((r.upPerClient + r.downPerClient) / (ref.upPerClient + ref.downPerClient)),
      r.relGradDistance.toFixed(3),
    ]),
    { align: ['left', 'right', ...(several ? ['right' as const] : []), 'right', 'right', 'right', 'right', 'right', 'right'] },
  );
}

function mean(a: readonly number[]): number {
  return a.reduce((s, x) => s + x, 0) / a.length;
}
