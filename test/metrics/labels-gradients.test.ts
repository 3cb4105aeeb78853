import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelAccuracy, relativeGradientDistance } from '../../src/metrics/index.js';

test('label accuracy is the multiset overlap', () => {
  // counts differ by one for class 1 and one for class 2: 1 - 2 / 2 / 4
  assert.equal(labelAccuracy([1, 1, 2, 3], [1, 2, 2, 3]), 0.75);
  assert.equal(labelAccuracy([3, 1, 2], [1, 2, 3]), 1); // order does not matter
  assert.equal(labelAccuracy([0, 0], [5, 6]), 0);
  assert.equal(labelAccuracy(new Int32Array([7, 7, 7, 1]), new Int32Array([7, 1, 1, 1])), 0.5);
  assert.equal(labelAccuracy([1, -100, 2], [1, 2]), 1); // PyTorch's ignore index is left out
  assert.throws(() => labelAccuracy([1], []), /no recovered labels/);
  assert.throws(() => labelAccuracy([1], [0.5]), /recovered label 0 is 0.5/);
});

test('relative gradient distance over lists of tensors', () => {
  // ||(0, 4)|| / ||(3, 4)|| = 4 / 5
  assert.ok(Math.abs(relativeGradientDistance([new Float32Array([3, 4])], [new Float32Array([3, 0])]) - 0.8) < 1e-12);
  // norms run over all tensors together: diff (1, 0 | 0, 2), g (1, 2 | 2, 4) -> sqrt 5 / 5
  const g = [new Float32Array([1, 2]), new Float32Array([2, 4])];
  const s = [new Float32Array([0, 2]), new Float32Array([2, 2])];
  assert.ok(Math.abs(relativeGradientDistance(g, s) - Math.sqrt(5) / 5) < 1e-12);
  // named tensors are accepted as they come from a model
  const named = g.map((data, i) => ({ name: `p${i}`, shape: [2], data }));
  assert.ok(Math.abs(relativeGradientDistance(named, s) - Math.sqrt(5) / 5) < 1e-12);
  assert.equal(relativeGradientDistance(g, g), 0);
  assert.equal(relativeGradientDistance(g, g.map((t) => new Float32Array(t.length))), 1); // nothing shared
  assert.equal(relativeGradientDistance([new Float32Array(2)], [new Float32Array(2)]), 0);
  assert.equal(relativeGradientDistance([new Float32Array(2)], [new Float32Array([1, 0])]), Infinity);
  assert.throws(() => relativeGradientDistance(g, [s[0]!]), /2 true tensors vs 1 shared/);
  assert.throws(() => relativeGradientDistance([g[0]!], [new Float32Array(3)]), /tensor 0 has 2 true entries vs 3 shared/);
});
