import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound } from '../../src/attacks/case.js';
import { recoverLabels } from '../../src/attacks/labels.js';
import { createDefense } from '../../src/defenses/registry.js';
import { labelAccuracy } from '../../src/metrics/index.js';
import { createModel, mlp } from '../../src/models/index.js';
import { cifar10, syntheticDataset } from './helpers.js';

const sorted = (a: ArrayLike<number>) => Array.from(a).sort((x, y) => x - y);

async function batchCase(labels: number[], model = mlp({ inputShape: [1, 8, 8], hidden: 32 }), seed = 3) {
  const data = syntheticDataset(labels, [1, 8, 8], seed);
  const state = await modelAtRound(model, 0, { seed });
  return buildCase({ model, state, data, indices: labels.map((_, i) => i), defense: createDefense('none'), seed, knows: { batchSize: true } });
}

const REPEATED = [
  [2, 2, 2, 5, 5, 7, 0, 0],
  [4, 4, 4, 4, 1, 1, 9, 3],
  [6, 6, 6, 6, 6, 6, 6, 6],
];
// Two of each of 8 classes in 16: every class sits only 0.025 below the uniform softmax mass, so
// the model's deviation from uniform predictions decides some counts.
const SPREAD = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8];

test('bias-corrected counting (count_c = B (1/K - db_c)) recovers batches with repeated labels exactly', async () => {
  for (const labels of REPEATED) {
    const rec = recoverLabels((await batchCase(labels)).threat, 'count');
    assert.deepEqual(Array.from(rec), sorted(labels), `count on ${labels}`);
  }
  const rec = recoverLabels((await batchCase(SPREAD)).threat, 'count');
  assert.ok(labelAccuracy(SPREAD, rec) >= 0.85, `count on ${SPREAD}: ${Array.from(rec)}`);
});

test("breaching's 'bias-corrected' finds every class present and most of the counts", async () => {
  for (const labels of REPEATED) {
    const rec = recoverLabels((await batchCase(labels)).threat, 'bias-corrected');
    assert.deepEqual([...new Set(rec)], [...new Set(sorted(labels))], `classes of ${labels}: ${Array.from(rec)}`);
    assert.ok(labelAccuracy(labels, rec) >= 0.75, `bias-corrected on ${labels}: ${Array.from(rec)}`);
  }
});

test("LLG ('wainakh-simple') counts repeated labels from the weight rows of a ReLU network", async () => {
  const labels = [1, 1, 1, 8, 8, 3];
  const c = await batchCase(labels);
  const rec = recoverLabels(c.threat, 'wainakh-simple');
  assert.ok(labelAccuracy(labels, rec) >= 5 / 6, `recovered ${Array.from(rec)} for ${labels}`);
});

test("'yin' finds unique labels; repeated ones it can only list once, then pads", async () => {
  const unique = [0, 3, 5, 9];
  assert.deepEqual(Array.from(recoverLabels((await batchCase(unique)).threat, 'yin')), unique);
  const rec = recoverLabels((await batchCase([2, 2, 2, 7])).threat, 'yin', 4, 1);
  assert.ok(rec.includes(2) && rec.includes(7), `recovered ${Array.from(rec)}`);
});

test('iDLG reads the label of a single CIFAR-10 image from the LeNet gradient, for every class seen', async () => {
  const { test: data } = await cifar10();
  const model = createModel('lenet', { inputShape: [3, 32, 32] });
  const state = await modelAtRound(model, 0, { seed: 0 });
  for (let i = 0; i < 10; i++) {
    const c = await buildCase({ model, state, data, indices: [i], defense: createDefense('none'), seed: 0, knows: { batchSize: true } });
    assert.equal(recoverLabels(c.threat, 'idlg')[0], data.labels[i], `image ${i}`);
  }
});

test('label recovery says what it lacks', async () => {
  const c = await batchCase([1, 2]);
  assert.throws(() => recoverLabels({ ...c.threat, batchSize: undefined }, 'bias-corrected'), /needs the batch size/);
  assert.throws(() => recoverLabels(c.threat, 'idlg'), /single example \(batch 2\)/);
  assert.throws(() => recoverLabels(c.threat, 'nope' as 'idlg'), /unknown label strategy 'nope'/);
});
