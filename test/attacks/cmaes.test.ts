import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cmaes, symmetricEigen } from '../../src/attacks/index.js';

test('CMA-ES minimises an ill-conditioned rotated ellipsoid from values alone', async () => {
  const n = 8;
  // f(x) = sum_i 10^(3 i / (n-1)) (R (x - 1))_i^2, R a fixed rotation of the first two coordinates.
  const f = (x: Float64Array) => {
    const y = Float64Array.from(x, (v) => v - 1);
    const [a, b] = [y[0]!, y[1]!];
    y[0] = (a + b) / Math.SQRT2;
    y[1] = (a - b) / Math.SQRT2;
    return y.reduce((s, v, i) => s + 10 ** ((3 * i) / (n - 1)) * v * v, 0);
  };
  const start = f(new Float64Array(n));
  const r = await cmaes(async (xs) => xs.map(f), { mean: new Float64Array(n), sigma: 0.5, generations: 300, seed: 1 });
  assert.ok(r.bestValue < 1e-8 * start, `best ${r.bestValue} from ${start}`);
  for (const v of r.best) assert.ok(Math.abs(v - 1) < 1e-3, `coordinate ${v}`);
  assert.equal(r.evaluations, 300 * (4 + Math.floor(3 * Math.log(n))));
  assert.ok(r.history.at(-1)! < r.history[0]!);
});

test('CMA-ES rejects a population below 2 and a non-positive sigma', async () => {
  const f = async (xs: Float64Array[]) => xs.map(() => 0);
  await assert.rejects(cmaes(f, { mean: new Float64Array(3), sigma: 1, generations: 1, seed: 0, population: 1 }), /population 1/);
  await assert.rejects(cmaes(f, { mean: new Float64Array(3), sigma: 0, generations: 1, seed: 0 }), /sigma 0/);
});

test('symmetricEigen reconstructs the matrix from its eigenpairs', () => {
  const n = 5;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 3 + j * 7) + (i === j ? 3 : 0);
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
      assert.ok(Math.abs(s - a[i * n + j]!) < 1e-9, `entry ${i},${j}: ${s} vs ${a[i * n + j]}`);
    }
  }
});
