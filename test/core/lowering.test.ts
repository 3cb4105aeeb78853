// ONNX lowering against the float64 interpreter: for every primitive, compile().run (onnxruntime,
// float32) must match eval64 of the same trace on the same (float32-rounded) inputs to a relative
// L2 error below 1e-5. Each case runs the forward value and its reverse-mode gradient, so the
// lowering of the rules' building blocks is covered as well; the composites add grad of grad.
// The cases of one family share one compiled function (one onnxruntime session) for speed; a
// failure lists every case that disagrees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import * as core from '../../src/core/index.js';
import { type Sym, add, compile, grad, mul, sum } from '../../src/core/index.js';
import { type AgreeCase, TOL, agreeAll, compareRuns, f32, mismatch } from './agree.js';
import { type T64, awayFromZero, distinct, randn, t64, uniform } from './fd.js';
import { smallNet, smallNetShapes } from './nets.js';

type LCase = AgreeCase;
const cases: LCase[] = [];
const families: [string, number][] = [];
const endFamily = (name: string) => families.push([name, cases.length]);

// Elementwise, with broadcasting and plain-number operands.
for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
  const fn = core[op];
  for (const [sa, sb] of [[[2, 3], [2, 3]], [[2, 3], [3]], [[2, 1, 4], [3, 1]], [[3], []]] as number[][][]) {
    cases.push({
      name: `${op} [${sa}] [${sb}]`,
      fn: (a, b) => fn(a!, b!),
      make: (r) => (op === 'div' ? [randn(r, sa!), awayFromZero(r, sb!, 0.5)] : op === 'add' || op === 'sub' || op === 'mul' ? [randn(r, sa!), randn(r, sb!)] : [distinct(r, sa!), t64(sb!, (i) => 0.05 + 0.1 * Math.floor((i * 7) % 11) - 0.5)]),
    });
  }
  cases.push({ name: `${op} with a number`, fn: (a) => add(fn(a!, 0.35), fn(0.45, a!)), make: (r) => [op === 'div' ? awayFromZero(r, [2, 3], 0.5) : distinct(r, [2, 3])] });
}
const unary: [string, (x: Sym) => Sym, (r: Rng) => T64][] = [
  ['neg', core.neg, (r) => randn(r, [2, 3])],
  ['exp', core.exp, (r) => randn(r, [2, 3])],
  ['log', core.log, (r) => uniform(r, [2, 3], 0.3, 3)],
  ['sqrt', core.sqrt, (r) => uniform(r, [2, 3], 0.3, 3)],
  ['abs', core.abs, (r) => awayFromZero(r, [2, 3])],
  ['sigmoid', core.sigmoid, (r) => randn(r, [2, 3], 3)],
  ['tanh', core.tanh, (r) => randn(r, [2, 3], 2)],
  ['relu', core.relu, (r) => awayFromZero(r, [2, 3])],
  ['sign', (x) => add(core.sign(x), x), () => t64([6], (i) => [-2, -0.5, 0, 0.25, 1, 3][i]!)],
  ['step', (x) => add(core.step(x), x), () => t64([6], (i) => [-2, -0.5, 0, 0.25, 1, 3][i]!)],
  ['stopGradient', (x) => mul(core.stopGradient(x), x), (r) => randn(r, [2, 3])],
  ['square', core.square, (r) => randn(r, [2, 3])],
];
for (const [name, fn, make] of unary) cases.push({ name, fn: (x) => fn(x!), make: (r) => [make(r)] });
cases.push(
  { name: 'eq with broadcasting', fn: (a, b) => add(core.eq(a!, b!), a!), make: () => [t64([2, 3], (i) => [1, 2, 3, 4, 5, 6][i]!), t64([3], (i) => [1, 5, 0][i]!)] },
  { name: 'where [2,3] a [2,3] b [3]', fn: (m, a, b) => core.where(m!, a!, b!), make: (r) => [t64([2, 3], (i) => i % 2), randn(r, [2, 3]), randn(r, [3])], wrt: [1, 2] },
  { name: 'where [2,1] a [1,3] b number', fn: (m, a) => core.where(m!, a!, -2), make: (r) => [t64([2, 1], (i) => i), randn(r, [1, 3])], wrt: [1] },
);

endFamily('elementwise');

// Reductions.
for (const op of ['sum', 'max', 'mean'] as const) {
  for (const axes of [undefined, [0], [2], [0, 2], [-1]]) {
    for (const keep of [false, true]) {
      cases.push({ name: `${op} axes ${axes ? `[${axes}]` : 'all'} keepdims ${keep}`, fn: (x) => core[op](x!, axes, keep), make: (r) => [distinct(r, [2, 3, 4])] });
    }
  }
}
endFamily('reductions');

