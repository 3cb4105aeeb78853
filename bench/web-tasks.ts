// The training steps `npm run bench -- --only web` times in onnxruntime-node and, inside Chromium,
// in onnxruntime-web: loss, parameter gradients and an SGD update as one compiled call (as the
// core bench's train_* tasks), on seeded random data. No Node built-ins: the page bundles this.
import { Rng } from '../src/common/rng.js';
import { type Compiled, compile, crossEntropy, grad, mul, sub, type Sym } from '../src/core/index.js';
import { bindParams, createModel, initParams, type Model } from '../src/models/index.js';
import { timeTask } from './timing.js';

/** Loss, parameter gradients and an SGD update (lr 0.01) as one compiled call, batch norm in training mode: every bench's training step. */
export function sgdStep(model: Model, name: string): Compiled {
  return compile((xs: Sym, ys: Sym, ...p: Sym[]) => {
    const { logits } = model.forward(bindParams(model.params, p), xs, { training: true });
    const loss = crossEntropy(logits, ys);
    const g = grad(loss, p);
    return [loss, ...p.map((pi, i) => sub(pi, mul(g[i]!, 1e-2)))];
  }, { name });
}

export interface StepTask {
  name: string;
  step: () => Promise<void>;
}

export function webTasks(): StepTask[] {
  const tasks: StepTask[] = [];
  for (const [name, model, batch] of [['train_lenet_b32', 'lenet', 32], ['train_mlp_b128', 'mlp', 128]] as const) {
    const m = createModel(model, { inputShape: [1, 28, 28], width: 1, init: model === 'lenet' ? 'dlg' : 'xavier' });
    const rng = new Rng(1);
    let params = initParams(m.params, 1).map((p) => ({ shape: p.shape, data: p.data }));
    const x = { shape: [batch, 1, 28, 28], data: Float32Array.from({ length: batch * 784 }, () => rng.uniform()) };
    const y = { shape: [batch, 10], data: new Float32Array(batch * 10) };
    for (let i = 0; i < batch; i++) y.data[i * 10 + rng.int(10)] = 1;
    const step = sgdStep(m, name);
    tasks.push({
      name,
      step: async () => {
        const out = await step.run([x, y, ...params]);
        params = params.map((p, i) => ({ shape: p.shape, data: out[1 + i]! }));
      },
    });
  }
  return tasks;
}

/** The median of 30 timed steps after 5 warm-up ones. */
export async function medianMs(t: StepTask): Promise<number> {
  return (await timeTask(t, 5, 30)).median;
}
