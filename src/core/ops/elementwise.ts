// Elementwise primitives: broadcasting binary arithmetic, unary maths, masks and selection.
import { type Primitive, type Shape, Sym, sizeOf } from '../graph.js';
import { broadcastIndex, broadcastShapes, sameShape } from './broadcast.js';
import { sumToShape } from './reduce.js';

type Binary = (a: number, b: number) => number;

function binary(name: string, onnxOp: string, f: Binary, vjp: Primitive['vjp']): Primitive<null> {
  return {
    name,
    shape: (s) => broadcastShapes(s[0]!, s[1]!),
    eval([a, b], [sa, sb], _attrs, outShape) {
      const n = sizeOf(outShape);
      const out = new Float64Array(n);
      if (sameShape(sa!, outShape) && sameShape(sb!, outShape)) {
        for (let i = 0; i < n; i++) out[i] = f(a![i]!, b![i]!);
      } else {
        const ia = broadcastIndex(sa!, outShape);
        const ib = broadcastIndex(sb!, outShape);
        for (let i = 0; i < n; i++) out[i] = f(a![ia[i]!]!, b![ib[i]!]!);
      }
      return out;
    },
    lower: (ctx, [a, b]) => ctx.node(onnxOp, [a!, b!]),
    vjp,
  };
}

export const addP = binary('add', 'Add', (a, b) => a + b, (g, { inputs: [a, b] }) => [
  sumToShape(g, a!.shape),
  sumToShape(g, b!.shape),
]);
// The negation after the sum: on a broadcast operand (batch norm's mean) it is per channel, not full size.
export const subP = binary('sub', 'Sub', (a, b) => a - b, (g, { inputs: [a, b] }) => [
  sumToShape(g, a!.shape),
  neg(sumToShape(g, b!.shape)),
]);
export const mulP = binary('mul', 'Mul', (a, b) => a * b, (g, { inputs: [a, b] }) => [
  sumToShape(mul(g, b!), a!.shape),
  sumToShape(mul(g, a!), b!.shape),
]);
export const divP = binary('div', 'Div', (a, b) => a / b, (g, { inputs: [a, b], out }) => [
  sumToShape(div(g, b!), a!.shape),
  sumToShape(neg(div(mul(g, out), b!)), b!.shape),
]);
/** Elementwise maximum; on ties the gradient goes to the second argument. */
export const maximumP = binary('maximum', 'Max', (a, b) => (a > b ? a : b), (g, { inputs: [a, b] }) => {
  const m = step(sub(a!, b!));
  return [sumToShape(mul(g, m), a!.shape), sumToShape(sub(g, mul(g, m)), b!.shape)];
});
/** 1 where a == b, else 0 (a mask: no gradient). */
export const eqP = binary('eq', 'Equal', (a, b) => (a === b ? 1 : 0), () => [null, null]);
eqP.lower = (ctx, [a, b]) => ctx.node('Cast', [ctx.node('Equal', [a!, b!])], { to: 1 });

function unary(name: string, onnxOp: string, f: (x: number) => number, vjp: Primitive['vjp']): Primitive<null> {
  return {
    name,
    shape: (s) => [...s[0]!],
    eval([x]) {
      const out = new Float64Array(x!.length);
      for (let i = 0; i < out.length; i++) out[i] = f(x![i]!);
      return out;
    },
    lower: (ctx, [x]) => ctx.node(onnxOp, [x!]),
    vjp,
  };
}

export const negP = unary('neg', 'Neg', (x) => -x, (g) => [neg(g)]);
export const expP = unary('exp', 'Exp', Math.exp, (g, { out }) => [mul(g, out)]);
export const logP = unary('log', 'Log', Math.log, (g, { inputs: [x] }) => [div(g, x!)]);
export const sqrtP = unary('sqrt', 'Sqrt', Math.sqrt, (g, { out }) => [div(g, mul(out, 2))]);
export const absP = unary('abs', 'Abs', Math.abs, (g, { inputs: [x] }) => [mul(g, sign(x!))]);
export const sigmoidP = unary('sigmoid', 'Sigmoid', (x) => 1 / (1 + Math.exp(-x)), (g, { out }) => [
  mul(g, mul(out, sub(1, out))),
]);
export const tanhP = unary('tanh', 'Tanh', Math.tanh, (g, { out }) => [mul(g, sub(1, mul(out, out)))]);
export const reluP = unary('relu', 'Relu', (x) => (x > 0 ? x : 0), (g, { inputs: [x] }) => [mul(g, step(x!))]);
export const signP = unary('sign', 'Sign', Math.sign, () => [null]);
/** Heaviside step: 1 where x > 0, else 0. */
export const stepP = unary('step', 'Greater', (x) => (x > 0 ? 1 : 0), () => [null]);
stepP.lower = (ctx, [x]) => ctx.node('Cast', [ctx.node('Greater', [x!, ctx.float(0)])], { to: 1 });
/** Identity in value, zero in gradient. */
export const stopGradientP = unary('stopGradient', 'Identity', (x) => x, () => [null]);