// Data movement and broadcasting.
cases.push(
  { name: 'broadcastTo [3,1] -> [2,3,4]', fn: (x) => core.broadcastTo(x!, [2, 3, 4]), make: (r) => [randn(r, [3, 1])] },
  { name: 'broadcastTo [] -> [2,2]', fn: (x) => core.broadcastTo(x!, [2, 2]), make: (r) => [randn(r, [])] },
  { name: 'reshape [2,3,4] -> [4,-1]', fn: (x) => core.reshape(x!, [4, -1]), make: (r) => [randn(r, [2, 3, 4])] },
  { name: 'transpose perm [2,0,1]', fn: (x) => core.transpose(x!, [2, 0, 1]), make: (r) => [randn(r, [2, 3, 4])] },
  { name: 'transpose 4-D perm [0,2,3,1]', fn: (x) => core.transpose(x!, [0, 2, 3, 1]), make: (r) => [randn(r, [2, 3, 2, 2])] },
  { name: 'slice [2,5,4] [0,1,1]..[2,4,3]', fn: (x) => core.slice(x!, [0, 1, 1], [2, 4, 3]), make: (r) => [randn(r, [2, 5, 4])] },
  { name: 'pad [1,2,3,3] asymmetric', fn: (x) => core.pad(x!, [0, 1, 2, 0], [1, 0, 1, 3]), make: (r) => [randn(r, [1, 2, 3, 3])] },
  { name: 'concat axis 1', fn: (a, b, c) => core.concat([a!, b!, c!], 1), make: (r) => [randn(r, [2, 1, 3]), randn(r, [2, 2, 3]), randn(r, [2, 3, 3])] },
  { name: 'concat axis -1', fn: (a, b) => core.concat([a!, b!], -1), make: (r) => [randn(r, [2, 3]), randn(r, [2, 1])] },
  { name: 'flatten', fn: (x) => core.flatten(x!), make: (r) => [randn(r, [2, 3, 2])] },
);
for (const [sa, sb] of [[[3, 4], [4, 5]], [[2, 3, 4], [2, 4, 5]], [[2, 1, 3, 4], [3, 4, 2]], [[3, 4], [2, 4, 5]]] as number[][][]) {
  cases.push({ name: `matmul [${sa}] @ [${sb}]`, fn: (a, b) => core.matmul(a!, b!), make: (r) => [randn(r, sa!), randn(r, sb!)] });
}
cases.push(
  { name: 'logSoftmax [3,5]', fn: (x) => core.logSoftmax(x!), make: (r) => [randn(r, [3, 5], 3)] },
  { name: 'logSoftmax [2,3,4]', fn: (x) => core.logSoftmax(x!), make: (r) => [randn(r, [2, 3, 4], 3)] },
  { name: 'softmax [3,5]', fn: (x) => core.softmax(x!), make: (r) => [randn(r, [3, 5], 3)] },
);

endFamily('data movement, matmul, softmax');

// Convolutions (forward + both gradients: ConvTranspose and the weight-gradient convolution).
type CP = Partial<core.ConvParams>;
const convs: [string, number[], number[], CP][] = [
  ['pad 1', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }],
  ['stride 2 asymmetric pads', [1, 2, 7, 8], [3, 2, 3, 3], { stride: [2, 2], pads: [1, 0, 2, 1] }],
  ['dilation 2', [1, 2, 8, 7], [2, 2, 3, 3], { dilation: [2, 2], pads: [2, 1, 0, 2] }],
  ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, pads: [1, 1, 1, 1] }],
  ['depthwise stride 2', [1, 3, 6, 6], [3, 1, 3, 3], { groups: 3, stride: [2, 2], pads: [1, 1, 1, 1] }],
  ['1x1', [2, 3, 4, 4], [5, 3, 1, 1], {}],
  ['5x5 stride 2', [1, 1, 9, 9], [2, 1, 5, 5], { stride: [2, 2] }],
  ['stride 2 dilation 2 groups 2', [1, 4, 9, 8], [4, 2, 3, 3], { stride: [2, 2], dilation: [2, 2], groups: 2, pads: [1, 2, 0, 1] }],
];
for (const [name, sx, sw, p] of convs) {
  cases.push({ name: `conv2d ${name}`, fn: (x, w) => core.conv2d(x!, w!, p), make: (r) => [randn(r, sx), randn(r, sw, 0.5)] });
}
cases.push(
  { name: 'convTranspose2d stride 2 output padding 1', fn: (u, w) => core.convTranspose2d(u!, w!, { stride: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 8, 8]), make: (r) => [randn(r, [1, 3, 4, 4]), randn(r, [3, 2, 3, 3])] },
  { name: 'convTranspose2d groups 2 asymmetric', fn: (u, w) => core.convTranspose2d(u!, w!, { groups: 2, stride: [2, 2], pads: [0, 1, 1, 0] }, [1, 2, 7, 6]), make: (r) => [randn(r, [1, 4, 3, 3]), randn(r, [4, 1, 3, 3])] },
  { name: 'convTranspose2d dilation 2', fn: (u, w) => core.convTranspose2d(u!, w!, { dilation: [2, 2] }, [1, 2, 7, 7]), make: (r) => [randn(r, [1, 2, 3, 3]), randn(r, [2, 2, 3, 3])] },
  { name: 'avgPool2d 3 stride 2 pad 1', fn: (x) => core.avgPool2d(x!, 3, 2, 1), make: (r) => [randn(r, [2, 2, 5, 5])] },
  { name: 'maxPool2d 2', fn: (x) => core.maxPool2d(x!, 2), make: (r) => [distinct(r, [1, 2, 4, 6])] },
  { name: 'maxPool2dStrided 3 stride 2', fn: (x) => core.maxPool2dStrided(x!, 3, 2), make: (r) => [distinct(r, [1, 2, 7, 8])] },
  { name: 'globalAvgPool', fn: (x) => core.globalAvgPool(x!), make: (r) => [randn(r, [2, 3, 3, 2])] },
  { name: 'batchNorm training', fn: (x, g, b) => core.batchNorm(x!, g!, b!, { training: true }).y, make: (r) => [randn(r, [4, 3, 2, 2]), uniform(r, [3], 0.5, 1.5), randn(r, [3])] },
  { name: 'linear', fn: (x, w, b) => core.linear(x!, w!, b!), make: (r) => [randn(r, [3, 4]), randn(r, [5, 4]), randn(r, [5])] },
  { name: 'crossEntropy', fn: (z, t) => core.crossEntropy(z!, t!), make: (r) => [randn(r, [4, 5], 2), t64([4, 5], (i) => (i % 6 === 0 ? 1 : 0))], wrt: [0] },
  { name: 'totalVariation', fn: (x) => core.totalVariation(x!), make: (r) => [randn(r, [1, 2, 4, 5])] },
);

