// Dropouts under secure aggregation, 10 clients, threshold 6: 1 to 4 clients that drop after
// sending their masked input are recovered (the sum, and so the model, equals plain ADGP's with
// every client in it); 5 leave too few to unmask, and the round fails cleanly (recorded, no model
// update, the run goes on); a client that drops before masking is left out; a client that sends a
// message in another client's name is refused and left out.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ClientProxy, createFederation, decodeMessage, encodeMessage, type FederatedSpec, runFederated } from '../../src/federation/index.js';
import { initParams } from '../../src/models/index.js';
import { assertClose, secaggKind } from './secure-helpers.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits(400);
const base = spec({ clients: 10, batchSize: 8, rounds: 3, defense: { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } } });
const secure: FederatedSpec = { ...base, secureAggregation: { threshold: 6, clip: 1 } };
/** lr x (the mean's quantisation bound, about 2.3e-9, plus float32 rounding of two means of 10) + rounding of the step. */
const TOLERANCE = 1e-7;

/** Clients in `who` fail their fit call when it carries a secure-aggregation message of `kind` of round `round`. */
function dropAt(kind: string, who: readonly number[], round = 1): (p: ClientProxy) => ClientProxy {
  return (p) => (!who.includes(p.id) ? p : {
    ...p,
    fit: (m) => (secaggKind(m) === kind && decodeMessage(m, 'secagg').control.round === round ? Promise.reject(new Error('went offline')) : p.fit(m)),
  });
}

async function plainRound(transport?: (p: ClientProxy) => ClientProxy) {
  const fed = createFederation(base, data, { transport });
  await fed.server.runRound();
  return fed.server.model.params.map((t) => t.data);
}

describe('dropouts under secure aggregation (10 clients, threshold 6)', () => {
  it('1 to 4 clients that drop after their masked input are recovered: the model equals plain ADGP\'s with all 10', async () => {
    const plain = await plainRound();
    for (const k of [1, 2, 3, 4]) {
      const who = Array.from({ length: k }, (_, i) => 2 * i + 1);
      const fed = createFederation(secure, data, { transport: dropAt('unmask-request', who) });
      const r = await fed.server.runRound();
      assert.equal(r.failed, undefined, `${k} dropped`);
      assert.deepEqual(r.secure!.contributors, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'their inputs stay in the sum');
      assert.deepEqual(r.dropped.map((d) => [d.client, d.phase, d.reason]), who.map((c) => [c, 'secagg', 'unmasking: went offline']));
      assertClose(fed.server.model.params.map((t) => t.data), plain, TOLERANCE, `${k} dropped after masking`);
    }
  });

  it('with 5 dropped the round fails cleanly: recorded as failed, no model update, and the run goes on', async () => {
    const who = [0, 2, 4, 6, 8];
    const fed = createFederation(secure, data, { transport: dropAt('unmask-request', who) });
    const initial = initParams(fed.model.params, secure.seed).map((t) => t.data);
    const r1 = await fed.server.runRound();
    assert.match(r1.failed!, /round 1 failed: only 5 clients answered the unmask request, threshold 6; nothing is revealed/);
    assert.equal(r1.secure, undefined);
    assert.ok(Number.isNaN(r1.trainLoss));
    assert.equal(fed.server.model.round, 1, 'the round number moves on');
    assertClose(fed.server.model.params.map((t) => t.data), initial, 0, 'the model did not change');
    // The five that stayed learnt of the failure (a skip message) and hold round 1's model; the five that dropped are synced.
    for (const c of fed.clients) assert.equal(c.getState().replicaRound, who.includes(c.id) ? 0 : 1, `client ${c.id}`);
    const r2 = await fed.server.runRound();
    assert.equal(r2.failed, undefined);
    assert.deepEqual(r2.secure!.contributors, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const c of fed.clients) assert.equal(c.getState().replicaRound, 2);
  });

  it('a whole run records the failed round and trains on through the others', async () => {
    const result = await runFederated(secure, data, { transport: dropAt('unmask-request', [1, 3, 5, 7, 9]) });
    assert.deepEqual(result.history.map((e) => e.failed !== undefined), [true, false, false]);
    assert.deepEqual(result.history.map((e) => e.round), [1, 2, 3]);
    assert.ok(result.testAccuracy > 0.1, `accuracy ${result.testAccuracy}`);
  });

  it('a failed round goes into the checkpoint like any other: a resumed run equals the uninterrupted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-secure-resume-'));
    try {
      // Round 1 fails (5 clients drop at its unmasking); the run stops after round 2 and resumes for round 3.
      const failRound1 = (): ((p: ClientProxy) => ClientProxy) => dropAt('unmask-request', [0, 1, 2, 3, 4], 1);
      const whole = await runFederated(secure, data, { transport: failRound1() });
      await runFederated({ ...secure, rounds: 2 }, data, { transport: failRound1(), checkpoint: dir, checkpointEvery: 1 });
      const resumed = await runFederated(secure, data, { transport: failRound1(), resume: dir, checkpoint: dir });
      assert.deepEqual(resumed.history.map((e) => e.failed !== undefined), [true, false, false]);
      assertClose(resumed.params.map((t) => t.data), whole.params.map((t) => t.data), 0, 'resumed against uninterrupted');
      assert.deepEqual(resumed.bytesUp, whole.bytesUp);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a client that drops before masking is left out: the sum is over the others, as plain ADGP without it', async () => {
    // Plain: client 3 fails its commit call (the common set is still formed with its proposal), so its values are not in the mean.
    let calls = 0;
    const plain = await plainRound((p) => (p.id !== 3 ? p : { ...p, fit: (m) => (++calls === 2 ? Promise.reject(new Error('gone')) : p.fit(m)) }));
    // Secure: client 3 shared its keys, then fails the relay (its masked input is never made); its masks are removed with its rebuilt key.
    const fed = createFederation(secure, data, { transport: dropAt('relay', [3]) });
    const r = await fed.server.runRound();
    assert.deepEqual(r.secure!.contributors, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(r.dropped.map((d) => [d.client, d.reason]), [[3, 'masked input: went offline']]);
    assertClose(fed.server.model.params.map((t) => t.data), plain, TOLERANCE, 'dropped before masking');
  });

  it('a message in another client\'s name is refused and its sender left out', async () => {
    // Client 4 relabels its masked-input envelope as client 5's: the server refuses it (and client 5's own is accepted).
    const forge = (p: ClientProxy): ClientProxy => (p.id !== 4 ? p : {
      ...p,
      fit: async (m) => {
        const answer = await p.fit(m);
        if (secaggKind(answer) !== 'masked') return answer;
        const { payload } = decodeMessage(answer, 'secagg');
        const forged = payload.slice();
        new DataView(forged.buffer).setUint32(8, 5, true);
        return encodeMessage({ type: 'secagg', round: 1, clientId: 4 }, forged);
      },
    });
    const fed = createFederation(secure, data, { transport: forge });
    const r = await fed.server.runRound();
    assert.equal(r.failed, undefined);
    assert.deepEqual(r.secure!.contributors, [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert.deepEqual(r.dropped.map((d) => [d.client, d.reason]), [[4, 'masked input: client 4 sent a message in another client\'s name']]);
  });
});
