// The information-theoretic floor a sparse update's size is compared with: choosing k positions
// out of n takes log2 C(n, k) bits at least, and each value 32 bits (float32) or 16 (float16).
import { sizeOf, type ClientUpdate } from '../common/index.js';

/** log2 of the binomial coefficient C(n, k). */
export function log2Binomial(n: number, k: number): number {
  if (k < 0 || k > n) throw new Error(`log2Binomial: k = ${k} outside 0..${n}`);
  if (k === 0 || k === n) return 0;
  return (logFactorial(n) - logFactorial(k) - logFactorial(n - k)) / Math.LN2;
}

/** ln(n!) exactly summed for small n, by Stirling's series (error below 1e-13 relative) above. */
function logFactorial(n: number): number {
  if (n < 256) {
    let s = 0;
    for (let i = 2; i <= n; i++) s += Math.log(i);
    return s;
  }
  const inv = 1 / n;
  const inv2 = inv * inv;
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + inv * (1 / 12 - inv2 * (1 / 360 - inv2 / 1260));
}

/** Floor in bytes for an update: log2 C(n, k) bits of positions per sparse tensor + bitsPerValue per value. */
export function idealBytes(update: ClientUpdate, bitsPerValue = 32): number {
  let bits = 0;
  for (const u of update) {
    if (u.kind === 'sparse') bits += log2Binomial(sizeOf(u.shape), u.indices.length);
    bits += u.values.length * bitsPerValue;
  }
  return bits / 8;
}
