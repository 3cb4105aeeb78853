// PSNR as breaching's `psnr_compute` defines it (factor 1, images already in [0, 1]):
// per image `10 log10(1 / MSE)` with the MSE over all channels and pixels of that image, then
// the mean over images.
import { checkImages, type ImageShape } from './images.js';

/** Mean squared error of each image (over C, H and W), in float64. */
export function msePerImage(a: ArrayLike<number>, b: ArrayLike<number>, shape: ImageShape): number[] {
  checkImages(a, shape, 'mse: first batch');
  checkImages(b, shape, 'mse: second batch');
  const per = shape[1] * shape[2] * shape[3];
  const out: number[] = [];
  for (let i = 0; i < shape[0]; i++) {
    let s = 0;
    for (let k = i * per; k < (i + 1) * per; k++) {
      const d = a[k]! - b[k]!;
      s += d * d;
    }
    out.push(s / per);
  }
  return out;
}

/** `10 log10(peak^2 / mse)`: +Infinity for identical images, NaN for a NaN error. */
export function psnrFromMse(mse: number, peak = 1): number {
  if (Number.isNaN(mse)) return Number.NaN;
  if (mse === 0) return Number.POSITIVE_INFINITY;
  return 10 * Math.log10((peak * peak) / mse);
}

/** PSNR of each image pair, in dB. */
export function psnrPerImage(a: ArrayLike<number>, b: ArrayLike<number>, shape: ImageShape, peak = 1): number[] {
  return msePerImage(a, b, shape).map((m) => psnrFromMse(m, peak));
}

/**
 * Mean and max over images with breaching's rules for the special cases: if any image is
 * reproduced exactly (MSE 0) both are +Infinity, else if any MSE is not finite both are NaN.
 * We keep that convention (rather than capping at some dB value) so that our means compare
 * one-to-one with the Python tool's; the per-image list still shows which image was exact.
 */
export function summarizePsnr(perImage: readonly number[]): { mean: number; max: number } {
  if (perImage.length === 0) return { mean: Number.NaN, max: Number.NaN };
  if (perImage.some((p) => p === Number.POSITIVE_INFINITY)) {
    return { mean: Number.POSITIVE_INFINITY, max: Number.POSITIVE_INFINITY };
  }
  if (perImage.some((p) => !Number.isFinite(p))) return { mean: Number.NaN, max: Number.NaN };
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (const p of perImage) {
    sum += p;
    if (p > max) max = p;
  }
  return { mean: sum / perImage.length, max };
}

/** Mean PSNR over the batch (see `summarizePsnr` for identical and NaN images). */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, shape: ImageShape, peak = 1): number {
  return summarizePsnr(psnrPerImage(a, b, shape, peak)).mean;
}
