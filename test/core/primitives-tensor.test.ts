// First- and second-order finite-difference checks (float64) of reductions (sum, max, mean) over
// several axis sets with and without keepdims, broadcastTo, the data-movement primitives
// (reshape, transpose, slice, pad, concat), matmul (2-D, batched, broadcast) and (log)softmax.
// Each case also checks the forward values against a direct computation where that is cheap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Sym,
  broadcastTo,
  compile,
  concat,
  exp,
  grad,
  logSoftmax,
  matmul,
  max,
  mean,
  mul,
  pad,
  reshape,
  slice,
  sliceAxis,
  softmax,
  sum,
  transpose,
} from '../../src/core/index.js';
import { type FdCase, distinct, fdSuite, randn, t64, wsum } from './fd.js';

const cases: FdCase[] = [];

// Reductions over a [2,3,4] tensor (and a 4-D one), every axis set, keepdims on and off.
const axisSets: (number[] | undefined)[] = [undefined, [0], [1], [2], [-1], [0, 2], [1, 2], [0, 1, 2]];
const reductions: [string, (x: Sym, a?: number[], k?: boolean) => Sym][] = [
  ['sum', sum],
  ['max', max],
  ['mean', mean],
];
for (const [op, fn] of reductions) {
  for (const axes of axisSets) {
    for (const keep of [false, true]) {
      cases.push({
        name: `${op} [2,3,4] axes ${axes ? `[${axes}]` : 'all'} keepdims ${keep}`,
        // exp() before the reduction so the second-order check sees a non-trivial Hessian.
        f: (x) => wsum(fn(op === 'max' ? x! : exp(mul(x!, 0.5)), axes, keep)),
        make: (r) => [op === 'max' ? distinct(r, [2, 3, 4]) : randn(r, [2, 3, 4])],
      });
    }
  }
  cases.push({
    name: `${op} [2,3,2,2] over [0,2,3] keepdims (batch-norm layout)`,
    f: (x) => wsum(fn(op === 'max' ? x! : exp(mul(x!, 0.5)), [0, 2, 3], true)),
    make: (r) => [op === 'max' ? distinct(r, [2, 3, 2, 2]) : randn(r, [2, 3, 2, 2])],
  });
}
// A max whose input depends smoothly on two inputs (second order through the mask-based rule).
cases.push({ name: 'max of a product over axis 1', f: (x, y) => wsum(max(mul(x!, y!), [1])), make: (r) => [distinct(r, [3, 4]), t64([3, 4], () => 1 + 0.01 * r.uniform())] });

for (const [from, to] of [
  [[3, 1], [2, 3, 4]],
  [[4], [2, 3, 4]],
  [[1, 3, 1], [2, 3, 4]],
  [[], [2, 3]],
  [[2, 1], [2, 5]],
] as number[][][]) {
  cases.push({ name: `broadcastTo [${from}] -> [${to}]`, f: (x) => wsum(broadcastTo(x!, to!)), make: (r) => [randn(r, from!)] });
}

// Data movement. Composed with exp() so the Hessian passes through the rule.
const e = (x: Sym) => exp(mul(x, 0.7));
const moves: [string, number[], (x: Sym) => Sym][] = [
  ['reshape [2,3,4] -> [6,4]', [2, 3, 4], (x) => reshape(x, [6, 4])],
  ['reshape [2,3,4] -> [4,-1]', [2, 3, 4], (x) => reshape(x, [4, -1])],
  ['reshape [6] -> [1,2,1,3]', [6], (x) => reshape(x, [1, 2, 1, 3])],
  ['transpose 2-D', [3, 4], (x) => transpose(x)],
  ['transpose [2,3,4] perm [2,0,1]', [2, 3, 4], (x) => transpose(x, [2, 0, 1])],
  ['transpose [2,3,4,5] perm [0,2,3,1]', [2, 3, 4, 5], (x) => transpose(x, [0, 2, 3, 1])],
  ['transpose [2,3,4,2] perm [3,1,0,2]', [2, 3, 4, 2], (x) => transpose(x, [3, 1, 0, 2])],
  ['slice [2,5,4] [0,1,1]..[2,4,3]', [2, 5, 4], (x) => slice(x, [0, 1, 1], [2, 4, 3])],
  ['slice [4,6] [1,0]..[3,6]', [4, 6], (x) => slice(x, [1, 0], [3, 6])],
  ['slice [3,4] single entry', [3, 4], (x) => slice(x, [2, 1], [3, 2])],
  ['sliceAxis [2,6,3] axis 1 2..5', [2, 6, 3], (x) => sliceAxis(x, 1, 2, 5)],
  ['pad [2,3] before [1,0] after [2,3]', [2, 3], (x) => pad(x, [1, 0], [2, 3])],
  ['pad [1,2,3,3] spatial asymmetric', [1, 2, 3, 3], (x) => pad(x, [0, 0, 2, 1], [0, 1, 0, 3])],
  ['pad then slice back', [3, 4], (x) => slice(pad(x, [1, 2], [2, 1]), [1, 2], [4, 6])],
];
for (const [name, shape, fn] of moves) cases.push({ name, f: (x) => wsum(fn(e(x!))), make: (r) => [randn(r, shape)] });

for (const [axis, shapes] of [
  [0, [[2, 3], [1, 3], [3, 3]]],
  [1, [[2, 1, 4], [2, 3, 4]]],
  [-1, [[2, 3, 1], [2, 3, 2], [2, 3, 3]]],
  [2, [[1, 2, 2, 2], [1, 2, 1, 2]]],
] as [number, number[][]][]) {
  cases.push({
    name: `concat axis ${axis} of ${shapes.map((s) => `[${s}]`).join(' ')}`,
    f: (...xs) => wsum(concat(xs.map((x) => e(x)), axis)),
    make: (r) => shapes.map((s) => randn(r, s)),
  });
}
cases.push({ name: 'concat of the same input twice', f: (x) => wsum(concat([e(x!), x!], 0)), make: (r) => [randn(r, [2, 3])] });

