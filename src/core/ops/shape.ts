// Data-movement primitives: reshape, transpose, slice, zero padding, concatenation.
import { type Primitive, type Shape, Sym, sizeOf, stridesOf, walk } from '../graph.js';
import { sameShape } from './broadcast.js';

export const reshapeP: Primitive<{ shape: number[] }> = {
  name: 'reshape',
  shape: ([s], { shape }) => {
    if (shape.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s!) !== sizeOf(shape)) throw new Error(`cannot reshape [${s}] to [${shape}]`);
    return [...shape];
  },
  eval: ([x]) => x!.slice(),
  lower: (ctx, [x], { shape }) => ctx.node('Reshape', [x!, ctx.int64(shape)]),
  vjp: (g, { inputs: [x] }) => [reshape(g, x!.shape)],
};

export const transposeP: Primitive<{ perm: number[] }> = {
  name: 'transpose',
  shape: ([s], { perm }) => {
    if (perm.length !== s!.length || [...perm].sort().some((p, i) => p !== i)) throw new Error(`bad permutation [${perm}]`);
    return perm.map((p) => s![p]!);
  },
  eval: ([x], [s], { perm }, out) => {
    const inSt = stridesOf(s!);
    const st = perm.map((p) => inSt[p]!);
    const r = new Float64Array(x!.length);
    walk(out, (k, off) => (r[k] = x![off]!), st);
    return r;
  },
  lower: (ctx, [x], { perm }) => ctx.node('Transpose', [x!], { perm }),
  vjp: (g, { attrs: { perm } }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g, inv)];
  },
};

/** Contiguous slice [starts, ends) on every axis. */
export const sliceP: Primitive<{ starts: number[]; ends: number[] }> = {
  name: 'slice',
  shape: ([s], { starts, ends }) => {
    checkPerAxis(s!, [starts, ends], 'slice bounds');
    return s!.map((d, i) => {
      if (starts[i]! < 0 || ends[i]! > d || starts[i]! > ends[i]!) throw new Error(`slice [${starts}]..[${ends}] out of [${s}]`);
      return ends[i]! - starts[i]!;
    });
  },
  eval: ([x], [s], { starts }, out) => {
    const st = stridesOf(s!);
    const base = starts.reduce((a, v, i) => a + v * st[i]!, 0);
    const r = new Float64Array(sizeOf(out));
    walk(out, (k, off) => (r[k] = x![base + off]!), st);
    return r;
  },
  lower: (ctx, [x], { starts, ends }) =>
    ctx.node('Slice', [x!, ctx.int64(starts), ctx.int64(ends), ctx.int64(starts.map((_, i) => i))]),
  vjp: (g, { inputs: [x], attrs: { starts, ends } }) => [pad(g, starts, x!.shape.map((d, i) => d - ends[i]!))],
};

/** Zero padding: `before[i]` and `after[i]` zeros on axis i. */
export const padP: Primitive<{ before: number[]; after: number[] }> = {
  name: 'pad',
  shape: ([s], { before, after }) => {
    checkPerAxis(s!, [before, after], 'pad widths');
    if ([...before, ...after].some((v) => v < 0)) throw new Error(`pad widths must be non-negative, got [${before}] / [${after}]`);
    return s!.map((d, i) => d + before[i]! + after[i]!);
  },
  eval: ([x], [s], { before }, out) => {
    const st = stridesOf(out);
    const base = before.reduce((a, v, i) => a + v * st[i]!, 0);
    const r = new Float64Array(sizeOf(out));
    walk(s!, (k, off) => (r[base + off] = x![k]!), st);
    return r;
  },
  lower: (ctx, [x], { before, after }) => ctx.node('Pad', [x!, ctx.int64([...before, ...after])], { mode: 'constant' }),
  vjp: (g, { inputs: [x], attrs: { before } }) => [slice(g, before, before.map((b, i) => b + x!.shape[i]!))],
};

export const concatP: Primitive<{ axis: number }> = {
  name: 'concat',
  shape: (shapes, { axis }) => {
    if (shapes.length === 0) throw new Error('concat of no tensors');
    const first = shapes[0]!;
    if (!Number.isInteger(axis) || axis < 0 || axis >= first.length) throw new Error(`axis ${axis} out of range for rank ${first.length}`);
    const out = [...first];
    out[axis] = 0;
    for (const s of shapes) {
      if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) throw new Error('concat shapes differ');
      out[axis]! += s[axis]!;
    }
    return out;
  },
  eval: (xs, shapes, { axis }, out) => {
    const r = new Float64Array(sizeOf(out));
    const outer = sizeOf(out.slice(0, axis));
    const innerOut = sizeOf(out.slice(axis));
    let offset = 0;
    xs.forEach((x, j) => {
      const inner = sizeOf(shapes[j]!.slice(axis));
      for (let o = 0; o < outer; o++) r.set(x.subarray(o * inner, (o + 1) * inner), o * innerOut + offset);
      offset += inner;
    });
    return r;
  },
  lower: (ctx, xs, { axis }) => ctx.node('Concat', xs, { axis }),
  vjp: (g, { inputs, attrs: { axis } }) => {
    let at = 0;
    return inputs.map((x) => {
      const starts = g.shape.map((_, i) => (i === axis ? at : 0));
      const ends = g.shape.map((d, i) => (i === axis ? at + x.shape[axis]! : d));
      at += x.shape[axis]!;
      return slice(g, starts, ends);
    });
  },
};

function checkPerAxis(shape: Shape, lists: number[][], what: string): void {
  for (const l of lists) {
    if (l.length !== shape.length || l.some((v) => !Number.isInteger(v))) throw new Error(`${what} need one integer per axis of [${shape}], got [${l}]`);
  }
}

export function reshape(x: Sym, shape: Shape): Sym {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = -sizeOf(s);
    if (s.indexOf(-1, neg + 1) >= 0 || x.size % rest !== 0) throw new Error(`reshape: cannot reshape [${x.shape}] to [${shape}]`);
    s[neg] = x.size / rest;
  }
  if (sameShape(x.shape, s)) return x;
  return x.graph.apply(reshapeP, [x], { shape: s });
}

export function transpose(x: Sym, perm?: number[]): Sym {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((v, i) => v === i)) return x;
  return x.graph.apply(transposeP, [x], { perm: p });
}

export function slice(x: Sym, starts: number[], ends: number[]): Sym {
  if (starts.every((v) => v === 0) && ends.every((v, i) => v === x.shape[i])) return x;
  return x.graph.apply(sliceP, [x], { starts, ends });
}

/** Slice along one axis. */
export function sliceAxis(x: Sym, axis: number, start: number, end: number): Sym {
  return slice(x, x.shape.map((_, i) => (i === axis ? start : 0)), x.shape.map((d, i) => (i === axis ? end : d)));
}

export function pad(x: Sym, before: number[], after: number[]): Sym {
  if (before.every((v) => v === 0) && after.every((v) => v === 0)) return x;
  return x.graph.apply(padP, [x], { before, after });
}

export function concat(xs: Sym[], axis: number): Sym {
  if (xs.length === 0) throw new Error('concat: no tensors to concatenate');
  if (xs.length === 1) return xs[0]!;
  const ax = axis < 0 ? axis + xs[0]!.rank : axis;
  return xs[0]!.graph.apply(concatP, xs, { axis: ax });
}

export function flatten(x: Sym): Sym {
  return reshape(x, [x.shape[0]!, x.size / x.shape[0]!]);
}
