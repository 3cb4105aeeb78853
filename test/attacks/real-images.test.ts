// Inverting Gradients on a real CIFAR-10 image, batch 1, models at initialisation: the ConvNet whose
// last feature map reaches the linear layer whole gives the image back; the one that pools it
// globally (the reference ConvNet) gives back colours and coarse layout only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound } from '../../src/attacks/case.js';
import { scoreAttack } from '../../src/attacks/evaluate.js';
import { createAttack } from '../../src/attacks/registry.js';
import { FIXTURE_CIFAR10 } from '../../src/cli/attack.js';
import { loadDataset } from '../../src/data/index.js';
import { createDefense } from '../../src/defenses/registry.js';
import { createModel } from '../../src/models/index.js';

async function igPsnr(modelName: 'convnet' | 'convnet-flat', image: number, iterations: number): Promise<number> {
  const data = await loadDataset('cifar10', { dataDir: FIXTURE_CIFAR10 });
  const model = createModel(modelName, { inputShape: [3, 32, 32] });
  const state = await modelAtRound(model, 0, { seed: 1 });
  const c = await buildCase({ model, state, data: data.test, indices: [image], defense: createDefense('none'), seed: 1, knows: { batchSize: true } });
  const r = await createAttack('ig').run(c.threat, { seed: 1, iterations, restarts: 1 });
  const { record } = scoreAttack(c, r, 0);
  assert.equal(record.labelAccuracy, 1, 'the iDLG label');
  return record.psnr;
}

test('Inverting Gradients rebuilds a CIFAR-10 image through convnet-flat, not through the pooled convnet', async () => {
  const flat = await igPsnr('convnet-flat', 3, 500);
  const pooled = await igPsnr('convnet', 3, 500);
  assert.ok(flat > 35, `convnet-flat: PSNR ${flat}`);
  assert.ok(pooled < 20, `convnet: PSNR ${pooled}`);
  console.log(`IG, 500 steps, test image 3: convnet-flat ${flat.toFixed(1)} dB, convnet ${pooled.toFixed(1)} dB`);
});
