// Label recovery from the last layer's gradient, before any image is reconstructed. With a
// cross-entropy loss the last bias gradient is mean_i(p_i - y_i): an example pushes its own class
// negative by about 1/B, and every class positive by the softmax mass it gives it. The strategies
// follow breaching's `_recover_label_information`, whose names they keep.
import { Rng, type NamedTensor } from '../common/index.js';
import { observedGradient, requireThreat, type ThreatModel } from './threat.js';

export const LABEL_STRATEGIES = ['idlg', 'yin', 'bias-corrected', 'wainakh-simple', 'count'] as const;
export type LabelStrategy = (typeof LABEL_STRATEGIES)[number];

/** The last linear layer's weight [K, F] and bias [K] gradients, as the attacker sees them. */
function lastLayer(t: ThreatModel): { w: NamedTensor; b: NamedTensor; classes: number; features: number } {
  const g = observedGradient(t);
  const w = g[g.length - 2];
  const b = g[g.length - 1];
  const k = t.data.numClasses;
  if (!w || !b || w.shape.length !== 2 || w.shape[0] !== k || b.shape.length !== 1 || b.shape[0] !== k) {
    throw new Error(`label recovery: the last two tensors must be a linear layer's weight [${k}, F] and bias [${k}], got ${w?.name}[${w?.shape}] and ${b?.name}[${b?.shape}]`);
  }
  return { w, b, classes: k, features: w.shape[1]! };
}

function rowReduce(w: NamedTensor, f: (acc: number, v: number) => number, init: number): Float64Array {
  const [k, n] = w.shape as [number, number];
  const out = new Float64Array(k).fill(init);
  for (let c = 0; c < k; c++) for (let j = 0; j < n; j++) out[c] = f(out[c]!, w.data[c * n + j]!);
  return out;
}

function argmin(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! < a[k]!) k = i;
  return k;
}

/** Classes with a negative score, most negative first, at most n of them. */
function negatives(score: Float64Array, n: number): number[] {
  return Array.from(score.keys()).filter((c) => score[c]! < 0).sort((p, q) => score[p]! - score[q]!).slice(0, n);
}

/**
 * Stage 1 takes every class whose score is negative once; its share `impact` (the negative mass
 * over the batch size) is then subtracted from those, and stage 2 repeatedly takes the most
 * negative class and subtracts the impact again, until the batch is full. Repeated labels come
 * out as repeated picks.
 */
function countDown(score: Float64Array, batch: number, impact: number, labels: number[]): number[] {
  while (labels.length < batch) {
    const c = argmin(score);
    labels.push(c);
    score[c] -= impact;
  }
  return labels;
}

/**
 * The labels of a batch of `batch` examples, sorted (the order of a batch is not recoverable).
 * - 'idlg' (Zhao et al. 2020; batch 1 only): the one negative entry of the bias gradient
 *   (p - y is negative at the label alone, whatever the features); when no bias entry is
 *   negative (none sent: DGP drops exactly that largest entry), the class whose weight-gradient
 *   row sums lowest, which assumes non-negative features as the paper (and breaching) do.
 * - 'yin' (Yin et al. 2021): the `batch` classes with the most negative row minimum; assumes
 *   unique labels and non-negative features.
 * - 'bias-corrected' (breaching's): counting on the bias gradient. Negative entries are labels;
 *   impact = (sum of the negative entries) / batch is taken off each, then the most negative
 *   entry is picked and lowered by the impact until `batch` labels are found.
 * - 'wainakh-simple' (LLG, Wainakh et al. 2022): the same counting on the weight rows' sums with
 *   impact = (sum of negative row sums) (1 + 1/K) / batch. breaching's loop lowers a stale index
 *   in stage 2; here the picked class is lowered, as the paper describes.
 * - 'count' (ours): count_c = B (p_c - db_c), since db_c = mean_i p_ic - count_c / B exactly; the
 *   mean softmax p_c is unknown to the attacker and taken as `meanSoftmax` (default uniform 1/K,
 *   right for a model near initialisation), counts rounded by largest remainder to sum to B.
 *   breaching's 'bias-corrected' instead takes the negative mass over B as each example's share,
 *   which underestimates it by the softmax mass of the present classes and over-counts the most
 *   frequent class (e.g. 2,2,2,5,5 comes back as 2,2,2,2,5).
 * Fewer labels than `batch` (possible only for 'yin') are filled with seeded random classes.
 */
