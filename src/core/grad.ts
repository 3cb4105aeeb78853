// Reverse-mode differentiation on the traced graph. Cotangents are built from the same primitives,
// appended to the same graph, so `grad` of an expression that contains `grad` just works.
import { type Graph, Sym } from './graph.js';
import { add } from './ops/elementwise.js';
import { reshape as reshapeTo } from './ops/shape.js';

/**
 * Gradients of `y` with respect to each of `xs`. `y` must be a scalar unless a cotangent `seed`
 * of y's shape is given (then this is a vector-Jacobian product).
 */
export function grad(y: Sym, xs: Sym[], seed?: Sym): Sym[] {
  const graph: Graph = y.graph;
  if (!seed && y.size !== 1) throw new Error(`grad: output must be a scalar, got shape [${y.shape}]; pass a seed for a vector-Jacobian product`);
  const n = graph.syms.length;
  // Only nodes that both depend on some x and feed y carry cotangents.
  const fromX = new Uint8Array(n);
  for (const x of xs) fromX[x.id] = 1;
  for (let i = 0; i <= y.id; i++) {
    const s = graph.syms[i]!;
    if (s.node && s.node.inputs.some((u) => fromX[u.id])) fromX[i] = 1;
  }
  const ct = new Map<number, Sym>();
  ct.set(y.id, seed ?? graph.constant([1], []));
  if (seed && seed.shape.join() !== y.shape.join()) throw new Error(`grad: seed shape [${seed.shape}] differs from output [${y.shape}]`);
  for (let i = y.id; i >= 0; i--) {
    const s = graph.syms[i]!;
    const g = ct.get(i);
    if (!g || !s.node || !fromX[i]) continue;
    const gs = s.node.prim.vjp(shapeLike(g, s), s.node);
    s.node.inputs.forEach((u, k) => {
      const gu = gs[k];
      if (!gu || !fromX[u.id]) return;
      const prev = ct.get(u.id);
      ct.set(u.id, prev ? add(prev, gu) : gu);
    });
  }
  return xs.map((x) => {
    const g = ct.get(x.id);
    return g ? shapeLike(g, x) : graph.constant(new Float64Array(x.size), x.shape);
  });
}

/** The seed for a scalar output may be a rank-0 constant while y has shape [1] or [1,1]. */
function shapeLike(g: Sym, s: Sym): Sym {
  if (g.shape.join() === s.shape.join()) return g;
  if (g.size !== s.size) throw new Error(`grad: cotangent [${g.shape}] does not fit [${s.shape}]`);
  return reshapeTo(g, s.shape);
}
