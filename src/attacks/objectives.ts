// Gradient-matching objectives shared by the optimisation attacks. Each is a function over symbolic
// tensors: the attacker's candidate gradient (itself a gradient of the model's loss, so these
// objectives are differentiated twice) against the gradient the attacker observed.
import { add, div, grad, mul, reshape, sqrt, sub, sum, type Sym } from '../core/index.js';
import { bindParams, type BnStat, type Model, trainingLoss } from '../models/index.js';

/** Parameter gradients of the model's cross-entropy at (x, target), as symbolic tensors. */
export function parameterGradients(model: Model, params: Sym[], x: Sym, target: Sym, training = false): Sym[] {
  return forwardAndGradients(model, params, x, target, training).grads;
}

/**
 * The same gradients plus the batch statistics of every batch-norm input: those the layers used in
 * training mode, and, with `batchStats`, those of evaluation mode's inputs too (for the BN prior).
 * Evaluation mode normalises with `buffers`, the running statistics.
 */
export function forwardAndGradients(
  model: Model,
  params: Sym[],
  x: Sym,
  target: Sym,
  training: boolean,
  buffers?: Record<string, Sym>,
  batchStats = false,
): { grads: Sym[]; bnStats: BnStat[] } {
  // A stochastic model (PRECODE) runs without its noise draw: the attacker does not know the client's.
  const r = model.forward(bindParams(model.params, params), x, { training, buffers, batchStats });
  return { grads: grad(trainingLoss(r, target), params), bnStats: r.bnStats };
}

/**
 * DeepInversion's batch-norm prior, as GradInversion uses it: per layer, the L2 distance between the
 * candidate batch's statistics and the running ones, mean and variance, summed over layers.
 * `running` maps `<layer>.running_mean` / `<layer>.running_var` to symbolic tensors.
 */
export function bnPrior(stats: BnStat[], running: Record<string, Sym>): Sym {
  let total: Sym | undefined;
  for (const s of stats) {
    const rm = running[`${s.layer}.running_mean`];
    const rv = running[`${s.layer}.running_var`];
    if (!rm || !rv) throw new Error(`bnPrior: no running statistics for batch-norm layer ${s.layer}`);
    // A tiny floor keeps the square root differentiable where the statistics match exactly.
    const dist = (a: Sym, b: Sym) => {
      const d = sub(reshape(a, [a.size]), reshape(b, [b.size]));
      return sqrt(add(sum(mul(d, d)), 1e-12));
    };
    const term = add(dist(s.mean, rm), dist(s.variance, rv));
    total = total ? add(total, term) : term;
  }
  if (!total) throw new Error('bnPrior: the model has no batch-norm layer');
  return total;
}

/** sum((a - b)^2): the group-consistency penalty against a consensus image, or an L2 image prior with b = 0. */
export function squaredDistance(a: Sym, b?: Sym): Sym {
  const d = b ? sub(a, b) : a;
  return sum(mul(d, d));
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
