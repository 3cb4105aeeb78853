// Fixed point in Z_(2^32): what a client's values become before they are masked, and how the
// server reads the unmasked sum back. The scale is chosen from the roster size n so that the
// sum of up to n clipped values cannot wrap: each client's entries lie in [-B, B] with
// B = floor((2^31 - 1) / n), so any sum of m <= n of them lies in [-(2^31 - 1), 2^31 - 1] and
// the wrapped uint32 sum, read as a signed int32, is the true integer sum.
import { SecAggError } from './errors.js';

/** Most clients one roster may hold: Shamir shares over GF(256) have 255 x-coordinates. */
export const MAX_CLIENTS = 255;

export interface FixedPoint {
  /** Values are clipped to [-clip, clip] before quantisation. */
  readonly clip: number;
  /** Roster size the scale was chosen for (the most clients a sum can hold). */
  readonly clients: number;
  /** Quantised value = round(clip(x) * scale); scale = floor((2^31 - 1) / clients) / clip. */
  readonly scale: number;
}

/** The fixed-point code for `clients` clients whose values are clipped to [-clip, clip]. */
export function fixedPoint(clip: number, clients: number): FixedPoint {
  checkClip(clip);
  if (!Number.isInteger(clients) || clients < 1 || clients > MAX_CLIENTS) {
    throw new SecAggError('options', `clients must be an integer in [1, ${MAX_CLIENTS}], got ${clients}`);
  }
  return { clip, clients, scale: Math.floor(0x7fffffff / clients) / clip };
}

export function checkClip(clip: unknown): number {
  if (typeof clip !== 'number' || !Number.isFinite(clip) || clip <= 0) {
    throw new SecAggError('options', `clip must be a finite number > 0, got ${String(clip)}`);
  }
  return clip;
}

/**
 * round(clip(x) * scale) mod 2^32, entry by entry. Entries beyond +-clip are clipped to +-clip;
 * NaN and infinite entries are refused (they are bugs upstream, not values to aggregate).
 */
export function quantise(values: Float32Array, fp: FixedPoint): Uint32Array {
  if (!(values instanceof Float32Array)) throw new SecAggError('options', 'the input must be a Float32Array');
  const out = new Uint32Array(values.length);
  const { clip, scale } = fp;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) throw new SecAggError('options', `input entry ${i} is ${x}; only finite values can be aggregated`);
    out[i] = Math.round((x > clip ? clip : x < -clip ? -clip : x) * scale); // stored mod 2^32
  }
  return out;
}

/** The wrapped uint32 sum read as signed int32 and divided by the scale. */
export function dequantiseSum(sum: Uint32Array, fp: FixedPoint): Float64Array {
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i]! | 0) / fp.scale;
  return out;
}

/**
 * Bound on |decoded sum - sum of the clipped inputs|, per entry, for a sum of `contributors`
 * clients: each quantised entry is within 1/2 of x * scale (plus 2^-21 for the float64 product),
 * and the final division adds a relative 2^-52. With n = fp.clients this is about
 * m * n * clip / 2^32; the bound on the mean is this divided by m, about n * clip / 2^32.
 */
export function sumErrorBound(fp: FixedPoint, contributors: number): number {
  return (contributors * (0.5 + 2 ** -21)) / fp.scale + contributors * fp.clip * 2 ** -52;
}
