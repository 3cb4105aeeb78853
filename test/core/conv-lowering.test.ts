// The convolution family's fast ONNX forms (src/core/ops/conv-lower.ts) against the float64
// interpreter, one case per branch of the lowering: the weight gradient with the batch folded
// (batch 1, small maps) or per image (large maps), 1x1 kernels with and without stride, padding,
// dilation and stride for the one-hot im2col; the stride-1 transposed convolution as a Conv by the
// flipped kernel. Each case also runs the gradient of a weighted sum (the rule's own vjp), and the
// finite-difference suite checks convWeightGrad's first- and second-order rules in float64.
import { test } from 'node:test';
import { type ConvParams, conv2d, convTranspose2d, convWeightGrad, mul, type Sym } from '../../src/core/index.js';
import { type AgreeCase, agreeAll } from './agree.js';
import { type FdCase, fdSuite, randn, wsum } from './fd.js';

const full = (p: Partial<ConvParams>): ConvParams => ({ stride: p.stride ?? [1, 1], pads: p.pads ?? [0, 0, 0, 0], dilation: p.dilation ?? [1, 1], groups: p.groups ?? 1 });

/** [name, x shape, weight shape, params]: the cotangent g gets the conv output's shape. */
const weightGrads: [string, number[], number[], Partial<ConvParams>][] = [
  ['batch 1 (one Gemm, no transposes)', [1, 3, 6, 6], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }],
  ['batch 3, 5x5 map (batch folded into the product)', [3, 2, 5, 5], [4, 2, 3, 3], { pads: [1, 1, 1, 1] }],
  ['batch 2, 12x12 map (per-image products summed)', [2, 3, 12, 12], [2, 3, 3, 3], { pads: [1, 1, 1, 1] }],
  ['batch 2, 16x9 map, stride 2, asymmetric pads', [2, 2, 31, 18], [3, 2, 3, 3], { stride: [2, 2], pads: [1, 0, 2, 1] }],
  ['dilation 2, stride [1,2], 2x3 kernel', [2, 2, 9, 8], [2, 2, 2, 3], { dilation: [2, 1], stride: [1, 2], pads: [1, 1, 0, 0] }],
  ['1x1 kernel', [2, 3, 4, 4], [5, 3, 1, 1], {}],
  ['1x1 kernel, stride 2 (strided Slice)', [2, 3, 5, 5], [2, 3, 1, 1], { stride: [2, 2] }],
  ['1x1 kernel, stride 2, 12x12 map (per image)', [2, 2, 24, 24], [3, 2, 1, 1], { stride: [2, 2] }],
  ['groups 2 (one weight gradient per group)', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, pads: [1, 1, 1, 1] }],
];

function outShape(sx: number[], sw: number[], p: ConvParams): number[] {
  const dim = (i: number, a: 0 | 1) => Math.floor((sx[2 + a]! + p.pads[a] + p.pads[a + 2] - p.dilation[a] * (sw[2 + a]! - 1) - 1) / p.stride[a]) + 1;
  return [sx[0]!, sw[0]!, dim(0, 0), dim(1, 1)];
}

const agree: AgreeCase[] = [];
const fd: FdCase[] = [];
for (const [name, sx, sw, p] of weightGrads) {
  const f = full(p);
  const sg = outShape(sx, sw, f);
  agree.push({ name: `convWeightGrad ${name}`, fn: (x, g) => convWeightGrad(x!, g!, f, sw), make: (r) => [randn(r, sx), randn(r, sg)] });
  // Small enough for float64 finite differences.
  if (sx.reduce((a, b) => a * b, 1) <= 300) fd.push({ name: `convWeightGrad ${name}`, f: (x, g) => wsum(mul(convWeightGrad(x!, g!, f, sw), 1)), make: (r) => [randn(r, sx), randn(r, sg)] });
}
// The weight gradient of a conv taken by grad matches the primitive used directly.
agree.push({
  name: 'grad of conv2d w.r.t. its weight, stride 2',
  fn: (x, w) => conv2d(x!, w!, { stride: [2, 2], pads: [1, 1, 1, 1] }),
  make: (r) => [randn(r, [2, 3, 16, 16]), randn(r, [4, 3, 3, 3], 0.5)],
});
const transposes: [string, number[], number[], Partial<ConvParams>, number[]][] = [
  ['stride 1, pads 1 (Conv by the flipped kernel)', [2, 3, 6, 6], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }, [2, 2, 6, 6]],
  ['stride 1, asymmetric pads, 3x2 kernel', [1, 2, 5, 6], [2, 3, 3, 2], { pads: [0, 1, 2, 0] }, [1, 3, 5, 6]],
  ['stride 1, dilation 2, pads 1', [1, 2, 5, 5], [2, 2, 3, 3], { dilation: [2, 2], pads: [1, 1, 1, 1] }, [1, 2, 7, 7]],
  ['stride 1, pads larger than the kernel reach (stays ConvTranspose)', [1, 2, 7, 7], [2, 2, 3, 3], { pads: [3, 3, 3, 3] }, [1, 2, 3, 3]],
];
for (const [name, su, sw, p, out] of transposes) {
  agree.push({ name: `convTranspose2d ${name}`, fn: (u, w) => convTranspose2d(u!, w!, p, out), make: (r) => [randn(r, su), randn(r, sw, 0.5)] });
}

test(`lowering: convolution fast forms (${agree.length} cases)`, () => agreeAll('conv fast forms', agree));
fdSuite(fd);
