// The federated round against its definition: undefended CL-SGD with equal batches is one SGD step
// on the union of the clients' batches, because the mean of per-client mean gradients is the
// gradient of the union batch. A second round checks that every client's replica followed the
// server's model (its gradient is taken at the replica).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorList } from '../../src/common/tensors.js';
import { BatchSampler, getBatch } from '../../src/data/index.js';
import { createFederation } from '../../src/federation/index.js';
import { initParams } from '../../src/models/index.js';
import { createSgd } from '../../src/optim/index.js';
import { oneHotLabels } from '../../src/train/evaluate.js';
import { spec, syntheticSplits } from './helpers.js';

function maxRelDiff(a: TensorList, b: TensorList): number {
  let worst = 0;
  a.forEach((t, i) => {
    let d = 0;
    let n = 0;
    t.data.forEach((v, j) => {
      d = Math.max(d, Math.abs(v - b[i]!.data[j]!));
      n = Math.max(n, Math.abs(v));
    });
    worst = Math.max(worst, d / Math.max(n, 1e-12));
  });
  return worst;
}

describe('CL-SGD round vs centralised step', () => {
  for (const model of ['mlp', 'lenet'] as const) {
    it(`${model}: an undefended round equals one SGD step on the union batch, twice`, async () => {
      const data = syntheticSplits();
      const s = spec({ model: { name: model, width: 1, init: 'torch' }, clients: 4, batchSize: 8 });
      const fed = createFederation(s, data);
      // The batches the clients will draw, from copies of their samplers.
      const samplers = fed.clients.map((c) => BatchSampler.fromState(c.getState().sampler));
      const params = initParams(fed.model.params, s.seed);
      const sgd = createSgd({ lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
      let state = sgd.init(params);
      for (let round = 1; round <= 2; round++) {
        const record = await fed.server.runRound();
        assert.deepEqual(record.dropped, []);
        const union = samplers.flatMap((x) => Array.from(x.next()));
        assert.equal(union.length, 32);
        const batch = getBatch(data.train, union, { normalize: true });
        const r = await fed.runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, 10));
        state = sgd.step(params, r.grads, state);
        assert.ok(Math.abs(record.trainLoss - r.loss) < 1e-5 * Math.abs(r.loss), `round ${round}: loss ${record.trainLoss} vs ${r.loss}`);
        const diff = maxRelDiff(params, fed.server.model.params);
        assert.ok(diff < 1e-5, `round ${round}: parameters differ by ${diff} (relative to each tensor's largest entry)`);
      }
    });
  }
});
