// The six compute tasks of ../shared/reference, timed exactly as torch_bench.py times them: one
// DLG / Inverting-Gradients iteration (objective, its gradient, a plain descent update) or one
// training step (loss, parameter gradients, an SGD update), with the reference's tensors.
import { add, compile, crossEntropy, grad, mul, softmax, sub, type Sym, totalVariation } from '../src/core/index.js';
import { convnet, lenet, mlp, bindParams, type Model } from '../src/models/index.js';
import { cosineMatching, l2Matching, parameterGradients } from '../src/attacks/objectives.js';
import { get, oneHot as oneHotOf, reference, type RefTensor as HostTensor } from '../test/helpers/reference.js';

// The reference's tensors, read once (the tests' loader: fixtures/reference).
const T = (name: string): HostTensor => get(reference().tensors, name);
const oneHot = (name: string): HostTensor => {
  const y = T(name);
  return { shape: [y.data.length, 10], data: oneHotOf(y.data) };
};
const refParams = (prefix: string, names: string[]) => names.map((n) => T(`${prefix}.${n}`));
const LENET = ['c1w', 'c1b', 'c2w', 'c2b', 'c3w', 'c3b', 'fcw', 'fcb'];
const MLP = ['w1', 'b1', 'w2', 'b2'];

export interface Task {
  name: string;
  step: () => Promise<void>;
}

async function trueGradients(model: Model, params: { shape: number[]; data: Float32Array }[], x: { shape: number[]; data: Float32Array }, y: { shape: number[]; data: Float32Array }) {
  const f = compile((xs: Sym, ys: Sym, ...p: Sym[]) => parameterGradients(model, p, xs, ys));
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
    const np = params.length;
    const step = compile((x: Sym, ys: Sym, ...rest: Sym[]) => {
      const L = add(cosineMatching(parameterGradients(model, rest.slice(0, np), x, ys), rest.slice(np)), mul(totalVariation(x), 1e-2));
      const [gx] = grad(L, [x]);
      return [L, sub(x, mul(gx!, 1e-2))];
    }, { name: c });
    let x: HostTensor = T(`${c}.x_dummy`);
    tasks.push({
      name: c,
      step: async () => {
        const out = await step.run([x, y, ...params, ...gT]);
        x = { shape: x.shape, data: out[1]! };
      },
    });
  }
  for (const [key, model, prefix, names, xshape] of [
    ['train_convnet', convnet(), 'convnet', LENET, [64, 3, 32, 32]],
    ['train_mlp', mlp(), 'mlp', MLP, [128, 1, 28, 28]],
  ] as const) {
    let params = refParams(prefix, [...names]);
    const x = { shape: [...xshape], data: T(`${key}.x`).data };
    const y = oneHot(`${key}.y`);
    const step = compile((xs: Sym, ys: Sym, ...p: Sym[]) => {
      const { logits } = model.forward(bindParams(model.params, p), xs, { training: true });
      const loss = crossEntropy(logits, ys);
      const g = grad(loss, p);
      return [loss, ...p.map((pi, i) => sub(pi, mul(g[i]!, 1e-2)))];
    }, { name: key });
    tasks.push({
      name: key,
      step: async () => {
        const out = await step.run([x, y, ...params]);
        params = params.map((p, i) => ({ shape: p.shape, data: out[1 + i]! }));
      },
    });
  }
  return tasks;
}

export { timeTask } from './timing.js';
