// Secure aggregation in the federated round: the same round with and without it, on the same
// clients, gives the same model within the stated quantisation bound (ADGP's common set and dense
// updates; unequal batches weighted by examples); sampling fewer clients works; a sparse defense
// at each client's own positions is refused; every secagg message is counted in the bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FederatedSpec } from '../../src/federation/index.js';
import { createFederation, parseSpec, secureInput } from '../../src/federation/index.js';
import { sparseUpdate } from '../../src/common/update.js';
import { makeDataset } from '../../src/data/types.js';
import { assertClose, recorder, secaggKind } from './secure-helpers.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();
const adgp = { name: 'adgp', options: { pTop: 0.05, pKeep: 0.2 } };
const CLIP = 1;

/** The bound on one parameter's difference after one server step: lr x (quantisation + float32 rounding of both means) + rounding of the step. */
function stepTolerance(s: FederatedSpec, meanErrorBound: number, clients: number, params: readonly Float32Array[]): number {
  const largest = Math.max(...params.map((p) => p.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  return s.lr * (meanErrorBound + (clients + 2) * 2 ** -24 * CLIP) * (1 + s.weightDecay) + 2 ** -22 * largest;
}

async function firstRound(s: FederatedSpec, options: Parameters<typeof createFederation>[2] = {}, splits: Parameters<typeof createFederation>[1] = data) {
  const fed = createFederation(s, splits, options);
  const record = await fed.server.runRound();
  return { fed, record, params: fed.server.model.params.map((t) => t.data) };
}

describe('secure aggregation in the federated round', () => {
  for (const [label, defense] of [['ADGP (values at the common set)', adgp], ['undefended (dense)', { name: 'none', options: {} }], ['DP (dense)', { name: 'dp', options: { clip: 1, noiseMultiplier: 0.01 } }]] as const) {
    it(`${label}: the server's model equals plain aggregation's within the quantisation bound`, async () => {
      const base = spec({ clients: 4, defense });
      const plain = await firstRound(base);
      const secure = await firstRound({ ...base, secureAggregation: { threshold: 3, clip: CLIP } });
      const r = secure.record;
      assert.deepEqual(r.dropped, []);
      assert.equal(r.failed, undefined);
      assert.deepEqual(r.secure!.contributors, [0, 1, 2, 3]);
      assert.equal(r.secure!.clippedFraction, 0, 'nothing beyond the clip in this round');
      assert.ok(r.secure!.meanErrorBound > 0 && r.secure!.meanErrorBound < 1e-8, `bound ${r.secure!.meanErrorBound}`);
      const tol = stepTolerance(base, r.secure!.meanErrorBound, 4, plain.params);
      const worst = assertClose(secure.params, plain.params, tol, label);
      assert.ok(worst > 0 || defense.name !== 'none', 'the two paths are different computations (float32 sums against a fixed-point one)');
      // The record's figures come from the sum too.
      assert.ok(Math.abs(r.trainLoss - plain.record.trainLoss) < 1e-5, `loss ${r.trainLoss} vs ${plain.record.trainLoss}`);
      assert.ok(Math.abs(r.relGradDistance! - plain.record.relGradDistance!) < 1e-5);
      assert.ok(Math.abs(r.keptFraction! - plain.record.keptFraction!) < 1e-6);
    });
  }

  it('weighs each client by its examples: a client with a short batch counts for less, as in plain aggregation', async () => {
    // Client 2 holds 3 examples, so its batch is 3 where the others' are 8 (the 8x8 images in a 28x28 frame, MNIST's shape).
    const own = [0, 1, 2, 3].map((c) => {
      const n = c === 2 ? 3 : 40;
      const images = new Float32Array(n * 784);
      for (let i = 0; i < n; i++) for (let p = 0; p < 64; p++) images[i * 784 + 28 * (p >> 3) + (p & 7)] = data.train.images[(c * 40 + i) * 64 + p]!;
      return makeDataset('mnist', images, data.train.labels.slice(c * 40, c * 40 + n), { channels: 1, height: 28, width: 28 }, `client ${c}`);
    });
    const base = spec({ clients: 4 });
    // (Were the weights ignored, the short batch would count as much as a full one: the model would be off by about lr x |g|, far beyond the bound.)
    const plain = await firstRound(base, { clientData: own }, { test: own[0]! });
    const secure = await firstRound({ ...base, secureAggregation: { threshold: 4, clip: CLIP } }, { clientData: own }, { test: own[0]! });
    const bound = secure.record.secure!.meanErrorBound;
    assertClose(secure.params, plain.params, stepTolerance(base, bound, 4, plain.params), 'examples-weighted mean');
    assert.ok(Math.abs(secure.record.trainLoss - plain.record.trainLoss) < 1e-5);
  });

  it('several rounds with ADGP stay with the plain run (every round a fresh protocol round)', async () => {
    const base = spec({ clients: 4, rounds: 4, defense: adgp });
    const plain = createFederation(base, data);
    const secure = createFederation({ ...base, secureAggregation: { threshold: 3, clip: CLIP } }, data);
    for (let r = 0; r < 4; r++) {
      await plain.server.runRound();
      const record = await secure.server.runRound();
      assert.equal(record.failed, undefined);
    }
    assertClose(secure.server.model.params.map((t) => t.data), plain.server.model.params.map((t) => t.data), 1e-5, 'after 4 rounds');
    for (const c of secure.clients) assert.equal(c.getState().replicaRound, 4, 'every replica took the values-only broadcasts');
  });

  it('samples fewer clients per round: masks only among the sampled ones', async () => {
    const { recording, transport } = recorder();
    const fed = createFederation(spec({ clients: 8, fraction: 0.5, rounds: 3, defense: adgp, secureAggregation: { threshold: 3, clip: CLIP } }), data, { transport });
    for (let r = 0; r < 3; r++) {
      const record = await fed.server.runRound();
      assert.equal(record.sampled.length, 4);
      assert.deepEqual(record.secure!.contributors, record.sampled);
    }
    // A client that was never sampled saw no secure-aggregation message.
    for (let c = 0; c < 8; c++) {
      const kinds = (recording.down.get(c) ?? []).map(secaggKind).filter((k) => k !== null);
      assert.equal(kinds.length % 3, 0, `client ${c}: roster, relay and unmask request per round it took part in`);
    }
  });

  it('counts every secure-aggregation message in the bytes up and down', async () => {
    const { recording, transport } = recorder();
    const fed = createFederation(spec({ clients: 4, defense: adgp, secureAggregation: { threshold: 3, clip: CLIP } }), data, { transport });
    await fed.server.runRound();
    await fed.server.runRound();
    const total = (m: Map<number, Uint8Array[]>, c: number) => (m.get(c) ?? []).reduce((n, b) => n + b.length, 0);
    for (let c = 0; c < 4; c++) {
      assert.equal(fed.server.bytesUp[c], total(recording.up, c), `client ${c} up`);
      assert.equal(fed.server.bytesDown[c], total(recording.down, c), `client ${c} down`);
      const kinds = recording.up.get(c)!.map(secaggKind);
      assert.deepEqual(kinds, [null, 'advertise', 'shares', 'masked', 'unmask-response', null, 'advertise', 'shares', 'masked', 'unmask-response'], 'proposal, then the four steps, per round');
    }
  });

  it('refuses sparse updates at each client\'s own positions (DGP, Top-k), naming the defense', () => {
    for (const name of ['dgp', 'topk', 'randomk']) {
      assert.throws(() => parseSpec(spec({ defense: { name, options: {} }, secureAggregation: { threshold: 2, clip: 1 } })), new RegExp(`secureAggregation.defense: ${name} sends each client's values at positions of its own choosing`));
    }
    assert.throws(() => parseSpec(spec({ clients: 4, fraction: 0.5, secureAggregation: { threshold: 3, clip: 1 } })), /secureAggregation.threshold: 3 exceeds the 2 clients sampled per round/);
    assert.throws(() => parseSpec(spec({ clients: 300, secureAggregation: { threshold: 3, clip: 1 } })), /at most 255 clients per round/);
    assert.throws(() => parseSpec(spec({ clients: 10, secureAggregation: { threshold: 8, clip: 1, neighbours: 4 } })), /exceeds neighbours \+ 1 = 5/);
    assert.throws(() => parseSpec(spec({ secureAggregation: { threshold: 2, clip: 0 } })), /secureAggregation.clip/);
    // The client refuses such an update too, should one reach it.
    const layout = { params: [{ name: 'w', shape: [4] }], buffers: [] };
    const update = [sparseUpdate('w', [4], Uint32Array.of(1), Float32Array.of(0.5))];
    assert.throws(() => secureInput(layout, { update, buffers: [], examples: 1, loss: 0, report: {} }, 1, 1), /sparse update at positions of this client's own choosing/);
    // An old spec, without the field, still reads (checkpoints written before secure aggregation existed).
    assert.equal(parseSpec(spec()).secureAggregation, undefined);
  });
});
