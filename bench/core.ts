// The six compute tasks of ../shared/reference, timed exactly as its torch_bench.py times them
// (bench/torch/bench.py is the repo's copy): one DLG / Inverting-Gradients iteration (objective,
// its gradient, a plain descent update) or one training step (loss, parameter gradients, an SGD
// update), with the reference's tensors (fixtures/reference). Two more at the paper's scale:
// train_resnet18_b32 (full-width CIFAR ResNet-18, batch norm in training mode, batch 32) and
// ig_resnet18_b1 (one IG iteration through it at batch 1, batch norm in evaluation mode).
import { Rng } from '../src/common/rng.js';
import { add, compile, crossEntropy, grad, mul, softmax, sub, type Sym, totalVariation } from '../src/core/index.js';
import { convnet, lenet, mlp, bindParams, initParams, resnet18, type Model } from '../src/models/index.js';
import { cosineMatching, l2Matching, parameterGradients } from '../src/attacks/objectives.js';
import { get, oneHot as oneHotOf, reference, type RefTensor as HostTensor } from '../test/helpers/reference.js';
import { sgdStep } from './web-tasks.js';

// The reference's tensors, read once (the tests' loader: fixtures/reference).
export const T = (name: string): HostTensor => get(reference().tensors, name);
export const oneHot = (name: string): HostTensor => {
  const y = T(name);
  return { shape: [y.data.length, 10], data: oneHotOf(y.data) };
};
export const refParams = (prefix: string, names: string[]) => names.map((n) => T(`${prefix}.${n}`));
export const LENET = ['c1w', 'c1b', 'c2w', 'c2b', 'c3w', 'c3b', 'fcw', 'fcb'];
const MLP = ['w1', 'b1', 'w2', 'b2'];

export interface Task {
  name: string;
  step: () => Promise<void>;
  /** Warm-up calls and timed calls (default 5 and 40, as torch_bench.py). */
  warm?: number;
  iters?: number;
}

export async function trueGradients(model: Model, params: HostTensor[], x: HostTensor, y: HostTensor, training = false) {
  const f = compile((xs: Sym, ys: Sym, ...p: Sym[]) => parameterGradients(model, p, xs, ys, training));
  return (await f.run([x, y, ...params])).map((data, i) => ({ data, shape: params[i]!.shape }));
}

export async function coreTasks(): Promise<Task[]> {
  const tasks: Task[] = [];
  for (const b of [1, 4]) {
    const c = `dlg_b${b}`;
    const model = lenet();
    const params = refParams('lenet', LENET);
    const gT = await trueGradients(model, params, T(`${c}.x_true`), oneHot(`${c}.y_true`));
    const np = params.length;
    const step = compile((x: Sym, lab: Sym, ...rest: Sym[]) => {
      const p = rest.slice(0, np);
      const L = l2Matching(parameterGradients(model, p, x, softmax(lab)), rest.slice(np));
      const [gx, gl] = grad(L, [x, lab]);
      return [L, sub(x, mul(gx!, 1e-3)), sub(lab, mul(gl!, 1e-3))];
    }, { name: c });
    let x: HostTensor = T(`${c}.x_dummy`);
    let lab: HostTensor = T(`${c}.label_dummy`);
    tasks.push({
      name: c,
      step: async () => {
        const out = await step.run([x, lab, ...params, ...gT]);
        x = { shape: x.shape, data: out[1]! };
        lab = { shape: lab.shape, data: out[2]! };
      },
    });
  }
  for (const b of [1, 8]) {
    const c = `ig_b${b}`;
    const model = convnet();
    const params = refParams('convnet', LENET);
    const y = oneHot(`${c}.y_true`);
    const gT = await trueGradients(model, params, T(`${c}.x_true`), y);
    tasks.push(igTask(c, model, params, [], y, gT, T(`${c}.x_dummy`)));
  }
  for (const [key, model, prefix, names, xshape] of [
    ['train_convnet', convnet(), 'convnet', LENET, [64, 3, 32, 32]],
    ['train_mlp', mlp(), 'mlp', MLP, [128, 1, 28, 28]],
  ] as const) {
    tasks.push(trainTask(key, model, refParams(prefix, [...names]), { shape: [...xshape], data: T(`${key}.x`).data }, oneHot(`${key}.y`)));
  }
  tasks.push(...(await resnetTasks()));
  return tasks;
}

