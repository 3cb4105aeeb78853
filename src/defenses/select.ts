// Choosing entries by rank without sorting. Every ranking in the defenses uses one total order:
// larger key first, and among equal keys the smaller index first. With that order "the entries of
// rank [from, to)" is a well-defined set, equal to what a stable sort would give, and ties never
// depend on the algorithm. Magnitudes are ranked through their float32 bit patterns: for finite
// floats with the sign bit masked off, the unsigned bit pattern orders exactly like |x|.

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
  const sampled = method === 'auto' && mask >>> 0 <= 0x7fffffff ? sampledRange(keys, from, to, mask, o) : null;
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

// Small inputs: find the keys at ranks `from` and `to` by quickselect, then one scan keeps the
// entries between them, counting equal keys in index order to honour the tie rule.
function selectRange(keys: Uint32Array, from: number, to: number): Uint32Array {
  const out = new Uint32Array(to - from);
  if (to === from) return out;
  const scratch = keys.slice();
  // Rank 0 is above every key: key 2^32, nothing taken.
  const k1 = from === 0 ? 2 ** 32 : nthLargest(scratch, from - 1);
  const k2 = nthLargest(scratch, to - 1);
  let greater1 = 0;
  let greater2 = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k > k1) greater1++;
    if (k > k2) greater2++;
  }
  const t1 = from - greater1; // how many entries equal to k1 (first by index) rank before `from`
  const t2 = to - greater2;
  let seen1 = 0;
  let seen2 = 0;
  let m = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k < k2 || (k === k2 && seen2++ >= t2)) continue; // at or after rank `to`
    if (k > k1 || (k === k1 && seen1++ < t1)) continue; // before rank `from`
    out[m++] = i;
  }
  if (m !== out.length) throw new Error(`internal: rank range selected ${m} of ${out.length} entries`);
  return out;
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

