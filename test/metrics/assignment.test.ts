import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { linearSumAssignment } from '../../src/metrics/index.js';

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

/** Best total over every injective map from the smaller side to the larger, by enumeration. */
function bruteForce(cost: number[][], maximize = false): number {
  const n = cost.length;
  const m = cost[0]!.length;
  const transpose = n > m;
  const c = transpose ? cost[0]!.map((_, j) => cost.map((r) => r[j]!)) : cost;
  const rows = Math.min(n, m);
  const cols = Math.max(n, m);
  let best = maximize ? -Infinity : Infinity;
  // choose which columns are used by taking the first `rows` entries of every permutation
  for (const p of permutations(cols)) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += c[i]![p[i]!]!;
    best = maximize ? Math.max(best, s) : Math.min(best, s);
  }
  return best;
}

test('Hungarian algorithm agrees with brute force on random square matrices', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 60; trial++) {
    const n = 1 + (trial % 7);
    // small integer costs make ties common, which is where augmenting paths go wrong
    const cost = Array.from({ length: n }, () => Array.from({ length: n }, () => (trial % 2 ? rng.int(5) : rng.normal() * 10)));
    const res = linearSumAssignment(cost);
    assert.deepEqual(res.rows, Array.from({ length: n }, (_, i) => i));
    assert.equal(new Set(res.cols).size, n, 'each column used once');
    assert.ok(Math.abs(res.total - bruteForce(cost)) < 1e-9, `trial ${trial}: ${res.total} vs ${bruteForce(cost)}`);
    const max = linearSumAssignment(cost, { maximize: true });
    assert.ok(Math.abs(max.total - bruteForce(cost, true)) < 1e-9);
  }
});

test('Hungarian algorithm handles rectangular matrices either way round, like scipy', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + rng.int(5);
    const m = 1 + rng.int(5);
    const cost = Array.from({ length: n }, () => Array.from({ length: m }, () => rng.uniform()));
    const res = linearSumAssignment(cost);
    assert.equal(res.rows.length, Math.min(n, m));
    assert.deepEqual(res.rows, [...res.rows].sort((a, b) => a - b));
    assert.equal(new Set(res.cols).size, res.cols.length);
    assert.ok(Math.abs(res.total - bruteForce(cost)) < 1e-9, `${n}x${m}`);
  }
});

test('a known 3x3 case and bad input', () => {
  // scipy.optimize.linear_sum_assignment([[4,1,3],[2,0,5],[3,2,2]]) -> cols [1, 0, 2], total 5
  const res = linearSumAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
  assert.deepEqual(res.cols, [1, 0, 2]);
  assert.equal(res.total, 5);
  assert.deepEqual(linearSumAssignment([]), { rows: [], cols: [], total: 0 });
  assert.throws(() => linearSumAssignment([[1, Number.NaN]]), /cost\[0\]\[1\] is NaN/);
  assert.throws(() => linearSumAssignment([[1, 2], [3]]), /row 1 has 1 entries/);
});
