// IEEE 754 half precision, for the optional float16 values on the wire. float32 -> float16 rounds
// to nearest, ties to even: relative error at most 2^-11 (about 4.9e-4) for |x| in
// [6.1e-5, 65504]; below that the spacing is fixed at 2^-24 (about 6e-8), so smaller values lose
// relative precision and those under 2^-25 become 0. Beyond 65504 there is no finite half: the
// encoder refuses rather than send infinity.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half bits for x, or -1 when x is not finite or rounds beyond the largest half (65504). */
export function toHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return -1;
  const e = exp - 127 + 15;
  if (e >= 0x1f) return -1;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry correctly bumps the exponent
  if ((half & 0x7fff) >= 0x7c00) return -1;
  return sign | half;
}

/** The value of half bits h (infinity and NaN included, for the decoder to reject). */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
