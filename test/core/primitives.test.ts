// First- and second-order finite-difference checks (float64) of the elementwise primitives, with
// broadcasting, plus values and zero gradients of the masks (eq, sign, step) and stopGradient.
// Reductions, data movement, matmul and softmax: primitives-tensor.test.ts; convolutions and the
// network composites: primitives-conv.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import {
  type Operand,
  type Sym,
  abs,
  add,
  compile,
  div,
  eq,
  exp,
  grad,
  log,
  maximum,
  minimum,
  mul,
  neg,
  relu,
  sigmoid,
  sign,
  sqrt,
  step,
  stopGradient,
  sub,
  tanh,
  where,
} from '../../src/core/index.js';
import { type FdCase, type T64, awayFromZero, fdSuite, fixedWeights, randn, t64, uniform, wlin, wsum } from './fd.js';

type Bin = (a: Operand, b: Operand) => Sym;
const binaries: [string, Bin][] = [
  ['add', add],
  ['sub', sub],
  ['mul', mul],
  ['div', div],
  ['maximum', maximum],
  ['minimum', minimum],
];

/** Shape pairs, including the broadcasting cases [2,3]+[3] and [2,1,4]*[3,1] (and mirrored). */
const pairs: [number[], number[]][] = [
  [[2, 3], [2, 3]],
  [[2, 3], [3]],
  [[3], [2, 3]],
  [[2, 1, 4], [3, 1]],
  [[3, 1], [2, 1, 4]],
  [[2, 3], []],
  [[1, 3], [2, 1]],
];

/** Two tensors on interleaved grids: every a-b difference is at least ~0.1 (no ties, any broadcast). */
function interleaved(rng: Rng, sa: number[], sb: number[]): [T64, T64] {
  const grid = (shape: number[], off: number) => {
    const n = shape.reduce((x, y) => x * y, 1);
    const p = rng.permutation(n);
    return t64(shape, (i) => (p[i]! - n / 2) * 0.3 + off + 0.02 * rng.uniform());
  };
  return [grid(sa, 0), grid(sb, 0.15)];
}

function inputsFor(op: string, rng: Rng, sa: number[], sb: number[]): T64[] {
  if (op === 'maximum' || op === 'minimum') return interleaved(rng, sa, sb);
  if (op === 'div') return [randn(rng, sa), awayFromZero(rng, sb, 0.5)];
  return [randn(rng, sa), randn(rng, sb)];
}

const cases: FdCase[] = [];
for (const [op, fn] of binaries) {
  for (const [sa, sb] of pairs) {
    cases.push({ name: `${op} [${sa}] with [${sb}]`, f: (a, b) => wsum(fn(a!, b!)), make: (r) => inputsFor(op, r, sa, sb) });
  }
  // A traced operand with a plain number on either side.
  const k = op === 'maximum' || op === 'minimum' ? 0.15 : 1.7;
  cases.push({
    name: `${op} [2,3] with the number ${k}`,
    f: (a) => wsum(fn(a!, k)),
    make: (r) => [op === 'maximum' || op === 'minimum' ? interleaved(r, [2, 3], [])[0] : randn(r, [2, 3])],
  });
  cases.push({
    name: `${op} the number ${k} with [2,3]`,
    f: (a) => wsum(fn(k, a!)),
    make: (r) => [op === 'maximum' || op === 'minimum' ? interleaved(r, [2, 3], [])[0] : op === 'div' ? awayFromZero(r, [2, 3], 0.5) : randn(r, [2, 3])],
  });
}
// The same input on both sides (the two cotangents must add up).
cases.push({ name: 'mul x*x', f: (a) => wsum(mul(a!, a!)), make: (r) => [randn(r, [2, 3])] });
cases.push({ name: 'div x/x^2 shares an input', f: (a) => wsum(div(a!, mul(a!, a!))), make: (r) => [awayFromZero(r, [3, 2], 0.5)] });

const unaries: [string, (x: Sym) => Sym, (r: Rng, s: number[]) => T64][] = [
  ['neg', neg, (r, s) => randn(r, s)],
  ['exp', exp, (r, s) => randn(r, s)],
  ['log', log, (r, s) => uniform(r, s, 0.5, 2)],
  ['sqrt', sqrt, (r, s) => uniform(r, s, 0.5, 2)],
  ['abs', abs, (r, s) => awayFromZero(r, s)],
  ['sigmoid', sigmoid, (r, s) => randn(r, s, 2)],
  ['tanh', tanh, (r, s) => randn(r, s, 1.5)],
  ['relu', relu, (r, s) => awayFromZero(r, s)],
];
for (const [op, fn, gen] of unaries) {
  for (const s of [[5], [2, 3, 2]]) cases.push({ name: `${op} [${s}]`, f: (x) => wsum(fn(x!)), make: (r) => [gen(r, s)] });
  // Composed with itself / another op, so second derivatives of the rule's own output matter.
  cases.push({ name: `${op} of a product`, f: (x, y) => wsum(fn(mul(x!, y!))), make: (r) => [gen(r, [4]), uniform(r, [4], 0.8, 1.2)] });
}