/** where(mask, a, b) with a float 0/1 mask. */
export const whereP: Primitive<null> = {
  name: 'where',
  shape: (s) => broadcastShapes(broadcastShapes(s[0]!, s[1]!), s[2]!),
  eval([c, a, b], [sc, sa, sb], _attrs, outShape) {
    const n = sizeOf(outShape);
    const ic = broadcastIndex(sc!, outShape);
    const ia = broadcastIndex(sa!, outShape);
    const ib = broadcastIndex(sb!, outShape);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = c![ic[i]!]! !== 0 ? a![ia[i]!]! : b![ib[i]!]!;
    return out;
  },
  lower: (ctx, [c, a, b]) => ctx.node('Where', [ctx.node('Cast', [c!], { to: 9 }), a!, b!]),
  vjp: (g, { inputs: [c, a, b] }) => {
    const ga = mul(g, c!);
    return [null, sumToShape(ga, a!.shape), sumToShape(sub(g, ga), b!.shape)];
  },
};

export type Operand = Sym | number;

function lift(x: Operand, like: Sym): Sym {
  return typeof x === 'number' ? like.graph.constant([x], []) : x;
}

function binaryOp(p: Primitive<null>, a: Operand, b: Operand): Sym {
  const ref = typeof a === 'number' ? (b as Sym) : a;
  if (typeof ref === 'number') throw new Error(`${p.name}: at least one operand must be traced`);
  return ref.graph.apply(p, [lift(a, ref), lift(b, ref)], null);
}

export const add = (a: Operand, b: Operand) => binaryOp(addP, a, b);
export const sub = (a: Operand, b: Operand) => binaryOp(subP, a, b);
export const mul = (a: Operand, b: Operand) => binaryOp(mulP, a, b);
export const div = (a: Operand, b: Operand) => binaryOp(divP, a, b);
export const maximum = (a: Operand, b: Operand) => binaryOp(maximumP, a, b);
export const minimum = (a: Operand, b: Operand) => neg(maximum(neg(lift(a, ref2(a, b))), neg(lift(b, ref2(a, b)))));
export const eq = (a: Operand, b: Operand) => binaryOp(eqP, a, b);
export const neg = (x: Sym) => x.graph.apply(negP, [x], null);
export const exp = (x: Sym) => x.graph.apply(expP, [x], null);
export const log = (x: Sym) => x.graph.apply(logP, [x], null);
export const sqrt = (x: Sym) => x.graph.apply(sqrtP, [x], null);
export const abs = (x: Sym) => x.graph.apply(absP, [x], null);
export const sigmoid = (x: Sym) => x.graph.apply(sigmoidP, [x], null);
export const tanh = (x: Sym) => x.graph.apply(tanhP, [x], null);
export const relu = (x: Sym) => x.graph.apply(reluP, [x], null);
export const sign = (x: Sym) => x.graph.apply(signP, [x], null);
export const step = (x: Sym) => x.graph.apply(stepP, [x], null);
export const stopGradient = (x: Sym) => x.graph.apply(stopGradientP, [x], null);
export const where = (mask: Sym, a: Operand, b: Operand) =>
  mask.graph.apply(whereP, [mask, lift(a, mask), lift(b, mask)], null);
export const square = (x: Sym) => mul(x, x);

function ref2(a: Operand, b: Operand): Sym {
  const r = typeof a === 'number' ? b : a;
  if (typeof r === 'number') throw new Error('at least one operand must be traced');
  return r;
}
