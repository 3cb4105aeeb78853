import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound, type AttackCase } from '../../src/attacks/case.js';
import { imprintServer } from '../../src/attacks/imprint.js';
import { isSparse, sentMasks } from '../../src/attacks/threat.js';
import { createDefense } from '../../src/defenses/registry.js';
import { mlp } from '../../src/models/index.js';
import { findCopies, type Needle } from '../helpers/leaks.js';
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

/** Every image of the data set, raw and as the model sees it (normalised), and the attacked batch's. */
function imagesOf(c: AttackCase): Needle[] {
  const size = data.channels * data.height * data.width;
  const out: Needle[] = [];
  for (let i = 0; i < data.count; i++) {
    const raw = data.images.subarray(i * size, (i + 1) * size);
    out.push({ label: `image ${i}`, values: raw });
    const channel = (j: number) => Math.floor(j / (data.height * data.width));
    out.push({ label: `image ${i} normalised`, values: raw.map((v, j) => (v - data.mean[channel(j)]!) / data.std[channel(j)]!) });
  }
  for (let b = 0; b < c.truth.shape[0]; b++) out.push({ label: `attacked image ${b}`, values: c.truth.x.subarray(b * size, (b + 1) * size) });
  return out;
}

test('the threat model holds no copy of an image, whatever the defense and server (checked by content)', async () => {
  const state = await modelAtRound(model, 0, { seed: 1 });
  const servers = [undefined, imprintServer({ bins: 16 })];
  for (const server of servers) {
    for (const defense of ['none', 'dgp', 'topk', 'dp', 'qsgd']) {
      const c = await buildCase({ model, state, data, indices: [0, 3], defense: createDefense(defense), seed: 1, server, knows: { labels: true, batchSize: true } });
      // What the attacker receives: the whole threat model (update, secrets, parameters, model) and, apart, the update and the secrets.
      for (const [what, v] of [['threat model', c.threat], ['update', c.threat.update], ['secrets', c.threat.secrets]] as const) {
        assert.deepEqual(findCopies(v, imagesOf(c)), [], `${defense}${server ? ' with an imprint server' : ''}: the ${what} holds the data`);
      }
    }
  }
});

test('the copy finder finds a planted image in every form it looks for', async () => {
  // The check above is only as good as its search: plant each kind of copy and expect it found.
  const state = await modelAtRound(model, 0, { seed: 1 });
  const c = await buildCase({ model, state, data, indices: [0, 3], defense: createDefense('dgp'), seed: 1, server: imprintServer({ bins: 16 }) });
  const needles = imagesOf(c);
  const x = c.truth.x;
  const size = x.length / 2;
  const image = x.slice(size);
  const bytes = Buffer.from(image.buffer);
  const plants: [string, unknown][] = [
    ['a float32 copy', image],
    ['a window into the data set', data.images.subarray(3 * size - 5, 4 * size + 7)],
    ['a float64 copy', Float64Array.from(image)],
    ['raw bytes in a Uint8Array', Uint8Array.from(Buffer.concat([Buffer.from([1, 2]), bytes]))],
    ['a number array', [0.5, ...Array.from(image), 2]],
    ['base64', `data:${Buffer.concat([Buffer.from([9]), bytes]).toString('base64')}`],
    ['JSON', JSON.stringify({ pixels: Array.from(image) }, null, 1)],
    ['an object key', { [Array.from(image.subarray(0, 10)).join(',')]: 1 }],
  ];
  for (const [what, plant] of plants) {
    const leaky = { ...c.threat, secrets: { ...c.threat.secrets, debug: { nested: [plant] } } };
    assert.ok(findCopies(leaky, needles).some((f) => f.includes('secrets.debug')), `${what} was not found`);
    const update = c.threat.update.map((u, i) => (i === 0 ? { ...u, note: plant } : u));
    assert.ok(findCopies({ ...c.threat, update }, needles).length > 0, `${what} in the update was not found`);
  }
});
