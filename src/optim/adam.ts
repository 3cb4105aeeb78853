// Adam (Kingma & Ba) as torch.optim.Adam computes it (L2 weight decay added to the gradient). The
// update is written once, over an arithmetic: here on plain Float32Array parameters, one entry at
// a time in float64 (the training loop's Adam, with the same init/step shape as sgd so a loop can
// take either), and traced into an attack's ONNX step by src/attacks (float32 tensors), so both
// follow one rule. Sigmoid networks such as DLG's LeNet leave their initial plateau far sooner with it.
import { z } from 'zod';
import { sizeOf, type TensorList, type TensorLayout } from '../common/index.js';
import { parseOptions } from '../common/index.js';

const adamSchema = z.object({
  lr: z.number().positive(),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0),
});
export type AdamOptions = z.infer<typeof adamSchema>;
export type AdamOptionsInput = z.input<typeof adamSchema>;
/** The constants of the rule, defaults filled. */
export type AdamConstants = Pick<AdamOptions, 'beta1' | 'beta2' | 'eps'>;

export function adamConstants(o: Partial<AdamConstants> = {}): AdamConstants {
  return { beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8 };
}

/** What the rule is computed in: numbers, one entry at a time, or traced tensors. */
export interface AdamArithmetic<T> {
  add(a: T, b: T | number): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T | number): T;
  div(a: T, b: T): T;
  sqrt(a: T): T;
  /** Rounds to the precision the moments are kept in between steps (float32). */
  stored(a: T): T;
}

/** The step-dependent numbers: [lr, 1 / (1 - beta1^t), 1 / (1 - beta2^t)] for step t (from 1). */
export function adamScalars(lr: number, t: number, o: Partial<AdamConstants> = {}): [number, number, number] {
  const { beta1, beta2 } = adamConstants(o);
  return [lr, 1 / (1 - beta1 ** t), 1 / (1 - beta2 ** t)];
}

/** m' = beta1 m + (1 - beta1) g, kept in float32. */
export function adamFirstMoment<T>(A: AdamArithmetic<T>, m: T, g: T, o: AdamConstants): T {
  return A.stored(A.add(A.mul(m, o.beta1), A.mul(g, 1 - o.beta1)));
}

/** v' = beta2 v + (1 - beta2) g^2, kept in float32. */
export function adamSecondMoment<T>(A: AdamArithmetic<T>, v: T, g: T, o: AdamConstants): T {
  return A.stored(A.add(A.mul(v, o.beta2), A.mul(A.mul(g, g), 1 - o.beta2)));
}

/** p' = p - lr (m' c1) / (sqrt(v' c2) + eps), with c1, c2 the bias corrections of adamScalars. */
export function adamParam<T>(A: AdamArithmetic<T>, p: T, m1: T, v1: T, lr: T | number, c1: T | number, c2: T | number, o: AdamConstants): T {
  return A.sub(p, A.mul(A.div(A.mul(m1, c1), A.add(A.sqrt(A.mul(v1, c2)), o.eps)), lr));
}

/**
 * One Adam update of p with gradient g (weight decay already added), moments m and v, and the
 * step's scalars as adamScalars gives them; returns [p', m', v'].
 */
export function adamRule<T>(A: AdamArithmetic<T>, p: T, g: T, m: T, v: T, lr: T | number, c1: T | number, c2: T | number, o: AdamConstants): [T, T, T] {
  const m1 = adamFirstMoment(A, m, g, o);
  const v1 = adamSecondMoment(A, v, g, o);
  return [adamParam(A, p, m1, v1, lr, c1, c2, o), m1, v1];
}

const NUMBERS: AdamArithmetic<number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  sqrt: Math.sqrt,
  stored: Math.fround,
};

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
      const [rate, c1, c2] = adamScalars(lr, t, o);
      params.forEach((p, k) => {
        const g = grads[k]!.data;
        const m = state.m[k]!;
        const v = state.v[k]!;
        if (g.length !== p.data.length || m.length !== p.data.length) throw new Error(`adam: parameter "${p.name}" has ${p.data.length} entries, gradient ${g.length}`);
        const x = p.data;
        // adamRule entry by entry, its three parts called apart so that no tuple is made per entry.
        for (let i = 0; i < x.length; i++) {
          const gi = g[i]! + o.weightDecay * x[i]!;
          const m1 = (m[i] = adamFirstMoment(NUMBERS, m[i]!, gi, o));
          const v1 = (v[i] = adamSecondMoment(NUMBERS, v[i]!, gi, o));
          x[i] = adamParam(NUMBERS, x[i]!, m1, v1, rate, c1, c2, o);
        }
      });
      return { step: t, m: state.m, v: state.v };
    },
  };
}
