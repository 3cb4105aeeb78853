// Large inputs, one pass (Floyd-Rivest style). A sample of the keys brackets the keys at ranks
// `from` and `to` in two narrow windows; one pass then counts the keys above the upper window,
// writes the keys strictly between the windows straight into the result and sets aside the few
// in the windows, which a small selectRange resolves exactly. Resolving returns null when the
// sample misled (a window missed its rank or overflowed), and the caller takes an exact path.
import { mergeInto, merge, nthLargest, pickLocal } from './rank-util.js';

/**
 * Groups by key, largest first: above | window 1 (rank `from`) | A | window 2 (rank `to`) | below,
 * as inclusive key ranges [lo, hi] (lo > hi: empty), all below 2^31. With from = 0 there is no
 * window 1; when the windows touch ("merged") window 2 spans both ranks and A is empty. Window 2,
 * A and window 1 tile [w2Lo, top], in that order.
 */
export interface WindowPlan {
  top: number;
  w1Lo: number;
  w1Hi: number;
  w2Lo: number;
  w2Hi: number;
  aLo: number;
  aHi: number;
  merged: boolean;
  /** Room for each window: twice the widest one the margins allow. */
  capacity: number;
}

/** What a pass found, and where it put it. */
export interface Tally {
  above: number;
  /** Entries of A, written to `out` in increasing order. */
  na: number;
  n1: number;
  n2: number;
  out: Uint32Array;
  /** Window entries: their indices, and their keys (read back later they would miss the cache). */
  w1: Uint32Array;
  w1Keys: Uint32Array;
  w2: Uint32Array;
  w2Keys: Uint32Array;
}

/** Sample size for n keys. */
export function sampleSize(n: number): number {
  return Math.min(32768, Math.max(1024, (n >>> 9) << 4));
}

/**
 * Where sample run j / 16 starts: runs of 16 positions (one cache line) at pseudo-random places,
 * a sixteenth of the cache misses. (A list, not a callback: a closure over the keys would make V8
 * reach them through a context object in the hot loop.)
 */
export function sampleRunStarts(n: number, s: number): Uint32Array {
  const starts = new Uint32Array(s >>> 4);
  let x = 0x9e3779b9 ^ n;
  for (let j = 0; j < starts.length; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    starts[j] = ((x >>> 0) % (n >>> 4)) << 4;
  }
  return starts;
}

/** The windows for ranks `from` and `to` of n keys, from a sample of masked keys (permuted). */
export function planWindows(sample: Uint32Array, n: number, from: number, to: number, maxKey: number): WindowPlan {
  const s = sample.length;
  // The keys bracketing rank r, [lo, hi], with a margin of 4 standard deviations of the sample count.
  const bracket = (r: number): [number, number] => {
    const p = r / n;
    const m = Math.ceil(4 * Math.sqrt(s * p * (1 - p))) + 4;
    const hiAt = Math.floor(p * s - m); // positions in the sample, largest first
    const loAt = Math.ceil(p * s + m);
    return [loAt >= s ? 0 : nthLargest(sample, loAt), hiAt < 0 ? maxKey : nthLargest(sample, hiAt)];
  };
  const [lo2, hi2] = bracket(to);
  const [lo1, hi1] = from === 0 ? [1, 0] : bracket(from);
  const merged = from > 0 && lo1 <= hi2;
  const [w1Lo, w1Hi] = from === 0 || merged ? [1, 0] : [lo1, hi1];
  const [aLo, aHi] = merged ? [1, 0] : [hi2 + 1, from === 0 ? maxKey : lo1 - 1];
  const capacity = Math.min(n, 2 * Math.ceil((n * (4 * Math.sqrt(s) + 9)) / s) + 1024);
  return { top: from === 0 ? maxKey : hi1, w1Lo, w1Hi, w2Lo: lo2, w2Hi: merged ? hi1 : hi2, aLo, aHi, merged, capacity };
}

/** Zeroed counts and buffers for a pass under this plan. */
export function freshTally(plan: WindowPlan, from: number, to: number): Tally {
  const w1 = new Uint32Array(plan.w1Lo > plan.w1Hi ? 0 : plan.capacity);
  return {
    above: 0, na: 0, n1: 0, n2: 0,
    out: new Uint32Array(to - from),
    w1, w1Keys: new Uint32Array(w1.length),
    w2: new Uint32Array(plan.capacity), w2Keys: new Uint32Array(plan.capacity),
  };
}