/**
 * Loss, parameter gradients and an SGD update (lr 0.01), batch norm in training mode. The updated
 * parameters are written into the spare of two buffer sets (Compiled.run's `into`), so no step
 * allocates them afresh.
 */
export function trainTask(name: string, model: Model, initial: HostTensor[], x: HostTensor, y: HostTensor, warm?: number, iters?: number, reuse = true): Task {
  let params = initial;
  let spare: (Float32Array | undefined)[] = [undefined, ...initial.map((p) => new Float32Array(p.data.length))];
  const step = sgdStep(model, name);
  return {
    name,
    warm,
    iters,
    step: async () => {
      const out = await step.run([x, y, ...params], reuse ? spare : undefined);
      spare = [undefined, ...params.map((p) => p.data)];
      params = params.map((p, i) => ({ shape: p.shape, data: out[1 + i]! }));
    },
  };
}

/** One Inverting-Gradients iteration as torch_bench.py: 1 - cos + 0.01 TV, gradient, descent 0.01. `buffers` (running statistics) put batch norm in evaluation mode. */
function igTask(name: string, model: Model, params: HostTensor[], buffers: HostTensor[], y: HostTensor, gT: HostTensor[], x0: HostTensor, warm?: number, iters?: number): Task {
  const np = params.length;
  const nb = buffers.length;
  const step = compile((x: Sym, ys: Sym, ...rest: Sym[]) => {
    const p = rest.slice(0, np);
    const bufs = nb ? bindParams(model.buffers, rest.slice(np, np + nb)) : undefined;
    const { logits } = model.forward(bindParams(model.params, p), x, { training: false, buffers: bufs });
    const g = grad(crossEntropy(logits, ys), p);
    const L = add(cosineMatching(g, rest.slice(np + nb)), mul(totalVariation(x), 1e-2));
    const [gx] = grad(L, [x]);
    return [L, sub(x, mul(gx!, 1e-2))];
  }, { name });
  let x = x0;
  return {
    name,
    warm,
    iters,
    step: async () => {
      const out = await step.run([x, y, ...params, ...buffers, ...gT]);
      x = { shape: x.shape, data: out[1]! };
    },
  };
}

const randnTensor = (shape: number[], rng: Rng): HostTensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) });

/** The paper's model at full width, seeded initialisation; inputs N(0, 1), labels i mod 10. */
export function resnetSetup(batch: number, seed = 1) {
  const model = resnet18();
  const rng = new Rng(seed);
  const params = initParams(model.params, 0).map((t) => ({ shape: t.shape, data: t.data }));
  const buffers = initParams(model.buffers, 0).map((t) => ({ shape: t.shape, data: t.data }));
  const y = { shape: [batch, 10], data: new Float32Array(batch * 10) };
  for (let i = 0; i < batch; i++) y.data[i * 10 + (i % 10)] = 1;
  return { model, params, buffers, y, x: randnTensor([batch, 3, 32, 32], rng), x2: randnTensor([batch, 3, 32, 32], rng) };
}

async function resnetTasks(): Promise<Task[]> {
  const train = resnetSetup(32);
  const ig = resnetSetup(1);
  // The observed gradient: of the true image (x), with evaluation-mode batch norm.
  const f = compile((xs: Sym, ys: Sym, ...pb: Sym[]) => {
    const p = pb.slice(0, ig.params.length);
    const bufs = bindParams(ig.model.buffers, pb.slice(ig.params.length));
    return grad(crossEntropy(ig.model.forward(bindParams(ig.model.params, p), xs, { training: false, buffers: bufs }).logits, ys), p);
  });
  const gT = (await f.run([ig.x, ig.y, ...ig.params, ...ig.buffers])).map((data, i) => ({ data, shape: ig.params[i]!.shape }));
  return [
    trainTask('train_resnet18_b32', train.model, train.params, train.x, train.y, 3, 10),
    igTask('ig_resnet18_b1', ig.model, ig.params, ig.buffers, ig.y, gT, ig.x2, 3, 20),
  ];
}

export { timeTask } from './timing.js';
