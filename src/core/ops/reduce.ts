// Reductions over axes and the broadcast that is their transpose.
import { type Primitive, type Shape, Sym, sizeOf } from '../graph.js';
import { broadcastAxes, broadcastIndex, sameShape } from './broadcast.js';
import { div, eq, mul } from './elementwise.js';
import { reshape } from './shape.js';

interface ReduceAttrs {
  axes: number[];
  keepdims: boolean;
}

function reducedShape(shape: Shape, axes: number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** Applies `combine` over the reduced axes; returns one value per kept position (keepdims layout). */
function reduceEval(x: Float64Array, shape: Shape, axes: number[], init: number, combine: (acc: number, v: number) => number) {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(sizeOf(keptShape)).fill(init);
  const idx = broadcastIndex(keptShape, shape);
  for (let i = 0; i < x.length; i++) out[idx[i]!] = combine(out[idx[i]!]!, x[i]!);
  return out;
}

function checkAxes(shape: Shape, axes: number[]): void {
  for (const a of axes) if (a < 0 || a >= shape.length) throw new Error(`axis ${a} out of range for rank ${shape.length}`);
}

export const sumP: Primitive<ReduceAttrs> = {
  name: 'sum',
  shape: ([s], { axes, keepdims }) => (checkAxes(s!, axes), reducedShape(s!, axes, keepdims)),
  eval: ([x], [s], { axes }) => reduceEval(x!, s!, axes, 0, (a, v) => a + v),
  lower: (ctx, [x], { axes, keepdims }) => ctx.node('ReduceSum', [x!, ctx.int64(axes)], { keepdims: keepdims ? 1 : 0 }),
  vjp: (g, { inputs: [x], attrs: { axes } }) => {
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [broadcastTo(reshape(g, kept), x!.shape)];
  },
};

/** Max over axes; the gradient is shared equally among tied maxima. */
export const maxP: Primitive<ReduceAttrs> = {
  name: 'max',
  shape: ([s], { axes, keepdims }) => (checkAxes(s!, axes), reducedShape(s!, axes, keepdims)),
  eval: ([x], [s], { axes }) => reduceEval(x!, s!, axes, -Infinity, (a, v) => (v > a ? v : a)),
  lower: (ctx, [x], { axes, keepdims }) => ctx.node('ReduceMax', [x!], { axes, keepdims: keepdims ? 1 : 0 }),
  vjp: (g, { inputs: [x], out, attrs: { axes } }) => {
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const mask = eq(x!, reshape(out, kept));
    const count = sum(mask, axes, true);
    return [mul(mask, div(reshape(g, kept), count))];
  },
};

export const broadcastToP: Primitive<{ shape: number[] }> = {
  name: 'broadcastTo',
  shape: ([s], { shape }) => {
    if (s!.length > shape.length) throw new Error(`cannot broadcast [${s}] to [${shape}]`);
    s!.forEach((d, i) => {
      const o = shape[shape.length - s!.length + i]!;
      if (d !== 1 && d !== o) throw new Error(`cannot broadcast [${s}] to [${shape}]`);
    });
    return [...shape];
  },
  eval: ([x], [s], _a, out) => {
    const idx = broadcastIndex(s!, out);
    const r = new Float64Array(idx.length);
    for (let i = 0; i < r.length; i++) r[i] = x![idx[i]!]!;
    return r;
  },
  lower: (ctx, [x], { shape }) => ctx.node('Expand', [x!, ctx.int64(shape)]),
  vjp: (g, { inputs: [x] }) => [sumToShape(g, x!.shape)],
};

export function sum(x: Sym, axes?: number[], keepdims = false): Sym {
  const ax = normAxes('sum', x, axes);
  if (ax.length === 0) return x;
  return x.graph.apply(sumP, [x], { axes: ax, keepdims });
}

export function max(x: Sym, axes?: number[], keepdims = false): Sym {
  const ax = normAxes('max', x, axes);
  if (ax.length === 0) return x;
  return x.graph.apply(maxP, [x], { axes: ax, keepdims });
}

export function mean(x: Sym, axes?: number[], keepdims = false): Sym {
  const ax = normAxes('mean', x, axes);
  let n = 1;
  for (const a of ax) n *= x.shape[a]!;
  return mul(sum(x, ax, keepdims), 1 / n);
}

export function broadcastTo(x: Sym, shape: Shape): Sym {
  if (sameShape(x.shape, shape)) return x;
  return x.graph.apply(broadcastToP, [x], { shape: [...shape] });
}

/** Sums `g` down to `shape` (the transpose of broadcasting). */
export function sumToShape(g: Sym, shape: Shape): Sym {
  if (sameShape(g.shape, shape)) return g;
  const axes = broadcastAxes(shape, g.shape);
  const s = sum(g, axes, true);
  return sameShape(s.shape, shape) ? s : reshape(s, shape);
}

function normAxes(op: string, x: Sym, axes?: number[]): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  for (const a of axes) if (!Number.isInteger(a) || a < -x.rank || a >= x.rank) throw new Error(`${op}: axis ${a} out of range for a tensor of shape [${x.shape}]`);
  return [...new Set(axes.map((a) => (a < 0 ? a + x.rank : a)))].sort((a, b) => a - b);
}

