import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cubicInterpolate, lbfgs, type Objective } from '../../src/attacks/lbfgs.js';

/** Rosenbrock in n dimensions (minimum 0 at all ones), evaluated in float64 and handed back as float32. */
const rosenbrock: Objective = async (x) => {
  let f = 0;
  const g = new Float32Array(x.length);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1]! - x[i]! * x[i]!;
    const b = 1 - x[i]!;
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i]! * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return { loss: f, grad: g };
};

test('L-BFGS with strong Wolfe minimises the Rosenbrock function from (-1.2, 1, ...)', async () => {
  const x0 = Float32Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
  const r = await lbfgs(rosenbrock, x0, { maxIter: 500, tolChange: 1e-12, tolGrad: 1e-6 });
  assert.ok(r.loss < 1e-6, `loss ${r.loss} after ${r.iterations} iterations (${r.reason})`);
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-2, `x = ${Array.from(r.x)}`);
  // Far fewer iterations than gradient descent would need: curvature pairs are used.
  assert.ok(r.iterations < 200, `${r.iterations} iterations`);
});

test('L-BFGS solves an ill-conditioned quadratic in about n iterations', async () => {
  const n = 20;
  const diag = Float64Array.from({ length: n }, (_, i) => 10 ** ((3 * i) / (n - 1)));
  const quad: Objective = async (x) => {
    let f = 0;
    const g = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = x[i]! - 1 / (i + 1);
      f += 0.5 * diag[i]! * d * d;
      g[i] = diag[i]! * d;
    }
    return { loss: f, grad: g };
  };
  const r = await lbfgs(quad, new Float32Array(n), { maxIter: 100, tolChange: 1e-14, tolGrad: 1e-5 });
  assert.ok(r.loss < 1e-8, `loss ${r.loss} (${r.reason})`);
  assert.ok(r.iterations <= 3 * n, `${r.iterations} iterations`);
});

test('backtracking line search also converges, and a NaN region is backed out of', async () => {
  // Undefined (NaN) beyond x > 2: a long first step lands there and must be rejected.
  const f: Objective = async (x) => {
    const v = x[0]!;
    if (v > 2) return { loss: NaN, grad: Float32Array.of(NaN) };
    return { loss: (v - 1.5) ** 2, grad: Float32Array.of(2 * (v - 1.5)) };
  };
  for (const lineSearch of ['strong-wolfe', 'backtracking'] as const) {
    const r = await lbfgs(f, Float32Array.of(-100), { maxIter: 50, lr: 1, lineSearch });
    assert.ok(Math.abs(r.x[0]! - 1.5) < 1e-3, `${lineSearch}: x = ${r.x[0]} (${r.reason})`);
  }
});

test('cubic interpolation finds the minimum of a cubic and falls back to bisection', () => {
  // f(t) = (t - 1)^2 on [0, 3]: exact for a quadratic.
  const t = cubicInterpolate(0, 1, -2, 3, 4, 4);
  assert.ok(Math.abs(t - 1) < 1e-12, `t = ${t}`);
  assert.equal(cubicInterpolate(0, 0, 1, 1, 0.5, 1), 0.5);
});
