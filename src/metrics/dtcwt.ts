// Forward 2-D dual-tree complex wavelet transform, written to give the same coefficients as
// pytorch_wavelets' `DTCWTForward(biort, qshift, mode='symmetric')`, which breaching's CW-SSIM
// calls. The index conventions below (half-sample symmetric extension, which tree's samples
// come first after decimation, the quad-to-complex pairing and the orientation order) are that
// package's; they decide the phase of every coefficient, and CW-SSIM compares phases.
import { NEAR_SYM_B, QSHIFT_B } from './dtcwt-filters.js';

/** One level's six oriented subbands, each an h x w complex plane (orientation-major). */
export interface DtcwtLevel {
  h: number;
  w: number;
  /** Orientations in pytorch_wavelets' order: 15, 45, 75, 105, 135, 165 degrees. */
  re: Float64Array[];
  im: Float64Array[];
}

export interface DtcwtFilters {
  h0o: readonly number[];
  h1o: readonly number[];
  h0a: readonly number[];
  h0b: readonly number[];
  h1a: readonly number[];
  h1b: readonly number[];
}

export const DEFAULT_FILTERS: DtcwtFilters = { ...NEAR_SYM_B, ...QSHIFT_B };

interface Plane {
  data: Float64Array;
  h: number;
  w: number;
}

/**
 * Indices of positions -m .. l+m-1 reflected into 0 .. l-1 about -0.5 and l-0.5 (the edge sample
 * repeats), periodically, so that extensions longer than the signal still work.
 */
export function symmetricIndices(l: number, m: number): Int32Array {
  const out = new Int32Array(l + 2 * m);
  const period = 2 * l;
  for (let i = 0; i < out.length; i++) {
    const t = ((((i - m) % period) + period) % period);
    out[i] = t < l ? t : period - 1 - t;
  }
  return out;
}

/** Undecimated filtering (a true convolution) with symmetric extension; odd filters keep the length. */
function filter1d(x: Float64Array, h: readonly number[]): Float64Array {
  const n = x.length;
  const len = h.length;
  const m = len >> 1;
  const xe = symmetricIndices(n, m);
  const out = new Float64Array(n + 2 * m - len + 1);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = 0; k < len; k++) s += x[xe[i + k]!]! * h[len - 1 - k]!;
    out[i] = s;
  }
  return out;
}

/**
 * Filtering with decimation by two for levels >= 2: the two trees' filters run on alternate
 * samples and their outputs interleave, tree `ha` first for a lowpass and second for a highpass.
 */
function decimate1d(x: Float64Array, ha: readonly number[], hb: readonly number[], highpass: boolean): Float64Array {
  const n = x.length;
  if (n % 4 !== 0) throw new Error(`dtcwt: a decimated level needs a length divisible by 4, got ${n}`);
  const len = ha.length;
  const xe = symmetricIndices(n, len);
  const q = n / 4;
  const out = new Float64Array(n / 2);
  for (let i = 0; i < q; i++) {
    let ya = 0;
    let yb = 0;
    for (let k = 0; k < len; k++) {
      ya += x[xe[2 + 4 * i + 2 * k]!]! * ha[len - 1 - k]!;
      yb += x[xe[3 + 4 * i + 2 * k]!]! * hb[len - 1 - k]!;
    }
    out[2 * i] = highpass ? yb : ya;
    out[2 * i + 1] = highpass ? ya : yb;
  }
  return out;
}

/** Applies a 1-D operation to every row (along the width) of a plane. */
function alongRows(p: Plane, op: (line: Float64Array) => Float64Array): Plane {
  let out: Float64Array | null = null;
  let w = 0;
  const line = new Float64Array(p.w);
  for (let y = 0; y < p.h; y++) {
    line.set(p.data.subarray(y * p.w, (y + 1) * p.w));
    const r = op(line);
    if (out === null) {
      w = r.length;
      out = new Float64Array(p.h * w);
    }
    out.set(r, y * w);
  }
  return { data: out ?? new Float64Array(0), h: p.h, w };
}

/** Applies a 1-D operation to every column (along the height) of a plane. */
function alongCols(p: Plane, op: (line: Float64Array) => Float64Array): Plane {
  let out: Float64Array | null = null;
  let h = 0;
  const line = new Float64Array(p.h);
  for (let x = 0; x < p.w; x++) {
    for (let y = 0; y < p.h; y++) line[y] = p.data[y * p.w + x]!;
    const r = op(line);
    if (out === null) {
      h = r.length;
      out = new Float64Array(h * p.w);
    }
    for (let y = 0; y < h; y++) out[y * p.w + x] = r[y]!;
  }
  return { data: out ?? new Float64Array(0), h, w: p.w };
}

