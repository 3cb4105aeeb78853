// Under secure aggregation no code path hands the server a single client's unmasked values: every
// byte it receives is recorded and none holds a client's update (as float32 values, or quantised),
// and no answer is a `result`; the strategy's per-client aggregate is never called, and the
// function that makes the aggregate is given the SecureSum (the sum, the contributors, the error
// bound) and nothing else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { broadcasterOptionsOf } from '../../src/defenses/index.js';
import {
  broadcasterParty, commonSetOf, createFederation, createStrategy, decodeMessage, FederatedServer, inProcess, lrSchedule, stateLayout, type Strategy,
} from '../../src/federation/index.js';
import { decodeWithTensors } from '../../src/federation/wire.js';
import { Rng } from '../../src/common/rng.js';
import { decodeMessage as decodeSecagg, fixedPoint, quantise } from '../../src/secagg/index.js';
import { recorder, secaggKind } from './secure-helpers.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();
const adgp = { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } };
const s = spec({ clients: 4, defense: adgp });
const secure = { ...s, secureAggregation: { threshold: 3, clip: 1 } };

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const bytesOf = (a: Float32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function find(messages: readonly Uint8Array[], type: 'result' | 'commit'): Uint8Array {
  const m = messages.find((b) => { try { return decodeMessage(b, type) !== null; } catch { return false; } });
  assert.ok(m, `no ${type} message`);
  return m;
}

describe('what the server receives under secure aggregation', () => {
  it('no byte it receives holds a client\'s update, as float32 or quantised; no answer is a result', async () => {
    // What each client uploads in the plain run of the same seed (the same gradients, bands and common set):
    // the values the secure run's clients mask.
    const plain = recorder();
    const pf = createFederation(s, data, { transport: plain.transport });
    await pf.server.runRound();
    const uploads = [0, 1, 2, 3].map((c) => {
      const { shared } = commonSetOf(find(plain.recording.down.get(c)!, 'commit'), pf.layout.params, 1);
      const { tensors } = decodeWithTensors(find(plain.recording.up.get(c)!, 'result'), 'result', 'update', stateLayout(pf.layout), { round: 1, clientId: c }, shared);
      return Float32Array.from(tensors.flatMap((t) => Array.from(t.values)));
    });

    const { recording, transport } = recorder();
    const fed = createFederation(secure, data, { transport });
    const r = await fed.server.runRound();
    assert.deepEqual(r.secure!.contributors, [0, 1, 2, 3]);
    for (let c = 0; c < 4; c++) {
      const up = recording.up.get(c)!;
      assert.deepEqual(up.map((m) => decodeMessage(m, ['proposal', 'secagg', 'result']).control.type), ['proposal', 'secagg', 'secagg', 'secagg', 'secagg']);
      const values = uploads[c]!;
      const quantised = quantise(values, fixedPoint(1, 4));
      // Windows of 8 entries spread over the vector, each as float32 bytes and as quantised words.
      for (let at = 0; at + 8 <= values.length; at += Math.floor(values.length / 16)) {
        const window = values.subarray(at, at + 8);
        if (window.every((v) => v === 0)) continue;
        assert.ok(contains(find(plain.recording.up.get(c)!, 'result'), bytesOf(window)), 'the check finds the values where they are: in the plain run\'s result');
        for (const m of up) {
          assert.ok(!contains(m, bytesOf(window)), `client ${c}: its values at ${at}.. travel in a message`);
          assert.ok(!contains(m, bytesOf(quantised.subarray(at, at + 8))), `client ${c}: its quantised values at ${at}.. travel in a message`);
        }
      }
      // The masked input is the length of the whole vector, and it is not the quantised vector.
      const masked = decodeSecagg(decodeMessage(up.find((m) => secaggKind(m) === 'masked')!, 'secagg').payload, 'masked', 1).values;
      assert.ok(masked.length > values.length);
      assert.ok(masked.subarray(0, values.length).some((v, j) => v !== quantised[j]));
    }
  });

  it('the aggregate is made from the SecureSum alone; the per-client aggregate is never called', async () => {
    const fed = createFederation(secure, data);
    const strategy = createStrategy({ ...s, algorithm: 'clsgd', lrAt: lrSchedule(s) });
    const seen: unknown[] = [];
    const watched: Strategy = {
      ...strategy,
      aggregateFit: () => assert.fail('the per-client aggregate was called under secure aggregation'),
      aggregateSum: (layout, sum, options) => {
        seen.push(sum);
        return strategy.aggregateSum!(layout, sum, options);
      },
    };
    const server = new FederatedServer({
      layout: fed.layout, model: fed.server.model, strategy: watched, clients: fed.clients.map((c) => inProcess(c)), rng: new Rng(1),
      broadcaster: broadcasterParty(fed.layout.params, broadcasterOptionsOf(adgp.options)), secure: { ...secure.secureAggregation, fullBatch: s.batchSize },
    });
    const r1 = await server.runRound();
    const r2 = await server.runRound();
    assert.equal(seen.length, 2);
    for (const arg of seen as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(arg).sort(), ['contributors', 'errorBound', 'sum']);
      assert.ok(arg['sum'] instanceof Float64Array);
      assert.deepEqual(arg['contributors'], [0, 1, 2, 3]);
    }
    assert.equal(r1.failed ?? r2.failed, undefined);
  });
});
