// Log-softmax over the last axis: a primitive so that ONNX runs its fused, stable kernel.
import type { Primitive } from '../graph.js';
import { Sym } from '../graph.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';

export const logSoftmaxP: Primitive<null> = {
  name: 'logSoftmax',
  shape: ([s]) => [...s!],
  eval: ([x], [s]) => {
    const n = s!.at(-1)!;
    const r = new Float64Array(x!.length);
    for (let o = 0; o < x!.length; o += n) {
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, x![o + i]!);
      let z = 0;
      for (let i = 0; i < n; i++) z += Math.exp(x![o + i]! - m);
      const lz = m + Math.log(z);
      for (let i = 0; i < n; i++) r[o + i] = x![o + i]! - lz;
    }
    return r;
  },
  lower: (ctx, [x], _a, [s]) => ctx.node('LogSoftmax', [x!], { axis: s!.length - 1 }),
  // d/dx: g - softmax(x) * sum(g); softmax is exp of this node's output, itself differentiable.
  vjp: (g, { out }) => [sub(g, mul(exp(out), sum(g, [out.rank - 1], true)))],
};

export function logSoftmax(x: Sym): Sym {
  return x.graph.apply(logSoftmaxP, [x], null);
}

export function softmax(x: Sym): Sym {
  return exp(logSoftmax(x));
}
