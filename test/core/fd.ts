// Finite-difference checks of the core's reverse-mode rules, run entirely in float64 through the
// JS interpreter (Compiled.eval64), so a wrong rule shows up as an O(1) relative error while the
// central-difference error stays around 1e-9.
//
//   checkGrad(f, xs): grad f (a second compiled function built with `grad`) against central
//     differences of f along random unit directions and along single coordinates.
//   checkHvp(f, xs): the Hessian-vector product grad_x <grad f(x), v> (grad of grad) against
//     central differences of grad f along v.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { add, compile, grad, mul, sizeOf, sum, type Compiled, type Sym } from '../../src/core/index.js';

export interface T64 {
  data: Float64Array;
  shape: number[];
}

export type ScalarFn = (...xs: Sym[]) => Sym;

export interface FdOptions {
  /** Indices of the inputs to differentiate (default: all). The others are held fixed. */
  wrt?: number[];
  /** Central-difference step along a unit direction. */
  h?: number;
  rtol?: number;
  /** Random unit directions (over all differentiated inputs jointly). */
  directions?: number;
  /** Single coordinates checked per differentiated input. */
  coords?: number;
  seed?: number;
}

const DEFAULTS = { h: 1e-6, rtol: 2e-6, directions: 3, coords: 3, seed: 12345 };

// ---------------------------------------------------------------------------------------------
// Tensor helpers

export function t64(shape: number[], f: (i: number) => number): T64 {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = f(i);
  return { data, shape };
}

export function randn(rng: Rng, shape: number[], scale = 1): T64 {
  return t64(shape, () => scale * rng.normal());
}

export function uniform(rng: Rng, shape: number[], lo: number, hi: number): T64 {
  return t64(shape, () => lo + (hi - lo) * rng.uniform());
}

/** Normal values pushed at least `gap` away from 0 (for abs, relu, sign, division). */
export function awayFromZero(rng: Rng, shape: number[], gap = 0.2): T64 {
  return t64(shape, () => {
    const v = rng.normal();
    return v < 0 ? v - gap : v + gap;
  });
}

/** A shuffled ladder of values, pairwise at least `gap` apart (no ties for max). */
export function distinct(rng: Rng, shape: number[], gap = 0.1): T64 {
  const n = sizeOf(shape);
  const p = rng.permutation(n);
  return t64(shape, (i) => (p[i]! - n / 2) * gap * 1.5 + gap * 0.2 * rng.uniform());
}

/** Deterministic pseudo-random weights for a shape, identical in every trace. */
export function fixedWeights(shape: readonly number[], salt: number): Float64Array {
  let seed = 977 * salt + 13;
  for (const d of shape) seed = (seed * 31 + d) | 0;
  const rng = new Rng(seed);
  const w = new Float64Array(sizeOf(shape));
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  return w;
}

/** Scalar sum(W1 * y + W2 * y * y) with fixed random W1, W2: every entry of y matters, and the
 *  quadratic term makes the Hessian flow through the op's vjp rule (not only through the wrapper). */
export function wsum(y: Sym, salt = 1): Sym {
  const g = y.graph;
  const w1 = g.constant(fixedWeights(y.shape, salt), y.shape);
  const w2 = g.constant(fixedWeights(y.shape, salt + 1000).map((v) => 0.5 * v), y.shape);
  return sum(mul(y, add(w1, mul(y, w2))));
}

/** Linear only: sum(W * y). */
export function wlin(y: Sym, salt = 1): Sym {
  return sum(mul(y, y.graph.constant(fixedWeights(y.shape, salt), y.shape)));
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'relL2: lengths differ');
  let num = 0;
  for (let i = 0; i < a.length; i++) num += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(num) / Math.max(norm(b), 1e-300);
}

// ---------------------------------------------------------------------------------------------
// Compiled pieces (cached per function object, so a table of cases compiles each once)

interface Pieces {
  f: Compiled;
  g: Compiled;
  hvp: Compiled;
}
const cache = new WeakMap<ScalarFn, Map<string, Pieces>>();

