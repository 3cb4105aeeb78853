// Why Inverting Gradients stalled on the CIFAR ResNet-18 (docs/attacks.md), held as facts about its
// objective on one CIFAR-10 image, at initialisation (seed 7), width 1/4 so it runs in seconds:
// - evaluation-mode batch norm (the default): the objective is smooth around the true image, but
//   breaching's TV weight 0.2 makes the true image cost more than a low-contrast copy of it, which
//   TV 1e-3 does not;
// - training-mode batch norm with batch 1: the cosine barely sees the image's contrast, and is
//   chaotic: noise far below one grey level already turns the gradient away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound } from '../../src/attacks/case.js';
import { oneHot } from '../../src/attacks/labels.js';
import { MatchingProblem } from '../../src/attacks/matching.js';
import { randn } from '../../src/attacks/optimize.js';
import { FIXTURE_CIFAR10 } from '../../src/cli/data.js';
import { Rng } from '../../src/common/rng.js';
import { loadDataset } from '../../src/data/index.js';
import { createDefense } from '../../src/defenses/registry.js';
import { resnet18 } from '../../src/models/index.js';

const model = resnet18({ width: 0.25 });

async function objective(bn: 'eval' | 'train') {
  const data = await loadDataset('cifar10', { dataDir: FIXTURE_CIFAR10 });
  const state = await modelAtRound(model, 0, { seed: 7 });
  const c = await buildCase({ model, state, data: data.test, indices: [0], defense: createDefense('none'), seed: 1, knows: { batchSize: true, labels: true }, batchNorm: bn });
  // TV weight 1: loss - match is the candidate's TV.
  const p = new MatchingProblem(c.threat, { objective: 'cosine', maskAware: false, labelMode: 'fixed', tv: 1 }, 1);
  const y = oneHot(c.truth.labels, 10);
  const at = async (f: (v: number, i: number) => number) => {
    const r = await p.valueAndGrad({ x: c.truth.x.map(f), labels: y });
    return { match: r.match, tv: r.loss - r.match };
  };
  return { at, noise: randn(c.truth.x.length, new Rng(5)) };
}

test('evaluation-mode batch norm: smooth around the truth; TV 0.2 prefers a low-contrast copy, TV 1e-3 the truth', async () => {
  const { at, noise } = await objective('eval');
  const truth = await at((v) => v);
  const noisy = await at((v, i) => v + 0.1 * noise[i]!);
  const faint = await at((v) => 0.1 * v);
  assert.ok(noisy.match < 0.01, `1 - cos at truth + 0.1 noise: ${noisy.match}`);
  const cost = (w: number, r: { match: number; tv: number }) => r.match + w * r.tv;
  assert.ok(cost(0.2, truth) > cost(0.2, faint), `TV 0.2: truth ${cost(0.2, truth)} vs 0.1 x truth ${cost(0.2, faint)}`);
  assert.ok(cost(1e-3, truth) < cost(1e-3, faint), `TV 1e-3: truth ${cost(1e-3, truth)} vs 0.1 x truth ${cost(1e-3, faint)}`);
});

test('training-mode batch norm, batch 1: contrast is nearly invisible to the cosine, and the landscape is chaotic', async () => {
  const { at, noise } = await objective('train');
  const half = await at((v) => 0.5 * v);
  const tiny = await at((v, i) => v + 0.01 * noise[i]!);
  const small = await at((v, i) => v + 0.1 * noise[i]!);
  assert.ok(half.match < 0.01, `1 - cos at half the contrast: ${half.match}`);
  assert.ok(tiny.match > 0.1, `1 - cos at truth + 0.01 noise (about 0.6 of a grey level): ${tiny.match}`);
  assert.ok(small.match > 0.5, `1 - cos at truth + 0.1 noise: ${small.match}`);
});
