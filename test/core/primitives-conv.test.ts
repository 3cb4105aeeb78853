// First- and second-order finite-difference checks (float64) of conv2d (stride, asymmetric pads,
// dilation, groups, depthwise, 1x1 and 5x5 kernels), convTranspose2d, and the composites built on
// them: pooling, batch normalisation, linear, cross-entropy, total variation and a small network.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ConvParams,
  type Sym,
  add,
  avgPool2d,
  batchNorm,
  compile,
  conv2d,
  conv2dBias,
  convTranspose2d,
  crossEntropy,
  globalAvgPool,
  grad,
  linear,
  maxPool2d,
  maxPool2dStrided,
  softmax,
  tanh,
  totalVariation,
} from '../../src/core/index.js';
import { smallNet, smallNetShapes } from './nets.js';
import { type FdCase, distinct, fdSuite, randn, t64, uniform, wsum } from './fd.js';

type P = Partial<ConvParams>;
const convs: [string, number[], number[], P][] = [
  ['3x3 pad 1, batch 2', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }],
  ['stride 2, asymmetric pads [1,0,2,1]', [1, 2, 7, 8], [3, 2, 3, 3], { stride: [2, 2], pads: [1, 0, 2, 1] }],
  ['stride [2,1], 3x2 kernel, pads [0,1,1,0]', [1, 2, 6, 5], [2, 2, 3, 2], { stride: [2, 1], pads: [0, 1, 1, 0] }],
  ['stride 3 leaving rows unused', [1, 2, 8, 8], [2, 2, 3, 3], { stride: [3, 3] }],
  ['dilation 2, pads [2,1,0,2]', [1, 2, 8, 7], [2, 2, 3, 3], { dilation: [2, 2], pads: [2, 1, 0, 2] }],
  ['dilation [2,1], stride [1,2]', [1, 2, 7, 7], [3, 2, 2, 3], { dilation: [2, 1], stride: [1, 2], pads: [1, 1, 0, 0] }],
  ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, pads: [1, 1, 1, 1] }],
  ['depthwise (groups = channels), stride 2', [1, 3, 6, 6], [3, 1, 3, 3], { groups: 3, stride: [2, 2], pads: [1, 1, 1, 1] }],
  ['depthwise with channel multiplier 2', [1, 3, 5, 5], [6, 1, 3, 3], { groups: 3 }],
  ['1x1 kernel', [2, 3, 4, 4], [5, 3, 1, 1], {}],
  ['1x1 kernel, stride 2', [1, 3, 5, 5], [2, 3, 1, 1], { stride: [2, 2] }],
  ['5x5 kernel, pad 2', [1, 2, 7, 7], [2, 2, 5, 5], { pads: [2, 2, 2, 2] }],
  ['5x5 kernel, stride 2, no pad', [1, 1, 9, 9], [2, 1, 5, 5], { stride: [2, 2] }],
  ['stride 2 + dilation 2 + groups 2 + asymmetric pads', [1, 4, 9, 8], [4, 2, 3, 3], { stride: [2, 2], dilation: [2, 2], groups: 2, pads: [1, 2, 0, 1] }],
];

const cases: FdCase[] = [];
for (const [name, sx, sw, p] of convs) {
  cases.push({ name: `conv2d ${name}`, f: (x, w) => wsum(conv2d(x!, w!, p)), make: (r) => [randn(r, sx), randn(r, sw, 0.5)] });
}

const transposes: [string, number[], number[], P, number[]][] = [
  ['stride 1', [2, 2, 3, 3], [2, 3, 3, 3], {}, [2, 3, 5, 5]],
  ['stride 2, pads 1, output padding 1', [1, 3, 4, 4], [3, 2, 3, 3], { stride: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 8, 8]],
  ['groups 2, stride 2, asymmetric pads', [1, 4, 3, 3], [4, 1, 3, 3], { groups: 2, stride: [2, 2], pads: [0, 1, 1, 0] }, [1, 2, 7, 6]],
  ['dilation 2', [1, 2, 3, 3], [2, 2, 3, 3], { dilation: [2, 2] }, [1, 2, 7, 7]],
];
for (const [name, su, sw, p, out] of transposes) {
  cases.push({ name: `convTranspose2d ${name}`, f: (u, w) => wsum(convTranspose2d(u!, w!, p, out)), make: (r) => [randn(r, su), randn(r, sw, 0.5)] });
}

