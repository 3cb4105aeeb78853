// CW-SSIM as breaching's `cw_ssim` computes it, the number breaching and the DGP paper's code
// report as "SSIM". It is not Wang and Simoncelli's local-window CW-SSIM: per level of a
// 5-level DTCWT (near_sym_b, qshift_b), at every coefficient position and channel,
//   s = (2 |sum_o x_o conj(y_o)| + K) / (sum_o |x_o|^2 + sum_o |y_o|^2 + K),   K = 1e-6,
// where the sums run over the six orientations; s is averaged over channels and positions,
// and the per-level means are averaged over levels. Identical images give exactly 1.
// breaching's `skip_scales` option is left out: there it shrinks the divisor without dropping
// any level from the sum, and its report never sets it.
import { dtcwt2d, type DtcwtFilters, DEFAULT_FILTERS } from './dtcwt.js';
import { checkImages, type ImageShape } from './images.js';

export interface CwSsimOptions {
  /** Number of DTCWT levels (breaching: 5). */
  levels?: number;
  /** Stabiliser in numerator and denominator (breaching: 1e-6). */
  k?: number;
  filters?: DtcwtFilters;
}

/** CW-SSIM of each image pair, channels averaged inside each level. */
export function cwSsimPerImage(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: ImageShape,
  options: CwSsimOptions = {},
): number[] {
  checkImages(a, shape, 'cwSsim: first batch');
  checkImages(b, shape, 'cwSsim: second batch');
  const levels = options.levels ?? 5;
  const k = options.k ?? 1e-6;
  const [n, c, h, w] = shape;
  const plane = h * w;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const levelSums = new Float64Array(levels);
    const levelCounts = new Float64Array(levels);
    for (let ch = 0; ch < c; ch++) {
      const off = (i * c + ch) * plane;
      const xa = dtcwt2d(slice(a, off, plane), h, w, levels, options.filters ?? DEFAULT_FILTERS);
      const xb = dtcwt2d(slice(b, off, plane), h, w, levels, options.filters ?? DEFAULT_FILTERS);
      for (let j = 0; j < levels; j++) {
        const la = xa[j]!;
        const lb = xb[j]!;
        const size = la.h * la.w;
        for (let p = 0; p < size; p++) {
          let crossRe = 0;
          let crossIm = 0;
          let energyA = 0;
          let energyB = 0;
          for (let o = 0; o < 6; o++) {
            const ar = la.re[o]![p]!;
            const ai = la.im[o]![p]!;
            const br = lb.re[o]![p]!;
            const bi = lb.im[o]![p]!;
            // a * conj(b)
            crossRe += ar * br + ai * bi;
            crossIm += ai * br - ar * bi;
            energyA += ar * ar + ai * ai;
            energyB += br * br + bi * bi;
          }
          levelSums[j]! += (2 * Math.hypot(crossRe, crossIm) + k) / (energyA + energyB + k);
        }
        levelCounts[j]! += size;
      }
    }
    let total = 0;
    for (let j = 0; j < levels; j++) total += levelSums[j]! / levelCounts[j]!;
    out.push(total / levels);
  }
  return out;
}

function slice(src: ArrayLike<number>, off: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = src[off + i]!;
  return out;
}

/** Mean and max over the batch, the pair breaching's `cw_ssim` returns. */
export function cwSsim(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: ImageShape,
  options: CwSsimOptions = {},
): { mean: number; max: number; perImage: number[] } {
  const perImage = cwSsimPerImage(a, b, shape, options);
  return {
    mean: perImage.reduce((s, v) => s + v, 0) / perImage.length,
    max: Math.max(...perImage),
    perImage,
  };
}
