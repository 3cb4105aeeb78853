// The grad() and compile() surface: seeded vector-Jacobian products, inputs that do not reach the
// output, repeated and intermediate targets, third-order derivatives, and degenerate compiled
// graphs (an output that is an input, a constant output, the same output twice).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import * as core from '../../src/core/index.js';
import { type ConvParams, type Sym, add, compile, conv2d, exp, grad, matmul, mul, reshape, sum, tanh } from '../../src/core/index.js';
import { checkGrad, checkHvp, randn, relL2, t64 } from './fd.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `entry ${i}: ${a[i]} vs ${b[i]}`);
};

test('grad with a seed is the vector-Jacobian product <seed, dy/dx>', () => {
  const y = (x: Sym, w: Sym) => tanh(matmul(x, w));
  const c = compile((x: Sym, w: Sym, s: Sym) => [...grad(y(x, w), [x, w], s), ...grad(sum(mul(y(x, w), s)), [x, w])]);
  const r = new Rng(1);
  const [gx, gw, hx, hw] = c.eval64([randn(r, [3, 4]), randn(r, [4, 2]), randn(r, [3, 2])]);
  close(gx!, hx!);
  close(gw!, hw!);
});

test('grad of an output that does not depend on an input is zero of its shape', () => {
  const c = compile((x: Sym, z: Sym) => grad(sum(exp(x)), [x, z]));
  const [gx, gz] = c.eval64([t64([2], () => 0), t64([2, 3], () => 1)]);
  assert.deepEqual([...gx!], [1, 1]);
  assert.deepEqual([...gz!], [0, 0, 0, 0, 0, 0]);
});

test('grad with the same target twice, and with an intermediate target', () => {
  const c = compile((x: Sym) => {
    const h = exp(x);
    const y = sum(mul(h, h));
    return [...grad(y, [x, x]), ...grad(y, [h])];
  });
  const x = t64([3], (i) => 0.1 * i);
  const [g1, g2, gh] = c.eval64([x]);
  const want = [...x.data].map((v) => 2 * Math.exp(2 * v));
  close(g1!, want);
  close(g2!, want);
  close(gh!, [...x.data].map((v) => 2 * Math.exp(v)));
});

test('grad of a scalar of shape [1,1] needs no seed', () => {
  const c = compile((x: Sym) => grad(reshape(sum(mul(x, x)), [1, 1]), [x]));
  assert.deepEqual([...c.eval64([t64([2], (i) => i + 1)])[0]!], [2, 4]);
});

test('third derivative: d/dx of d/dx of d/dx sum(x^4) = 24 x', () => {
  const c = compile((x: Sym) => {
    const [g1] = grad(sum(mul(mul(x, x), mul(x, x))), [x]);
    const [g2] = grad(sum(g1!), [x]);
    return grad(sum(g2!), [x]);
  });
  close(c.eval64([t64([3], (i) => i - 1.5)])[0]!, [-36, -12, 12]);
});

test('third order through a convolution: FD of a Hessian-vector product', () => {
  // h(x, w) = <grad_w f, v>: its gradient (checked by checkGrad) is a third-order quantity of f.
  const v = (s: Sym) => s.graph.constant(Float64Array.from({ length: s.size }, (_, i) => Math.sin(i + 1)), s.shape);
  const f = (x: Sym, w: Sym) => sum(tanh(conv2d(x, w, { stride: [2, 2], pads: [1, 1, 0, 0] })));
  const h = (x: Sym, w: Sym) => {
    const [gw] = grad(f(x, w), [w]);
    return sum(mul(gw!, v(w)));
  };
  const r = new Rng(4);
  const xs = [randn(r, [1, 2, 5, 5]), randn(r, [2, 2, 3, 3], 0.5)];
  checkGrad(h, xs);
  checkHvp(h, xs);
});

test('compiled graphs: an input as output, a constant output, the same output twice', async () => {
  const c = compile((x: Sym, z: Sym) => {
    const y = add(x, 1);
    return [x, y, y, ...grad(sum(y), [x]), ...grad(sum(x), [z])];
  });
  const x = { data: Float32Array.from([1, 2, 3]), shape: [3] };
  const z = { data: Float32Array.from([5]), shape: [1] };
  const want = c.eval64([x, z]);
  const got = await c.run([x, z]);
  assert.deepEqual(want.map((a) => [...a]), [[1, 2, 3], [2, 3, 4], [2, 3, 4], [1, 1, 1], [0]]);
  got.forEach((g, k) => assert.ok(relL2(g, want[k]!) < 1e-7 || want[k]!.every((v, i) => v === g[i]), `output ${k}`));
});

// Ops must not keep references to the caller's arrays: a trace records what was asked at the time
// of the call. (Found while writing this suite: attributes and concat's input list are aliased.)
const x23 = { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] };

test('aliasing: slice copies starts/ends', () => {
  const f = compile((x: Sym) => {
    const st = [0, 0];
    const en = [1, 3];
    const a = core.slice(x, st, en);
    st[0] = 1;
    en[0] = 2;
    return [a, core.slice(x, st, en)];
  });
  // Got [[4,5,6],[4,5,6]] (also from onnxruntime).
  assert.deepEqual(f.eval64([x23]).map((a) => [...a]), [[1, 2, 3], [4, 5, 6]]);
});

test('aliasing: transpose copies the permutation', () => {
  const f = compile((x: Sym) => {
    const perm = [1, 0];
    const y = core.transpose(x, perm);
    perm.reverse();
    return exp(y);
  });
  // Got [e, e^2, e^5, e^6, NaN, NaN]: the node now has perm [0,1] but shape [3,2].
  close(f.eval64([x23])[0]!, [1, 4, 2, 5, 3, 6].map(Math.exp));
});

test('aliasing: pad copies before/after', () => {
  const f = compile((x: Sym) => {
    const before = [1, 0];
    const y = core.pad(x, before, [0, 0]);
    before[0] = 0;
    return y;
  });
  assert.deepEqual([...f.eval64([x23])[0]!], [0, 0, 0, 1, 2, 3, 4, 5, 6]);
});

test('aliasing: conv2d copies stride/pads/dilation', () => {
  const f = compile((x: Sym, w: Sym) => {
    const pads: [number, number, number, number] = [1, 1, 1, 1];
    const y = conv2d(x, w, { pads });
    pads[2] = 0;
    return y;
  });
  const ones = { data: new Array<number>(9).fill(1), shape: [1, 1, 3, 3] };
  // The traced shape stays [1,1,3,3] while onnxruntime now returns 6 values (pads [1,1,0,1]).
  assert.deepEqual([...f.eval64([ones, ones])[0]!], [4, 6, 4, 6, 9, 6, 4, 6, 4]);
  assert.deepEqual((f.traced([ones.shape, ones.shape]).graph.syms.at(-1)!.node!.attrs as ConvParams).pads, [1, 1, 1, 1]);
});

test('aliasing: concat copies its list of inputs', () => {
  const f = compile((a: Sym, b: Sym) => {
    const parts = [a, b];
    const y = core.concat(parts, 0);
    parts.push(a);
    return y;
  });
  const t = f.traced([[1], [1]]);
  assert.equal(t.outputs[0]!.node!.inputs.length, 2);
  assert.deepEqual([...f.eval64([{ data: [1], shape: [1] }, { data: [2], shape: [1] }])[0]!], [1, 2]);
});
