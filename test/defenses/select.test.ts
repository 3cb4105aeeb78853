import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { magnitudeKeys, nthLargest, rankRange } from '../../src/defenses/select.js';
import { randomTensorData, referenceRange } from './helpers.js';

test('rankRange equals a sort-based reference for every range, both algorithms, ties included', () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 400; trial++) {
    const n = trial < 300 ? 1 + (trial % 10) : 1 + rng.int(300);
    const data = randomTensorData(rng, n);
    const keys = magnitudeKeys(data, 'x');
    for (let rep = 0; rep < 6; rep++) {
      const from = rng.int(n + 1);
      const to = from + rng.int(n - from + 1);
      const want = referenceRange(data, from, to);
      for (const method of ['select', 'radix'] as const) {
        assert.deepEqual([...rankRange(keys, from, to, method)], want, `n=${n} [${from},${to}) ${method} on ${data}`);
      }
    }
  }
});

test('the radix path on a large tensor with heavy ties matches the reference', () => {
  const rng = new Rng(2);
  const data = new Float32Array(70000);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform() < 0.5 ? rng.int(4) : rng.normal();
  const keys = magnitudeKeys(data, 'big');
  for (const [from, to] of [[0, 14000], [3500, 17500], [20000, 20001], [0, 70000], [69990, 70000]] as const) {
    assert.deepEqual([...rankRange(keys, from, to)], referenceRange(data, from, to));
  }
});

test('nthLargest finds every order statistic', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(40);
    const a = Uint32Array.from({ length: n }, () => rng.int(5));
    const sorted = [...a].sort((x, y) => y - x);
    const k = rng.int(n);
    assert.equal(nthLargest(a.slice(), k), sorted[k]);
  }
});

test('a non-finite entry is reported with the tensor name and index', () => {
  assert.throws(() => magnitudeKeys(new Float32Array([1, NaN]), 'fc.bias'), /tensor "fc.bias" .*NaN.* index 1/);
  assert.throws(() => magnitudeKeys(new Float32Array([-Infinity]), 'w'), /tensor "w" .*-Infinity.* index 0/);
});
