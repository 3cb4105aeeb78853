// The messages and what the server does with them: envelopes that refuse damage, a sync that
// carries the whole optimizer state, a broadcast that goes sparse only when that is smaller,
// FedAvg's mean of client models, and batch-norm statistics averaged over the clients.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cloneTensors, type TensorList } from '../../src/common/tensors.js';
import { layoutOf } from '../../src/common/update.js';
import { BatchSampler, getBatch } from '../../src/data/index.js';
import { createFederation, decodeMessage, encodeMessage, Replica } from '../../src/federation/index.js';
import { initParams } from '../../src/models/index.js';
import { createSgd } from '../../src/optim/index.js';
import { oneHotLabels } from '../../src/train/evaluate.js';
import { updateRunningStats } from '../../src/train/runner.js';
import { spec, syntheticSplits } from './helpers.js';

function assertClose(actual: TensorList, expected: TensorList, tol: number, what: string): void {
  actual.forEach((t, i) => t.data.forEach((v, j) => {
    const e = expected[i]!.data[j]!;
    assert.ok(Math.abs(v - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${t.name}[${j}] ${v} vs ${e}`);
  }));
}

describe('envelope', () => {
  const fit = encodeMessage({ type: 'fit', round: 3, modelRound: 2, task: { payload: 'gradient', localSteps: 1, lr: 0, weightDecay: 0 } });

  it('round-trips and names what is wrong', () => {
    assert.equal(decodeMessage(fit, 'fit').control.round, 3);
    assert.throws(() => decodeMessage(fit, 'broadcast'), /broadcast message: got a "fit" message/);
    const bad = fit.slice();
    bad[0] = 0;
    assert.throws(() => decodeMessage(bad, 'fit'), /bad magic/);
    assert.throws(() => decodeMessage(fit.subarray(0, 12), 'fit'), /control part of \d+ bytes exceeds the message/);
    const wrong = encodeMessage({ type: 'fit', round: 3, modelRound: 2, task: { payload: 'gradient', localSteps: 0, lr: 0, weightDecay: 0 } } as never);
    assert.throws(() => decodeMessage(wrong, 'fit'), /control field "task.localSteps"/);
  });
});

describe('server and clients', () => {
  it('a sync carries parameters, buffers and momentum, and a replica built from it is the same model', async () => {
    const fed = createFederation(spec({ clients: 2, rounds: 2 }), syntheticSplits());
    await fed.server.runRound();
    const m = fed.server.model;
    assert.ok(m.optState.momentumBuffers.every((b) => b !== null));
    const copy = Replica.fromSync(m.syncMessage(1), fed.layout, 1);
    assert.deepEqual(copy.params, m.params);
    assert.deepEqual(copy.optState, m.optState);
    assert.deepEqual(copy.optimizerOptions, m.optimizerOptions);
    assert.throws(() => Replica.fromSync(m.syncMessage(1), fed.layout, 0), /from client 1 where 0 was expected/);
  });

  it('the broadcast is sparse while the union of bands is small, dense when it covers the tensor', async () => {
    const few = createFederation(spec({ clients: 2, defense: { name: 'dgp', options: { pKeep: 0.05, pTop: 0.01 } } }), syntheticSplits());
    const many = createFederation(spec({ clients: 2 }), syntheticSplits());
    const sync = few.server.model.syncMessage(0).length;
    const a = await few.server.runRound();
    const b = await many.server.runRound();
    // Down = two syncs (no momentum yet), two fit messages and two copies of the broadcast.
    const broadcastFew = (a.bytesDown - 2 * sync) / 2;
    const broadcastMany = (b.bytesDown - 2 * sync) / 2;
    const dense = denseBytes(few.layout.params);
    assert.ok(broadcastMany > dense, `undefended broadcast ${broadcastMany} vs dense ${dense}`);
    assert.ok(broadcastFew < 0.25 * dense, `DGP broadcast ${broadcastFew} vs dense ${dense}`);
  });

  it('FedAvg: the new model is the mean of the clients\' models after their local steps', async () => {
    const data = syntheticSplits();
    const s = spec({ clients: 3, algorithm: 'fedavg', localSteps: 3, lr: 0.05, weightDecay: 0, momentum: 0 });
    const fed = createFederation(s, data);
    const samplers = fed.clients.map((c) => BatchSampler.fromState(c.getState().sampler));
    const start = initParams(fed.model.params, s.seed);
    const sgd = createSgd({ lr: s.lr });
    const mean = cloneTensors(start).map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
    for (const sampler of samplers) {
      const p = cloneTensors(start);
      let st = sgd.init(p);
      for (let k = 0; k < 3; k++) {
        const batch = getBatch(data.train, sampler.next(), { normalize: true });
        st = sgd.step(p, (await fed.runner.lossAndGrad(p, batch.x, batch.shape, oneHotLabels(batch.y, 10))).grads, st);
      }
      p.forEach((t, i) => t.data.forEach((v, j) => (mean[i]!.data[j]! += v / 3)));
    }
    await fed.server.runRound();
    assertClose(fed.server.model.params, mean, 1e-5, 'FedAvg model');
  });

  it('batch norm: the server\'s running statistics are the mean of the clients\' after their step', async () => {
    const data = syntheticSplits();
    const s = spec({ clients: 3, model: { name: 'resnet18', width: 0.0625, init: 'torch' } });
    const fed = createFederation(s, data);
    assert.ok(fed.layout.buffers.length > 0);
    const samplers = fed.clients.map((c) => BatchSampler.fromState(c.getState().sampler));
    const params = initParams(fed.model.params, s.seed);
    const buffers0 = initParams(fed.model.buffers, s.seed);
    const expected = cloneTensors(buffers0).map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
    const grads = cloneTensors(params).map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
    for (const sampler of samplers) {
      const batch = getBatch(data.train, sampler.next(), { normalize: true });
      const r = await fed.runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, 10));
      const b = cloneTensors(buffers0);
      updateRunningStats(b, r.bnStats);
      b.forEach((t, i) => t.data.forEach((v, j) => (expected[i]!.data[j]! += v / 3)));
      r.grads.forEach((t, i) => t.data.forEach((v, j) => (grads[i]!.data[j]! += v / 3)));
    }
    const sgd = createSgd({ lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
    sgd.step(params, grads, sgd.init(layoutOf(params)));
    await fed.server.runRound();
    assertClose(fed.server.model.buffers, expected, 1e-5, 'running statistics');
    assertClose(fed.server.model.params, params, 1e-5, 'parameters (mean of the clients\' gradients)');
  });
});

function denseBytes(layout: { shape: number[] }[]): number {
  return 4 * layout.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
}
