// Choosing entries by rank without sorting. Every ranking in the defenses uses one total order:
// larger key first, and among equal keys the smaller index first. With that order "the entries of
// rank [from, to)" is a well-defined set, equal to what a stable sort would give, and ties never
// depend on the algorithm. Magnitudes are ranked through their float32 bit patterns: for finite
// non-negative floats the unsigned bit pattern orders exactly like the value, so keys are Uint32.

/**
 * The first r entries of the order are those with key > `key`, plus the first `take` entries
 * (by index) whose key equals `key`. Rank 0 is { key: 2^32, take: 0 }, above every key.
 */
export interface Cut {
  key: number;
  take: number;
}

const NO_CUT: Cut = { key: 2 ** 32, take: 0 };

/** Below this size a quickselect on a copy is cheaper than clearing radix histograms. */
export const RADIX_MIN = 1 << 15;

/** |x| as ordered bit patterns; throws naming the tensor at its first non-finite entry. */
export function magnitudeKeys(data: Float32Array, name: string): Uint32Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const keys = new Uint32Array(data.length);
  for (let i = 0; i < bits.length; i++) {
    const k = bits[i]! & 0x7fffffff;
    if (k >= 0x7f800000) throw nonFinite(name, i, data[i]!);
    keys[i] = k;
  }
  return keys;
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

/** The cut for each rank in `ranks` (each in 0..n), in linear expected time. */
export function cutsAt(keys: Uint32Array, ranks: readonly number[], method: 'auto' | 'select' | 'radix' = 'auto'): Cut[] {
  const n = keys.length;
  for (const r of ranks) {
    if (!Number.isInteger(r) || r < 0 || r > n) throw new Error(`rank ${r} outside 0..${n}`);
  }
  const useRadix = method === 'radix' || (method === 'auto' && n >= RADIX_MIN);
  return useRadix ? cutsByRadix(keys, ranks) : cutsBySelect(keys, ranks);
}

function cutsBySelect(keys: Uint32Array, ranks: readonly number[]): Cut[] {
  const scratch = keys.slice();
  const values = ranks.map((r) => (r === 0 ? -1 : nthLargest(scratch, r - 1)));
  const greater = values.map(() => 0);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    for (let j = 0; j < values.length; j++) if (k > values[j]!) greater[j]!++;
  }
  return ranks.map((r, j) => (r === 0 ? NO_CUT : { key: values[j]!, take: r - greater[j]! }));
}

/** The key at position k (0-based) of a descending order; permutes `a`. Three-way partitioning keeps many ties linear. */
export function nthLargest(a: Uint32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  for (;;) {
    if (lo >= hi) return a[lo]!;
    const p = median3(a[lo]!, a[(lo + hi) >>> 1]!, a[hi]!);
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = a[i]!;
      if (v > p) {
        a[i] = a[lt]!;
        a[lt] = v;
        lt++;
        i++;
      } else if (v < p) {
        a[i] = a[gt]!;
        a[gt] = v;
        gt--;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return p;
  }
}

function median3(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}

// Two passes of 16-bit digits: the high halves locate each rank's bucket, the low halves of the
// keys in those buckets locate the key. Linear in the worst case, and no copy of the keys.
function cutsByRadix(keys: Uint32Array, ranks: readonly number[]): Cut[] {
  const high = new Uint32Array(65536);
  for (let i = 0; i < keys.length; i++) high[keys[i]! >>> 16]!++;
  const located = ranks.map((r) => (r === 0 ? null : descend(high, r)));
  const buckets = [...new Set(located.filter((l) => l !== null).map((l) => l.digit))];
  const lows = buckets.map(() => new Uint32Array(65536));
  if (buckets.length > 0) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const h = k >>> 16;
      for (let b = 0; b < buckets.length; b++) {
        if (h === buckets[b]) {
          lows[b]![k & 0xffff]!++;
          break;
        }
      }
    }
  }
  return located.map((l) => {
    if (l === null) return NO_CUT;
    const low = descend(lows[buckets.indexOf(l.digit)]!, l.within);
    return { key: ((l.digit << 16) | low.digit) >>> 0, take: low.within };
  });
}

/** The digit holding the r-th largest (1-based) entry, and r's position within that digit. */
function descend(hist: Uint32Array, r: number): { digit: number; within: number } {
  let above = 0;
  for (let d = hist.length - 1; d >= 0; d--) {
    const c = hist[d]!;
    if (above + c >= r) return { digit: d, within: r - above };
    above += c;
  }
  throw new Error(`rank ${r} beyond ${above} entries`);
}

/** Indices (increasing) of the entries whose rank lies in [from, to). */
export function rankRange(keys: Uint32Array, from: number, to: number, method: 'auto' | 'select' | 'radix' = 'auto'): Uint32Array {
  if (!(from <= to)) throw new Error(`rank range [${from}, ${to}) is empty or reversed`);
  const out = new Uint32Array(to - from);
  if (to === from) return out;
  const [c1, c2] = cutsAt(keys, [from, to], method) as [Cut, Cut];
  const k1 = c1.key;
  const t1 = c1.take;
  const k2 = c2.key;
  const t2 = c2.take;
  let seen1 = 0;
  let seen2 = 0;
  let m = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k < k2 || (k === k2 && seen2++ >= t2)) continue; // after rank `to`
    if (k > k1 || (k === k1 && seen1++ < t1)) continue; // before rank `from`
    out[m++] = i;
  }
  if (m !== out.length) throw new Error(`internal: rank range selected ${m} of ${out.length} entries`);
  return out;
}

export function gather(data: Float32Array, indices: Uint32Array): Float32Array {
  const out = new Float32Array(indices.length);
  for (let j = 0; j < indices.length; j++) out[j] = data[indices[j]!]!;
  return out;
}