/** Repeats the first and last row (and column) when needed to make both sizes divisible by 4. */
function padToMultipleOf4(p: Plane): Plane {
  const padRows = p.h % 4 !== 0 ? 1 : 0;
  const padCols = p.w % 4 !== 0 ? 1 : 0;
  if (!padRows && !padCols) return p;
  const h = p.h + 2 * padRows;
  const w = p.w + 2 * padCols;
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(Math.max(y - padRows, 0), p.h - 1);
    for (let x = 0; x < w; x++) {
      const sx = Math.min(Math.max(x - padCols, 0), p.w - 1);
      out[y * w + x] = p.data[sy * p.w + sx]!;
    }
  }
  return { data: out, h, w };
}

/**
 * Quads of real samples to two complex subbands: with a b / c d the corners of each 2x2 block
 * (scaled by 1/sqrt 2), z1 = (a - d) + i(b + c) and z2 = (a + d) + i(b - c).
 */
function quadsToComplex(p: Plane): { h: number; w: number; z1: [Float64Array, Float64Array]; z2: [Float64Array, Float64Array] } {
  const h = p.h >> 1;
  const w = p.w >> 1;
  const s = Math.SQRT1_2;
  const z1r = new Float64Array(h * w);
  const z1i = new Float64Array(h * w);
  const z2r = new Float64Array(h * w);
  const z2i = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = p.data[2 * y * p.w + 2 * x]! * s;
      const b = p.data[2 * y * p.w + 2 * x + 1]! * s;
      const c = p.data[(2 * y + 1) * p.w + 2 * x]! * s;
      const d = p.data[(2 * y + 1) * p.w + 2 * x + 1]! * s;
      const k = y * w + x;
      z1r[k] = a - d;
      z1i[k] = b + c;
      z2r[k] = a + d;
      z2i[k] = b - c;
    }
  }
  return { h, w, z1: [z1r, z1i], z2: [z2r, z2i] };
}

function orientations(lh: Plane, hl: Plane, hh: Plane): DtcwtLevel {
  const a = quadsToComplex(lh); // 15 and 165 degrees
  const b = quadsToComplex(hh); // 45 and 135
  const c = quadsToComplex(hl); // 75 and 105
  return {
    h: a.h,
    w: a.w,
    re: [a.z1[0], b.z1[0], c.z1[0], c.z2[0], b.z2[0], a.z2[0]],
    im: [a.z1[1], b.z1[1], c.z1[1], c.z2[1], b.z2[1], a.z2[1]],
  };
}

/**
 * Bandpass coefficients of `levels` levels of the 2-D DTCWT of one h x w plane (the final
 * lowpass is not returned: CW-SSIM does not use it). Odd sizes are made even by repeating the
 * last row or column, as pytorch_wavelets does.
 */
export function dtcwt2d(
  data: ArrayLike<number>,
  h: number,
  w: number,
  levels: number,
  filters: DtcwtFilters = DEFAULT_FILTERS,
): DtcwtLevel[] {
  if (!Number.isInteger(levels) || levels < 1) throw new Error(`dtcwt: levels must be a positive integer, got ${levels}`);
  if (data.length !== h * w) throw new Error(`dtcwt: ${data.length} values for a ${h}x${w} plane`);
  const eh = h + (h % 2);
  const ew = w + (w % 2);
  const x = new Float64Array(eh * ew);
  for (let y = 0; y < eh; y++) {
    for (let c = 0; c < ew; c++) x[y * ew + c] = data[Math.min(y, h - 1) * w + Math.min(c, w - 1)]!;
  }
  const out: DtcwtLevel[] = [];
  const { h0o, h1o, h0a, h0b, h1a, h1b } = filters;
  let plane: Plane = { data: x, h: eh, w: ew };
  {
    const lo = alongRows(plane, (l) => filter1d(l, h0o));
    const hi = alongRows(plane, (l) => filter1d(l, h1o));
    const lh = alongCols(lo, (l) => filter1d(l, h1o));
    const hl = alongCols(hi, (l) => filter1d(l, h0o));
    const hh = alongCols(hi, (l) => filter1d(l, h1o));
    out.push(orientations(lh, hl, hh));
    plane = alongCols(lo, (l) => filter1d(l, h0o));
  }
  for (let j = 1; j < levels; j++) {
    plane = padToMultipleOf4(plane);
    // pytorch_wavelets hands the tree-b filter in the first slot at every decimated stage.
    const lo = alongRows(plane, (l) => decimate1d(l, h0b, h0a, false));
    const hi = alongRows(plane, (l) => decimate1d(l, h1b, h1a, true));
    const lh = alongCols(lo, (l) => decimate1d(l, h1b, h1a, true));
    const hl = alongCols(hi, (l) => decimate1d(l, h0b, h0a, false));
    const hh = alongCols(hi, (l) => decimate1d(l, h1b, h1a, true));
    out.push(orientations(lh, hl, hh));
    plane = alongCols(lo, (l) => decimate1d(l, h0b, h0a, false));
  }
  return out;
}