function pieces(f: ScalarFn, n: number, wrt: number[]): Pieces {
  let m = cache.get(f);
  if (!m) cache.set(f, (m = new Map()));
  const key = `${n}:${wrt.join(',')}`;
  let p = m.get(key);
  if (!p) {
    const value: ScalarFn = (...xs) => f(...xs);
    const gradient = (...xs: Sym[]) => grad(f(...xs), wrt.map((i) => xs[i]!));
    // Inputs: x_0..x_{n-1}, then v_k for each differentiated input.
    const hessVec = (...all: Sym[]) => {
      const xs = all.slice(0, n);
      const vs = all.slice(n);
      const wx = wrt.map((i) => xs[i]!);
      const gs = grad(f(...xs), wx);
      let h: Sym = sum(mul(gs[0]!, vs[0]!));
      for (let k = 1; k < gs.length; k++) h = add(h, sum(mul(gs[k]!, vs[k]!)));
      return grad(h, wx);
    };
    p = { f: compile(value, { name: 'fd.f' }), g: compile(gradient, { name: 'fd.grad' }), hvp: compile(hessVec, { name: 'fd.hvp' }) };
    m.set(key, p);
  }
  return p;
}

function scalarOf(c: Compiled, xs: T64[]): number {
  const [y] = c.eval64(xs);
  assert.equal(y!.length, 1, `${c.name}: expected a scalar output, got ${y!.length} values`);
  return y![0]!;
}

/** xs + s * dir, where dir has one entry per differentiated input. */
function shifted(xs: T64[], wrt: number[], dir: Float64Array[], s: number): T64[] {
  const out = xs.map((x) => ({ data: x.data, shape: x.shape }));
  wrt.forEach((i, k) => {
    const d = new Float64Array(xs[i]!.data);
    const u = dir[k]!;
    for (let j = 0; j < d.length; j++) d[j]! += s * u[j]!;
    out[i] = { data: d, shape: xs[i]!.shape };
  });
  return out;
}

function unitDirection(rng: Rng, xs: T64[], wrt: number[]): Float64Array[] {
  const dir = wrt.map((i) => Float64Array.from({ length: xs[i]!.data.length }, () => rng.normal()));
  const nrm = Math.sqrt(dir.reduce((a, d) => a + dot(d, d), 0));
  for (const d of dir) for (let j = 0; j < d.length; j++) d[j]! /= nrm;
  return dir;
}

export interface FdReport {
  /** Largest |analytic - fd| / scale seen over all checks. */
  worst: number;
}

/** First-order check: grad f vs central differences of f, in float64. */
export function checkGrad(f: ScalarFn, xs: T64[], opts: FdOptions = {}): FdReport {
  const o = { ...DEFAULTS, ...opts };
  const wrt = opts.wrt ?? xs.map((_, i) => i);
  const { f: fc, g: gc } = pieces(f, xs.length, wrt);
  const rng = new Rng(o.seed);
  const g = gc.eval64(xs);
  assert.equal(g.length, wrt.length, 'grad: one gradient per differentiated input');
  wrt.forEach((i, k) => assert.equal(g[k]!.length, xs[i]!.data.length, `grad of input ${i} has the wrong size`));
  for (const gk of g) for (const v of gk) assert.ok(Number.isFinite(v), 'gradient is not finite');
  const gnorm = Math.sqrt(g.reduce((a, gk) => a + dot(gk, gk), 0));
  const gmax = Math.max(...g.map((gk) => gk.reduce((a, v) => Math.max(a, Math.abs(v)), 0)));
  let worst = 0;
  const compare = (an: number, fd: number, floor: number, what: string) => {
    const scale = Math.max(Math.abs(an), Math.abs(fd), floor, 1e-12);
    const err = Math.abs(an - fd) / scale;
    worst = Math.max(worst, err);
    assert.ok(err <= o.rtol, `${what}: analytic ${an} vs central difference ${fd} (relative error ${err.toExponential(2)} > ${o.rtol})`);
  };
  for (let t = 0; t < o.directions; t++) {
    const dir = unitDirection(rng, xs, wrt);
    const fd = (scalarOf(fc, shifted(xs, wrt, dir, o.h)) - scalarOf(fc, shifted(xs, wrt, dir, -o.h))) / (2 * o.h);
    const an = g.reduce((a, gk, k) => a + dot(gk, dir[k]!), 0);
    compare(an, fd, 1e-3 * gnorm, `directional derivative #${t}`);
  }
  wrt.forEach((i, k) => {
    const n = xs[i]!.data.length;
    const picks = new Set<number>([n - 1]);
    while (picks.size < Math.min(o.coords, n)) picks.add(rng.int(n));
    for (const j of picks) {
      const dir = wrt.map((i2) => new Float64Array(xs[i2]!.data.length));
      dir[k]![j] = 1;
      const fd = (scalarOf(fc, shifted(xs, wrt, dir, o.h)) - scalarOf(fc, shifted(xs, wrt, dir, -o.h))) / (2 * o.h);
      compare(g[k]![j]!, fd, 1e-2 * gmax, `d f / d x${i}[${j}]`);
    }
  });
  return { worst };
}

