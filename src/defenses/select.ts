// Choosing entries by rank without sorting. Every ranking in the defenses uses one total order:
// larger key first, and among equal keys the smaller index first. With that order "the entries of
// rank [from, to)" is a well-defined set, equal to what a stable sort would give, and ties never
// depend on the algorithm. Magnitudes are ranked through their float32 bit patterns: for finite
// floats with the sign bit masked off, the unsigned bit pattern orders exactly like |x|.

import { merge, pickByKeys, selectRange } from './rank-util.js';
import { sampledRange } from './sampled.js';

export { nthLargest } from './rank-util.js';

export interface RankOptions {
  /**
   * 'select': quickselect on a copy; 'radix': two passes of 16-bit digits; 'auto': select when
   * small, else one pass guided by a sample, falling back to radix when the sample misleads.
   */
  method?: 'auto' | 'select' | 'radix';
  /** Keys are keys[i] & mask (0x7fffffff turns float bits into |x| bits). */
  mask?: number;
  /** Masked keys at or above this (a multiple of 65536) are rejected through onInvalid. */
  invalidFrom?: number;
  onInvalid?: (index: number) => Error;
}

/** Below this size a quickselect on a copy beats the passes of the large-input methods. */
export const LARGE_INPUT_MIN = 1 << 15;

/** Indices (increasing) of the entries whose rank lies in [from, to), in linear (expected) time. */
export function rankRange(keys: Uint32Array, from: number, to: number, o: RankOptions = {}): Uint32Array {
  const n = keys.length;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= n)) {
    throw new Error(`rank range [${from}, ${to}) is not inside 0..${n}`);
  }
  const mask = o.mask ?? 0xffffffff;
  const method = o.method ?? 'auto';
  if (method === 'select' || (method === 'auto' && (n < LARGE_INPUT_MIN || to === from))) {
    return selectRange(maskedCopy(keys, mask, o), from, to);
  }
  const valid = (o.invalidFrom ?? mask + 1) - 1;
  const sampled = method === 'auto' && mask >>> 0 <= 0x7fffffff ? sampledRange(keys, from, to, mask, valid, o.onInvalid!) : null;
  return sampled ?? radixRange(keys, from, to, mask, o);
}

/** Positions of the ranks [from, to) of |data|; throws naming the tensor at a non-finite entry. */
export function magnitudeRange(data: Float32Array, name: string, from: number, to: number): Uint32Array {
  return rankRange(new Uint32Array(data.buffer, data.byteOffset, data.length), from, to, {
    mask: 0x7fffffff,
    invalidFrom: 0x7f800000,
    onInvalid: (i) => nonFinite(name, i, data[i]!),
  });
}

/** Throws naming the tensor at its first non-finite entry (for defenses that do not rank). */
export function assertFinite(data: Float32Array, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw nonFinite(name, i, data[i]!);
  }
}

function nonFinite(name: string, i: number, v: number): Error {
  return new Error(`tensor "${name}" has a non-finite entry (${v}) at index ${i}; defenses need finite gradients`);
}

function maskedCopy(keys: Uint32Array, mask: number, o: RankOptions): Uint32Array {
  if (mask === 0xffffffff && o.invalidFrom === undefined) return keys;
  const out = new Uint32Array(keys.length);
  const limit = o.invalidFrom ?? Infinity;
  for (let i = 0; i < keys.length; i++) {
    const k = (keys[i]! & mask) >>> 0;
    if (k >= limit) throw o.onInvalid!(i);
    out[i] = k;
  }
  return out;
}

// Large inputs, two passes over the keys. Pass 1 counts the high 16 bits: the digit holding rank
// `from` and the one holding rank `to` bound the band. Pass 2 keeps every entry strictly between
// those digits and sets aside the entries on the two boundary digits; those few are resolved by
// their low 16 bits (a small selectRange), and the three increasing lists are merged.
function radixRange(keys: Uint32Array, from: number, to: number, mask: number, o: RankOptions): Uint32Array {
  const n = keys.length;
  const hist = new Uint32Array(65536);
  for (let i = 0; i < n; i++) hist[(keys[i]! & mask) >>> 16]!++;
  if (o.invalidFrom !== undefined) {
    for (let d = o.invalidFrom >>> 16; d < 65536; d++) {
      if (hist[d]) throw o.onInvalid!(keys.findIndex((k) => (k & mask) >>> 0 >= o.invalidFrom!));
    }
  }
  if (to === from) return new Uint32Array(0);
  const top = from === 0 ? null : descend(hist, from);
  const bottom = descend(hist, to);
  const dFrom = top ? top.digit : 65536; // above every digit when nothing ranks before `from`
  const dTo = bottom.digit;
  let inner = 0;
  for (let d = dTo + 1; d < Math.min(dFrom, 65536); d++) inner += hist[d]!;
  const between = new Uint32Array(inner);
  const onTo = new Uint32Array(hist[dTo]!);
  const onFrom = dFrom !== dTo && dFrom < 65536 ? new Uint32Array(hist[dFrom]!) : onTo;
  let nb = 0;
  let nt = 0;
  let nf = 0;
  for (let i = 0; i < n; i++) {
    const h = (keys[i]! & mask) >>> 16;
    if (h < dTo || h > dFrom) continue;
    if (h === dTo) onTo[nt++] = i;
    else if (h === dFrom) onFrom[nf++] = i;
    else between[nb++] = i;
  }
  if (dFrom === dTo) return pickByKeys(keys, mask, onTo, top!.within, bottom.within);
  const fromSide = top ? pickByKeys(keys, mask, onFrom, top.within, onFrom.length) : new Uint32Array(0);
  return merge(merge(fromSide, between), pickByKeys(keys, mask, onTo, 0, bottom.within));
}

/** The digit holding the r-th largest (1-based) entry, and how many of that digit's entries rank up to r. */
function descend(hist: Uint32Array, r: number): { digit: number; within: number } {
  let above = 0;
  for (let d = hist.length - 1; d >= 0; d--) {
    const c = hist[d]!;
    if (above + c >= r) return { digit: d, within: r - above };
    above += c;
  }
  throw new Error(`internal: rank ${r} beyond ${above} entries`);
}

export function gather(data: Float32Array, indices: Uint32Array): Float32Array {
  const out = new Float32Array(indices.length);
  for (let j = 0; j < indices.length; j++) out[j] = data[indices[j]!]!;
  return out;
}
