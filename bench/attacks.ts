// Attack iterations per second against the PyTorch reference (../shared/reference/README.md, torch
// 1.13 + OpenBLAS, 2 threads: 1.5, 2.3, 3.9 and 14.3 ms per iteration). A reference iteration is
// one objective + gradient + update; ours are timed per optimiser iteration as the attacks run
// them (DLG: an L-BFGS iteration, line search and two-loop recursion included; IG: one signed-Adam
// step, a single compiled call) and per compiled step (DLG: objective + gradient, median of 50).
// Run alone: node --import tsx bench/attacks.ts
import { pathToFileURL } from 'node:url';
import { buildCase, modelAtRound } from '../src/attacks/case.js';
import { oneHot } from '../src/attacks/labels.js';
import { adamState, MatchingProblem } from '../src/attacks/matching.js';
import { INVERTING_GRADIENTS } from '../src/attacks/optimization.js';
import { optimize, randn } from '../src/attacks/optimize.js';
import { adamHyper } from '../src/attacks/adam.js';
import { Rng } from '../src/common/rng.js';
import { loadDataset } from '../src/data/index.js';
import { createDefense } from '../src/defenses/registry.js';
import { createModel } from '../src/models/index.js';
import { markdownTable } from '../src/report/index.js';
import { FIXTURE_CIFAR10 } from '../src/cli/attack.js';

const TORCH_MS: Record<string, number> = { dlg_b1: 1.5, dlg_b4: 2.3, ig_b1: 3.9, ig_b8: 14.3 };

interface Timing {
  msPerIter: number;
  msPerEval: number;
}

async function problemFor(modelName: 'lenet' | 'convnet', batch: number, spec: ConstructorParameters<typeof MatchingProblem>[1]) {
  const data = await loadDataset('cifar10', { dataDir: FIXTURE_CIFAR10 });
  const model = createModel(modelName, { inputShape: [3, 32, 32] });
  const state = await modelAtRound(model, 0, { seed: 0 });
  const c = await buildCase({ model, state, data: data.test, indices: Array.from({ length: batch }, (_, i) => i), defense: createDefense('none'), seed: 0, knows: { batchSize: true } });
  return { problem: new MatchingProblem(c.threat, spec, batch), labels: c.truth.labels };
}

function median(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

async function timeDlg(batch: number, iterations: number): Promise<Timing> {
  const { problem } = await problemFor('lenet', batch, { objective: 'l2', maskAware: false, labelMode: 'joint' });
  await optimize(problem, { optimizer: 'lbfgs', iterations: 5, restarts: 1, seed: 1, lr: 1 });
  const t0 = performance.now();
  const r = await optimize(problem, { optimizer: 'lbfgs', iterations, restarts: 1, seed: 2, lr: 1 });
  const msPerIter = (performance.now() - t0) / r.iterations;
  // The compiled objective + gradient alone, the unit torch_bench.py times.
  const rng = new Rng(3);
  const c = { x: randn(batch * 3 * 32 * 32, rng), labels: randn(batch * 10, rng) };
  const times: number[] = [];
  for (let k = 0; k < 60; k++) {
    const t1 = performance.now();
    await problem.valueAndGrad(c);
    if (k >= 10) times.push(performance.now() - t1);
  }
  return { msPerIter, msPerEval: median(times) };
}

async function timeIg(batch: number, steps: number): Promise<Timing> {
  const { problem, labels } = await problemFor('convnet', batch, { ...INVERTING_GRADIENTS.spec, maskAware: false });
  let s = adamState({ x: randn(batch * 3 * 32 * 32, new Rng(1)), labels: oneHot(labels, 10) });
  const times: number[] = [];
  for (let t = 1; t <= steps + 3; t++) {
    const t0 = performance.now();
    s = (await problem.adamStep(s, adamHyper(0.1, t))).state;
    if (t > 3) times.push(performance.now() - t0);
  }
  const m = median(times);
  return { msPerIter: m, msPerEval: m };
}

export async function benchAttacks(): Promise<{ table: string; json: Record<string, number> }> {
  const measured: Record<string, Timing> = {
    dlg_b1: await timeDlg(1, 200),
    dlg_b4: await timeDlg(4, 100),
    ig_b1: await timeIg(1, 40),
    ig_b8: await timeIg(8, 15),
  };
  const json: Record<string, number> = {};
  const rows = Object.entries(measured).map(([task, t]) => {
    const torch = TORCH_MS[task]!;
    json[`${task}.ms_per_iter`] = t.msPerIter;
    json[`${task}.iters_per_s`] = 1000 / t.msPerIter;
    json[`${task}.ms_per_eval`] = t.msPerEval;
    json[`${task}.vs_torch`] = t.msPerEval / torch;
    return [task, t.msPerIter.toFixed(2), (1000 / t.msPerIter).toFixed(1), t.msPerEval.toFixed(2), torch.toFixed(1), `${(t.msPerEval / torch).toFixed(2)}x`];
  });
  const table = markdownTable(['task', 'ms / attack iteration', 'attack iterations / s', 'ms / compiled step', 'PyTorch ms / iteration', 'compiled step vs PyTorch'], rows);
  return { table, json };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { table, json } = await benchAttacks();
  console.log(table);
  console.log(JSON.stringify(json, null, 2));
}
