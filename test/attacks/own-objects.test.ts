// An experiment takes the user's own attack, defense and model as objects as readily as names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelAtRound, observedGradient, runExperiment, type Attack } from '../../src/attacks/index.js';
import { createDefense, named } from '../../src/defenses/index.js';
import { linearModel, syntheticDataset } from './helpers.js';

/** For one example through a single dense layer, row i of dL/dW is x times dL/db_i: the input, read off. */
const linearInversion: Attack = {
  name: 'linear-inversion',
  summary: 'reads the input of a one-layer model off its weight and bias gradients (batch 1)',
  requires: [],
  run: async (threat) => {
    const [dW, db] = observedGradient(threat);
    const i = db!.data.reduce((best, v, k, a) => (Math.abs(v) > Math.abs(a[best]!) ? k : best), 0);
    const d = dW!.shape[1]!;
    const images = Float32Array.from({ length: d }, (_, j) => dW!.data[i * d + j]! / db!.data[i]!);
    return { attack: 'linear-inversion', images, shape: [1, threat.data.channels, threat.data.height, threat.data.width], objective: NaN, iterations: 0 };
  },
};

describe('runExperiment with objects', () => {
  const model = linearModel([1, 16, 16]);
  const data = syntheticDataset([3, 7, 1], [1, 16, 16]);
  const splits = { train: data, test: data };

  it('runs an Attack object of the user\'s own and records its name; undefended, the input comes back exactly', async () => {
    const state = await modelAtRound(model, 0, { seed: 1 });
    const r = await runExperiment({ attack: linearInversion, defense: 'none', model, state, data: splits, images: 2, batch: 1, seed: 1 });
    assert.equal(r.summary.attack, 'linear-inversion');
    assert.ok(r.summary.psnr > 60, `psnr ${r.summary.psnr}`);
  });

  it('a Defense object gives what the same defense by name gives, under its own name', async () => {
    const state = await modelAtRound(model, 0, { seed: 1 });
    const common = { attack: linearInversion, model, state, data: splits, images: 2, batch: 1, seed: 1 } as const;
    const byName = await runExperiment({ ...common, defense: 'dgp' });
    const byObject = await runExperiment({ ...common, defense: named('my-dgp', createDefense('dgp')) });
    assert.equal(byObject.summary.defense, 'my-dgp');
    assert.equal(byObject.summary.psnr, byName.summary.psnr);
    assert.equal(byObject.summary.relGradDistance, byName.summary.relGradDistance);
    assert.ok(byName.summary.psnr < 40, `DGP leaves psnr ${byName.summary.psnr}`);
  });
});
