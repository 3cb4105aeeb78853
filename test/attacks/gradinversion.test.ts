import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound, runnerFor } from '../../src/attacks/case.js';
import { scoreAttack } from '../../src/attacks/evaluate.js';
import { oneHot } from '../../src/attacks/labels.js';
import { MatchingProblem } from '../../src/attacks/matching.js';
import { createAttack } from '../../src/attacks/registry.js';
import { createDefense } from '../../src/defenses/registry.js';
import { bnModel, syntheticDataset } from './helpers.js';

const model = bnModel([1, 6, 6], 4);
const labels = [1, 5];

/** A case whose server holds the client batch's own statistics as running ones (breaching's provide_buffers). */
async function bnCase() {
  const data = syntheticDataset(labels, [1, 6, 6], 7);
  const state = await modelAtRound(model, 0, { seed: 7 });
  const c = await buildCase({ model, state, data, indices: [0, 1], defense: createDefense('none'), seed: 7, knows: { batchSize: true, labels: true }, batchNorm: 'train' });
  const stats = (await runnerFor(model).lossAndGrad(c.threat.params, c.truth.x, c.truth.shape, oneHot(labels, 10))).bnStats[0]!;
  c.threat.buffers = [
    { name: 'bn.running_mean', shape: [4], data: stats.mean },
    { name: 'bn.running_var', shape: [4], data: stats.variance },
  ];
  return c;
}

test('the batch-norm prior vanishes at the client batch and not elsewhere', async () => {
  const c = await bnCase();
  const p = new MatchingProblem(c.threat, { objective: 'l2', maskAware: false, labelMode: 'fixed', bn: 1 }, 2);
  const y = oneHot(labels, 10);
  const atTruth = await p.valueAndGrad({ x: c.truth.x, labels: y });
  const elsewhere = await p.valueAndGrad({ x: c.truth.x.map((v, i) => v + Math.sin(i)), labels: y });
  assert.ok(atTruth.loss < 1e-4, `prior + match at the truth ${atTruth.loss}`);
  assert.ok(elsewhere.loss - elsewhere.match > 0.1, `prior elsewhere ${elsewhere.loss - elsewhere.match}`);
});

test('GradInversion (L2 + TV + BN prior + group consistency) recovers a batch of two through a BN layer', async () => {
  const c = await bnCase();
  const r = await createAttack('gradinversion').run(c.threat, { seed: 0, iterations: 300, restarts: 2 });
  const { record } = scoreAttack(c, r, 0);
  assert.equal(r.perRestart?.length, 2);
  assert.ok(record.psnr > 30, `PSNR ${record.psnrPerImage}, objective ${r.objective}`);
  assert.equal(record.labelAccuracy, 1);
});
