// Gradient-matching objectives shared by the optimisation attacks. Each is a function over symbolic
// tensors: the attacker's candidate gradient (itself a gradient of the model's loss, so these
// objectives are differentiated twice) against the gradient the attacker observed.
import { add, crossEntropy, div, grad, mul, sqrt, sub, sum, type Sym } from '../core/index.js';
import { bindParams, type Model } from '../models/index.js';

/** Parameter gradients of the model's cross-entropy at (x, target), as symbolic tensors. */
export function parameterGradients(model: Model, params: Sym[], x: Sym, target: Sym, training = false): Sym[] {
  const { logits } = model.forward(bindParams(model.params, params), x, { training });
  return grad(crossEntropy(logits, target), params);
}

/** `masks[i]` (0/1, same shape) restricts the comparison to the coordinates the client sent. */
function masked(g: Sym, mask: Sym | undefined): Sym {
  return mask ? mul(g, mask) : g;
}

/** DLG: sum over tensors of ||g_i - t_i||^2. */
export function l2Matching(g: Sym[], target: Sym[], masks?: Sym[]): Sym {
  let total: Sym | undefined;
  g.forEach((gi, i) => {
    const d = masked(sub(gi, target[i]!), masks?.[i]);
    const s = sum(mul(d, d));
    total = total ? add(total, s) : s;
  });
  return total!;
}

/** Inverting Gradients: 1 - cos(g, t) over all tensors flattened together. */
export function cosineMatching(g: Sym[], target: Sym[], masks?: Sym[]): Sym {
  let dot: Sym | undefined;
  let gg: Sym | undefined;
  let tt: Sym | undefined;
  g.forEach((gi0, i) => {
    const gi = masked(gi0, masks?.[i]);
    const ti = masked(target[i]!, masks?.[i]);
    const a = sum(mul(gi, ti));
    const b = sum(mul(gi, gi));
    const c = sum(mul(ti, ti));
    dot = dot ? add(dot, a) : a;
    gg = gg ? add(gg, b) : b;
    tt = tt ? add(tt, c) : c;
  });
  return sub(1, div(dot!, mul(sqrt(gg!), sqrt(tt!))));
}
