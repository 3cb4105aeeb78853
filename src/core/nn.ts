// Neural-network building blocks composed from the primitives (no rules of their own needed).
import { Sym } from './graph.js';
import { add, abs, div, maximum, mul, neg, sqrt, sub } from './ops/elementwise.js';
import { conv2d, type ConvParams } from './ops/conv.js';
import { matmul } from './ops/linalg.js';
import { max, mean, sum } from './ops/reduce.js';
import { pad, reshape, slice, transpose } from './ops/shape.js';
import { logSoftmax } from './ops/softmax.js';

/** x [B, in] times w [out, in] (PyTorch layout) plus b [out]. */
export function linear(x: Sym, w: Sym, b?: Sym): Sym {
  const y = matmul(x, transpose(w, [1, 0]));
  return b ? add(y, b) : y;
}

/** Convolution plus a per-channel bias [Cout]. */
export function conv2dBias(x: Sym, w: Sym, b: Sym | undefined, p: Partial<ConvParams> & { padding?: number } = {}): Sym {
  const pd = p.padding;
  const params = pd !== undefined ? { ...p, pads: [pd, pd, pd, pd] as [number, number, number, number] } : p;
  delete (params as { padding?: number }).padding;
  const y = conv2d(x, w, params);
  return b ? add(y, reshape(b, [1, b.size, 1, 1])) : y;
}

/** mean over the batch of sum_c -t_c log_softmax(logits)_c (t one-hot or soft labels). */
export function crossEntropy(logits: Sym, target: Sym): Sym {
  return mean(neg(sum(mul(target, logSoftmax(logits)), [1])));
}

export function sumSquares(x: Sym): Sym {
  return sum(mul(x, x));
}

/** Total variation as in Inverting Gradients: mean |dx| + mean |dy| over NCHW images. */
export function totalVariation(x: Sym): Sym {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const dx = sub(slice(x, [0, 0, 0, 1], [n, c, h, w]), slice(x, [0, 0, 0, 0], [n, c, h, w - 1]));
  const dy = sub(slice(x, [0, 0, 1, 0], [n, c, h, w]), slice(x, [0, 0, 0, 0], [n, c, h - 1, w]));
  return add(mean(abs(dx)), mean(abs(dy)));
}

/** Global average pooling NCHW -> NC. */
export function globalAvgPool(x: Sym): Sym {
  return mean(x, [2, 3]);
}

/** Average pooling with a square kernel, as a depthwise convolution by a constant kernel. */
export function avgPool2d(x: Sym, kernel: number, stride = kernel, padding = 0): Sym {
  const c = x.shape[1]!;
  const w = x.graph.constant(new Float64Array(c * kernel * kernel).fill(1 / (kernel * kernel)), [c, 1, kernel, kernel]);
  return conv2d(x, w, { stride: [stride, stride], pads: [padding, padding, padding, padding], groups: c });
}

/** Max pooling with non-overlapping square windows (kernel == stride), via reshape and max. */
export function maxPool2d(x: Sym, kernel: number): Sym {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h % kernel || w % kernel) throw new Error(`maxPool2d: ${h}x${w} is not divisible by kernel ${kernel}`);
  const r = reshape(x, [n, c, h / kernel, kernel, w / kernel, kernel]);
  return max(r, [3, 5]);
}

/**
 * Max pooling with any stride, overlapping windows included (AlexNet's 3x3 / 2), no padding, floor
 * mode: the elementwise maximum of kernel^2 strided views. A view keeps the first of every
 * `stride` rows and columns; the zeros padded past the edge to make it reshape are never kept.
 */
export function maxPool2dStrided(x: Sym, kernel: number, stride: number): Sym {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h < kernel || w < kernel) throw new Error(`maxPool2dStrided: ${h}x${w} is smaller than kernel ${kernel}`);
  if (stride === kernel && h % kernel === 0 && w % kernel === 0) return maxPool2d(x, kernel);
  const oh = Math.floor((h - kernel) / stride) + 1;
  const ow = Math.floor((w - kernel) / stride) + 1;
  let out: Sym | undefined;
  for (let di = 0; di < kernel; di++) {
    for (let dj = 0; dj < kernel; dj++) {
      let v = pad(x, [0, 0, 0, 0], [0, 0, Math.max(0, di + oh * stride - h), Math.max(0, dj + ow * stride - w)]);
      v = slice(v, [0, 0, di, dj], [n, c, di + oh * stride, dj + ow * stride]);
      v = slice(reshape(v, [n, c, oh, stride, ow, stride]), [0, 0, 0, 0, 0, 0], [n, c, oh, 1, ow, 1]);
      v = reshape(v, [n, c, oh, ow]);
      out = out ? maximum(out, v) : v;
    }
  }
  return out!;
}

export interface BatchNormResult {
  y: Sym;
  /** Batch statistics (training mode only), for the running averages. */
  batchMean?: Sym;
  batchVar?: Sym;
}

/**
 * Batch normalisation over NCHW (per channel) or NC. Training mode normalises with the batch's
 * biased variance and returns the batch statistics; evaluation mode uses the given running ones.
 */
export function batchNorm(
  x: Sym,
  gamma: Sym,
  beta: Sym,
  opts: { training: boolean; runningMean?: Sym; runningVar?: Sym; eps?: number },
): BatchNormResult {
  const eps = opts.eps ?? 1e-5;
  const c = x.shape[1]!;
  const axes = x.rank === 4 ? [0, 2, 3] : [0];
  const bshape = x.rank === 4 ? [1, c, 1, 1] : [1, c];
  let m: Sym;
  let v: Sym;
  if (opts.training) {
    m = mean(x, axes, true);
    const d = sub(x, m);
    v = mean(mul(d, d), axes, true);
  } else {
    if (!opts.runningMean || !opts.runningVar) throw new Error('batchNorm: evaluation mode needs running statistics');
    m = reshape(opts.runningMean, bshape);
    v = reshape(opts.runningVar, bshape);
  }
  // gamma / sqrt(v + eps) is per channel: one full-size product instead of a full-size division
  // and a product, and their rules (the training step's backward pass is mostly these ops).
  const scale = div(reshape(gamma, bshape), sqrt(add(v, eps)));
  const y = add(mul(sub(x, m), scale), reshape(beta, bshape));
  return opts.training ? { y, batchMean: reshape(m, [c]), batchVar: reshape(v, [c]) } : { y };
}
