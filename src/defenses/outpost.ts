// Outpost (Wang et al., INFOCOM 2023, "More than Enough is Too Much: Adaptive Defenses against
// Gradient Leakage in Production Federated Learning"), as its reference code (in the Plato
// framework) computes it. With probability 1 / (1 + decay * t) at iteration t the client perturbs
// its gradient; otherwise it sends it as it is. A perturbation, per parameter tensor i:
//   prune:  entries with |g| below the `pruneBase`-th percentile of the tensor's |g| become 0;
//   noise:  Gaussian noise of std risk_i * noiseBase is added where the empirical Fisher
//           information g^2 is in the top `phi` % of all entries of the update (the whole model),
//           risk_i = min(var(w_i), 1) being the spread of that layer's current weights.
// The reference's Fisher term is g^2 averaged over a tensor's first axis (so the mask is shared by
// all output channels); here it is g^2 per entry, the diagonal empirical Fisher of the batch.
// It needs the client's current weights and iteration, which the caller passes in the context.
// A perturbed update goes out sparse: the unpruned entries and the noised ones, at their positions.
import { z } from 'zod';
import { type Rng, type TensorList, denseUpdate, parseOptions, sparseUpdate } from '../common/index.js';
import { measure } from './report.js';
import { assertFinite } from './select.js';
import type { ApplyContext, Defense } from './types.js';

export const outpostSchema = z.object({
  /** Percentile of |g| per tensor below which entries are pruned (the paper's 80). */
  pruneBase: z.number().min(0).max(100).default(80),
  /** Percentage of all entries, by Fisher information, that get noise. */
  phi: z.number().min(0).max(100).default(40),
  /** Noise std per unit of risk. */
  noiseBase: z.number().min(0).default(0.8),
  /** The perturbation probability's decay, 1 / (1 + decay * t). */
  decay: z.number().min(0).default(0.125),
});
export type OutpostOptionsInput = z.input<typeof outpostSchema>;

export interface OutpostState {
  /** Updates this client has made (the iteration, when the caller does not give it). */
  t: number;
}

/** numpy.percentile's default (linear interpolation between the closest ranks) of `values`. */
export function percentile(values: Float32Array, p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float32Array.from(values).sort();
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Outpost's per-layer risk: the variance of the layer's weights, capped at 1. */
export function outpostRisk(params: TensorList): number[] {
  return params.map((p) => {
    const n = p.data.length;
    if (n < 2) return 0;
    let m = 0;
    for (const v of p.data) m += v;
    m /= n;
    let s = 0;
    for (const v of p.data) s += (v - m) ** 2;
    // torch.var is the unbiased variance.
    return Math.min(s / (n - 1), 1);
  });
}

export function outpost(options: OutpostOptionsInput = {}): Defense<OutpostState> {
  const o = parseOptions(outpostSchema, options, 'outpost');
  return {
    name: 'outpost',
    init: () => ({ t: 0 }),
    apply(grad: TensorList, state: OutpostState, rng: Rng, ctx?: ApplyContext) {
      const t = ctx?.iteration ?? state.t;
      const next = { t: state.t + 1 };
      const probability = 1 / (1 + o.decay * t);
      if (rng.uniform() >= probability) {
        const update = grad.map((g) => denseUpdate(g.name, g.shape, g.data.slice()));
        return { update, state: next, report: measure(grad, update, { perturbed: 0, probability }) };
      }
      if (!ctx?.params) throw new Error("outpost: needs the client's current model weights (the apply context's params) to measure each layer's risk");
      if (ctx.params.length !== grad.length) throw new Error(`outpost: ${ctx.params.length} weight tensors for a gradient of ${grad.length}`);
      const risk = outpostRisk(ctx.params);
      const fisher = new Float32Array(grad.reduce((n, g) => n + g.data.length, 0));
      let at = 0;
      for (const g of grad) {
        assertFinite(g.data, g.name);
        for (const v of g.data) fisher[at++] = v * v;
      }
      const fisherThreshold = percentile(fisher, 100 - o.phi);
      let noised = 0;
      const update = grad.map((g, i) => {
        const abs = g.data.map(Math.abs);
        const pruneBelow = percentile(abs, o.pruneBase);
        const std = risk[i]! * o.noiseBase;
        // What is sent: the unpruned entries and the noised ones (a pruned entry without noise is a zero the wire need not carry).
        const idx: number[] = [];
        const vals: number[] = [];
        for (let j = 0; j < g.data.length; j++) {
          const kept = abs[j]! >= pruneBelow;
          let v = kept ? g.data[j]! : 0;
          const noisy = g.data[j]! * g.data[j]! >= fisherThreshold && std > 0;
          if (noisy) {
            v += std * rng.normal();
            noised++;
          }
          if (kept || noisy) {
            idx.push(j);
            vals.push(v);
          }
        }
        return sparseUpdate(g.name, g.shape, Uint32Array.from(idx), Float32Array.from(vals));
      });
      return { update, state: next, report: measure(grad, update, { perturbed: 1, probability, noisedEntries: noised }) };
    },
  };
}
