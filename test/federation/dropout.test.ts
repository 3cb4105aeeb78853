// A client that fails mid-round: the server aggregates the others, records the dropout, and syncs
// the failed client with the whole model before it trains again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchSampler, getBatch } from '../../src/data/index.js';
import { type ClientProxy, createFederation } from '../../src/federation/index.js';
import { initParams } from '../../src/models/index.js';
import { createSgd } from '../../src/optim/index.js';
import { oneHotLabels } from '../../src/train/evaluate.js';
import { spec, syntheticSplits } from './helpers.js';

/** Client `id`'s fit rejects in the listed rounds (1-based), before the client sees the message. */
function failing(id: number, rounds: number[]): (p: ClientProxy) => ClientProxy {
  let round = 0;
  return (p) => (p.id !== id ? p : {
    ...p,
    fit: (m) => (++round, rounds.includes(round) ? Promise.reject(new Error('device went away')) : p.fit(m)),
  });
}

describe('dropouts', () => {
  it('aggregates the clients that answered, records the one that failed, and re-syncs it', async () => {
    const data = syntheticSplits();
    const s = spec({ clients: 4, batchSize: 8 });
    const fed = createFederation(s, data, { transport: failing(2, [2]) });
    const samplers = fed.clients.map((c) => BatchSampler.fromState(c.getState().sampler));
    const params = initParams(fed.model.params, s.seed);
    const sgd = createSgd({ lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
    let state = sgd.init(params);
    const records = [];
    for (let round = 1; round <= 3; round++) {
      records.push(await fed.server.runRound());
      // Client 2 did not train in round 2: the step is on the other three clients' batches.
      const union = samplers.flatMap((x, c) => (c === 2 && round === 2 ? [] : Array.from(x.next())));
      const batch = getBatch(data.train, union, { normalize: true });
      const r = await fed.runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, 10));
      state = sgd.step(params, r.grads, state);
      fed.server.model.params.forEach((t, i) => t.data.forEach((v, j) => assert.ok(Math.abs(v - params[i]!.data[j]!) < 1e-5, `round ${round}, ${t.name}[${j}]`)));
    }
    assert.deepEqual(records.map((r) => r.dropped), [[], [{ client: 2, phase: 'fit', reason: 'device went away' }], []]);
    // Round 1 syncs everyone; round 2 gives client 2 no broadcast; round 3 syncs it again.
    const [r1, r2, r3] = records as [typeof records[0], typeof records[0], typeof records[0]];
    const syncBytes = fed.server.model.syncMessage(0).length;
    assert.ok(r1.bytesDown > 4 * syncBytes * 0.9, `round 1 down ${r1.bytesDown}`);
    assert.ok(r3.bytesDown > r2.bytesDown + syncBytes * 0.5, `round 3 down ${r3.bytesDown} vs round 2 ${r2.bytesDown}`);
    assert.ok(r2.bytesUp < r1.bytesUp, 'three answers weigh less than four');
  });

  it('drops a client that misses the deadline', async () => {
    const hang = (p: ClientProxy): ClientProxy => (p.id !== 1 ? p : { ...p, fit: () => new Promise<Uint8Array>(() => {}) });
    // The deadline applies to the clients that do answer too: 100 ms failed them on a busy machine
    // (load 14 on 2 cores), so it is long enough for them there, at the price of waiting it out once.
    const fed = createFederation(spec({ clients: 3 }), syntheticSplits(), { transport: hang, timeoutMs: 3000 });
    const r = await fed.server.runRound();
    assert.deepEqual(r.dropped, [{ client: 1, phase: 'fit', reason: 'no answer within 3000 ms' }]);
    assert.deepEqual(r.sampled, [0, 1, 2]);
  });

  it('a round where every client fails is an error naming them', async () => {
    const fail = (p: ClientProxy): ClientProxy => ({ ...p, sync: () => Promise.reject(new Error('offline')) });
    const fed = createFederation(spec({ clients: 2 }), syntheticSplits(), { transport: fail });
    await assert.rejects(fed.server.runRound(), /round 1: every sampled client failed \(client 0: offline; client 1: offline\)/);
  });

  it('a garbled answer is a dropout, not a crash', async () => {
    const garble = (p: ClientProxy): ClientProxy => (p.id !== 0 ? p : { ...p, fit: async (m) => (await p.fit(m)).subarray(0, 40) });
    const fed = createFederation(spec({ clients: 3 }), syntheticSplits(), { transport: garble });
    const r = await fed.server.runRound();
    assert.equal(r.dropped.length, 1);
    assert.equal(r.dropped[0]!.client, 0);
    assert.match(r.dropped[0]!.reason, /result message|truncated|exceeds/);
  });
});
