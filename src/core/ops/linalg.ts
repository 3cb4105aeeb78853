// Matrix product with numpy-style batch broadcasting over the leading axes.
import { type Primitive, type Shape, Sym, sizeOf } from '../graph.js';
import { broadcastIndex, broadcastShapes } from './broadcast.js';
import { sumToShape } from './reduce.js';
import { transpose } from './shape.js';

export const matmulP: Primitive<null> = {
  name: 'matmul',
  shape: ([a, b]) => {
    if (a!.length < 2 || b!.length < 2) throw new Error('matmul needs rank >= 2');
    const [m, k] = a!.slice(-2);
    const [k2, n] = b!.slice(-2);
    if (k !== k2) throw new Error(`inner dimensions ${k} and ${k2} differ`);
    return [...broadcastShapes(a!.slice(0, -2), b!.slice(0, -2)), m!, n!];
  },
  eval: ([a, b], [sa, sb], _x, out) => {
    const [m, k] = sa!.slice(-2) as [number, number];
    const n = sb!.at(-1)!;
    const batch = out.slice(0, -2);
    const ia = broadcastIndex(sa!.slice(0, -2), batch);
    const ib = broadcastIndex(sb!.slice(0, -2), batch);
    const r = new Float64Array(sizeOf(out));
    for (let t = 0; t < ia.length; t++) {
      const ao = ia[t]! * m * k;
      const bo = ib[t]! * k * n;
      const ro = t * m * n;
      for (let i = 0; i < m; i++)
        for (let p = 0; p < k; p++) {
          const av = a![ao + i * k + p]!;
          if (av === 0) continue;
          for (let j = 0; j < n; j++) r[ro + i * n + j]! += av * b![bo + p * n + j]!;
        }
    }
    return r;
  },
  lower: (ctx, [a, b]) => ctx.node('MatMul', [a!, b!]),
  vjp: (g, { inputs: [a, b] }) => [
    sumToShape(matmul(g, swapLast(b!)), a!.shape),
    sumToShape(matmul(swapLast(a!), g), b!.shape),
  ],
};

function swapLast(x: Sym): Sym {
  const p = x.shape.map((_, i) => i);
  p[p.length - 1] = p.length - 2;
  p[p.length - 2] = p.length - 1;
  return transpose(x, p);
}

export function matmul(a: Sym, b: Sym): Sym {
  return a.graph.apply(matmulP, [a, b], null);
}

export type { Shape };
