// The user's own objects (Flower's way): a model, a defense and a strategy passed to a run as
// objects, where the spec says 'custom'. Objects that do exactly what a built-in does give exactly
// the built-in's run; the spec records their names; a checkpoint resumes only with them again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDefense, named, type Defense } from '../../src/defenses/index.js';
import {
  CUSTOM, createClient, createFederation, encodeMessage, lrSchedule, runFederated, sampleClients, weightedMean, type FederatedSpec, type Strategy,
} from '../../src/federation/index.js';
import { mlp } from '../../src/models/index.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();
const base = spec({ clients: 4, rounds: 4, fraction: 0.5, evalEvery: 2, defense: { name: 'dgp', options: {} } });
const custom: Partial<FederatedSpec> = { model: { name: CUSTOM }, defense: { name: CUSTOM, options: {} }, algorithm: CUSTOM };

/** CL-SGD written as a user would, from the public pieces. */
function myClsgd(s: FederatedSpec): Strategy {
  const lrAt = lrSchedule(s);
  return {
    name: 'my-clsgd',
    serverOptimizer: { lr: lrAt(1), momentum: s.momentum, weightDecay: s.weightDecay },
    configureFit: (_round, n, rng) => ({ clients: sampleClients(n, s.fraction, rng), task: { payload: 'gradient', localSteps: 1, lr: 0, weightDecay: 0 } }),
    aggregateFit: (_round, layout, results) => weightedMean(layout, results),
    serverLr: lrAt,
  };
}

const myDgp = (): Defense => named('my-dgp', createDefense('dgp'));
const myMlp = () => ({ ...mlp({ inputShape: [1, 8, 8] }), name: 'my-mlp' });

