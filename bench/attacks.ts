// Whole attack iterations, each on the same problem as its PyTorch twin in bench/torch/bench.py:
// - dlg_lbfgs_iter_b1: one L-BFGS iteration of DLG on the reference LeNet at batch 1 (from the
//   reference's dummy image and label), line search and two-loop recursion included, as
//   src/attacks/lbfgs.ts runs it inside the attack; the mean over iterations 101-200, when the
//   history of 100 curvature pairs is full (torch.optim.LBFGS, strong Wolfe, history 100);
// - ig_adam_iter_b1 / ig_adam_iter_resnet18_b1: one Inverting-Gradients iteration as the attack
//   runs it (the learning-rate schedule, then objective + gradient + signed Adam + box in one
//   compiled call), on the reference ConvNet and on the full-width ResNet-18 (batch norm in training
//   mode, as the attacks run it); median of 40 (ResNet-18: 20) after 5 (3) warm-up.
// Run alone: node --import tsx bench/attacks.ts
import { pathToFileURL } from 'node:url';
import { adamHyper } from '../src/attacks/adam.js';
import { learningRate } from '../src/optim/index.js';
import { lbfgs } from '../src/attacks/lbfgs.js';
import { adamState, MatchingProblem, type MatchingSpec } from '../src/attacks/matching.js';
import { INVERTING_GRADIENTS } from '../src/attacks/optimization.js';
import type { ThreatModel } from '../src/attacks/threat.js';
import { denseUpdate } from '../src/common/update.js';
import { convnet, lenet, type Model } from '../src/models/index.js';
import { textTable } from '../src/report/index.js';
import { LENET, oneHot, refParams, resnetSetup, T, trueGradients } from './core.js';

type HostTensor = { shape: number[]; data: Float32Array };

/** What a server sees of one client: a dense update of the model at these parameters. */
async function threatOf(model: Model, params: HostTensor[], x: HostTensor, y: HostTensor, training: boolean): Promise<ThreatModel> {
  const named = params.map((p, i) => ({ name: model.params[i]!.name, shape: p.shape, data: p.data }));
  const g = await trueGradients(model, params, x, y, training);
  return {
    model,
    params: named,
    round: 0,
    training,
    update: g.map((t, i) => denseUpdate(named[i]!.name, t.shape, t.data)),
    defense: 'none',
    positionsVisible: true,
    batchSize: x.shape[0]!,
    data: { channels: 3, height: 32, width: 32, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616], numClasses: 10 },
  };
}

async function dlgIteration(): Promise<{ ms: number; evalsPerIter: number }> {
  const problem = new MatchingProblem(await threatOf(lenet(), refParams('lenet', LENET), T('dlg_b1.x_true'), oneHot('dlg_b1.y_true'), false), { objective: 'l2', maskAware: false, labelMode: 'joint' }, 1);
  const x0 = T('dlg_b1.x_dummy').data;
  const l0 = T('dlg_b1.label_dummy').data;
  const nx = x0.length;
  const start = new Float32Array(nx + l0.length);
  start.set(x0);
  start.set(l0, nx);
  let evals = 0;
  const marks: { t: number; evals: number }[] = [];
  await lbfgs(
    async (v) => {
      evals++;
      const e = await problem.valueAndGrad({ x: v.subarray(0, nx), labels: v.subarray(nx) });
      const g = new Float32Array(v.length);
      g.set(e.gx);
      g.set(e.gl!, nx);
      return { loss: e.loss, grad: g };
    },
    start,
    // The attack's tolerances (src/attacks/optimize.ts) and torch's defaults otherwise.
    { maxIter: 200, maxEval: 1000, historySize: 100, lr: 1, tolChange: 1e-14, tolGrad: 0, onIter: (i) => (i === 100 || i === 200) && marks.push({ t: performance.now(), evals }) },
  );
  if (marks.length < 2) throw new Error('dlg_lbfgs_iter_b1: L-BFGS stopped before 200 iterations');
  return { ms: (marks[1]!.t - marks[0]!.t) / 100, evalsPerIter: (marks[1]!.evals - marks[0]!.evals) / 100 };
}

async function igIteration(threat: ThreatModel, x0: Float32Array, warm: number, iters: number) {
  const spec: MatchingSpec = { ...INVERTING_GRADIENTS.spec, maskAware: false };
  const problem = new MatchingProblem(threat, spec, 1);
  const labels = new Float32Array(threat.data.numClasses);
  // The reference's label (ConvNet) or class 3 (ResNet-18), as the twin.
  labels[threat.model.name === 'convnet' ? T('ig_b1.y_true').data[0]! : 3] = 1;
  let s = adamState({ x: x0.slice(), labels });
  const total = INVERTING_GRADIENTS.iterations;
  const times: number[] = [];
  for (let t = 0; t < warm + iters; t++) {
    const t0 = performance.now();
    const hyper = adamHyper(learningRate(INVERTING_GRADIENTS.lr, INVERTING_GRADIENTS.schedule!, t, total), t + 1, spec.adam);
    s = (await problem.adamStep(s, hyper)).state;
    if (t >= warm) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, min: times[0]! };
}

export async function benchAttacks(): Promise<{ ms: Record<string, { median: number; min: number }>; extra: Record<string, number> }> {
  const dlg = await dlgIteration();
  const convnetThreat = await threatOf(convnet(), refParams('convnet', LENET), T('ig_b1.x_true'), oneHot('ig_b1.y_true'), false);
  const r = resnetSetup(1);
  const y = { shape: [1, 10], data: new Float32Array(10) };
  y.data[3] = 1;
  const resnetThreat = await threatOf(r.model, r.params, r.x, y, true);
  return {
    ms: {
      dlg_lbfgs_iter_b1: { median: dlg.ms, min: dlg.ms },
      ig_adam_iter_b1: await igIteration(convnetThreat, T('ig_b1.x_dummy').data, 5, 40),
      ig_adam_iter_resnet18_b1: await igIteration(resnetThreat, r.x2.data, 3, 20),
    },
    extra: { 'dlg_lbfgs_iter_b1.evals_per_iter': dlg.evalsPerIter },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { ms, extra } = await benchAttacks();
  console.log(textTable(['task', 'median ms', 'min ms'], Object.entries(ms).map(([k, v]) => [k, v.median.toFixed(2), v.min.toFixed(2)])));
  console.log(JSON.stringify(extra));
}
