// Adam as part of the traced attack step, so one ONNX call does objective, gradient and update:
// optim's Adam rule, computed in traced float32 tensors. The step-dependent numbers (learning rate,
// bias corrections) arrive as one small input tensor, which lets a single session serve every
// iteration and every learning-rate schedule.
import { add, div, mul, sign, sliceAxis, sqrt, sub, type Sym } from '../core/index.js';
import { adamConstants, type AdamArithmetic, adamRule, adamScalars, type AdamConstants } from '../optim/index.js';

export interface AdamOptions extends Partial<AdamConstants> {
  /** Adam on sign(g) instead of g (Inverting Gradients' "signed" gradients). */
  signed?: boolean;
}

/** Length of the per-step input `hyper` = adamScalars(lr, t): [lr, 1 / (1 - beta1^t), 1 / (1 - beta2^t)]. */
export const ADAM_HYPER = 3;

const TRACED: AdamArithmetic<Sym> = { add, sub, mul, div, sqrt, stored: (a) => a };

/** One Adam update of p with gradient g; returns [p', m', v']. */
export function adamUpdate(p: Sym, g: Sym, m: Sym, v: Sym, hyper: Sym, o: AdamOptions = {}): [Sym, Sym, Sym] {
  const [lr, c1, c2] = [0, 1, 2].map((i) => sliceAxis(hyper, 0, i, i + 1)) as [Sym, Sym, Sym];
  return adamRule(TRACED, p, o.signed ? sign(g) : g, m, v, lr, c1, c2, adamConstants(o));
}

/** The `hyper` input for step t (1-based) at learning rate lr. */
export function adamHyper(lr: number, t: number, o: AdamOptions = {}): Float32Array {
  return Float32Array.from(adamScalars(lr, t, o));
}
