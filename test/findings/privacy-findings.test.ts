// The README's headline privacy findings, each on one CIFAR-10 test image at a small budget, so
// that a change which breaks a finding turns `npm test` red (the full-size figures are re-made by
// `npm run test:slow`, test/e2e/findings.slow.test.ts). Settings as in the privacy table: models at
// initialisation with seed 7, DGP drop 5 % / send 20 %, Top-k 20 %, labels recovered by iDLG.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound } from '../../src/attacks/case.js';
import { scoreAttack } from '../../src/attacks/evaluate.js';
import { imprintServer } from '../../src/attacks/imprint.js';
import { createAttack } from '../../src/attacks/registry.js';
import { FIXTURE_CIFAR10 } from '../../src/cli/data.js';
import { loadDataset } from '../../src/data/index.js';
import { createDefense } from '../../src/defenses/registry.js';
import { createModel } from '../../src/models/index.js';

const SEED = 7;
const IMAGE = 3;
const DEFENSES: Record<string, [string, Record<string, unknown>]> = {
  none: ['none', {}], dgp: ['dgp', { pTop: 0.05, pKeep: 0.2 }], topk: ['topk', { fraction: 0.2 }], dpHigh: ['dp', { clip: 100, noiseMultiplier: 1e-3 }],
};

async function run(attack: string, modelName: string, defense: keyof typeof DEFENSES, o: { iterations?: number; image?: number } = {}) {
  const data = await loadDataset('cifar10', { dataDir: FIXTURE_CIFAR10 });
  const model = createModel(modelName, { inputShape: [3, 32, 32] });
  const state = await modelAtRound(model, 0, { seed: SEED });
  const [name, options] = DEFENSES[defense]!;
  const c = await buildCase({
    model, state, data: data.test, indices: [o.image ?? IMAGE], defense: createDefense(name, options), seed: SEED * 7919,
    knows: { batchSize: true }, server: attack === 'rtf' ? imprintServer({ bins: 64 }) : undefined,
  });
  const r = await createAttack(attack).run(c.threat, { seed: SEED * 7919, iterations: o.iterations, restarts: 1 });
  const { record } = scoreAttack(c, r, 0);
  console.log(`${attack} vs ${defense} on ${modelName}, test image ${o.image ?? IMAGE}, ${o.iterations ?? '-'} steps: PSNR ${record.psnr.toFixed(2)} dB, label accuracy ${record.labelAccuracy}`);
  return record;
}

// 400 signed-Adam steps: undefended IG is past 40 dB on this image well before that.
const STEPS = 400;

test('Inverting Gradients through convnet-flat: plain IG is stopped by DGP and not by Top-k at the same density', async () => {
  const dgp = await run('ig', 'convnet-flat', 'dgp', { iterations: STEPS });
  const topk = await run('ig', 'convnet-flat', 'topk', { iterations: STEPS });
  assert.ok(dgp.psnr < 15, `plain IG through DGP: ${dgp.psnr} dB (a blank mean-colour image scores about 12.6)`);
  assert.ok(topk.psnr > 25, `plain IG through Top-k 20 %: ${topk.psnr} dB`);
});

test('the mask-aware Inverting Gradients gets through DGP', async () => {
  const mask = await run('ig-mask', 'convnet-flat', 'dgp', { iterations: STEPS });
  assert.ok(mask.psnr > 20, `mask-aware IG through DGP: ${mask.psnr} dB`);
  assert.equal(mask.labelAccuracy, 1);
});

test('Robbing the Fed reads the darkest image exactly through Top-k and nothing through DGP', async () => {
  // Test image 6 is one of the two of images 0-7 the table reads exactly through Top-k 20 %.
  const none = await run('rtf', 'lenet', 'none', { image: 6 });
  const topk = await run('rtf', 'lenet', 'topk', { image: 6 });
  const dgp = await run('rtf', 'lenet', 'dgp', { image: 6 });
  assert.ok(none.psnr > 60, `undefended read-out ${none.psnr}`);
  assert.ok(topk.psnr > 60, `through Top-k ${topk.psnr}`);
  assert.ok(dgp.psnr < 20, `through DGP ${dgp.psnr}`);
});

test('DP noise of std 0.1 stops Inverting Gradients', async () => {
  const dp = await run('ig', 'convnet-flat', 'dpHigh', { iterations: STEPS });
  assert.ok(dp.psnr < 15, `IG through DP sigma 0.1: ${dp.psnr} dB`);
});
