// Robbing the Fed (Fowl et al., ICLR 2022): a malicious server puts an imprint layer in front of the
// model. Row i of its linear layer measures the input (here the mean normalised pixel) and fires,
// through a ReLU, when the measurement exceeds threshold t_i; every row feeds the rest of the model
// with the same weight, so each example contributes the same factor s_n to every row it fires.
// Row i's weight gradient is then sum_{n: m(x_n) > t_i} s_n x_n and its bias gradient
// sum_{n: m(x_n) > t_i} s_n: the difference of two consecutive rows holds only the examples
// whose measurement falls between the thresholds, and one example alone in its bin comes back
// exactly as (weight-gradient difference) / (bias-gradient difference).
import type { TensorList } from '../common/index.js';
import { flatten, linear, relu, reshape, type Sym } from '../core/index.js';
import type { Dataset } from '../data/index.js';
import type { Model } from '../models/index.js';
import type { MaliciousServer } from './case.js';
import { imageShape, observedGradient, requireThreat, type ImprintSecrets, type ThreatModel } from './threat.js';
import type { AttackResult } from './types.js';

export interface ImprintOptions {
  /** Number of bins (rows of the imprint layer); more bins, fewer collisions. */
  bins: number;
  /** The measurement's distribution the thresholds are quantiles of; estimated from the server's data when absent. */
  mean?: number;
  std?: number;
}

const P = 'imprint';

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must lie in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Mean and std of the measurement (mean normalised pixel) over up to 1000 of the server's images. */
function measurementStats(data: Dataset): { mean: number; std: number } {
  const n = Math.min(data.count, 1000);
  const plane = data.height * data.width;
  const size = data.channels * plane;
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < data.channels; c++) {
      for (let k = 0; k < plane; k++) s += (data.images[i * size + c * plane + k]! - data.mean[c]!) / data.std[c]!;
    }
    m[i] = s / size;
  }
  const mean = m.reduce((a, v) => a + v, 0) / n;
  const std = Math.sqrt(m.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, n - 1));
  return { mean, std };
}

/** The model with the imprint block in front; its parameters come first. */
export function withImprint(model: Model, bins: number): Model {
  const [c, h, w] = model.inputShape;
  const d = c * h * w;
  const init = { kind: 'const', value: 0 } as const;
  return {
    ...model,
    name: `imprint(${model.name})`,
    params: [
      { name: `${P}.weight`, shape: [bins, d], init },
      { name: `${P}.bias`, shape: [bins], init },
      { name: `${P}.out.weight`, shape: [d, bins], init },
      { name: `${P}.out.bias`, shape: [d], init },
      ...model.params,
    ],
    forward(p: Record<string, Sym>, x: Sym, opts) {
      const hidden = relu(linear(flatten(x), p[`${P}.weight`]!, p[`${P}.bias`]));
      const y = reshape(linear(hidden, p[`${P}.out.weight`]!, p[`${P}.out.bias`]), x.shape);
      return model.forward(p, y, opts);
    },
  };
}

/** The malicious server: imprint weights set as Fowl et al. (and breaching's ImprintBlock) set them. */
export function imprintServer(o: ImprintOptions): MaliciousServer {
  if (!Number.isInteger(o.bins) || o.bins < 2) throw new Error(`imprint: bins must be an integer of at least 2, got ${o.bins}`);
  return {
    name: `imprint(${o.bins} bins)`,
    plant(model: Model, params: TensorList, data: Dataset) {
      const k = o.bins;
      const stats = o.mean !== undefined && o.std !== undefined ? { mean: o.mean, std: o.std } : measurementStats(data);
      // Equal-mass bins under a Gaussian fit; the first row fires for every input.
      const thresholds = Array.from({ length: k }, (_, i) => (i === 0 ? stats.mean - 10 * stats.std : stats.mean + stats.std * normalQuantile(i / k)));
      const imprinted = withImprint(model, k);
      const d = model.inputShape.reduce((a, b) => a * b, 1);
      const planted: TensorList = [
        { name: `${P}.weight`, shape: [k, d], data: new Float32Array(k * d).fill(1 / d) },
        { name: `${P}.bias`, shape: [k], data: Float32Array.from(thresholds, (t) => -t) },
        // Equal weights from every row: each example's factor s_n is the same in every row it fires.
        { name: `${P}.out.weight`, shape: [d, k], data: new Float32Array(d * k).fill(1 / k) },
        { name: `${P}.out.bias`, shape: [d], data: new Float32Array(d) },
        ...params,
      ];
      const secrets: ImprintSecrets = { weightIndex: 0, biasIndex: 1, thresholds, imageShape: [...model.inputShape] };
      return { model: imprinted, params: planted, secrets: { imprint: secrets } };
    },
  };
}

/**
 * The inputs of a linear layer from its gradients: row r of the weight gradient over the bias
 * gradient r, for every row whose bias gradient is not zero (exact for a single example).
 */
export function invertLinear(weightGrad: Float32Array, biasGrad: Float32Array, inputSize: number): { rows: number[]; inputs: Float32Array[] } {
  const rows: number[] = [];
  const inputs: Float32Array[] = [];
  biasGrad.forEach((bg, r) => {
    if (bg === 0) return;
    rows.push(r);
    inputs.push(Float32Array.from(weightGrad.subarray(r * inputSize, (r + 1) * inputSize), (v) => v / bg));
  });
  return { rows, inputs };
}

/** Reads the batch back from the imprint layer's gradient (needs the secrets and the batch size). */
export function imprintReadout(t: ThreatModel): AttackResult {
  requireThreat('rtf', ['imprint', 'batchSize'], t);
  const s = t.secrets!.imprint!;
  const g = observedGradient(t);
  const W = g[s.weightIndex]!.data;
  const bias = g[s.biasIndex]!.data;
  const k = bias.length;
  const d = W.length / k;
  // Bin i holds the examples between thresholds i and i + 1: differences of consecutive rows.
  const dW = new Float32Array(W.length);
  const db = new Float32Array(k);
  for (let i = 0; i < k; i++) {
    db[i] = i + 1 < k ? bias[i]! - bias[i + 1]! : bias[i]!;
    for (let j = 0; j < d; j++) dW[i * d + j] = i + 1 < k ? W[i * d + j]! - W[(i + 1) * d + j]! : W[i * d + j]!;
  }
  const { rows, inputs } = invertLinear(dW, db, d);
  const batch = t.batchSize!;
  // More hits than examples (noise makes every bin non-zero): keep the bins with the largest mass.
  const order = rows.map((_, i) => i).sort((a, b) => Math.abs(db[rows[b]!]!) - Math.abs(db[rows[a]!]!)).slice(0, batch);
  const shape = imageShape(t, batch);
  const images = new Float32Array(batch * d);
  order.forEach((i, slot) => images.set(inputs[i]!, slot * d));
  clampToBox(images, t);
  return { attack: 'rtf', images, shape, objective: NaN, iterations: 0, notes: [`${rows.length} non-empty bins of ${k}; ${Math.max(0, batch - rows.length)} images left blank`] };
}

/** Keeps reconstructions inside the valid normalised pixel range (as breaching does). */
export function clampToBox(x: Float32Array, t: ThreatModel): void {
  const { channels, height, width, mean, std } = t.data;
  const plane = height * width;
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / plane) % channels;
    const lo = -mean[c]! / std[c]!;
    const hi = (1 - mean[c]!) / std[c]!;
    x[i] = Math.min(hi, Math.max(lo, x[i]!));
  }
}