for (const [sa, sb] of [
  [[3, 4], [4, 5]],
  [[1, 4], [4, 1]],
  [[2, 3, 4], [2, 4, 5]],
  [[2, 3, 4], [4, 5]],
  [[3, 4], [2, 4, 5]],
  [[2, 1, 3, 4], [3, 4, 2]],
  [[1, 3, 2], [2, 2, 3]],
] as number[][][]) {
  cases.push({ name: `matmul [${sa}] @ [${sb}]`, f: (a, b) => wsum(matmul(a!, b!)), make: (r) => [randn(r, sa!), randn(r, sb!)] });
}
cases.push({ name: 'matmul x @ x^T (shared input)', f: (a) => wsum(matmul(a!, transpose(a!))), make: (r) => [randn(r, [3, 4])] });

for (const s of [[5], [3, 5], [2, 3, 4]]) {
  cases.push({ name: `logSoftmax [${s}]`, f: (x) => wsum(logSoftmax(x!)), make: (r) => [randn(r, s, 2)] });
  cases.push({ name: `softmax [${s}]`, f: (x) => wsum(softmax(x!)), make: (r) => [randn(r, s, 2)] });
}
cases.push({ name: 'logSoftmax with large logits', f: (x) => wsum(logSoftmax(x!)), make: (r) => [randn(r, [2, 4], 30)] });

fdSuite(cases);

// ---------------------------------------------------------------------------------------------
// Forward values against direct computations.

function valuesOf(fn: (x: Sym) => Sym, shape: number[], f: (i: number) => number) {
  const x = t64(shape, f);
  return [...compile(fn).eval64([x])[0]!];
}

test('reductions: values and output shapes', () => {
  const x = (i: number) => i * 1.5 - 7 * (i % 3);
  assert.deepEqual(valuesOf((s) => sum(s, [1]), [2, 3], (i) => i), [3, 12]);
  assert.deepEqual(valuesOf((s) => sum(s, [0]), [2, 3], (i) => i), [3, 5, 7]);
  assert.deepEqual(valuesOf((s) => max(s, [0, 2]), [2, 2, 2], (i) => [5, 1, 2, 3, 4, 9, 0, 8][i]!), [9, 8]);
  assert.deepEqual(valuesOf((s) => mean(s), [2, 2], (i) => i), [1.5]);
  assert.deepEqual(valuesOf((s) => max(s, [1]), [2, 3], (i) => [-1, -5, -2, -7, -3, -4][i]!), [-1, -3]);
  const c = compile((s: Sym) => [sum(s, [0, 2], true), max(s, [1], false), mean(s, [-1], true), sum(s)]);
  const t = c.traced([[2, 3, 4]]);
  assert.deepEqual(t.outputs.map((o) => o.shape), [[1, 3, 1], [2, 4], [2, 3, 1], []]);
  const [s02] = c.eval64([t64([2, 3, 4], x)]);
  for (let j = 0; j < 3; j++) {
    let acc = 0;
    for (let a = 0; a < 2; a++) for (let b = 0; b < 4; b++) acc += x(a * 12 + j * 4 + b);
    assert.ok(Math.abs(s02![j]! - acc) < 1e-12);
  }
});

test('max: tied maxima share the gradient equally', () => {
  const c = compile((s: Sym) => grad(sum(max(s, [1])), [s]));
  const [g] = c.eval64([t64([2, 3], (i) => [1, 4, 4, 2, 2, 2][i]!)]);
  assert.deepEqual([...g!], [0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3]);
});

test('data movement: values', () => {
  const iota = (i: number) => i;
  assert.deepEqual(valuesOf((s) => transpose(s), [2, 3], iota), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(valuesOf((s) => transpose(s, [1, 2, 0]), [2, 2, 2], iota), [0, 4, 1, 5, 2, 6, 3, 7]);
  assert.deepEqual(valuesOf((s) => slice(s, [1, 1], [3, 3]), [3, 4], iota), [5, 6, 9, 10]);
  assert.deepEqual(valuesOf((s) => pad(s, [1, 0], [0, 1]), [1, 2], (i) => i + 1), [0, 0, 0, 1, 2, 0]);
  const cc = compile((a: Sym, b: Sym) => concat([a, b], 1));
  assert.deepEqual([...cc.eval64([t64([2, 1], iota), t64([2, 2], (i) => 10 + i)])[0]!], [0, 10, 11, 1, 12, 13]);
  assert.deepEqual(valuesOf((s) => broadcastTo(s, [2, 3]), [3], iota), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(valuesOf((s) => broadcastTo(s, [2, 3]), [2, 1], iota), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(compile((s: Sym) => reshape(s, [4, -1])).traced([[2, 3, 4]]).outputs[0]!.shape, [4, 6]);
});

test('matmul and softmax: values', () => {
  const c = compile((a: Sym, b: Sym) => matmul(a, b));
  const a = t64([2, 2, 3], (i) => i);
  const b = t64([3, 1], (i) => i + 1);
  // Batch 0: [0 1 2; 3 4 5] @ [1 2 3]^T = [8, 26]; batch 1: [6 7 8; 9 10 11] -> [44, 62].
  assert.deepEqual([...c.eval64([a, b])[0]!], [8, 26, 44, 62]);
  const sm = valuesOf((s) => softmax(s), [2, 3], (i) => [0, 0, 0, 1000, 1000, -1000][i]!);
  for (const [i, v] of [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0].entries()) assert.ok(Math.abs(sm[i]! - v) < 1e-12);
});
