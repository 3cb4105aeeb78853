// Classic SSIM (Wang et al. 2004) with an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03,
// data range 1. The window is applied in 'valid' mode: only positions where it lies wholly
// inside the image are averaged, no padding. That is what pytorch_msssim's `ssim` computes, and
// also skimage's `structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=1)` (it pads, filters, then crops the 5-pixel border,
// which leaves the same values). Each channel is scored on its own; the channels are averaged.
import { checkImages, type ImageShape } from './images.js';

export interface SsimOptions {
  windowSize?: number;
  sigma?: number;
  k1?: number;
  k2?: number;
  dataRange?: number;
}

/** Normalised 1-D Gaussian taps centred on the middle of the window. */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) {
    throw new Error(`ssim: windowSize must be a positive odd integer, got ${size}`);
  }
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    sum += g[i]!;
  }
  for (let i = 0; i < size; i++) g[i]! /= sum;
  return g;
}

/** Separable valid-mode filtering of one h x w plane; the result is (h-k+1) x (w-k+1). */
function filterValid(src: Float64Array, h: number, w: number, g: Float64Array): Float64Array {
  const k = g.length;
  const ow = w - k + 1;
  const oh = h - k + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += src[y * w + x + t]! * g[t]!;
      tmp[y * ow + x] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += tmp[(y + t) * ow + x]! * g[t]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of one pair of single-channel planes. */
export function ssimPlane(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  h: number,
  w: number,
  options: SsimOptions = {},
): number {
  const size = options.windowSize ?? 11;
  const g = gaussianWindow(size, options.sigma ?? 1.5);
  if (h < size || w < size) {
    throw new Error(`ssim: image ${h}x${w} is smaller than the ${size}x${size} window (set windowSize)`);
  }
  const range = options.dataRange ?? 1;
  const c1 = ((options.k1 ?? 0.01) * range) ** 2;
  const c2 = ((options.k2 ?? 0.03) * range) ** 2;
  const n = h * w;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = x[i]!;
    const v = y[i]!;
    a[i] = u;
    b[i] = v;
    aa[i] = u * u;
    bb[i] = v * v;
    ab[i] = u * v;
  }
  const mu1 = filterValid(a, h, w, g);
  const mu2 = filterValid(b, h, w, g);
  const e11 = filterValid(aa, h, w, g);
  const e22 = filterValid(bb, h, w, g);
  const e12 = filterValid(ab, h, w, g);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i]!;
    const m2 = mu2[i]!;
    const s11 = e11[i]! - m1 * m1;
    const s22 = e22[i]! - m2 * m2;
    const s12 = e12[i]! - m1 * m2;
    const luminance = (2 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1);
    const contrastStructure = (2 * s12 + c2) / (s11 + s22 + c2);
    sum += luminance * contrastStructure;
  }
  return sum / mu1.length;
}

function planeOf(src: ArrayLike<number>, off: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = src[off + i]!;
  return out;
}

/** SSIM of each image pair: per-channel SSIM averaged over channels. */
export function ssimPerImage(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: ImageShape,
  options: SsimOptions = {},
): number[] {
  checkImages(a, shape, 'ssim: first batch');
  checkImages(b, shape, 'ssim: second batch');
  const [n, c, h, w] = shape;
  const plane = h * w;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let ch = 0; ch < c; ch++) {
      const off = (i * c + ch) * plane;
      s += ssimPlane(planeOf(a, off, plane), planeOf(b, off, plane), h, w, options);
    }
    out.push(s / c);
  }
  return out;
}

/** Mean Gaussian SSIM over the batch. */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, shape: ImageShape, options: SsimOptions = {}): number {
  const per = ssimPerImage(a, b, shape, options);
  return per.reduce((s, v) => s + v, 0) / per.length;
}
