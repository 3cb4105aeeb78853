// Each attack on a problem small enough that its answer is certain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound, runnerFor } from '../../src/attacks/case.js';
import { scoreAttack } from '../../src/attacks/evaluate.js';
import { imprintServer, invertLinear } from '../../src/attacks/imprint.js';
import { createAttack } from '../../src/attacks/registry.js';
import { createDefense } from '../../src/defenses/registry.js';
import { linearModel, syntheticDataset } from './helpers.js';

const model = linearModel([1, 4, 4]);

async function linearCase(labels: number[], seed: number, knows = { batchSize: true }) {
  const data = syntheticDataset(labels, [1, 4, 4], seed);
  const state = await modelAtRound(model, 0, { seed });
  return buildCase({ model, state, data, indices: labels.map((_, i) => i), defense: createDefense('none'), seed, knows });
}

test('a dense layer gives its input back: weight-gradient row over bias-gradient entry', async () => {
  const c = await linearCase([4], 1);
  const [gw, gb] = c.truth.gradient;
  const { rows, inputs } = invertLinear(gw!.data, gb!.data, 16);
  assert.equal(rows.length, 10);
  for (const x of inputs) for (let j = 0; j < 16; j++) assert.ok(Math.abs(x[j]! - c.truth.x[j]!) < 1e-4, `pixel ${j}: ${x[j]} vs ${c.truth.x[j]}`);
});

test('Robbing the Fed reads every image of a batch back exactly when each falls in its own bin', async () => {
  const data = syntheticDataset([0, 1, 2, 3], [1, 4, 4], 11);
  const state = await modelAtRound(model, 0, { seed: 11 });
  const c = await buildCase({ model, state, data, indices: [0, 1, 2, 3], defense: createDefense('none'), seed: 11, knows: { batchSize: true }, server: imprintServer({ bins: 64 }) });
  assert.equal(c.threat.model.name, 'imprint(linear)');
  const r = await createAttack('rtf').run(c.threat, { seed: 0 });
  const { record } = scoreAttack(c, r, 0);
  for (const p of record.psnrPerImage) assert.ok(p > 60, `PSNR per image ${record.psnrPerImage}`);
});

test('DLG (joint labels, L-BFGS) recovers the input and label of a dense layer', async () => {
  const c = await linearCase([6], 2);
  const r = await createAttack('dlg').run(c.threat, { seed: 0, iterations: 200 });
  const { record } = scoreAttack(c, r, 0);
  assert.ok(record.psnr > 40, `PSNR ${record.psnr}, objective ${r.objective}`);
  assert.equal(record.labelAccuracy, 1);
});

test('DLG with Adam (best of 4 restarts: some starts stall with the label logit pushed down) and iDLG recover it too', async () => {
  const c = await linearCase([2], 3);
  for (const [name, iterations, restarts, min] of [['dlg-adam', 600, 4, 35], ['idlg', 100, 1, 40]] as const) {
    const r = await createAttack(name).run(c.threat, { seed: 0, iterations, restarts });
    const { record } = scoreAttack(c, r, 0);
    assert.ok(record.psnr > min, `${name}: PSNR ${record.psnr}, objective ${r.objective}`);
    assert.equal(record.labelAccuracy, 1, name);
  }
});

test('Inverting Gradients (cosine + TV, signed Adam) recovers a dense layer input up to its scale', async () => {
  const c = await linearCase([8], 4);
  const r = await createAttack('ig').run(c.threat, { seed: 0, iterations: 400, restarts: 1 });
  const { record } = scoreAttack(c, r, 0);
  assert.ok(record.psnr > 25, `PSNR ${record.psnr}, objective ${r.objective}`);
  assert.equal(record.labelAccuracy, 1);
});
