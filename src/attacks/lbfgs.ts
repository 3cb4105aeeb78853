// L-BFGS as torch.optim.LBFGS runs it (two-loop recursion, history of curvature pairs, strong-Wolfe
// line search with cubic interpolation), so DLG behaves as in the papers that use it. Differences,
// on purpose: the objective is async (one compiled ONNX call per evaluation), a non-finite loss
// counts as +Infinity so the line search backs off instead of accepting NaN, and the iteration
// runs once for `maxIter` iterations (DLG's 300 `step()` calls of 20 iterations each are one long
// run with a persistent history, which is what torch does too).

export interface Evaluation {
  loss: number;
  grad: Float32Array;
}

export type Objective = (x: Float32Array) => Promise<Evaluation>;

export interface LbfgsOptions {
  /** L-BFGS iterations (each one line search). */
  maxIter: number;
  /** Objective evaluations, line searches included (default 1.25 maxIter, as torch). */
  maxEval?: number;
  historySize?: number;
  /** Initial step length of each line search (the first iteration also scales by 1/|g|_1). */
  lr?: number;
  tolGrad?: number;
  tolChange?: number;
  lineSearch?: 'strong-wolfe' | 'backtracking' | 'none';
  /** Called after every iteration. */
  onIter?: (iter: number, loss: number) => void;
}

export interface LbfgsResult {
  x: Float32Array;
  loss: number;
  iterations: number;
  evaluations: number;
  /** Why it stopped. */
  reason: 'max-iter' | 'max-eval' | 'tol-grad' | 'tol-change' | 'not-descent';
}

/** x + t d, in float32 (what the objective consumes). */
function step(x: Float64Array, t: number, d: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + t * d[i]!;
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Evaluations with NaN or infinite losses become +Infinity: a step into them is always too long. */
async function evaluate(f: Objective, x: Float32Array): Promise<{ loss: number; grad: Float64Array }> {
  const r = await f(x);
  const loss = Number.isFinite(r.loss) ? r.loss : Infinity;
  return { loss, grad: Float64Array.from(r.grad) };
}

/** Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to bounds (torch's rule). */
export function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0 && Number.isFinite(d2sq)) {
    const d2 = Math.sqrt(d2sq);
    const pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    if (Number.isFinite(pos)) return Math.min(Math.max(pos, lo), hi);
  }
  return (lo + hi) / 2;
}

interface Point {
  t: number;
  f: number;
  g: Float64Array;
  gtd: number;
}

/**
 * Strong-Wolfe line search along d from x (loss f, gradient g, slope gtd < 0), first trying step t:
 * bracketing, then zoom by cubic interpolation with torch's safeguards.
 */
