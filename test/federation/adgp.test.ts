// ADGP inside the federated round: proposals to the broadcaster, its common set back, values only
// up and down. Checked against the protocol's pieces (src/defenses/adgp.ts) run by hand on the
// same gradients, for bytes against DGP, and with a client that fails between its two calls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { densify } from '../../src/common/update.js';
import { BatchSampler, getBatch } from '../../src/data/index.js';
import { adgpClient, createBroadcaster } from '../../src/defenses/index.js';
import { type ClientProxy, createFederation, runFederated } from '../../src/federation/index.js';
import { initParams } from '../../src/models/index.js';
import { createSgd } from '../../src/optim/index.js';
import { oneHotLabels } from '../../src/train/evaluate.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();
const adgp = { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } };

describe('ADGP in the federated round', () => {
  it('steps the model by the mean of the clients\' uploads at the broadcaster\'s common set', async () => {
    const s = spec({ clients: 3, rounds: 2, defense: adgp });
    const fed = createFederation(s, data);
    const samplers = fed.clients.map((c) => BatchSampler.fromState(c.getState().sampler));
    const params = initParams(fed.model.params, s.seed);
    const sgd = createSgd({ lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
    let opt = sgd.init(params);
    const clients = samplers.map(() => adgpClient(adgp.options));
    let states = clients.map((c) => c.init(fed.layout.params));
    for (let round = 1; round <= 2; round++) {
      const record = await fed.server.runRound();
      assert.deepEqual(record.dropped, []);
      // The same round by hand: each client's gradient, its band, the vote, the values at the common set.
      const proposals = [];
      for (const [c, sampler] of samplers.entries()) {
        const batch = getBatch(data.train, sampler.next(), { normalize: true });
        const r = await fed.runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, 10));
        proposals.push(clients[c]!.propose(r.grads, states[c]!));
      }
      const common = createBroadcaster(adgp.options).decide(fed.layout.params, proposals.map((p) => p.bands));
      const uploads = proposals.map((p, c) => clients[c]!.upload(p.pending, states[c]!, common));
      states = uploads.map((u) => u.state);
      for (const u of uploads) {
        u.update.forEach((t, i) => assert.deepEqual('indices' in t ? t.indices : null, common.tensors[i]!.indices, 'every upload sits on the common set'));
      }
      const dense = uploads.map((u) => densify(u.update));
      const mean = dense[0]!.map((t, i) => ({ ...t, data: t.data.map((_, j) => dense.reduce((a, d) => a + d[i]!.data[j]!, 0) / dense.length) }));
      opt = sgd.step(params, mean, opt);
      fed.server.model.params.forEach((t, i) => t.data.forEach((v, j) => assert.ok(Math.abs(v - params[i]!.data[j]!) < 1e-5, `round ${round}, ${t.name}[${j}]: ${v} vs ${params[i]!.data[j]}`)));
      // Every client's replica took the values-only broadcast and holds the server's model.
      for (const c of fed.clients) assert.equal((c.getState().replicaRound), round);
    }
  });

  it('downloads about half of what DGP downloads, uploads the same, and trains', async () => {
    const base = spec({ clients: 4, rounds: 10, batchSize: 16 });
    const run = (defense: typeof adgp) => runFederated({ ...base, defense }, data);
    const [a, d] = await Promise.all([run(adgp), run({ name: 'dgp', options: adgp.options })]);
    const perClient = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    const down = perClient(a.bytesDown) / perClient(d.bytesDown);
    const up = perClient(a.bytesUp) / perClient(d.bytesUp);
    assert.ok(down < 0.65, `ADGP download / DGP download = ${down}`);
    assert.ok(up > 0.9 && up < 1.1, `ADGP upload / DGP upload = ${up}`);
    assert.ok(a.testAccuracy > 0.5, `ADGP accuracy ${a.testAccuracy} (DGP ${d.testAccuracy})`);
  });

  it('a client that fails between proposal and commit is dropped; the others finish the round', async () => {
    let calls = 0;
    // Client 1's second fit call (its commit in round 1) fails.
    const transport = (p: ClientProxy): ClientProxy => (p.id !== 1 ? p : { ...p, fit: (m) => (++calls === 2 ? Promise.reject(new Error('gone')) : p.fit(m)) });
    const fed = createFederation(spec({ clients: 3, rounds: 3, defense: adgp }), data, { transport });
    const records = [];
    for (let r = 0; r < 3; r++) records.push(await fed.server.runRound());
    assert.deepEqual(records.map((r) => r.dropped), [[{ client: 1, phase: 'fit', reason: 'gone' }], [], []]);
    assert.equal(fed.clients[1]!.getState().replicaRound, 3, 'synced again, then in step');
  });
});