// Large inputs, one pass (Floyd-Rivest style). A sample of the keys brackets the keys at ranks
// `from` and `to` in two narrow windows; one pass then counts the keys above the upper window,
// writes the keys strictly between the windows straight into the result and sets aside the few
// in the windows, which a small selectRange resolves exactly. Returns null when the sample
// misled (a window missed its rank or overflowed), and the caller takes the exact radix path.
function sampledRange(keys: Uint32Array, from: number, to: number, mask: number, o: RankOptions): Uint32Array | null {
  const n = keys.length;
  const s = Math.min(32768, Math.max(1024, (n >>> 9) << 4));
  const sample = new Uint32Array(s);
  // Runs of 16 keys (one cache line) at pseudo-random places: a sixteenth of the cache misses.
  let x = 0x9e3779b9 ^ n;
  for (let j = 0; j < s; j += 16) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const at = ((x >>> 0) % (n >>> 4)) << 4;
    for (let i = 0; i < 16; i++) sample[j + i] = keys[at + i]! & mask;
  }
  const maxKey = mask;
  // The keys bracketing rank r, [lo, hi], with a margin of 4 standard deviations of the sample count.
  const bracket = (r: number): [number, number] => {
    const p = r / n;
    const m = Math.ceil(4 * Math.sqrt(s * p * (1 - p))) + 4;
    const hiAt = Math.floor(p * s - m); // positions in the sample, largest first
    const loAt = Math.ceil(p * s + m);
    return [loAt >= s ? 0 : nthLargest(sample, loAt), hiAt < 0 ? maxKey : nthLargest(sample, hiAt)];
  };
  // Groups by key, largest first: above | window 1 (rank `from`) | A | window 2 (rank `to`) | below.
  // With from = 0 there is no window 1; when the windows touch, window 2 spans both ranks.
  const [lo2, hi2] = bracket(to);
  const [lo1, hi1] = from === 0 ? [1, 0] : bracket(from);
  const merged = from > 0 && lo1 <= hi2;
  // Inclusive key ranges [lo, hi] (lo > hi: empty), in the int32 range since keys stay below 2^31.
  const top = from === 0 ? maxKey : hi1;
  const [w1Lo, w1Hi] = from === 0 || merged ? [1, 0] : [lo1, hi1];
  const [w2Lo, w2Hi] = [lo2, merged ? hi1 : hi2];
  const [aLo, aHi] = merged ? [1, 0] : [hi2 + 1, from === 0 ? maxKey : lo1 - 1];
  const capacity = Math.min(n, 2 * Math.ceil((n * (4 * Math.sqrt(s) + 9)) / s) + 1024); // twice the widest window
  // Window entries: their indices, and their keys (read back later they would miss the cache).
  const w1 = new Uint32Array(w1Lo > w1Hi ? 0 : capacity);
  const w1Keys = new Uint32Array(w1.length);
  const w2 = new Uint32Array(capacity);
  const w2Keys = new Uint32Array(capacity);
  const out = new Uint32Array(to - from);
  const valid = (o.invalidFrom ?? maxKey + 1) - 1;
  let above = 0;
  let na = 0;
  let n1 = 0;
  let n2 = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]! & mask;
    bad |= valid - k; // negative once a key is invalid
    above += (top - k) >>> 31;
    // Branch-free on purpose (A is a fifth of the keys, unpredictable): the store is kept only
    // when k lies in A; stores past the end of a typed array are dropped, so an overfull A is
    // caught by the count check below. The windows are rare: plain branches.
    out[na] = i;
    na += (((k - aLo) | (aHi - k)) >>> 31) ^ 1;
    if (((k - w1Lo) | (w1Hi - k)) >= 0) {
      w1Keys[n1] = k;
      w1[n1++] = i;
    }
    if (((k - w2Lo) | (w2Hi - k)) >= 0) {
      w2Keys[n2] = k;
      w2[n2++] = i;
    }
  }
  if (bad < 0) throw o.onInvalid!(keys.findIndex((k) => (k & mask) > valid));
  if (n1 > w1.length || n2 > w2.length) return null;
  const base2 = above + n1 + na; // entries ranking before window 2
  const fits = merged
    ? above <= from && to <= above + n2
    : above <= from && from <= above + n1 && base2 <= to && to <= base2 + n2;
  if (!fits) return null;
  const picks1 = merged ? new Uint32Array(0) : pickLocal(w1Keys.subarray(0, n1), w1.subarray(0, n1), from - above, n1);
  const picks2 = pickLocal(w2Keys.subarray(0, n2), w2.subarray(0, n2), Math.max(0, from - base2), to - base2);
  return mergeInto(out, na, merge(picks1, picks2));
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

/** Among candidates (increasing indices, with their keys), those of local rank [a, b). */
function pickLocal(candidateKeys: Uint32Array, candidates: Uint32Array, a: number, b: number): Uint32Array {
  const picked = selectRange(candidateKeys, a, b);
  for (let j = 0; j < picked.length; j++) picked[j] = candidates[picked[j]!]!;
  return picked;
}

/** pickLocal for candidates whose keys are still in `keys`. */
function pickByKeys(keys: Uint32Array, mask: number, candidates: Uint32Array, a: number, b: number): Uint32Array {
  const local = new Uint32Array(candidates.length);
  for (let j = 0; j < candidates.length; j++) local[j] = (keys[candidates[j]!]! & mask) >>> 0;
  return pickLocal(local, candidates, a, b);
}

function merge(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let m = 0;
  while (i < a.length && j < b.length) out[m++] = a[i]! < b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[m++] = a[i++]!;
  while (j < b.length) out[m++] = b[j++]!;
  return out;
}

/** Merges b into out, whose first `filled` entries are increasing and which has room for b. */
function mergeInto(out: Uint32Array, filled: number, b: Uint32Array): Uint32Array {
  let i = filled - 1;
  let j = b.length - 1;
  for (let w = filled + b.length - 1; j >= 0; w--) out[w] = i >= 0 && out[i]! > b[j]! ? out[i--]! : b[j--]!;
  return out;
}

export function gather(data: Float32Array, indices: Uint32Array): Float32Array {
  const out = new Float32Array(indices.length);
  for (let j = 0; j < indices.length; j++) out[j] = data[indices[j]!]!;
  return out;
}