/** The labels the attacker knows, else those `strategy` recovers from the update (said in `notes`). */
export function knownOrRecoveredLabels(t: ThreatModel, strategy: LabelStrategy, seed: number, notes: string[]): Int32Array {
  if (t.labels) return t.labels;
  const labels = recoverLabels(t, strategy, t.batchSize, seed);
  notes.push(`labels recovered with '${strategy}'`);
  return labels;
}

export function recoverLabels(t: ThreatModel, strategy: LabelStrategy, batch = t.batchSize, seed = 0, meanSoftmax?: ArrayLike<number>): Int32Array {
  if (batch === undefined) requireThreat(`label recovery (${strategy})`, ['batchSize'], t);
  const n = batch!;
  const { w, b, classes } = lastLayer(t);
  let labels: number[];
  switch (strategy) {
    case 'idlg': {
      if (n !== 1) throw new Error(`label recovery 'idlg' recovers the label of a single example (batch ${n}); use 'bias-corrected' for batches`);
      const k = argmin(b.data);
      labels = [b.data[k]! < 0 ? k : argmin(rowReduce(w, (a, v) => a + v, 0))];
      break;
    }
    case 'yin': {
      const mins = rowReduce(w, Math.min, Infinity);
      labels = negatives(mins, n);
      break;
    }
    case 'bias-corrected': {
      const score = Float64Array.from(b.data);
      const first = negatives(score, n);
      const impact = first.reduce((s, c) => s + score[c]!, 0) / n;
      for (const c of first) score[c] -= impact;
      labels = countDown(score, n, impact, first);
      break;
    }
    case 'wainakh-simple': {
      const score = rowReduce(w, (a, v) => a + v, 0);
      const first = negatives(score, n);
      const impact = (first.reduce((s, c) => s + score[c]!, 0) * (1 + 1 / classes)) / n;
      for (const c of first) score[c] -= impact;
      labels = countDown(score, n, impact, first);
      break;
    }
    case 'count': {
      const p = meanSoftmax ?? new Array<number>(classes).fill(1 / classes);
      labels = largestRemainder(Array.from(b.data, (db, c) => Math.max(0, n * (p[c]! - db))), n);
      break;
    }
    default:
      throw new Error(`unknown label strategy '${String(strategy)}' (choose one of ${LABEL_STRATEGIES.join(', ')})`);
  }
  const rng = new Rng(seed);
  while (labels.length < n) labels.push(rng.int(classes));
  return Int32Array.from(labels).sort();
}

/** Integer counts summing to n from non-negative estimates: floors, then the largest remainders. */
function largestRemainder(est: number[], n: number): number[] {
  const total = est.reduce((a, v) => a + v, 0);
  const scaled = total > 0 ? est.map((v) => (v * n) / total) : est.map(() => n / est.length);
  const counts = scaled.map(Math.floor);
  const byRemainder = scaled.map((v, c) => c).sort((a, b) => scaled[b]! - counts[b]! - (scaled[a]! - counts[a]!));
  for (let k = 0, left = n - counts.reduce((a, v) => a + v, 0); k < left; k++) counts[byRemainder[k % est.length]!]!++;
  return counts.flatMap((m, c) => new Array<number>(m).fill(c));
}

/** [B, K] one-hot rows (the training code's encoder, under the name the attacks use). */
export { oneHotLabels as oneHot } from '../train/index.js';

/** The most likely class of each row of [B, K] scores. */
export function argmaxRows(scores: Float32Array, classes: number): Int32Array {
  const b = scores.length / classes;
  return Int32Array.from({ length: b }, (_, i) => argmin(Array.from(scores.subarray(i * classes, (i + 1) * classes), (v) => -v)));
}
