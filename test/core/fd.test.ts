// The finite-difference helper must pass correct rules and reject wrong ones, at first and at
// second order, or the primitive tests prove nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { type Primitive, type Sym, exp, mul, stopGradient } from '../../src/core/index.js';
import { agreeAll } from './agree.js';
import { checkGrad, checkHvp, randn, wsum } from './fd.js';

/** x -> x^3 with a chosen vjp rule. */
function cube(vjp: Primitive['vjp']): (x: Sym) => Sym {
  const p: Primitive<null> = {
    name: 'testCube',
    shape: ([s]) => [...s!],
    eval: ([x]) => x!.map((v) => v * v * v),
    lower: () => {
      throw new Error('not lowered');
    },
    vjp,
  };
  return (x) => x.graph.apply(p, [x], null);
}

const right = cube((g, { inputs: [x] }) => [mul(mul(g, 3), mul(x!, x!))]);
// Right values, but the rule is not differentiable: its second derivative is lost.
const frozen = cube((g, { inputs: [x] }) => [mul(mul(g, 3), stopGradient(mul(x!, x!)))]);
// Off by a small relative amount: 1e-4 must be visible.
const slightlyOff = cube((g, { inputs: [x] }) => [mul(mul(g, 3.0003), mul(x!, x!))]);

const xs = () => [randn(new Rng(5), [2, 3])];

test('fd helper: a correct rule passes both orders', () => {
  const f = (x: Sym) => wsum(right(x));
  const r1 = checkGrad(f, xs());
  const r2 = checkHvp(f, xs());
  assert.ok(r1.worst < 1e-7 && r2.worst < 1e-6, `worst errors ${r1.worst} ${r2.worst}`);
});

test('fd helper: a rule off by 1e-4 fails the first-order check', () => {
  assert.throws(() => checkGrad((x) => wsum(slightlyOff(x)), xs()), /relative error/);
});

test('fd helper: a first-order-correct but non-differentiable rule fails the second-order check', () => {
  const f = (x: Sym) => wsum(frozen(x));
  checkGrad(f, xs());
  assert.throws(() => checkHvp(f, xs()), /Hessian-vector product/);
});

test('fd helper: handles several inputs and held-fixed inputs', () => {
  const f = (a: Sym, b: Sym, c: Sym) => wsum(mul(exp(a), mul(b, c)));
  const r = new Rng(9);
  const ins = [randn(r, [3]), randn(r, [3]), randn(r, [3])];
  checkGrad(f, ins, { wrt: [0, 2] });
  checkHvp(f, ins, { wrt: [0, 2] });
});

test('agree helper: a wrong ONNX lowering is reported by case name', async () => {
  const p: Primitive<null> = {
    name: 'testExp',
    shape: ([s]) => [...s!],
    eval: ([x]) => x!.map(Math.exp),
    lower: (ctx, [x]) => ctx.node('Softplus', [x!]), // log(1 + e^x), not e^x
    vjp: (g, { out }) => [mul(g, out)],
  };
  const ok = { name: 'fine', fn: (x: Sym) => exp(x), make: (r: Rng) => [randn(r, [3])] };
  const bad = { name: 'wrong lowering', fn: (x: Sym) => x.graph.apply(p, [x], null), make: (r: Rng) => [randn(r, [3])] };
  await agreeAll('self-test', [ok]);
  await assert.rejects(agreeAll('self-test', [ok, bad]), /wrong lowering: value/);
});