export async function strongWolfe(
  f: Objective,
  x: Float64Array,
  t: number,
  d: Float64Array,
  f0: number,
  g0: Float64Array,
  gtd0: number,
  { c1 = 1e-4, c2 = 0.9, tolChange = 1e-9, maxLs = 25 } = {},
): Promise<{ t: number; loss: number; grad: Float64Array; evals: number }> {
  const dNorm = maxAbs(d);
  const at = async (s: number): Promise<Point> => {
    const e = await evaluate(f, step(x, s, d));
    return { t: s, f: e.loss, g: e.grad, gtd: dot(e.grad, d) };
  };
  let cur = await at(t);
  let evals = 1;
  let prev: Point = { t: 0, f: f0, g: g0, gtd: gtd0 };
  let bracket: Point[] | undefined;
  let done = false;
  let ls = 0;
  while (ls < maxLs) {
    if (cur.f > f0 + c1 * cur.t * gtd0 || (ls > 1 && cur.f >= prev.f)) {
      bracket = [prev, cur];
      break;
    }
    if (Math.abs(cur.gtd) <= -c2 * gtd0) {
      bracket = [cur];
      done = true;
      break;
    }
    if (cur.gtd >= 0) {
      bracket = [prev, cur];
      break;
    }
    const next = cubicInterpolate(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd, [cur.t + 0.01 * (cur.t - prev.t), cur.t * 10]);
    prev = cur;
    cur = await at(next);
    evals++;
    ls++;
  }
  bracket ??= [{ t: 0, f: f0, g: g0, gtd: gtd0 }, cur];
  // Zoom: shrink the bracket until a point satisfies both Wolfe conditions.
  let insufficient = false;
  let [low, high] = bracket[0]!.f <= bracket[bracket.length - 1]!.f ? [0, 1] : [1, 0];
  while (!done && ls < maxLs && bracket.length === 2) {
    const [a, b] = bracket as [Point, Point];
    if (Math.abs(b.t - a.t) * dNorm < tolChange) break;
    let s = cubicInterpolate(a.t, a.f, a.gtd, b.t, b.f, b.gtd);
    const tMax = Math.max(a.t, b.t);
    const tMin = Math.min(a.t, b.t);
    const eps = 0.1 * (tMax - tMin);
    if (Math.min(tMax - s, s - tMin) < eps) {
      // Too close to an end: move away from it unless the last step already did not help.
      if (insufficient || s >= tMax || s <= tMin) {
        s = Math.abs(s - tMax) < Math.abs(s - tMin) ? tMax - eps : tMin + eps;
        insufficient = false;
      } else insufficient = true;
    } else insufficient = false;
    const p = await at(s);
    evals++;
    ls++;
    if (p.f > f0 + c1 * p.t * gtd0 || p.f >= bracket[low]!.f) {
      bracket[high] = p;
      [low, high] = bracket[0]!.f <= bracket[1]!.f ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(p.gtd) <= -c2 * gtd0) done = true;
      else if (p.gtd * (bracket[high]!.t - bracket[low]!.t) >= 0) bracket[high] = bracket[low]!;
      bracket[low] = p;
    }
  }
  const best = bracket[low]!;
  return { t: best.t, loss: best.f, grad: best.g, evals };
}

/** Halves the step until the Armijo condition holds (a simpler, cheaper alternative). */
async function backtracking(f: Objective, x: Float64Array, t: number, d: Float64Array, f0: number, gtd0: number, maxLs = 30) {
  for (let k = 1; ; k++) {
    const e = await evaluate(f, step(x, t, d));
    if (e.loss <= f0 + 1e-4 * t * gtd0 || k >= maxLs) return { t, loss: e.loss, grad: e.grad, evals: k };
    t /= 2;
  }
}

