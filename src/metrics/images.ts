// Images as the metrics see them: one flat Float32Array in NCHW order and its shape. Scores are
// computed on de-normalised images clamped to [0, 1], as breaching's analysis does, so PSNR and
// SSIM mean the same thing here as in the Python tools.

/** [batch, channels, height, width]. */
export type ImageShape = readonly [number, number, number, number];

/** Per-channel statistics the data set was normalised with (`x_norm = (x - mean) / std`). */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export function checkImages(data: ArrayLike<number>, shape: ImageShape, what = 'images'): void {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`${what}: shape must be four positive integers [B,C,H,W], got [${shape.join(',')}]`);
  }
  const n = shape[0] * shape[1] * shape[2] * shape[3];
  if (data.length !== n) {
    throw new Error(`${what}: ${data.length} values do not fill shape [${shape.join(',')}] (${n} needed)`);
  }
}

function channelStat(values: readonly number[], channels: number, name: string): number[] {
  // A single value stands for every channel (grayscale statistics applied to a colour image).
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  if (values.length !== channels) {
    throw new Error(`normalization.${name}: ${values.length} values for ${channels} channels`);
  }
  return [...values];
}

/**
 * `clamp(x * std[c] + mean[c], 0, 1)` for every pixel: back from the network's input space to
 * displayable intensities. Clamping matters: a reconstruction that overshoots the valid range is
 * scored as the image a person would see.
 */
export function denormalize(
  data: ArrayLike<number>,
  shape: ImageShape,
  norm: Partial<Normalization> = {},
): Float32Array {
  checkImages(data, shape);
  const [b, c, h, w] = shape;
  const mean = channelStat(norm.mean ?? [0], c, 'mean');
  const std = channelStat(norm.std ?? [1], c, 'std');
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let i = 0; i < b * c; i++) {
    const m = mean[i % c]!;
    const s = std[i % c]!;
    const off = i * plane;
    for (let k = 0; k < plane; k++) {
      const v = data[off + k]! * s + m;
      // NaN (a diverged attack) stays NaN so the score says so instead of looking like black.
      out[off + k] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}

/** The images of `data` in a new order: `out[i] = data[order[i]]`. */
export function reorderImages(data: Float32Array, shape: ImageShape, order: readonly number[]): Float32Array {
  checkImages(data, shape);
  const per = shape[1] * shape[2] * shape[3];
  if (order.length !== shape[0]) throw new Error(`reorderImages: order has ${order.length} entries for ${shape[0]} images`);
  const out = new Float32Array(data.length);
  order.forEach((src, dst) => {
    if (!Number.isInteger(src) || src < 0 || src >= shape[0]) throw new Error(`reorderImages: index ${src} out of range`);
    out.set(data.subarray(src * per, (src + 1) * per), dst * per);
  });
  return out;
}

/** One image (all its channels) as a view, without copying. */
export function imageAt(data: Float32Array, shape: ImageShape, index: number): Float32Array {
  const per = shape[1] * shape[2] * shape[3];
  return data.subarray(index * per, (index + 1) * per);
}
