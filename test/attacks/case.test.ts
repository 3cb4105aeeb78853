import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound } from '../../src/attacks/case.js';
import { isSparse, sentMasks } from '../../src/attacks/threat.js';
import { createDefense } from '../../src/defenses/registry.js';
import { mlp } from '../../src/models/index.js';
import { syntheticDataset } from './helpers.js';

const model = mlp({ inputShape: [1, 6, 6], hidden: 8 });
const data = syntheticDataset([1, 2, 3, 4, 5, 6, 7, 8], [1, 6, 6], 9);

test('the threat model holds what the server sees, never the data', async () => {
  const state = await modelAtRound(model, 0, { seed: 1 });
  const c = await buildCase({ model, state, data, indices: [0, 1], defense: createDefense('dgp'), seed: 1 });
  const t = c.threat;
  assert.equal(t.labels, undefined);
  assert.equal(t.batchSize, undefined);
  assert.equal(t.positionsVisible, true);
  assert.ok(isSparse(t));
  assert.equal(t.defense, 'ef(dgp)');
  assert.equal(t.round, 0);
  for (const v of Object.values(t)) assert.notEqual(v, c.truth.x, 'the images must not reach the threat model');
  assert.ok(!JSON.stringify(Object.keys(t)).includes('truth'));
  // What was sent is exactly the defense's update: masks count its positions.
  const sent = sentMasks(t).reduce((n, m) => n + m.data.reduce((a, v) => a + v, 0), 0);
  assert.equal(sent, t.update.reduce((n, u) => n + u.values.length, 0));
  assert.ok(Math.abs(c.truth.defense.keptFraction - 0.2) < 0.02, `kept ${c.truth.defense.keptFraction}`);
  const known = await buildCase({ model, state, data, indices: [0, 1], defense: createDefense('none'), seed: 1, knows: { labels: true, batchSize: true } });
  assert.deepEqual(Array.from(known.threat.labels!), [1, 2]);
  assert.equal(known.threat.batchSize, 2);
});

test('a model at round R is R seeded SGD steps away from its initialisation, and recorded as such', async () => {
  const at0 = await modelAtRound(model, 0, { seed: 1 });
  const at3 = await modelAtRound(model, 3, { seed: 1, train: data, batchSize: 4, lr: 0.1 });
  const again = await modelAtRound(model, 3, { seed: 1, train: data, batchSize: 4, lr: 0.1 });
  assert.equal(at3.round, 3);
  assert.equal(at3.losses.length, 3);
  assert.notDeepEqual(at3.params[0]!.data, at0.params[0]!.data);
  assert.deepEqual(again.params[0]!.data, at3.params[0]!.data);
  await assert.rejects(modelAtRound(model, 2, { seed: 1 }), /round 2 needs training data/);
  const c = await buildCase({ model, state: at3, data, indices: [5], defense: createDefense('none'), seed: 1 });
  assert.equal(c.threat.round, 3);
});
