import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { magnitudeRange, nthLargest, rankRange } from '../../src/defenses/select.js';
import { randomTensorData, referenceRange } from './helpers.js';

test('rankRange equals a sort-based reference for every range, both algorithms, ties included', () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 400; trial++) {
    const n = trial < 300 ? 1 + (trial % 10) : 1 + rng.int(300);
    const data = randomTensorData(rng, n);
    const bits = new Uint32Array(data.buffer);
    for (let rep = 0; rep < 6; rep++) {
      const from = rng.int(n + 1);
      const to = from + rng.int(n - from + 1);
      const want = referenceRange(data, from, to);
      for (const method of ['select', 'radix'] as const) {
        assert.deepEqual([...rankRange(bits, from, to, { method, mask: 0x7fffffff })], want, `n=${n} [${from},${to}) ${method} on ${data}`);
      }
    }
  }
});

test('the radix path on a large tensor with heavy ties matches the reference', () => {
  const rng = new Rng(2);
  const data = new Float32Array(70000);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform() < 0.5 ? rng.int(4) : rng.normal();
  for (const [from, to] of [[0, 14000], [3500, 17500], [20000, 20001], [0, 70000], [69990, 70000], [5, 5]] as const) {
    assert.deepEqual([...magnitudeRange(data, 'big', from, to)], referenceRange(data, from, to));
  }
  // every entry on one high digit: the boundary digit holds the whole tensor
  const narrow = Float32Array.from({ length: 40000 }, () => 1 + rng.int(100) / 1024);
  assert.deepEqual([...magnitudeRange(narrow, 'narrow', 2000, 10000)], referenceRange(narrow, 2000, 10000));
  // integer keys (votes): everything on digit 0
  const votes = Uint32Array.from({ length: 40000 }, () => rng.int(11));
  assert.deepEqual([...rankRange(votes, 0, 8000)], referenceRange(votes, 0, 8000));
});

test('the sampled one-pass path (large inputs) matches the reference, with and without fallback', () => {
  const rng = new Rng(4);
  for (let trial = 0; trial < 24; trial++) {
    const n = 32768 + rng.int(20000);
    const data = randomTensorData(rng, n);
    const bits = new Uint32Array(data.buffer);
    const ranges: [number, number][] = [[Math.round(0.05 * n), Math.round(0.25 * n)], [0, Math.round(0.2 * n)], [rng.int(n), n]];
    ranges.push([ranges[2]![0] >> 1, ranges[2]![0]]);
    for (const [from, to] of ranges) {
      assert.deepEqual([...rankRange(bits, from, to, { mask: 0x7fffffff })], referenceRange(data, from, to), `n=${n} [${from},${to})`);
    }
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
  assert.throws(() => magnitudeRange(new Float32Array([1, NaN]), 'fc.bias', 0, 1), /tensor "fc.bias" .*NaN.* index 1/);
  assert.throws(() => magnitudeRange(new Float32Array([-Infinity]), 'w', 1, 1), /tensor "w" .*-Infinity.* index 0/);
  const big = new Float32Array(50000);
  big[31234] = NaN;
  assert.throws(() => magnitudeRange(big, 'conv', 0, 100), /tensor "conv" .*NaN.* index 31234/);
  assert.throws(() => magnitudeRange(big, 'conv', 7, 7), /index 31234/);
});