/** The indices of ranks [from, to) after a pass, or null when the sample misled. */
export function resolveWindows(plan: WindowPlan, t: Tally, from: number, to: number): Uint32Array | null {
  const { above, na, n1, n2 } = t;
  if (n1 > t.w1.length || n2 > t.w2.length) return null;
  const base2 = above + n1 + na; // entries ranking before window 2
  const fits = plan.merged
    ? above <= from && to <= above + n2
    : above <= from && from <= above + n1 && base2 <= to && to <= base2 + n2;
  if (!fits) return null;
  const picks1 = plan.merged ? new Uint32Array(0) : pickLocal(t.w1Keys.subarray(0, n1), t.w1.subarray(0, n1), from - above, n1);
  const picks2 = pickLocal(t.w2Keys.subarray(0, n2), t.w2.subarray(0, n2), Math.max(0, from - base2), to - base2);
  return mergeInto(t.out, na, merge(picks1, picks2));
}

/** The one-pass ranking of masked keys; null when the sample misled. Calls onInvalid(first index) for a key above `valid`. */
export function sampledRange(keys: Uint32Array, from: number, to: number, mask: number, valid: number, onInvalid: (index: number) => Error): Uint32Array | null {
  const n = keys.length;
  const sample = new Uint32Array(sampleSize(n));
  const starts = sampleRunStarts(n, sample.length);
  for (let r = 0; r < starts.length; r++) {
    for (let i = 0; i < 16; i++) sample[16 * r + i] = keys[starts[r]! + i]! & mask;
  }
  const plan = planWindows(sample, n, from, to, mask);
  const t = freshTally(plan, from, to);
  if (passKeys(keys, mask, valid, plan, t) < 0) throw onInvalid(firstAbove(keys, mask, valid));
  return resolveWindows(plan, t, from, to);
}

/**
 * The pass: fills t, returns a negative number when some masked key exceeds `valid`. A function
 * of its own so that V8 optimises it whole (inside a longer function it runs as on-stack-replaced
 * code that bails out after the loop on every call). One key per turn with only a handful of
 * values live: unrolled, V8 ran out of registers and spent more (measured with callgrind).
 */
function passKeys(keys: Uint32Array, mask: number, valid: number, plan: WindowPlan, t: Tally): number {
  const n = keys.length;
  const out = t.out;
  // Window candidates, both windows together, sorted out below (they are a few per cent).
  const cand = new Uint32Array(t.w1.length + t.w2.length);
  // Plain int32 locals (every bound is below 2^31): V8 then keeps the key arithmetic in 32-bit
  // registers. Per key, as sign bits: T - k < 0: above the top; a < 0: not in A; a window holds
  // the key when it lies in [w2Lo, top] but not in A (window 2, A, window 1 tile that range).
  const M = mask | 0;
  const T = plan.top | 0;
  const V = valid | 0;
  const AL = plan.aLo | 0;
  const AH = plan.aHi | 0;
  const WL = plan.w2Lo | 0;
  let above = 0;
  let na = 0;
  let nc = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]! & M;
    const top = T - k;
    const a = (k - AL) | (AH - k);
    bad |= V - k;
    above += top >>> 31;
    // Branch-free on purpose (A is a fifth of the keys, unpredictable): every index is stored,
    // and kept only when its key lies in A (or a window). Stores past the end of a typed array
    // are dropped, so an overfull A or window is caught by the counts in resolveWindows.
    out[na] = i;
    na += (a >>> 31) ^ 1;
    cand[nc] = i;
    nc += (~((k - WL) | top) & a) >>> 31;
  }
  let n1 = 0;
  let n2 = 0;
  const { w1, w1Keys, w2, w2Keys } = t;
  if (nc > cand.length) n2 = w2.length + 1; // overflowed: resolveWindows gives up
  else {
    const W1L = plan.w1Lo | 0;
    const W1H = plan.w1Hi | 0;
    for (let j = 0; j < nc; j++) {
      const i = cand[j]!;
      const k = keys[i]! & M;
      if (((k - W1L) | (W1H - k)) >= 0) {
        w1Keys[n1] = k;
        w1[n1++] = i;
      } else {
        w2Keys[n2] = k;
        w2[n2++] = i;
      }
    }
  }
  t.above = above;
  t.na = na;
  t.n1 = n1;
  t.n2 = n2;
  return bad;
}

function firstAbove(keys: Uint32Array, mask: number, valid: number): number {
  for (let i = 0; i < keys.length; i++) if ((keys[i]! & mask) > valid) return i;
  return -1;
}