// Composites.
cases.push(
  { name: 'linear with bias', f: (x, w, b) => wsum(linear(x!, w!, b!)), make: (r) => [randn(r, [3, 4]), randn(r, [5, 4]), randn(r, [5])] },
  { name: 'linear without bias', f: (x, w) => wsum(linear(x!, w!)), make: (r) => [randn(r, [2, 3]), randn(r, [4, 3])] },
  {
    name: 'conv2dBias padding 1',
    f: (x, w, b) => wsum(conv2dBias(x!, w!, b!, { padding: 1 })),
    make: (r) => [randn(r, [1, 2, 4, 4]), randn(r, [3, 2, 3, 3], 0.5), randn(r, [3])],
  },
  {
    name: 'crossEntropy with one-hot targets (held fixed)',
    f: (z, t) => crossEntropy(z!, t!),
    make: (r) => [randn(r, [4, 5], 2), t64([4, 5], (i) => (i % 5 === (Math.floor(i / 5) * 2) % 5 ? 1 : 0))],
    opts: { wrt: [0] },
  },
  {
    name: 'crossEntropy with soft targets (both differentiated)',
    f: (z, t) => crossEntropy(z!, softmax(t!)),
    make: (r) => [randn(r, [3, 4], 2), randn(r, [3, 4])],
  },
  { name: 'totalVariation', f: (x) => totalVariation(x!), make: (r) => [randn(r, [1, 2, 4, 5])] },
  { name: 'totalVariation of a smooth map', f: (x) => totalVariation(tanh(x!)), make: (r) => [randn(r, [2, 1, 3, 4])] },
  { name: 'avgPool2d kernel 2', f: (x) => wsum(avgPool2d(x!, 2)), make: (r) => [randn(r, [1, 2, 4, 6])] },
  { name: 'avgPool2d kernel 3 stride 2 pad 1', f: (x) => wsum(avgPool2d(x!, 3, 2, 1)), make: (r) => [randn(r, [2, 2, 5, 5])] },
  { name: 'maxPool2d kernel 2', f: (x) => wsum(maxPool2d(x!, 2)), make: (r) => [distinct(r, [1, 2, 4, 6])] },
  { name: 'maxPool2d kernel 3', f: (x) => wsum(maxPool2d(x!, 3)), make: (r) => [distinct(r, [2, 1, 6, 3])] },
  { name: 'maxPool2dStrided kernel 3 stride 2 (overlapping)', f: (x) => wsum(maxPool2dStrided(x!, 3, 2)), make: (r) => [distinct(r, [1, 2, 7, 6])] },
  { name: 'globalAvgPool', f: (x) => wsum(globalAvgPool(x!)), make: (r) => [randn(r, [2, 3, 3, 2])] },
  {
    name: 'batchNorm training NCHW (y and batch statistics)',
    f: (x, g, b) => {
      const { y, batchMean, batchVar } = batchNorm(x!, g!, b!, { training: true });
      return add(add(wsum(y), wsum(batchMean!, 2)), wsum(batchVar!, 3));
    },
    make: (r) => [randn(r, [4, 3, 2, 2], 1.5), uniform(r, [3], 0.5, 1.5), randn(r, [3])],
  },
  {
    name: 'batchNorm training NC',
    f: (x, g, b) => wsum(batchNorm(x!, g!, b!, { training: true }).y),
    make: (r) => [randn(r, [5, 3]), uniform(r, [3], 0.5, 1.5), randn(r, [3])],
  },
  {
    name: 'batchNorm evaluation with running statistics',
    f: (x, g, b, m, v) => wsum(batchNorm(x!, g!, b!, { training: false, runningMean: m!, runningVar: v! }).y),
    make: (r) => [randn(r, [2, 3, 2, 2]), randn(r, [3]), randn(r, [3]), randn(r, [3]), uniform(r, [3], 0.5, 2)],
  },
);

cases.push({
  name: 'small conv net: loss wrt input and all weights',
  f: (...a) => smallNet(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!),
  make: (r) => [...smallNetShapes.slice(0, 5).map((s) => randn(r, s, 0.8)), t64([2, 5], (i) => (i === 1 || i === 8 ? 1 : 0))],
  opts: { wrt: [0, 1, 2, 3, 4] },
});
// Gradient-matching loss (the shape of a gradient-inversion objective): a function of a gradient.
cases.push({
  name: 'gradient-matching objective through conv + linear',
  f: (x, w) => {
    const g = gradOf(x!, w!);
    return wsum(g);
  },
  make: (r) => [randn(r, [1, 2, 4, 4]), randn(r, [3, 2, 3, 3], 0.5)],
});

function gradOf(x: Sym, w: Sym): Sym {
  const loss = wsum(tanh(conv2d(x, w, { stride: [2, 2], pads: [1, 0, 1, 0] })));
  return grad(loss, [w])[0]!;
}

fdSuite(cases);

// ---------------------------------------------------------------------------------------------
// Forward values against direct loops.

