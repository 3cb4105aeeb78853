// Per-channel normalisation and batch assembly. Datasets keep raw [0, 1] pixels; normalisation
// happens when a batch is taken, so attacks and metrics can always reach the raw images.

import type { Dataset } from './types.js';

/** (x - mean[c]) / std[c] over NCHW (or CHW) data whose planes hold planeSize = H*W values. */
export function normalize(images: Float32Array, mean: readonly number[], std: readonly number[], planeSize: number): Float32Array {
  return perChannel(images, mean, std, planeSize, (v, m, s) => (v - m) / s);
}

/** The inverse of normalize: x * std[c] + mean[c] (no clamping). */
export function denormalize(images: Float32Array, mean: readonly number[], std: readonly number[], planeSize: number): Float32Array {
  return perChannel(images, mean, std, planeSize, (v, m, s) => v * s + m);
}

/** Applies f(value, mean[c], std[c]) to every value of channel c, into a new array. */
function perChannel(
  images: Float32Array, mean: readonly number[], std: readonly number[], planeSize: number,
  f: (v: number, m: number, s: number) => number,
): Float32Array {
  checkStats(images, mean, std, planeSize);
  const out = new Float32Array(images.length);
  const c = mean.length;
  for (let start = 0, plane = 0; start < images.length; start += planeSize, plane++) {
    const m = mean[plane % c]!;
    const s = std[plane % c]!;
    for (let i = start; i < start + planeSize; i++) out[i] = f(images[i]!, m, s);
  }
  return out;
}

function checkStats(images: Float32Array, mean: readonly number[], std: readonly number[], planeSize: number): void {
  if (mean.length === 0 || mean.length !== std.length) {
    throw new Error(`normalize: mean has ${mean.length} channels, std has ${std.length}`);
  }
  if (std.some((s) => !(s > 0))) throw new Error(`normalize: std must be positive, got [${std.join(', ')}]`);
  if (!Number.isInteger(planeSize) || planeSize <= 0) throw new Error(`normalize: bad planeSize ${planeSize}`);
  if (images.length % (planeSize * mean.length) !== 0) {
    throw new Error(
      `normalize: ${images.length} values are not whole images of ${mean.length} planes of ${planeSize}`,
    );
  }
}

export interface Batch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}

/** Copies the images and labels at `indices` into a fresh NCHW batch, optionally normalised. */
export function getBatch(ds: Dataset, indices: ArrayLike<number>, opts: { normalize: boolean }): Batch {
  const b = indices.length;
  const plane = ds.height * ds.width;
  const size = ds.channels * plane;
  const x = new Float32Array(b * size);
  const y = new Int32Array(b);
  for (let k = 0; k < b; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new Error(`getBatch: index ${i} at position ${k} is outside ${ds.name} (${ds.count} images)`);
    }
    y[k] = ds.labels[i]!;
    const src = i * size;
    const dst = k * size;
    if (!opts.normalize) {
      x.set(ds.images.subarray(src, src + size), dst);
      continue;
    }
    for (let c = 0; c < ds.channels; c++) {
      const m = ds.mean[c]!;
      const s = ds.std[c]!;
      const o = c * plane;
      for (let p = 0; p < plane; p++) x[dst + o + p] = (ds.images[src + o + p]! - m) / s;
    }
  }
  return { x, y, shape: [b, ds.channels, ds.height, ds.width] };
}
