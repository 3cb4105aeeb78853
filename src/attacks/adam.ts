// Adam as part of the traced attack step, so one ONNX call does objective, gradient and update.
// The step-dependent numbers (learning rate, bias corrections) arrive as one small input tensor,
// which lets a single session serve every iteration and every learning-rate schedule.
import { add, div, mul, sign, sliceAxis, sqrt, sub, type Sym } from '../core/index.js';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Adam on sign(g) instead of g (Inverting Gradients' "signed" gradients). */
  signed?: boolean;
}

/** Length of the per-step input `hyper` = [lr, 1 / (1 - beta1^t), 1 / (1 - beta2^t)]. */
export const ADAM_HYPER = 3;

/** One Adam update of p with gradient g; returns [p', m', v']. */
export function adamUpdate(p: Sym, g: Sym, m: Sym, v: Sym, hyper: Sym, o: AdamOptions = {}): [Sym, Sym, Sym] {
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const gg = o.signed ? sign(g) : g;
  const m1 = add(mul(m, b1), mul(gg, 1 - b1));
  const v1 = add(mul(v, b2), mul(mul(gg, gg), 1 - b2));
  const lr = sliceAxis(hyper, 0, 0, 1);
  const c1 = sliceAxis(hyper, 0, 1, 2);
  const c2 = sliceAxis(hyper, 0, 2, 3);
  const update = div(mul(m1, c1), add(sqrt(mul(v1, c2)), eps));
  return [sub(p, mul(update, lr)), m1, v1];
}

/** The `hyper` input for step t (1-based) at learning rate lr. */
export function adamHyper(lr: number, t: number, o: AdamOptions = {}): Float32Array {
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  return Float32Array.of(lr, 1 / (1 - b1 ** t), 1 / (1 - b2 ** t));
}

export type Schedule =
  | { kind: 'constant' }
  /** Inverting Gradients: x0.1 at 3/8, 5/8 and 7/8 of the run (torch MultiStepLR). */
  | { kind: 'step'; milestones?: number[]; gamma?: number }
  /** breaching's cosine decay after a linear warm-up of `warmup` steps. */
  | { kind: 'cosine'; warmup?: number };

/** Learning rate at step `t` (0-based) of `total`. */
export function learningRate(base: number, s: Schedule, t: number, total: number): number {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step': {
      const ms = s.milestones ?? [3 / 8, 5 / 8, 7 / 8];
      const passed = ms.filter((m) => t >= Math.floor(m * total)).length;
      return base * (s.gamma ?? 0.1) ** passed;
    }
    case 'cosine': {
      const w = s.warmup ?? 0;
      if (t < w) return (base * (t + 1)) / w;
      return 0.5 * base * (1 + Math.cos((Math.PI * (t - w)) / Math.max(1, total - w)));
    }
  }
}