/** Second-order check: grad <grad f, v> (grad of grad) vs central differences of grad f along v. */
export function checkHvp(f: ScalarFn, xs: T64[], opts: FdOptions = {}): FdReport {
  const o = { ...DEFAULTS, ...opts };
  const wrt = opts.wrt ?? xs.map((_, i) => i);
  const { g: gc, hvp } = pieces(f, xs.length, wrt);
  const rng = new Rng(o.seed + 1);
  const g0 = gc.eval64(xs);
  const gnorm = Math.sqrt(g0.reduce((a, gk) => a + dot(gk, gk), 0));
  let worst = 0;
  for (let t = 0; t < Math.max(1, o.directions - 1); t++) {
    const v = unitDirection(rng, xs, wrt);
    const hv = hvp.eval64([...xs, ...wrt.map((i, k) => ({ data: v[k]!, shape: xs[i]!.shape }))]);
    const gp = gc.eval64(shifted(xs, wrt, v, o.h));
    const gm = gc.eval64(shifted(xs, wrt, v, -o.h));
    let num = 0;
    let den = 0;
    let maxErr = 0;
    let where = '';
    hv.forEach((hk, k) => {
      assert.equal(hk.length, xs[wrt[k]!]!.data.length, `hvp of input ${wrt[k]} has the wrong size`);
      for (let j = 0; j < hk.length; j++) {
        const fd = (gp[k]![j]! - gm[k]![j]!) / (2 * o.h);
        const e = Math.abs(hk[j]! - fd);
        num += e * e;
        den += Math.max(hk[j]! ** 2, fd * fd);
        if (e > maxErr) [maxErr, where] = [e, `x${wrt[k]}[${j}]: hvp ${hk[j]} vs fd ${fd}`];
      }
    });
    // Relative L2 error, with a floor for (nearly) linear functions whose Hessian vanishes.
    const scale = Math.max(Math.sqrt(den), 1e-6 * gnorm, 1e-12);
    const err = Math.sqrt(num) / scale;
    worst = Math.max(worst, err);
    assert.ok(err <= o.rtol * 5, `Hessian-vector product #${t}: relative L2 error ${err.toExponential(2)} > ${o.rtol * 5}; worst ${where}`);
  }
  return { worst };
}

/** Both checks, for the common case. */
export function checkDerivatives(f: ScalarFn, xs: T64[], opts: FdOptions = {}): { first: number; second: number } {
  const first = checkGrad(f, xs, opts).worst;
  const second = checkHvp(f, xs, opts).worst;
  if (process.env.FD_VERBOSE) console.log(`fd worst: first ${first.toExponential(2)} second ${second.toExponential(2)}`);
  return { first, second };
}

// ---------------------------------------------------------------------------------------------
// A table of cases, each one node:test test running both checks on seeded inputs.

export interface FdCase {
  name: string;
  f: ScalarFn;
  make: (rng: Rng) => T64[];
  opts?: FdOptions;
  /** Skip the second-order check (e.g. piecewise-linear functions are covered elsewhere). */
  firstOnly?: boolean;
  /** Marks a known failure (node:test todo), with the reason. */
  todo?: string;
}

export function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function fdSuite(cases: FdCase[]): void {
  for (const c of cases) {
    test(c.name, c.todo ? { todo: c.todo } : {}, () => {
      const xs = c.make(new Rng(seedOf(c.name)));
      const first = checkGrad(c.f, xs, c.opts).worst;
      const second = c.firstOnly ? 0 : checkHvp(c.f, xs, c.opts).worst;
      if (process.env.FD_VERBOSE) console.log(`# fd ${c.name}: first ${first.toExponential(1)} second ${second.toExponential(1)}`);
    });
  }
}
