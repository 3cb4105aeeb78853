// Adam (Kingma & Ba) as torch.optim.Adam computes it (L2 weight decay added to the gradient), on
// plain Float32Array parameters, with the same init/step shape as sgd so a training loop can take
// either. Sigmoid networks such as DLG's LeNet leave their initial plateau far sooner with it.
import { z } from 'zod';
import { sizeOf, type TensorList } from '../common/tensors.js';
import type { TensorLayout } from '../common/update.js';
import { parseOptions } from '../defenses/options.js';

const adamSchema = z.object({
  lr: z.number().positive(),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0),
});
export type AdamOptions = z.infer<typeof adamSchema>;
export type AdamOptionsInput = z.input<typeof adamSchema>;

export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export interface Adam {
  readonly options: AdamOptions;
  init(layout: readonly TensorLayout[]): AdamState;
  /** One step; `lr` overrides options.lr (for a schedule). Updates params in place. */
  step(params: TensorList, grads: TensorList, state: AdamState, lr?: number): AdamState;
}

export function createAdam(options: AdamOptionsInput): Adam {
  const o = parseOptions(adamSchema, options, 'adam');
  return {
    options: o,
    init: (layout) => ({ step: 0, m: layout.map((t) => new Float32Array(sizeOf(t.shape))), v: layout.map((t) => new Float32Array(sizeOf(t.shape))) }),
    step(params, grads, state, lr = o.lr) {
      if (params.length !== grads.length || params.length !== state.m.length) {
        throw new Error(`adam: ${params.length} parameters, ${grads.length} gradients, ${state.m.length} moment buffers`);
      }
      const t = state.step + 1;
      const c1 = 1 - o.beta1 ** t;
      const c2 = 1 - o.beta2 ** t;
      params.forEach((p, k) => {
        const g = grads[k]!.data;
        const m = state.m[k]!;
        const v = state.v[k]!;
        if (g.length !== p.data.length || m.length !== p.data.length) throw new Error(`adam: parameter "${p.name}" has ${p.data.length} entries, gradient ${g.length}`);
        const x = p.data;
        for (let i = 0; i < x.length; i++) {
          const gi = g[i]! + o.weightDecay * x[i]!;
          m[i] = o.beta1 * m[i]! + (1 - o.beta1) * gi;
          v[i] = o.beta2 * v[i]! + (1 - o.beta2) * gi * gi;
          x[i] = x[i]! - (lr * m[i]!) / c1 / (Math.sqrt(v[i]! / c2) + o.eps);
        }
      });
      return { step: t, m: state.m, v: state.v };
    },
  };
}
