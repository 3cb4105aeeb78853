// Label recovery scored as a multiset overlap, breaching's `count_integer_overlap`: the order in
// which an attack lists the labels does not matter, only how many of each class it found.

/**
 * `1 - sum_c |count_rec(c) - count_true(c)| / 2 / n` with n the number of recovered labels
 * (breaching divides by the reconstruction's count). 1 when the multisets agree, 0 when they
 * share nothing; labels of -100 in the truth (PyTorch's ignore index) are left out, as there.
 */
export function labelAccuracy(trueLabels: ArrayLike<number>, recLabels: ArrayLike<number>): number {
  const n = recLabels.length;
  if (n === 0) throw new Error('labelAccuracy: no recovered labels to score');
  const diff = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = checkLabel(recLabels[i]!, 'recovered', i);
    diff.set(c, (diff.get(c) ?? 0) + 1);
  }
  for (let i = 0; i < trueLabels.length; i++) {
    const c = trueLabels[i]!;
    if (c === -100) continue;
    checkLabel(c, 'true', i);
    diff.set(c, (diff.get(c) ?? 0) - 1);
  }
  let mismatch = 0;
  for (const d of diff.values()) mismatch += Math.abs(d);
  return 1 - mismatch / 2 / n;
}

function checkLabel(c: number, which: string, i: number): number {
  if (!Number.isInteger(c)) throw new Error(`labelAccuracy: ${which} label ${i} is ${c}, not an integer class`);
  return c;
}
