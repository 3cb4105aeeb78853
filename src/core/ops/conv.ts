// 2-D convolution and its transpose (NCHW, weights [Cout, Cin/groups, kh, kw]). The weight gradient
// is itself written as a convolution over transposed tensors, so it differentiates again for free.
import { type Primitive, type Shape, Sym, sizeOf } from '../graph.js';
import { lowerConvTranspose, lowerWeightGrad } from './conv-lower.js';
import { concat, sliceAxis } from './shape.js';

export interface ConvParams {
  stride: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

function convOutDim(i: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((i + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

export const conv2dP: Primitive<ConvParams> = {
  name: 'conv2d',
  shape: ([x, w], { stride, pads, dilation, groups }) => {
    if (x!.length !== 4 || w!.length !== 4) throw new Error('conv2d needs NCHW input and OIHW weight');
    checkParams({ stride, pads, dilation, groups });
    if (x![1] !== w![1]! * groups || w![0]! % groups !== 0) throw new Error(`channels ${x![1]} do not fit weight [${w}] with ${groups} groups`);
    const ho = convOutDim(x![2]!, w![2]!, stride[0], dilation[0], pads[0], pads[2]);
    const wo = convOutDim(x![3]!, w![3]!, stride[1], dilation[1], pads[1], pads[3]);
    if (ho <= 0 || wo <= 0) throw new Error('empty output');
    return [x![0]!, w![0]!, ho, wo];
  },
  eval: ([x, w], [sx, sw], p, out) => {
    const r = new Float64Array(sizeOf(out));
    convLoop(sx!, sw!, out, p, (xi, wi, oi) => (r[oi]! += x![xi]! * w![wi]!));
    return r;
  },
  lower: (ctx, [x, w], { stride, pads, dilation, groups }, _s, out) =>
    ctx.node('Conv', [x!, w!], { strides: stride, pads, dilations: dilation, group: groups }),
  vjp: (g, { inputs: [x, w], attrs }) => [
    convTranspose2d(g, w!, attrs, x!.shape),
    convWeightGrad(x!, g, attrs, w!.shape),
  ],
};

interface ConvTransposeParams extends ConvParams {
  outputPadding: [number, number];
}

/** The adjoint of conv2d in its first argument: maps a conv output back to the input's shape. */
export const convTranspose2dP: Primitive<ConvTransposeParams> = {
  name: 'convTranspose2d',
  shape: ([u, w], { stride, pads, dilation, groups, outputPadding }) => {
    if (u!.length !== 4 || w!.length !== 4) throw new Error('convTranspose2d needs NCHW input and [Cin, Cout/groups, kh, kw] weight');
    checkParams({ stride, pads, dilation, groups });
    if (u![1] !== w![0] || u![1]! % groups !== 0) throw new Error(`channels ${u![1]} do not fit weight [${w}] with ${groups} groups`);
    if (outputPadding.some((v, i) => !Number.isInteger(v) || v < 0 || v >= stride[i]!)) throw new Error(`output padding [${outputPadding}] must be in [0, stride)`);
    const h = stride[0] * (u![2]! - 1) + outputPadding[0] + dilation[0] * (w![2]! - 1) + 1 - pads[0] - pads[2];
    const wd = stride[1] * (u![3]! - 1) + outputPadding[1] + dilation[1] * (w![3]! - 1) + 1 - pads[1] - pads[3];
    return [u![0]!, w![1]! * groups, h, wd];
  },
  eval: ([u, w], [su, sw], p, out) => {
    // Same index relation as conv2d with x = output and y = input.
    const r = new Float64Array(sizeOf(out));
    convLoop(out, sw!, su!, p, (xi, wi, oi) => (r[xi]! += u![oi]! * w![wi]!));
    return r;
  },
  lower: (ctx, [u, w], p, [, sw]) => lowerConvTranspose(ctx, u!, w!, p, sw!),
  vjp: (g, { inputs: [u, w], attrs }) => {
    const { outputPadding: _op, ...conv } = attrs;
    return [conv2d(g, w!, conv), convWeightGrad(g, u!, conv, w!.shape)];
  },
};

interface WeightGradParams extends ConvParams {
  kernel: [number, number];
}

/** d<g, conv2d(x, w)>/dw for one group: its own node, so that the lowering can pick a fast form. */
export const convWeightGradP: Primitive<WeightGradParams> = {
  name: 'convWeightGrad',
  shape: ([x, g], { kernel, ...p }) => {
    if (x!.length !== 4 || g!.length !== 4) throw new Error('convWeightGrad needs NCHW input and output cotangent');
    checkParams(p);
    if (p.groups !== 1) throw new Error(`convWeightGrad takes one group, got ${p.groups}`);
    if (kernel.length !== 2 || !kernel.every((k) => Number.isInteger(k) && k >= 1)) throw new Error(`kernel must be two integers >= 1, got [${kernel}]`);
    const ho = convOutDim(x![2]!, kernel[0], p.stride[0], p.dilation[0], p.pads[0], p.pads[2]);
    const wo = convOutDim(x![3]!, kernel[1], p.stride[1], p.dilation[1], p.pads[1], p.pads[3]);
    if (g![0] !== x![0] || g![2] !== ho || g![3] !== wo) throw new Error(`cotangent [${g}] is not the conv output of [${x}] with kernel [${kernel}]`);
    return [g![1]!, x![1]!, kernel[0], kernel[1]];
  },
  eval: ([x, g], [sx, sg], p, out) => {
    const r = new Float64Array(sizeOf(out));
    convLoop(sx!, out, sg!, p, (xi, wi, oi) => (r[wi]! += x![xi]! * g![oi]!));
    return r;
  },
  lower: (ctx, [x, g], p, [sx, sg]) => lowerWeightGrad(ctx, x!, g!, p, sx!, sg!, p.kernel),
  // <u, dW(x, g)> = <g, conv2d(x, u)>: linear in x and in g.
  vjp: (u, { inputs: [x, g], attrs: { kernel: _k, ...conv } }) => [convTranspose2d(g!, u, conv, x!.shape), conv2d(x!, u, conv)],
};

function checkParams(p: ConvParams): void {
  const ints = (v: number[], min: number) => v.every((d) => Number.isInteger(d) && d >= min);
  if (p.stride.length !== 2 || !ints(p.stride, 1)) throw new Error(`stride must be two integers >= 1, got [${p.stride}]`);
  if (p.dilation.length !== 2 || !ints(p.dilation, 1)) throw new Error(`dilation must be two integers >= 1, got [${p.dilation}]`);
  if (p.pads.length !== 4 || !ints(p.pads, 0)) throw new Error(`pads must be four integers >= 0, got [${p.pads}]`);
  if (!Number.isInteger(p.groups) || p.groups < 1) throw new Error(`groups must be an integer >= 1, got ${p.groups}`);
}

/** Index loop shared by the float64 reference kernels: calls f(xIndex, wIndex, yIndex). */
function convLoop(sx: Shape, sw: Shape, sy: Shape, p: ConvParams, f: (xi: number, wi: number, yi: number) => void): void {
  const [n, c, h, wd] = sx as [number, number, number, number];
  const [o, cg, kh, kw] = sw as [number, number, number, number];
  const [, , ho, wo] = sy as [number, number, number, number];
  const og = o / p.groups;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const grp = Math.floor(oc / og);
      for (let ic = 0; ic < cg; ic++) {
        const cin = grp * cg + ic;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const wi = ((oc * cg + ic) * kh + i) * kw + j;
            for (let y = 0; y < ho; y++) {
              const iy = y * p.stride[0] + i * p.dilation[0] - p.pads[0];
              if (iy < 0 || iy >= h) continue;
              for (let xx = 0; xx < wo; xx++) {
                const ix = xx * p.stride[1] + j * p.dilation[1] - p.pads[1];
                if (ix < 0 || ix >= wd) continue;
                f(((b * c + cin) * h + iy) * wd + ix, wi, ((b * o + oc) * ho + y) * wo + xx);
              }
            }
          }
      }
    }
}

export function conv2d(x: Sym, w: Sym, p: Partial<ConvParams> = {}): Sym {
  return x.graph.apply(conv2dP, [x, w], fullParams(p));
}

function fullParams(p: Partial<ConvParams>): ConvParams {
  return {
    stride: p.stride ?? [1, 1],
    pads: p.pads ?? [0, 0, 0, 0],
    dilation: p.dilation ?? [1, 1],
    groups: p.groups ?? 1,
  };
}

/** Transposed convolution whose output has exactly `outShape` (chooses the output padding). */
export function convTranspose2d(u: Sym, w: Sym, p: Partial<ConvParams>, outShape: Shape): Sym {
  const f = fullParams(p);
  const base = (axis: 0 | 1) =>
    f.stride[axis] * (u.shape[2 + axis]! - 1) + f.dilation[axis] * (w.shape[2 + axis]! - 1) + 1 - f.pads[axis] - f.pads[axis + 2];
  const outputPadding: [number, number] = [outShape[2]! - base(0), outShape[3]! - base(1)];
  if (outputPadding.some((v, i) => v < 0 || v >= f.stride[i]!)) {
    throw new Error(`convTranspose2d cannot produce [${outShape}] from [${u.shape}]`);
  }
  return u.graph.apply(convTranspose2dP, [u, w], { ...f, outputPadding });
}

/** d<gout, conv2d(x, w)>/dw (a grouped conv: one weight gradient per group, concatenated). */
export function convWeightGrad(x: Sym, gout: Sym, p: ConvParams, wShape: Shape): Sym {
  const { groups } = p;
  if (groups > 1) {
    const cg = x.shape[1]! / groups;
    const og = gout.shape[1]! / groups;
    const parts: Sym[] = [];
    for (let i = 0; i < groups; i++) {
      parts.push(convWeightGrad(sliceAxis(x, 1, i * cg, (i + 1) * cg), sliceAxis(gout, 1, i * og, (i + 1) * og), { ...p, groups: 1 }, [og, cg, wShape[2]!, wShape[3]!]));
    }
    return concat(parts, 0);
  }
  return x.graph.apply(convWeightGradP, [x, gout], { ...p, kernel: [wShape[2]!, wShape[3]!] });
}
