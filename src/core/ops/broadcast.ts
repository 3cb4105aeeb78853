// Numpy-style broadcasting helpers shared by the elementwise primitives and their rules.
import { type Shape, stridesOf, sizeOf, walk } from '../graph.js';

export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast [${a}] with [${b}]`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** For each flat output index, the flat index into an input of shape `inShape` broadcast to `outShape`. */
export function broadcastIndex(inShape: Shape, outShape: Shape): Int32Array {
  const n = sizeOf(outShape);
  const idx = new Int32Array(n);
  const r = outShape.length;
  const inSt = stridesOf(inShape);
  const eff = new Array<number>(r).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const oi = r - inShape.length + i;
    eff[oi] = inShape[i] === 1 ? 0 : inSt[i]!;
  }
  walk(outShape, (k, off) => (idx[k] = off), eff);
  return idx;
}

/** Axes of `outShape` that were broadcast from `inShape` (to be summed in a vjp). */
export function broadcastAxes(inShape: Shape, outShape: Shape): number[] {
  const axes: number[] = [];
  const lead = outShape.length - inShape.length;
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) axes.push(i);
    else if (inShape[i - lead] === 1 && outShape[i] !== 1) axes.push(i);
  }
  return axes;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
