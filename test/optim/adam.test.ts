// Adam against torch.optim.Adam (fixtures/reference/optim_ref.py), for the training loop's Adam on
// Float32Arrays and for the attacks' Adam traced into their ONNX step alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, type Sym } from '../../src/core/index.js';
import { adamHyper, adamUpdate } from '../../src/attacks/adam.js';
import { createAdam, type AdamOptionsInput } from '../../src/optim/index.js';
import { referenceJson } from '../helpers/reference.js';

interface AdamCase {
  options: AdamOptionsInput;
  gradScale: number;
  lrs: number[] | null;
  p0: number[];
  grads: number[][];
  trajectory: number[][];
}
const cases = referenceJson<{ adam: AdamCase[] }>('optim.json').adam;

/** The spacing of float32 values around x (one unit in the last place). */
function ulp(x: number): number {
  const a = Math.abs(Math.fround(x));
  const next = new Float32Array([a]);
  new Uint32Array(next.buffer)[0]! += 1;
  return next[0]! - a;
}

/** Largest |ours - torch| over the trajectory, in float32 units in the last place of torch's value. */
function worstError(got: number[][], c: AdamCase): number {
  let worst = 0;
  got.forEach((row, s) => row.forEach((x, i) => {
    const want = c.trajectory[s]![i]!;
    worst = Math.max(worst, Math.abs(x - want) / ulp(want));
  }));
  return worst;
}

function runPlain(c: AdamCase): number[][] {
  const adam = createAdam(c.options);
  const params = [{ name: 'p', shape: [5], data: Float32Array.from(c.p0) }];
  let state = adam.init(params);
  return c.grads.map((g, s) => {
    state = adam.step(params, [{ name: 'p', shape: [5], data: Float32Array.from(g) }], state, c.lrs?.[s]);
    return [...params[0]!.data];
  });
}

// Measured: both Adams stay within 1 float32 unit in the last place (ulp) of torch's parameter at
// every step of every case (the training Adam computes in float64 and rounds once per stored
// value, the traced one in float32 ONNX arithmetic as torch does); asserted: 2 ulps.
for (const [k, c] of cases.entries()) {
  test(`Adam follows torch.optim.Adam: case ${k} ${JSON.stringify(c.options)}${c.lrs ? ', lr changed every step' : ''}${c.gradScale !== 1 ? `, gradients x${c.gradScale}` : ''}`, async () => {
    const plain = worstError(runPlain(c), c);
    assert.ok(plain <= 2, `training Adam: ${plain} ulps from torch`);
    if (c.options.weightDecay) return; // the attacks' Adam has no weight decay
    const o = { beta1: c.options.beta1, beta2: c.options.beta2, eps: c.options.eps };
    const step = compile((p: Sym, g: Sym, m: Sym, v: Sym, hyper: Sym) => adamUpdate(p, g, m, v, hyper, o), { name: `adam-case-${k}` });
    let [p, m, v]: Float32Array[] = [Float32Array.from(c.p0), new Float32Array(5), new Float32Array(5)];
    const got: number[][] = [];
    for (const [s, g] of c.grads.entries()) {
      const hyper = adamHyper(c.lrs?.[s] ?? c.options.lr, s + 1, o);
      [p, m, v] = await step.run([p!, Float32Array.from(g), m!, v!, hyper].map((data) => ({ data, shape: [data.length] })));
      got.push([...p!]);
    }
    const traced = worstError(got, c);
    assert.ok(traced <= 2, `attack Adam: ${traced} ulps from torch`);
  });
}

test('Adam state is plain data and options are checked', () => {
  const adam = createAdam({ lr: 0.1 });
  const params = [{ name: 'p', shape: [2], data: new Float32Array([1, 2]) }];
  const s1 = adam.step(params, [{ name: 'p', shape: [2], data: new Float32Array([1, -1]) }], adam.init(params));
  assert.deepEqual(structuredClone(s1), s1);
  assert.equal(s1.step, 1);
  // The first step moves every entry by lr against the sign of its gradient (m / sqrt(v) = sign(g)).
  assert.deepEqual([...params[0]!.data].map((x) => +x.toFixed(6)), [0.9, 2.1]);
  assert.deepEqual(adam.options, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  assert.throws(() => createAdam({ lr: 0 }), /adam: option "lr"/);
  assert.throws(() => createAdam({ lr: 0.1, beta1: 1 }), /adam: option "beta1"/);
  assert.throws(() => createAdam({ lr: 0.1, eps: -1 }), /adam: option "eps"/);
  assert.throws(() => adam.step(params, [], s1), /1 parameters, 0 gradients/);
  assert.throws(() => adam.step(params, [{ name: 'p', shape: [3], data: new Float32Array(3) }], s1), /parameter "p" has 2 entries, gradient 3/);
});
