// Diagnostics behind docs/attacks.md's "Why Inverting Gradients stalled on ResNet-18": one image,
// one model, no scoring pipeline in the way.
//   landscape: 1 - cos of the true image's gradient against the gradient of (a) the truth plus
//              s * Gaussian noise for several s, (b) s * truth (contrast), (c) a blank image and
//              (d) another test image, with TV of each: how wide the basin is and what TV costs.
//   trial:     one signed-Adam IG run, printing the objective and the PSNR every --every steps
//              (optionally started at the truth plus noise, --near S).
//   node --import tsx scripts/ig-diagnostics.ts landscape --width 1 [--bn eval|train]
//   node --import tsx scripts/ig-diagnostics.ts trial --width 0.25 --bn eval --tv 1e-3 --iterations 2000
//        [--lr 0.1 --signed true --boxed true --near S --image 0 --seed 7 --start 3 --every 100]
import { parseArgs } from 'node:util';
import { adamHyper } from '../src/attacks/adam.js';
import { buildCase, modelAtRound } from '../src/attacks/case.js';
import { oneHot } from '../src/attacks/labels.js';
import { adamState, type AdamState, MatchingProblem } from '../src/attacks/matching.js';
import { randn } from '../src/attacks/optimize.js';
import { FIXTURE_CIFAR10 } from '../src/cli/data.js';
import { Rng } from '../src/common/rng.js';
import { loadDataset } from '../src/data/index.js';
import { createDefense } from '../src/defenses/registry.js';
import { scoreReconstruction } from '../src/metrics/index.js';
import { createModel } from '../src/models/index.js';
import { learningRate } from '../src/optim/index.js';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'resnet18' }, width: { type: 'string', default: '1' }, bn: { type: 'string', default: 'eval' },
    image: { type: 'string', default: '0' }, seed: { type: 'string', default: '7' }, tv: { type: 'string', default: '1e-3' },
    iterations: { type: 'string', default: '1000' }, lr: { type: 'string', default: '0.1' }, signed: { type: 'string', default: 'true' },
    boxed: { type: 'string', default: 'true' }, near: { type: 'string' }, start: { type: 'string', default: '3' }, every: { type: 'string', default: '100' },
    'data-dir': { type: 'string', default: FIXTURE_CIFAR10 },
  },
});
const mode = positionals[0];
if (mode !== 'landscape' && mode !== 'trial') throw new Error('ig-diagnostics: the first argument is landscape or trial');
const data = await loadDataset('cifar10', { dataDir: a['data-dir'] });
const model = createModel(a.model!, { inputShape: [3, 32, 32], width: Number(a.width) });
const state = await modelAtRound(model, 0, { seed: Number(a.seed) });
const img = Number(a.image);
const caseFor = async (bn: 'eval' | 'train', i = img) =>
  buildCase({ model, state, data: data.test, indices: [i], defense: createDefense('none'), seed: 1, knows: { batchSize: true, labels: true }, batchNorm: bn });

if (mode === 'landscape') {
  for (const bn of a.bn === 'both' ? (['eval', 'train'] as const) : [a.bn as 'eval' | 'train']) {
    const c = await caseFor(bn);
    // tv 1 makes loss - match the TV of the candidate itself.
    const p = new MatchingProblem(c.threat, { objective: 'cosine', maskAware: false, labelMode: 'fixed', tv: 1 }, 1);
    const y = oneHot(c.truth.labels, 10);
    const at = async (x: Float32Array) => {
      const r = await p.valueAndGrad({ x, labels: y });
      return `1-cos ${r.match.toFixed(4)} (TV ${(r.loss - r.match).toFixed(3)})`;
    };
    const noise = randn(c.truth.x.length, new Rng(5));
    console.log(`${model.name} width ${a.width}, batch norm ${bn}, test image ${img}:`);
    console.log(`  truth: ${await at(c.truth.x)}; blank (mean colour): ${await at(new Float32Array(c.truth.x.length))}; test image ${img + 10}: ${await at((await caseFor(bn, img + 10)).truth.x)}`);
    for (const s of [0.001, 0.01, 0.03, 0.1, 0.3, 1]) console.log(`  truth + ${s} x noise: ${await at(c.truth.x.map((v, i) => v + s * noise[i]!))}`);
    for (const s of [0.5, 0.1]) console.log(`  ${s} x truth (contrast): ${await at(c.truth.x.map((v) => s * v))}`);
  }
} else {
  const c = await caseFor(a.bn as 'eval' | 'train');
  const p = new MatchingProblem(c.threat, { objective: 'cosine', maskAware: false, labelMode: 'fixed', tv: Number(a.tv), adam: { signed: a.signed === 'true', boxed: a.boxed === 'true' } }, 1);
  const x0 = randn(c.truth.x.length, new Rng(Number(a.start)));
  if (a.near !== undefined) for (let i = 0; i < x0.length; i++) x0[i] = c.truth.x[i]! + Number(a.near) * x0[i]!;
  let s: AdamState = adamState({ x: x0, labels: oneHot(c.truth.labels, 10) });
  const psnr = (x: Float32Array) => scoreReconstruction({ truth: c.truth.x, recon: x, shape: c.truth.shape, mean: data.test.mean, std: data.test.std, match: 'none' }).psnrMean.toFixed(2);
  const T = Number(a.iterations);
  let best = { loss: Infinity, x: s.x };
  const t0 = performance.now();
  for (let t = 0; t < T; t++) {
    const r = await p.adamStep(s, adamHyper(learningRate(Number(a.lr), { kind: 'step' }, t, T), t + 1));
    if (r.loss < best.loss) best = { loss: r.loss, x: s.x };
    if (t % Number(a.every) === 0 || t === T - 1) console.log(`step ${t}: objective ${r.loss.toFixed(4)}, 1-cos ${r.match.toFixed(4)}, PSNR ${psnr(s.x)} dB (${((performance.now() - t0) / 1000 / (t + 1)).toFixed(2)} s/step)`);
    s = r.state;
  }
  console.log(`best iterate: PSNR ${psnr(best.x)} dB`);
}
