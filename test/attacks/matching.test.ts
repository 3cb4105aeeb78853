import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCase, modelAtRound, runnerFor } from '../../src/attacks/case.js';
import { oneHot } from '../../src/attacks/labels.js';
import { MatchingProblem } from '../../src/attacks/matching.js';
import { createAttack } from '../../src/attacks/registry.js';
import { observedGradient, sentMasks } from '../../src/attacks/threat.js';
import { Rng } from '../../src/common/rng.js';
import { createDefense } from '../../src/defenses/registry.js';
import { mlp } from '../../src/models/index.js';
import { syntheticDataset } from './helpers.js';

const model = mlp({ inputShape: [1, 6, 6], hidden: 16 });
const labels = [3, 7];

async function dgpCase() {
  const state = await modelAtRound(model, 0, { seed: 5 });
  const data = syntheticDataset(labels, [1, 6, 6], 5);
  return buildCase({ model, state, data, indices: [0, 1], defense: createDefense('dgp'), seed: 5, knows: { batchSize: true, labels: true } });
}

/** A candidate batch and its exact gradient, computed by the training runner (not by the attack code). */
async function candidate(seed: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: 2 * 36 }, () => rng.normal());
  const y = oneHot(labels, 10);
  const c = await dgpCase();
  const g = (await runnerFor(model).lossAndGrad(c.threat.params, x, [2, 1, 6, 6], y)).grads;
  return { c, x, y, g };
}

test('the mask-aware L2 objective ignores unsent coordinates (sum over sent ones only); the plain one matches zeros there', async () => {
  const { c, x, y, g } = await candidate(1);
  const target = observedGradient(c.threat);
  const masks = sentMasks(c.threat);
  let onSent = 0;
  let all = 0;
  let [dot, gg, tt] = [0, 0, 0];
  g.forEach((t, i) => {
    for (let j = 0; j < t.data.length; j++) {
      const d = t.data[j]! - target[i]!.data[j]!;
      all += d * d;
      if (masks[i]!.data[j] === 1) {
        onSent += d * d;
        dot += t.data[j]! * target[i]!.data[j]!;
        gg += t.data[j]! ** 2;
        tt += target[i]!.data[j]! ** 2;
      }
    }
  });
  const cos = await new MatchingProblem(c.threat, { objective: 'cosine', maskAware: true, labelMode: 'fixed' }, 2).valueAndGrad({ x, labels: y });
  const want = 1 - dot / Math.sqrt(gg * tt);
  assert.ok(Math.abs(cos.match - want) < 1e-5, `masked cosine ${cos.match} vs ${want}`);
  const sent = masks.reduce((s, m) => s + m.data.reduce((a, v) => a + v, 0), 0);
  const total = masks.reduce((s, m) => s + m.data.length, 0);
  assert.ok(sent < 0.3 * total, `DGP sent ${sent} of ${total}`);
  const masked = await new MatchingProblem(c.threat, { objective: 'l2', maskAware: true, labelMode: 'fixed' }, 2).valueAndGrad({ x, labels: y });
  const plain = await new MatchingProblem(c.threat, { objective: 'l2', maskAware: false, labelMode: 'fixed' }, 2).valueAndGrad({ x, labels: y });
  assert.ok(Math.abs(masked.match - onSent) <= 1e-5 * onSent, `masked ${masked.match} vs ${onSent}`);
  assert.ok(Math.abs(plain.match - all) <= 1e-5 * all, `plain ${plain.match} vs ${all}`);
});

test('for a dense update the mask-aware objective is the plain one', async () => {
  const state = await modelAtRound(model, 0, { seed: 5 });
  const c = await buildCase({ model, state, data: syntheticDataset(labels, [1, 6, 6], 5), indices: [0, 1], defense: createDefense('none'), seed: 5 });
  const x = Float32Array.from({ length: 72 }, (_, i) => Math.sin(i));
  const y = oneHot(labels, 10);
  const m = await new MatchingProblem(c.threat, { objective: 'l2', maskAware: true, labelMode: 'fixed' }, 2).valueAndGrad({ x, labels: y });
  const p = await new MatchingProblem(c.threat, { objective: 'l2', maskAware: false, labelMode: 'fixed' }, 2).valueAndGrad({ x, labels: y });
  assert.ok(Math.abs(m.match - p.match) <= 1e-6 * p.match);
});

test('attacks fail clearly when the threat model lacks what they need', async () => {
  const c = await dgpCase();
  await assert.rejects(createAttack('ig-mask').run({ ...c.threat, positionsVisible: false }, { seed: 0 }), /ig-mask needs which positions of a sparse update were sent/);
  await assert.rejects(createAttack('dlg').run({ ...c.threat, batchSize: undefined }, { seed: 0 }), /dlg needs the batch size/);
  await assert.rejects(createAttack('gradinversion').run(c.threat, { seed: 0 }), /batch-norm running statistics/);
  await assert.rejects(createAttack('rtf').run(c.threat, { seed: 0 }), /imprint layer/);
  assert.throws(() => createAttack('nope'), /unknown attack 'nope' \(choose one of dlg, dlg-mask/);
});