describe('a run with the user\'s own model, defense and strategy', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('objects that do what the built-ins do give the built-ins\' run exactly, and the spec records their names', async () => {
    const builtIn = await runFederated(base, data);
    const own = await runFederated({ ...base, ...custom }, data, { model: myMlp(), defense: myDgp(), strategy: myClsgd(base) });
    assert.deepEqual(own.params, builtIn.params);
    assert.deepEqual(own.history, builtIn.history);
    assert.deepEqual(own.spec.custom, { model: 'my-mlp', defense: 'my-dgp', strategy: 'my-clsgd' });
    assert.equal(own.spec.model.name, CUSTOM);
    assert.ok(own.testAccuracy > 0.1, `accuracy ${own.testAccuracy}`);
  });

  it('one part at a time: a custom strategy alone with a built-in model and defense', async () => {
    const builtIn = await runFederated(base, data);
    const own = await runFederated({ ...base, algorithm: CUSTOM }, data, { strategy: myClsgd(base) });
    assert.deepEqual(own.params, builtIn.params);
    assert.deepEqual(own.spec.custom, { strategy: 'my-clsgd' });
  });

  it('a strategy of its own kind: a coordinate-wise median of dense updates trains the model', async () => {
    const median: Strategy = {
      ...myClsgd(base),
      name: 'median',
      aggregateFit: (_round, layout, results) => [...layout.params, ...layout.buffers].map((t, k) => {
        const values = results.map((r) => {
          const u = r.tensors[k]!;
          if (u.kind !== 'dense') throw new Error('median takes dense updates');
          return u.values;
        });
        const out = new Float32Array(values[0]!.length);
        for (let i = 0; i < out.length; i++) out[i] = values.map((v) => v[i]!).sort((a, b) => a - b)[values.length >> 1]!;
        return { kind: 'dense' as const, name: t.name, shape: [...t.shape], values: out };
      }),
    };
    const r = await runFederated({ ...base, rounds: 6, fraction: 1, algorithm: CUSTOM, defense: { name: 'none', options: {} } }, data, { strategy: median });
    assert.ok(r.history.at(-1)!.trainLoss < r.history[0]!.trainLoss, `loss ${r.history[0]!.trainLoss} -> ${r.history.at(-1)!.trainLoss}`);
  });

  it('a checkpoint of a custom run resumes with the same objects, and is refused without them or with others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-custom-'));
    dirs.push(dir);
    const s = { ...base, ...custom };
    const objects = () => ({ model: myMlp(), defense: myDgp(), strategy: myClsgd(base) });
    const whole = await runFederated(s, data, objects());
    await assert.rejects(runFederated(s, data, { ...objects(), checkpoint: dir, checkpointEvery: 2, onRound: (e) => {
      if (e.round === 3) throw new Error('power cut');
    } }), /power cut/);
    await assert.rejects(runFederated(s, data, { resume: dir, model: myMlp(), strategy: myClsgd(base) }), /defense\.name is 'custom': pass your defense as options\.defense/);
    const other = named('other-dgp', createDefense('dgp'));
    await assert.rejects(runFederated(s, data, { ...objects(), defense: other, resume: dir }), /cannot resume from .*custom\.defense: "my-dgp" vs "other-dgp"/);
    const resumed = await runFederated(s, data, { ...objects(), resume: dir });
    assert.deepEqual(resumed.params, whole.params);
    assert.deepEqual(resumed.history, whole.history);
  });

  it('says what is wrong: an object without its spec marker, a marker without its object, an object that is not one', () => {
    assert.throws(() => createFederation(base, data, { defense: myDgp() }), /options\.defense is given, but the spec's defense\.name is 'dgp'; set it to 'custom'/);
    assert.throws(() => createFederation({ ...base, model: { name: CUSTOM } }, data), /model\.name is 'custom': pass your model as options\.model/);
    assert.throws(() => createFederation({ ...base, algorithm: CUSTOM }, data, { strategy: { name: 'half' } as unknown as Strategy }), /options\.strategy 'half' is not a strategy: it lacks configureFit, aggregateFit, serverLr/);
    assert.throws(() => createFederation({ ...base, model: { name: CUSTOM } }, data, { model: mlp({ inputShape: [1, 28, 28] }) }), /options\.model 'mlp' takes 1x28x28 images; the data holds 1x8x8/);
    assert.throws(() => createFederation({ ...base, custom: { model: 'x' } }, data), /records custom\.model 'x', but its model\.name is 'mlp'/);
  });

  it('a client process builds its client from the spec and the same objects (createClient), and refuses a custom spec without them', async () => {
    const s = { ...base, model: { name: CUSTOM }, defense: { name: CUSTOM, options: {} } } as const;
    assert.throws(() => createClient(s, { kind: 'share', data }, 1), /model\.name is 'custom': pass your model as options\.model/);
    const fed = createFederation(s, data, { model: myMlp(), defense: myDgp() });
    const alone = createClient(s, { kind: 'share', data }, 1, undefined, undefined, { model: myMlp(), defense: myDgp() });
    const sync = fed.server.model.syncMessage(1);
    const fit = encodeMessage({ type: 'fit', round: 1, modelRound: 0, task: { payload: 'gradient', localSteps: 1, lr: 0, weightDecay: 0 } });
    await fed.clients[1]!.sync(sync.slice());
    await alone.sync(sync.slice());
    assert.deepEqual(await alone.fit(fit.slice()), await fed.clients[1]!.fit(fit.slice()));
  });

  it('a strategy that picks a client outside the run, or aggregates to the wrong layout, fails the round with its name', async () => {
    const s = { ...base, algorithm: CUSTOM } as const;
    const far: Strategy = { ...myClsgd(base), name: 'far', configureFit: () => ({ clients: [0, 9], task: { payload: 'gradient', localSteps: 1, lr: 0, weightDecay: 0 } }) };
    await assert.rejects(createFederation(s, data, { strategy: far }).server.runRound(), /strategy far: configureFit\(round 1\): client 9 is not in 0\.\.3/);
    const short: Strategy = { ...myClsgd(base), name: 'short', aggregateFit: (_r, layout, results) => weightedMean(layout, results).slice(1) };
    await assert.rejects(createFederation(s, data, { strategy: short }).server.runRound(), /strategy short: aggregateFit\(round 1\): update has 3 tensors where 4 were expected/);
  });
});