function conv2dDirect(x: Float64Array, sx: number[], w: Float64Array, sw: number[], p: ConvParams, so: number[]): Float64Array {
  const [n, c, h, wd] = sx as [number, number, number, number];
  const [o, cg, kh, kw] = sw as [number, number, number, number];
  const [, , ho, wo] = so as [number, number, number, number];
  const og = o / p.groups;
  const out = new Float64Array(n * o * ho * wo);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < ho; y++)
        for (let xx = 0; xx < wo; xx++) {
          let acc = 0;
          for (let ic = 0; ic < cg; ic++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = y * p.stride[0] - p.pads[0] + i * p.dilation[0];
                const ix = xx * p.stride[1] - p.pads[1] + j * p.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const ci = Math.floor(oc / og) * cg + ic;
                acc += x[((b * c + ci) * h + iy) * wd + ix]! * w[((oc * cg + ic) * kh + i) * kw + j]!;
              }
          out[((b * o + oc) * ho + y) * wo + xx] = acc;
        }
  return out;
}

test('conv2d: values and output shapes against a direct loop', () => {
  for (const [name, sx, sw, p] of convs) {
    const full: ConvParams = { stride: p.stride ?? [1, 1], pads: p.pads ?? [0, 0, 0, 0], dilation: p.dilation ?? [1, 1], groups: p.groups ?? 1 };
    const dim = (i: number, k: number, a: 0 | 1) => Math.floor((i + full.pads[a] + full.pads[a + 2] - full.dilation[a] * (k - 1) - 1) / full.stride[a]) + 1;
    const so = [sx[0]!, sw[0]!, dim(sx[2]!, sw[2]!, 0), dim(sx[3]!, sw[3]!, 1)];
    const c = compile((x: Sym, w: Sym) => conv2d(x, w, p));
    assert.deepEqual(c.traced([sx, sw]).outputs[0]!.shape, so, `${name}: output shape`);
    const x = t64(sx, (i) => Math.sin(i * 1.3));
    const w = t64(sw, (i) => Math.cos(i * 0.7));
    const got = c.eval64([x, w])[0]!;
    const want = conv2dDirect(x.data, sx, w.data, sw, full, so);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-12, `${name}: entry ${i}: ${got[i]} vs ${want[i]}`);
  }
});

test('convTranspose2d is the adjoint of conv2d: <conv(x, w), u> = <x, convT(u, w)>', () => {
  for (const [name, sx, sw, p] of convs) {
    const so = compile((x: Sym, w: Sym) => conv2d(x, w, p)).traced([sx, sw]).outputs[0]!.shape;
    const c = compile((x: Sym, w: Sym, u: Sym) => [conv2d(x, w, p), convTranspose2d(u, w, p, sx)]);
    const x = t64(sx, (i) => Math.sin(i * 1.1));
    const w = t64(sw, (i) => Math.cos(i * 0.3));
    const u = t64(so, (i) => Math.sin(i * 0.9 + 1));
    const [y, xt] = c.eval64([x, w, u]);
    assert.equal(xt!.length, x.data.length, `${name}: convTranspose2d output size`);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < y!.length; i++) lhs += y![i]! * u.data[i]!;
    for (let i = 0; i < xt!.length; i++) rhs += x.data[i]! * xt![i]!;
    assert.ok(Math.abs(lhs - rhs) < 1e-10 * (1 + Math.abs(lhs)), `${name}: ${lhs} vs ${rhs}`);
  }
});

test('pooling and batchNorm: values', () => {
  const x = t64([1, 1, 2, 4], (i) => [1, 5, 2, 0, 3, -1, 7, 4][i]!);
  assert.deepEqual([...compile((s: Sym) => maxPool2d(s, 2)).eval64([x])[0]!], [5, 7]);
  assert.deepEqual([...compile((s: Sym) => avgPool2d(s, 2)).eval64([x])[0]!], [2, 3.25]);
  // Overlapping 3x3 windows, stride 2, on a 7x6 map of negative and positive values: a direct loop.
  const [h, w] = [7, 6];
  const z = t64([1, 1, h, w], (i) => Math.sin(i * 2.3) * 5 - 1);
  const want: number[] = [];
  for (let i = 0; i + 3 <= h; i += 2) for (let j = 0; j + 3 <= w; j += 2) {
    let m = -Infinity;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) m = Math.max(m, z.data[(i + a) * w + j + b]!);
    want.push(m);
  }
  assert.deepEqual([...compile((s: Sym) => maxPool2dStrided(s, 3, 2)).eval64([z])[0]!], want);
  const bn = compile((s: Sym, g: Sym, b: Sym) => {
    const r = batchNorm(s, g, b, { training: true, eps: 0 });
    return [r.y, r.batchMean!, r.batchVar!];
  });
  const [y, m, v] = bn.eval64([t64([4, 1], (i) => [1, 2, 3, 6][i]!), t64([1], () => 2), t64([1], () => 1)]);
  assert.deepEqual([...m!], [3]);
  assert.deepEqual([...v!], [3.5]);
  const sd = Math.sqrt(3.5);
  [1, 2, 3, 6].forEach((xi, i) => assert.ok(Math.abs(y![i]! - (2 * (xi - 3)) / sd - 1) < 1e-12));
});
