// ONNX lowerings of the convolution family chosen for speed on ONNX Runtime's CPU kernels. The
// traced graph keeps one node per convolution (conv2d, its transpose, its weight gradient); only
// the ONNX emitted for each differs from the literal operator, so exactness is untouched: every
// form below computes the same sums, in float32, as the operator it replaces.
import type { LoweringContext, Shape } from '../graph.js';
import type { ConvParams } from './conv.js';

/** Below this many output positions per image the batch is folded into one matrix product. */
const FOLD_BELOW = 128;

/**
 * dW[o, c, i, j] = sum over n, y, x of g[n, o, y, x] * xpad[n, c, y s + i d, x s + j d], as a
 * matrix product: an im2col of x (one depthwise Conv with one-hot kernels, [N, C kh kw, Ho Wo]; a
 * strided Slice for a 1x1 kernel) against g. With many positions per image the product is taken
 * per image and summed over the batch; with few, the batch is folded into the inner dimension
 * (one Gemm) so that the product stays large. ONNX Runtime's Conv would run the literal form (a
 * convolution of x by g with stride and dilation swapped) as one tall, 9-column product per input
 * channel, three to four times slower.
 */
export function lowerWeightGrad(ctx: LoweringContext, x: string, g: string, p: ConvParams, sx: Shape, sg: Shape, kernel: [number, number]): string {
  const [n, c, h, w] = sx as [number, number, number, number];
  const [, o, ho, wo] = sg as [number, number, number, number];
  const [kh, kw] = kernel;
  const hw = ho * wo;
  const kk = kh * kw;
  const noPads = p.pads.every((v) => v === 0);
  let col: string;
  if (kk === 1 && noPads) {
    const [sh, sw] = p.stride;
    col = sh === 1 && sw === 1 && ho === h && wo === w
      ? x
      : ctx.node('Slice', [x, ctx.int64([0, 0]), ctx.int64([(ho - 1) * sh + 1, (wo - 1) * sw + 1]), ctx.int64([2, 3]), ctx.int64([sh, sw])]);
  } else {
    const onehot = new Float32Array(c * kk * kk);
    for (let ci = 0; ci < c; ci++) for (let k = 0; k < kk; k++) onehot[(ci * kk + k) * kk + k] = 1;
    col = ctx.node('Conv', [x, ctx.floatTensor(onehot, [c * kk, 1, kh, kw])], { strides: p.stride, pads: p.pads, dilations: p.dilation, group: c });
  }
  const ck = c * kk;
  const out = [o, c, kh, kw];
  if (n === 1 || hw < FOLD_BELOW) {
    const fold = (t: string, rows: number) =>
      n === 1 ? ctx.node('Reshape', [t, ctx.int64([rows, hw])]) : ctx.node('Reshape', [ctx.node('Transpose', [ctx.node('Reshape', [t, ctx.int64([n, rows, hw])])], { perm: [1, 0, 2] }), ctx.int64([rows, n * hw])]);
    const dw = ctx.node('Gemm', [fold(g, o), fold(col, ck)], { transB: 1 });
    return ctx.node('Reshape', [dw, ctx.int64(out)]);
  }
  // Per image: [N, C kk, HW] x [N, HW, O] -> [N, C kk, O], summed over N, then [O, C kk].
  const gT = ctx.node('Transpose', [ctx.node('Reshape', [g, ctx.int64([n, o, hw])])], { perm: [0, 2, 1] });
  const prod = ctx.node('MatMul', [ctx.node('Reshape', [col, ctx.int64([n, ck, hw])]), gT]);
  const summed = ctx.node('ReduceSum', [prod, ctx.int64([0])], { keepdims: 0 });
  return ctx.node('Reshape', [ctx.node('Transpose', [summed], { perm: [1, 0] }), ctx.int64(out)]);
}

/**
 * A stride-1 transposed convolution as an ordinary Conv by the flipped, transposed kernel (ONNX
 * Runtime's Conv is 15-25 % faster than its ConvTranspose here); other strides stay ConvTranspose.
 */
export function lowerConvTranspose(ctx: LoweringContext, u: string, w: string, p: ConvParams & { outputPadding: [number, number] }, sw: Shape): string {
  const [, , kh, kw] = sw as [number, number, number, number];
  const [dh, dw] = p.dilation;
  const flipPads = [dh * (kh - 1) - p.pads[0], dw * (kw - 1) - p.pads[1], dh * (kh - 1) - p.pads[2], dw * (kw - 1) - p.pads[3]];
  const plain = p.stride[0] === 1 && p.stride[1] === 1 && p.groups === 1 && flipPads.every((v) => v >= 0) && p.outputPadding.every((v) => v === 0);
  if (!plain) {
    return ctx.node('ConvTranspose', [u, w], { strides: p.stride, pads: p.pads, dilations: p.dilation, group: p.groups, output_padding: p.outputPadding });
  }
  const flipped = ctx.node('Slice', [ctx.node('Transpose', [w], { perm: [1, 0, 2, 3] }), ctx.int64([-1, -1]), ctx.int64([-(kh + 1), -(kw + 1)]), ctx.int64([2, 3]), ctx.int64([-1, -1])]);
  return ctx.node('Conv', [u, flipped], { strides: [1, 1], pads: flipPads, dilations: p.dilation, group: 1 });
}
