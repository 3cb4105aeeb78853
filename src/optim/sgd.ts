// SGD exactly as torch.optim.SGD computes it, on plain Float32Array parameters:
//   d = g + weightDecay * p
//   buf = d on the first step, then buf = momentum * buf + (1 - dampening) * d
//   d = d + momentum * buf (nesterov) or d = buf
//   p = p - lr * d
// The server uses it on the aggregate (the paper: momentum 0.9, weight decay 1e-4), and so can
// any training loop. Parameters and momentum buffers are updated in place: the model lives in
// those buffers; a checkpoint is a structured clone of the state (plain data).
import { z } from 'zod';
import { sizeOf, type TensorList, type TensorLayout } from '../common/index.js';
import { parseOptions } from '../common/index.js';

const sgdSchema = z.object({
  lr: z.number().positive(),
  momentum: z.number().min(0).default(0),
  dampening: z.number().min(0).max(1).default(0),
  weightDecay: z.number().min(0).default(0),
  nesterov: z.boolean().default(false),
});
export type SgdOptions = z.infer<typeof sgdSchema>;
export type SgdOptionsInput = z.input<typeof sgdSchema>;

export interface SgdState {
  /** Steps taken so far. */
  step: number;
  /** Per tensor, the momentum buffer; null before the first step (or without momentum). */
  momentumBuffers: (Float32Array | null)[];
}

export interface Sgd {
  readonly options: SgdOptions;
  init(layout: readonly TensorLayout[]): SgdState;
  /** One step; `lr` overrides options.lr (for a schedule). Updates params in place. */
  step(params: TensorList, grads: TensorList, state: SgdState, lr?: number): SgdState;
}

export function createSgd(options: SgdOptionsInput): Sgd {
  const o = parseOptions(sgdSchema, options, 'sgd', (x) =>
    x.nesterov && (x.momentum <= 0 || x.dampening !== 0) ? 'nesterov needs momentum > 0 and dampening 0 (as in PyTorch)' : null,
  );
  return {
    options: o,
    init: (layout) => ({ step: 0, momentumBuffers: layout.map(() => null) }),
    step(params, grads, state, lr = o.lr) {
      if (params.length !== grads.length || params.length !== state.momentumBuffers.length) {
        throw new Error(`sgd: ${params.length} parameters, ${grads.length} gradients, ${state.momentumBuffers.length} buffers`);
      }
      const buffers = params.map((p, i) => {
        const g = grads[i]!;
        if (g.data.length !== p.data.length || sizeOf(p.shape) !== p.data.length) {
          throw new Error(`sgd: parameter "${p.name}" has ${p.data.length} entries, gradient "${g.name}" ${g.data.length}`);
        }
        return stepTensor(p.data, g.data, state.momentumBuffers[i] ?? null, o, lr);
      });
      return { step: state.step + 1, momentumBuffers: buffers };
    },
  };
}

function stepTensor(p: Float32Array, g: Float32Array, buf: Float32Array | null, o: SgdOptions, lrValue: number): Float32Array | null {
  // As PyTorch's CPU kernels: scalars are cast to float32, `x.add_(y, alpha=a)` is a fused
  // multiply-add rounded once (here the product of two floats is exact in a double, so only the
  // sum rounds) and `buf.mul_(m)` rounds on its own. This reproduces torch.optim.SGD bit for bit
  // on the trajectories in the tests.
  const f = Math.fround;
  const m = f(o.momentum);
  const keep = f(1 - o.dampening);
  const wd = f(o.weightDecay);
  const lr = f(-lrValue);
  if (o.momentum === 0) {
    for (let i = 0; i < p.length; i++) p[i] = p[i]! + lr * f(g[i]! + wd * p[i]!);
    return null;
  }
  const first = buf === null;
  const b = buf ?? new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const d = f(g[i]! + wd * p[i]!);
    b[i] = first ? d : f(m * b[i]!) + keep * d;
    const step = o.nesterov ? f(d + m * b[i]!) : b[i]!;
    p[i] = p[i]! + lr * step;
  }
  return b;
}
