// Outpost: pruning below a per-tensor percentile of |g|, noise of std risk x noiseBase on the top
// phi % of entries by Fisher information g^2, applied with probability 1 / (1 + decay t).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import type { TensorList } from '../../src/common/tensors.js';
import { createDefense, effectiveDefenseOptions } from '../../src/defenses/registry.js';
import { outpost, outpostRisk, percentile } from '../../src/defenses/outpost.js';
import { densify } from '../../src/common/update.js';

test('percentile interpolates between ranks as numpy.percentile does', () => {
  assert.equal(percentile(Float32Array.from([4, 1, 3, 2]), 50), 2.5);
  assert.ok(Math.abs(percentile(Float32Array.from({ length: 10 }, (_, i) => 9 - i), 80) - 7.2) < 1e-6);
  assert.equal(percentile(Float32Array.from([5]), 80), 5);
});

function setting(seed: number): { grad: TensorList; params: TensorList } {
  const rng = new Rng(seed);
  const shapes = [[64, 32], [64], [10, 64]];
  const grad = shapes.map((shape, i) => ({ name: `g${i}`, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * (i + 1)) }));
  // Layer weights of standard deviations 0.5, 0 (constant, as a fresh batch-norm weight) and 2 (risk capped at 1).
  const params = shapes.map((shape, i) => ({ name: `w${i}`, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (i === 1 ? 1 : rng.normal() * (i === 0 ? 0.5 : 2))) }));
  return { grad, params };
}

test('without noise Outpost at t = 0 keeps exactly the entries at or above each tensor\'s 80th percentile of |g|', () => {
  const { grad, params } = setting(1);
  const d = outpost({ noiseBase: 0 });
  const r = d.apply(grad, d.init([]), new Rng(2), { params, iteration: 0 });
  grad.forEach((g, i) => {
    const cut = percentile(g.data.map(Math.abs), 80);
    const v = densify([r.update[i]!])[0]!.data;
    let kept = 0;
    for (let j = 0; j < v.length; j++) {
      assert.equal(v[j], Math.abs(g.data[j]!) < cut ? 0 : g.data[j]);
      if (v[j] !== 0) kept++;
    }
    assert.ok(Math.abs(kept / v.length - 0.2) < 0.02, `${g.name} kept ${kept / v.length}`);
    // Only the kept entries travel, at their positions.
    assert.equal(r.update[i]!.kind, 'sparse');
    assert.equal(r.update[i]!.values.length, kept);
  });
  assert.equal(r.report.extra['perturbed'], 1);
});

test('noise of std min(var(w), 1) x noiseBase lands exactly on the top phi % of entries by g^2', () => {
  const { grad, params } = setting(3);
  const risk = outpostRisk(params);
  assert.ok(Math.abs(risk[0]! - 0.25) < 0.03 && risk[1] === 0 && risk[2] === 1, `risk ${risk}`);
  const d = outpost({ pruneBase: 0, phi: 40, noiseBase: 0.8 });
  const r = d.apply(grad, d.init([]), new Rng(4), { params, iteration: 0 });
  const sent = densify(r.update);
  const all = Float32Array.from(grad.flatMap((g) => Array.from(g.data, (v) => v * v)));
  const cut = percentile(all, 60);
  let noised = 0;
  grad.forEach((g, i) => {
    const diffs: number[] = [];
    g.data.forEach((v, j) => {
      const d0 = sent[i]!.data[j]! - v;
      if (v * v >= cut && risk[i]! > 0) {
        diffs.push(d0);
        noised++;
      } else assert.equal(d0, 0, `${g.name}[${j}] changed without being in the Fisher mask`);
    });
    if (diffs.length > 50) {
      const std = Math.sqrt(diffs.reduce((a, x) => a + x * x, 0) / diffs.length);
      assert.ok(Math.abs(std / (risk[i]! * 0.8) - 1) < 0.2, `${g.name}: noise std ${std}, expected ${risk[i]! * 0.8}`);
    }
  });
  assert.equal(r.report.extra['noisedEntries'], noised);
  const total = all.length - grad[1]!.data.length;
  assert.ok(noised > 0.2 * total && noised < 0.6 * total, `${noised} of ${total} noised`);
});

test('the perturbation probability decays as 1 / (1 + 0.125 t); unperturbed updates are the gradient itself', () => {
  const { grad, params } = setting(5);
  const d = outpost();
  const rng = new Rng(6);
  let perturbed = 0;
  const trials = 400;
  for (let k = 0; k < trials; k++) {
    const r = d.apply(grad, d.init([]), rng, { params, iteration: 8 });
    if (r.report.extra['perturbed']) perturbed++;
    else assert.deepEqual(r.update[0]!.values, grad[0]!.data);
  }
  assert.ok(Math.abs(perturbed / trials - 0.5) < 0.08, `perturbed ${perturbed} of ${trials} at t = 8`);
  // Without an iteration in the context, the client's own count of updates is t.
  const s1 = d.apply(grad, { t: 0 }, rng, { params }).state;
  assert.deepEqual(s1, { t: 1 });
});

test('Outpost needs the weights; it is in the registry with its defaults', () => {
  const { grad } = setting(7);
  const d = createDefense('outpost');
  assert.throws(() => d.apply(grad, d.init([]), new Rng(1)), /outpost: needs the client's current model weights/);
  assert.deepEqual(effectiveDefenseOptions('outpost'), { pruneBase: 80, phi: 40, noiseBase: 0.8, decay: 0.125, ef: false });
  assert.throws(() => createDefense('outpost', { phi: 120 }), /defense outpost: option "phi"/);
});