endFamily('convolutions and composites');

let from = 0;
for (const [name, to] of families) {
  const group = cases.slice(from, to);
  from = to;
  test(`lowering: ${name} (${group.length} cases)`, () => agreeAll(name, group));
}

// ---------------------------------------------------------------------------------------------
// Composite graphs: a small conv net, its gradient, and grad of grad (Hessian-vector product and
// a gradient-matching objective differentiated with respect to the input).

function netInputs(seed: number) {
  const r = new Rng(seed);
  return [...smallNetShapes.slice(0, 5).map((s) => f32(randn(r, s, 0.8))), f32(t64([2, 5], (i) => (i === 1 || i === 8 ? 1 : 0)))];
}

test('lowering: small conv net forward + gradient + Hessian-vector product', async () => {
  const net = compile((...a: Sym[]) => {
    const [x, w1, b1, w2, wl, t] = a as [Sym, Sym, Sym, Sym, Sym, Sym];
    const loss = smallNet(x, w1, b1, w2, wl, t);
    const gs = grad(loss, [x, w1, b1, w2, wl]);
    // <grad, v> with v = the parameters themselves (stopped), then its gradient.
    let h: Sym = sum(mul(gs[1]!, core.stopGradient(w1)));
    h = add(h, sum(mul(gs[3]!, core.stopGradient(w2))));
    return [loss, ...gs, ...grad(h, [x, w1, w2, wl])];
  }, { name: 'net' });
  assert.deepEqual(await compareRuns(net, netInputs(1)), []);
});

test('lowering: gradient matching (grad of grad w.r.t. the input)', async () => {
  const attack = compile((...a: Sym[]) => {
    const [x, w1, b1, w2, wl, t, ...target] = a as Sym[];
    const gs = grad(smallNet(x!, w1!, b1!, w2!, wl!, t!), [w1!, b1!, w2!, wl!]);
    // 1 - cosine similarity between the dummy gradient and the target gradient.
    let dotp: Sym = sum(mul(gs[0]!, target[0]!));
    let nn: Sym = sum(mul(gs[0]!, gs[0]!));
    for (let k = 1; k < gs.length; k++) {
      dotp = add(dotp, sum(mul(gs[k]!, target[k]!)));
      nn = add(nn, sum(mul(gs[k]!, gs[k]!)));
    }
    const loss = core.sub(1, core.div(dotp, core.sqrt(nn)));
    return [loss, ...grad(add(loss, mul(core.totalVariation(x!), 0.01)), [x!])];
  }, { name: 'gradient matching' });
  const r = new Rng(3);
  const targets = [smallNetShapes[1]!, smallNetShapes[2]!, smallNetShapes[3]!, smallNetShapes[4]!].map((s) => f32(randn(r, s)));
  assert.deepEqual(await compareRuns(attack, [...netInputs(2), ...targets]), []);
});

test('lowering: a compiled function serves several input shapes and repeated calls', async () => {
  const c = compile((x: Sym) => core.logSoftmax(core.matmul(x, core.transpose(x))));
  for (const shape of [[2, 3], [4, 3], [2, 3]]) {
    const x = f32(randn(new Rng(shape[0]!), shape));
    const [got] = await c.run([x]);
    assert.ok(mismatch(got!, c.eval64([x])[0]!) < TOL);
  }
});
