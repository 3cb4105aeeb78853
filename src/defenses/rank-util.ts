// Exact order statistics for the rankings of select.ts: a quickselect, the entries of a rank
// range among a few candidates, and merges of increasing index lists. The order is select.ts's:
// larger key first, equal keys by smaller index.

// Small inputs: find the keys at ranks `from` and `to` by quickselect, then one scan keeps the
// entries between them, counting equal keys in index order to honour the tie rule.
export function selectRange(keys: Uint32Array, from: number, to: number): Uint32Array {
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

/** Among candidates (increasing indices, with their keys), those of local rank [a, b). */
export function pickLocal(candidateKeys: Uint32Array, candidates: Uint32Array, a: number, b: number): Uint32Array {
  const picked = selectRange(candidateKeys, a, b);
  for (let j = 0; j < picked.length; j++) picked[j] = candidates[picked[j]!]!;
  return picked;
}

/** pickLocal for candidates whose keys are still in `keys`. */
export function pickByKeys(keys: Uint32Array, mask: number, candidates: Uint32Array, a: number, b: number): Uint32Array {
  const local = new Uint32Array(candidates.length);
  for (let j = 0; j < candidates.length; j++) local[j] = (keys[candidates[j]!]! & mask) >>> 0;
  return pickLocal(local, candidates, a, b);
}

export function merge(a: Uint32Array, b: Uint32Array): Uint32Array {
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
export function mergeInto(out: Uint32Array, filled: number, b: Uint32Array): Uint32Array {
  let i = filled - 1;
  let j = b.length - 1;
  for (let w = filled + b.length - 1; j >= 0; w--) out[w] = i >= 0 && out[i]! > b[j]! ? out[i--]! : b[j--]!;
  return out;
}