/** Minimises f from x0. */
export async function lbfgs(f: Objective, x0: Float32Array, o: LbfgsOptions): Promise<LbfgsResult> {
  const lr = o.lr ?? 1;
  const maxEval = o.maxEval ?? Math.ceil(o.maxIter * 1.25);
  const history = o.historySize ?? 100;
  const tolGrad = o.tolGrad ?? 1e-7;
  const tolChange = o.tolChange ?? 1e-9;
  const search = o.lineSearch ?? 'strong-wolfe';
  const x = Float64Array.from(x0);
  let { loss, grad: g } = await evaluate(f, x0);
  let evals = 1;
  if (!Number.isFinite(loss)) throw new Error(`lbfgs: the objective is not finite at the starting point (${loss})`);
  if (maxAbs(g) <= tolGrad) return { x: x0.slice(), loss, iterations: 0, evaluations: evals, reason: 'tol-grad' };
  // Curvature pairs in float32 as torch keeps them: half the memory traffic of the two-loop
  // recursion, which dominates an iteration once the history is full.
  const S: Float32Array[] = [];
  const Y: Float32Array[] = [];
  const rho: number[] = [];
  let scratchS: Float32Array = new Float32Array(g.length);
  let scratchY: Float32Array = new Float32Array(g.length);
  let hDiag = 1;
  let d: Float64Array = new Float64Array(g.length);
  let t = 0;
  let gPrev = g;
  let iter = 0;
  let reason: LbfgsResult['reason'] = 'max-iter';
  while (iter < o.maxIter) {
    iter++;
    if (iter === 1) {
      for (let i = 0; i < g.length; i++) d[i] = -g[i]!;
    } else {
      const y = scratchY;
      const s = scratchS;
      for (let i = 0; i < g.length; i++) {
        y[i] = g[i]! - gPrev[i]!;
        s[i] = d[i]! * t;
      }
      const ys = dot(y, s);
      if (ys > 1e-10) {
        // A full history hands its oldest buffers back as the next scratch pair.
        if (S.length === history) {
          scratchS = S.shift()!;
          scratchY = Y.shift()!;
          rho.shift();
        } else {
          scratchS = new Float32Array(g.length);
          scratchY = new Float32Array(g.length);
        }
        S.push(s);
        Y.push(y);
        rho.push(1 / ys);
        hDiag = ys / dot(y, y);
      }
      d = twoLoop(g, S, Y, rho, hDiag);
    }
    gPrev = g;
    const prevLoss = loss;
    let gSum = 0;
    for (let i = 0; i < g.length; i++) gSum += Math.abs(g[i]!);
    t = iter === 1 ? Math.min(1, 1 / gSum) * lr : lr;
    const gtd = dot(g, d);
    if (gtd > -tolChange) {
      reason = 'not-descent';
      break;
    }
    let ls: { t: number; loss: number; grad: Float64Array; evals: number };
    if (search === 'strong-wolfe') ls = await strongWolfe(f, x, t, d, loss, g, gtd, { tolChange });
    else if (search === 'backtracking') ls = await backtracking(f, x, t, d, loss, gtd);
    else {
      const e = await evaluate(f, step(x, t, d));
      ls = { t, loss: e.loss, grad: e.grad, evals: 1 };
    }
    if (!Number.isFinite(ls.loss)) {
      reason = 'not-descent';
      break;
    }
    t = ls.t;
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i]! + t * d[i]!);
    loss = ls.loss;
    g = ls.grad;
    evals += ls.evals;
    o.onIter?.(iter, loss);
    if (evals >= maxEval) {
      reason = 'max-eval';
      break;
    }
    if (maxAbs(g) <= tolGrad) {
      reason = 'tol-grad';
      break;
    }
    if (maxAbs(d) * Math.abs(t) <= tolChange || Math.abs(loss - prevLoss) < tolChange) {
      reason = 'tol-change';
      break;
    }
  }
  return { x: Float32Array.from(x), loss, iterations: iter, evaluations: evals, reason };
}

/** d = -H g by the two-loop recursion over the stored pairs, H0 = hDiag I. The loops are written
 *  out over concrete typed arrays: through a generic ArrayLike helper V8 ran them 3x slower. */
function twoLoop(g: Float64Array, S: Float32Array[], Y: Float32Array[], rho: number[], hDiag: number): Float64Array {
  const n = g.length;
  const q = new Float64Array(n);
  for (let i = 0; i < n; i++) q[i] = -g[i]!;
  const alpha = new Float64Array(S.length);
  for (let k = S.length - 1; k >= 0; k--) {
    const a = dot32(S[k]!, q) * rho[k]!;
    alpha[k] = a;
    axpy32(-a, Y[k]!, q);
  }
  for (let i = 0; i < n; i++) q[i] *= hDiag;
  for (let k = 0; k < S.length; k++) axpy32(alpha[k]! - dot32(Y[k]!, q) * rho[k]!, S[k]!, q);
  return q;
}

/** s . q with four partial sums: a single sum waits on each addition, four keep the adder busy. */
function dot32(s: Float32Array, q: Float64Array): number {
  const n = q.length;
  const m = n & ~3;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let i = 0; i < m; i += 4) {
    a0 += s[i]! * q[i]!;
    a1 += s[i + 1]! * q[i + 1]!;
    a2 += s[i + 2]! * q[i + 2]!;
    a3 += s[i + 3]! * q[i + 3]!;
  }
  for (let i = m; i < n; i++) a0 += s[i]! * q[i]!;
  return a0 + a1 + (a2 + a3);
}

/** q += c y */
function axpy32(c: number, y: Float32Array, q: Float64Array): void {
  for (let i = 0; i < q.length; i++) q[i] += c * y[i]!;
}
