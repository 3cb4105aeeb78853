import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { keepCount, randomk, topk } from '../../src/defenses/sparsify.js';
import { qsgd, scaledSign } from '../../src/defenses/quantize.js';
import { dp } from '../../src/defenses/dp.js';
import { randomTensorData, referenceRange } from './helpers.js';

test('Top-k keeps exactly the k largest of a sort-based reference (ties by index)', () => {
  const rng = new Rng(30);
  for (let trial = 0; trial < 800; trial++) {
    const n = trial < 500 ? 1 + (trial % 10) : 1 + rng.int(1500);
    const data = randomTensorData(rng, n);
    const fraction = trial % 3 ? 0.2 : 0.01 + rng.uniform() * 0.99;
    const u = topk({ fraction }).apply([{ name: 'w', shape: [n], data }], null, rng).update[0]!;
    assert.ok(u.kind === 'sparse');
    if (u.kind !== 'sparse') return;
    assert.deepEqual([...u.indices], referenceRange(data, 0, keepCount(n, fraction)));
  }
});

test('random-k draws exactly k distinct increasing positions, reproducibly by seed', () => {
  const data = Float32Array.from({ length: 1000 }, (_, i) => i);
  const grad = [{ name: 'w', shape: [1000], data }];
  const a = randomk().apply(grad, null, new Rng(7)).update[0]!;
  const b = randomk().apply(grad, null, new Rng(7)).update[0]!;
  assert.deepEqual(a, b);
  assert.ok(a.kind === 'sparse');
  if (a.kind !== 'sparse') return;
  assert.equal(a.indices.length, 200);
  for (let j = 1; j < 200; j++) assert.ok(a.indices[j]! > a.indices[j - 1]!);
  const counts = new Float64Array(10); // roughly uniform over the tensor
  const rng = new Rng(8);
  for (let r = 0; r < 200; r++) {
    const u = randomk({ fraction: 0.1 }).apply(grad, null, rng).update[0]!;
    if (u.kind === 'sparse') for (const p of u.indices) counts[Math.floor(p / 100)]++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 2000) < 250, `bucket count ${c}`);
  const scaled = randomk({ rescale: true }).apply(grad, null, new Rng(7)).update[0]!;
  assert.equal(scaled.values[5], a.values[5]! * 5);
});

test('QSGD is unbiased and uses at most s levels of the norm', () => {
  const x = new Float32Array([0.3, -1.2, 0, 2.5, -0.01]);
  const norm = Math.hypot(...x);
  const rng = new Rng(31);
  const mean = new Float64Array(x.length);
  const rounds = 20000;
  for (let r = 0; r < rounds; r++) {
    const v = qsgd({ levels: 4 }).apply([{ name: 'w', shape: [5], data: x }], null, rng).update[0]!.values;
    v.forEach((y, i) => {
      mean[i] += y / rounds;
      const level = (Math.abs(y) / norm) * 4;
      assert.ok(Math.abs(level - Math.round(level)) < 1e-5 && (y === 0 || Math.sign(y) === Math.sign(x[i]!)));
    });
  }
  mean.forEach((m, i) => assert.ok(Math.abs(m - x[i]!) < 0.02, `entry ${i}: mean ${m} vs ${x[i]}`));
});

test('scaled sign sends mean|g| * sign(g), zero stays zero', () => {
  const u = scaledSign().apply([{ name: 'w', shape: [4], data: new Float32Array([2, -4, 0, 2]) }], null, new Rng(0)).update[0]!;
  assert.deepEqual([...u.values], [2, -2, 0, 2]);
});

test('DP clips the global L2 norm to C and adds noise of std z*C', () => {
  const n = 20000;
  const grad = [
    { name: 'a', shape: [n], data: new Float32Array(n).fill(3) },
    { name: 'b', shape: [2], data: new Float32Array([4, 0]) },
  ];
  const clean = dp({ clip: 2, noiseMultiplier: 0 }).apply(grad, [null, null], new Rng(1));
  const norm = Math.hypot(...clean.update.flatMap((u) => [...u.values]));
  assert.ok(Math.abs(norm - 2) < 1e-4);
  const noisy = dp({ clip: 2, noiseMultiplier: 0.5 }).apply(grad, [null, null], new Rng(1));
  let s = 0;
  noisy.update[0]!.values.forEach((v, i) => (s += (v - clean.update[0]!.values[i]!) ** 2));
  assert.ok(Math.abs(Math.sqrt(s / n) - 1) < 0.02, `noise std ${Math.sqrt(s / n)}`);
  const lap = dp({ mechanism: 'laplace', clip: 2, noiseMultiplier: 0.5 }).apply(grad, [null, null], new Rng(1));
  let abs = 0;
  lap.update[0]!.values.forEach((v) => (abs += Math.abs(v - (3 * 2) / (3 * n + 4))));
  assert.ok(Math.abs(abs / n - 1) < 0.03, `laplace mean |noise| ${abs / n} (b = 1)`);
});
