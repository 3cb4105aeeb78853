// The threat model "the server sees the aggregate of N clients": one ADGP round of N clients,
// each client's upload (values at the common set) and the mean of the uploads that secure
// aggregation hands the server; the attacker of the aggregate is scored against its best match
// among all N clients' images.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelAtRound } from '../../src/attacks/case.js';
import { scoreAttack } from '../../src/attacks/evaluate.js';
import { buildRoundCases } from '../../src/attacks/round.js';
import { isSparse } from '../../src/attacks/threat.js';
import { mlp } from '../../src/models/index.js';
import { syntheticDataset } from './helpers.js';

const model = mlp({ inputShape: [1, 6, 6], hidden: 8 });
const data = syntheticDataset([1, 2, 3, 4, 5, 6, 7, 8], [1, 6, 6], 9);

test('an ADGP round of 4 clients: each upload sits on the common set, the aggregate is their mean within the quantisation bound', async () => {
  const state = await modelAtRound(model, 0, { seed: 1 });
  const rc = await buildRoundCases({ model, state, data, batches: [[0], [1], [2], [3]], clip: 1, seed: 3, knows: { batchSize: true } });
  assert.equal(rc.perClient.length, 4);
  const common = rc.perClient[0]!.threat.update.map((t) => (t.kind === 'sparse' ? Array.from(t.indices) : null));
  for (const c of rc.perClient) {
    assert.equal(c.threat.aggregateOf, undefined);
    assert.equal(c.threat.batchSize, 1);
    assert.deepEqual(c.threat.update.map((t) => (t.kind === 'sparse' ? Array.from(t.indices) : null)), common, 'one common set');
  }
  const a = rc.aggregate;
  assert.equal(a.threat.aggregateOf, 4);
  assert.equal(a.threat.batchSize, 4, 'the attacker knows how many images are behind the aggregate');
  assert.equal(a.truth.target, 'any');
  assert.deepEqual(a.truth.shape, [4, 1, 6, 6]);
  assert.ok(isSparse(a.threat));
  a.threat.update.forEach((t, i) => {
    assert.deepEqual(t.kind === 'sparse' ? Array.from(t.indices) : null, common[i]);
    t.values.forEach((v, j) => {
      const exact = rc.perClient.reduce((s, c) => s + c.threat.update[i]!.values[j]!, 0) / 4;
      assert.ok(Math.abs(v - exact) < 1e-7, `${t.name}[${j}]: ${v} vs ${exact}`);
    });
  });
  // No client's upload is the aggregate.
  for (const c of rc.perClient) assert.ok(c.threat.update.some((t, i) => t.values.some((v, j) => v !== a.threat.update[i]!.values[j])));
});

test('against the aggregate each reconstruction is scored against its best-matching image, any of the round\'s', async () => {
  const state = await modelAtRound(model, 0, { seed: 1 });
  const rc = await buildRoundCases({ model, state, data, batches: [[0], [1], [2], [3]], clip: 1, seed: 3 });
  const size = 36;
  // Four copies of client 2's image: each is exact against its best match, image 2.
  const images = new Float32Array(4 * size);
  for (let j = 0; j < 4; j++) images.set(rc.aggregate.truth.x.subarray(2 * size, 3 * size), j * size);
  const result = { attack: 'test', images, shape: rc.aggregate.truth.shape, objective: 0, iterations: 0 };
  const { record } = scoreAttack(rc.aggregate, result, 0);
  assert.deepEqual(record.psnrPerImage, [Infinity, Infinity, Infinity, Infinity]);
  // Scored against one client's batch (optimal assignment), the same copies match only one image.
  const one = scoreAttack({ ...rc.aggregate, truth: { ...rc.aggregate.truth, target: 'batch' } }, result, 0).record;
  assert.equal(one.psnrPerImage.filter((p) => p === Infinity).length, 1);
});

test('an undefended round: each upload is the raw gradient, the aggregate their dense mean', async () => {
  const state = await modelAtRound(model, 0, { seed: 1 });
  const rc = await buildRoundCases({ model, state, data, batches: [[0], [1], [2]], adgp: null, clip: 4, seed: 3 });
  assert.ok(!isSparse(rc.aggregate.threat));
  assert.equal(rc.aggregate.threat.defense, 'none, secure aggregate of 3');
  rc.aggregate.threat.update.forEach((t, i) => t.values.forEach((v, j) => {
    const exact = rc.perClient.reduce((s, c) => s + c.truth.gradient[i]!.data[j]!, 0) / 3;
    assert.ok(Math.abs(v - exact) < 1e-7, `${t.name}[${j}]`);
  }));
  assert.ok(rc.aggregate.truth.defense.relGradDistance < 1e-6);
});
