// CMA-ES (Hansen 2016, "The CMA Evolution Strategy: A Tutorial"): a derivative-free minimiser
// that samples a population from N(m, sigma^2 C), moves the mean to the weighted best half, and
// adapts C from the evolution path (rank-one update) and the selected steps (rank-mu update) and
// sigma from the conjugate path's length. GGL (Li et al. 2022) searches its latent space with it,
// needing only the objective's value. Plain full-covariance CMA-ES; C is re-decomposed (Jacobi
// eigenvalue iterations) every few generations, as the tutorial recommends for large d.
import { Rng } from '../common/index.js';

export interface CmaesOptions {
  /** Initial mean and step size. */
  mean: Float64Array;
  sigma: number;
  generations: number;
  /** Population lambda; default 4 + floor(3 ln d). */
  population?: number;
  seed: number;
  /** After each generation: its number (from 1), the best value so far, sigma. */
  onGeneration?: (g: number, best: number, sigma: number) => void;
}

export interface CmaesResult {
  best: Float64Array;
  bestValue: number;
  /** Best value of each generation's population. */
  history: number[];
  evaluations: number;
  sigma: number;
}

/** Minimises `f`, which scores a whole population at once (one value per point). */
export async function cmaes(f: (points: Float64Array[]) => Promise<number[]>, o: CmaesOptions): Promise<CmaesResult> {
  const n = o.mean.length;
  const lambda = o.population ?? 4 + Math.floor(3 * Math.log(n));
  if (!Number.isInteger(lambda) || lambda < 2) throw new Error(`cmaes: population ${lambda} must be an integer of at least 2`);
  if (!(o.sigma > 0)) throw new Error(`cmaes: sigma ${o.sigma} must be positive`);
  const mu = Math.floor(lambda / 2);
  const raw = Array.from({ length: mu }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
  const wsum = raw.reduce((a, b) => a + b, 0);
  const w = raw.map((v) => v / wsum);
  const mueff = 1 / w.reduce((a, b) => a + b * b, 0);
  const cc = (4 + mueff / n) / (n + 4 + (2 * mueff) / n);
  const cs = (mueff + 2) / (n + mueff + 5);
  const c1 = 2 / ((n + 1.3) ** 2 + mueff);
  const cmu = Math.min(1 - c1, (2 * (mueff - 2 + 1 / mueff)) / ((n + 2) ** 2 + mueff));
  const damps = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + cs;
  const chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  const rng = new Rng(o.seed);
  const m = Float64Array.from(o.mean);
  let sigma = o.sigma;
  const pc = new Float64Array(n);
  const ps = new Float64Array(n);
  const C = identity(n);
  let B: Float64Array = identity(n);
  let D: Float64Array = new Float64Array(n).fill(1);
  let eigenAt = 0;
  let best = Float64Array.from(m);
  let bestValue = Infinity;
  const history: number[] = [];
  let evaluations = 0;
  for (let g = 1; g <= o.generations; g++) {
    // x_k = m + sigma B (D * z_k), y_k = (x_k - m) / sigma.
    const ys = Array.from({ length: lambda }, () => {
      const z = Float64Array.from({ length: n }, () => rng.normal());
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += B[i * n + j]! * D[j]! * z[j]!;
        y[i] = s;
      }
      return y;
    });
    const xs = ys.map((y) => Float64Array.from(y, (v, i) => m[i]! + sigma * v));
    const values = await f(xs);
    evaluations += lambda;
    const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
    const top = values[order[0]!]!;
    history.push(top);
    if (top < bestValue) {
      bestValue = top;
      best = Float64Array.from(xs[order[0]!]!);
    }
    const yw = new Float64Array(n);
    for (let k = 0; k < mu; k++) for (let i = 0; i < n; i++) yw[i] += w[k]! * ys[order[k]!]![i]!;
    for (let i = 0; i < n; i++) m[i] += sigma * yw[i]!;
    // C^{-1/2} yw = B D^{-1} B^T yw.
    const bty = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += B[i * n + j]! * yw[i]!;
      bty[j] = s / D[j]!;
    }
    const norm = Math.sqrt(cs * (2 - cs) * mueff);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j]! * bty[j]!;
      ps[i] = (1 - cs) * ps[i]! + norm * s;
    }
    const psNorm = Math.hypot(...ps);
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * g)) / chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccNorm = Math.sqrt(cc * (2 - cc) * mueff);
    for (let i = 0; i < n; i++) pc[i] = (1 - cc) * pc[i]! + hsig * ccNorm * yw[i]!;
    const keep = 1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < mu; k++) rankMu += w[k]! * ys[order[k]!]![i]! * ys[order[k]!]![j]!;
        const v = keep * C[i * n + j]! + c1 * pc[i]! * pc[j]! + cmu * rankMu;
        C[i * n + j] = v;
        C[j * n + i] = v;
      }
    }
    sigma *= Math.exp((cs / damps) * (psNorm / chiN - 1));
    if (g - eigenAt > lambda / (c1 + cmu) / n / 10) {
      eigenAt = g;
      ({ vectors: B, values: D } = symmetricEigen(C, n));
      D = D.map((v) => Math.sqrt(Math.max(v, 1e-20)));
    }
    o.onGeneration?.(g, bestValue, sigma);
  }
  return { best, bestValue, history, evaluations, sigma };
}

function identity(n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = 1;
  return a;
}

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major n x n) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = identity(n);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]!), vectors: v };
}