// where(mask, a, b): the mask is an input (no gradient), a and b broadcast.
const maskOf = (shape: number[], salt: number) => t64(shape, (i) => (fixedWeights(shape, salt)[i]! > 0 ? 1 : 0));
for (const [sm, sa, sb] of [
  [[2, 3], [2, 3], [2, 3]],
  [[2, 3], [2, 3], [3]],
  [[2, 1], [3], [2, 3]],
  [[2, 3, 1], [1, 4], []],
] as number[][][]) {
  cases.push({
    name: `where mask [${sm}] a [${sa}] b [${sb}]`,
    f: (m, a, b) => wsum(where(m!, mul(a!, a!), exp(b!))),
    make: (r) => [maskOf(sm!, 3), randn(r, sa!), randn(r, sb!)],
    opts: { wrt: [1, 2] },
  });
}
cases.push({ name: 'where with number branches', f: (m, a) => wsum(mul(a!, where(m!, 2, -0.5))), make: (r) => [maskOf([2, 3], 4), randn(r, [2, 3])], opts: { wrt: [1] } });

fdSuite(cases);

// ---------------------------------------------------------------------------------------------
// Masks: values and zero gradients.

async function valuesAndZeroGrad(name: string, op: (...xs: Sym[]) => Sym, ins: T64[], expected: number[]) {
  const c = compile((...xs: Sym[]) => {
    const y = op(...xs);
    return [y, ...grad(wlin(y), xs)];
  });
  const [y, ...gs] = c.eval64(ins);
  assert.deepEqual([...y!], expected, `${name} values`);
  for (const g of gs) assert.ok(g!.every((v) => v === 0), `${name}: the gradient must be zero, got ${[...g!]}`);
}

test('eq: 0/1 values with broadcasting, zero gradient', async () => {
  await valuesAndZeroGrad('eq', (a, b) => eq(a!, b!), [t64([2, 3], (i) => [1, 2, 3, 0, -2, 5][i]!), t64([3], (i) => [1, -2, 5][i]!)], [1, 0, 0, 0, 1, 1]);
  await valuesAndZeroGrad('eq number', (a) => eq(a!, 2), [t64([4], (i) => [2, 0, 2.5, 2][i]!)], [1, 0, 0, 1]);
});

test('sign: -1/0/1 values, zero gradient', async () => {
  await valuesAndZeroGrad('sign', (a) => sign(a!), [t64([5], (i) => [-3, -1e-9, 0, 1e-9, 4][i]!)], [-1, -1, 0, 1, 1]);
});

test('step: 1 where x > 0 (0 at 0), zero gradient', async () => {
  await valuesAndZeroGrad('step', (a) => step(a!), [t64([5], (i) => [-3, -1e-9, 0, 1e-9, 4][i]!)], [0, 0, 0, 1, 1]);
});

test('step and sign inside a product: gradient flows only through the smooth factor', () => {
  const c = compile((x: Sym) => grad(wlin(mul(add(step(x), sign(x)), x)), [x]));
  const x = t64([4], (i) => [-2, -0.5, 0.5, 2][i]!);
  const w = fixedWeights([4], 1);
  const [g] = c.eval64([x]);
  const m = [-1, -1, 2, 2];
  assert.deepEqual([...g!], m.map((v, i) => v * w[i]!));
});

test('stopGradient: identity value, no gradient through it', () => {
  const c = compile((x: Sym) => {
    const y = mul(x, stopGradient(x));
    return [stopGradient(x), ...grad(wlin(y), [x]), ...grad(wlin(stopGradient(x)), [x])];
  });
  const x = t64([2, 3], (i) => i - 2.5);
  const w = fixedWeights([2, 3], 1);
  const [v, g, g0] = c.eval64([x]);
  assert.deepEqual([...v!], [...x.data]);
  // d/dx sum(w * x * sg(x)) = w * x (not 2 w x).
  assert.deepEqual([...g!], [...x.data].map((xi, i) => w[i]! * xi));
  assert.ok(g0!.every((e) => e === 0));
});

test('maximum and minimum: values, and ties send the gradient to one side only', () => {
  const c = compile((a: Sym, b: Sym) => [maximum(a, b), minimum(a, b), ...grad(wlin(maximum(a, b)), [a, b]), ...grad(wlin(minimum(a, b)), [a, b])]);
  const a = t64([3], (i) => [1, 2, 3][i]!);
  const b = t64([3], (i) => [3, 2, 1][i]!);
  const [mx, mn, ga, gb, ha, hb] = c.eval64([a, b]);
  assert.deepEqual([...mx!], [3, 2, 3]);
  assert.deepEqual([...mn!], [1, 2, 1]);
  const w = fixedWeights([3], 1);
  // Each entry's cotangent lands on exactly one argument, also at the tie.
  for (const [p, q] of [[ga!, gb!], [ha!, hb!]]) for (let i = 0; i < 3; i++) assert.equal(p[i]! + q[i]!, w[i]!);
  assert.ok(ga![0] === 0, 'max(1, 3): the gradient goes to b');
  assert.equal(ga![2], w[2]);
  assert.equal(ha![0], w[0]);
});
