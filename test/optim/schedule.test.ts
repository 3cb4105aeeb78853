// Learning-rate schedules against torch.optim.lr_scheduler (fixtures/reference/optim_ref.py), and
// the places that use them: the attacks' schedules, a federated run's rounds, `--lr-steps`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { trainCommand } from '../../src/cli/train.js';
import { lrSchedule } from '../../src/federation/index.js';
import { cosineSchedule, decaySchedule, learningRate, parseLrSteps, stepSchedule } from '../../src/optim/index.js';
import { referenceJson } from '../helpers/reference.js';

const torch = referenceJson<{
  schedules: {
    multistep: { base: number; milestones: number[]; gamma: number; steps: number; lr: number[] };
    cosine: { base: number; total: number; steps: number; lr: number[] };
  };
}>('optim.json').schedules;

function close(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  got.forEach((x, t) => assert.ok(Math.abs(x - want[t]!) <= tol * Math.abs(want[t]!) + 1e-18, `${what}, step ${t}: ${x} vs torch ${want[t]}`));
}

const steps = (n: number) => Array.from({ length: n }, (_, t) => t);

test('step decay is torch MultiStepLR, and so is the attacks\' step schedule (x0.1 at 3/8, 5/8, 7/8)', () => {
  const m = torch.multistep;
  close(steps(m.steps).map(decaySchedule(m)), m.lr, 1e-15, 'decaySchedule');
  // 24 steps: the milestones fall at 9, 15 and 21, where torch's were put.
  close(steps(m.steps).map((t) => learningRate(m.base, { kind: 'step' }, t, m.steps)), m.lr, 1e-15, 'learningRate step');
  close(steps(m.steps).map(stepSchedule({ milestones: m.milestones, values: [0.1, 0.01, 0.001, 0.0001] })), m.lr, 1e-12, 'stepSchedule');
  assert.throws(() => stepSchedule({ milestones: [5], values: [0.1] }), /one more value than milestones/);
  assert.throws(() => stepSchedule({ milestones: [5, 5], values: [1, 2, 3] }), /milestones must increase \(got 5 then 5\)/);
  // A run too short for distinct milestones (2 steps: 0, 1, 1) decays at once, as MultiStepLR does with repeated ones.
  assert.deepEqual([0, 1].map((t) => learningRate(1, { kind: 'step' }, t, 2)), [0.1, 0.1 ** 3]);
});

test('cosine decay is torch CosineAnnealingLR (eta_min 0), with a linear warm-up before it', () => {
  const c = torch.cosine;
  // torch updates the rate recursively, so it drifts from the closed form in the last digits.
  close(steps(c.steps).map(cosineSchedule(c)), c.lr, 1e-12, 'cosineSchedule');
  assert.equal(cosineSchedule(c)(c.total + 5), 0, 'held at 0 past the end');
  const warm = cosineSchedule({ base: 0.1, total: 10, warmup: 4 });
  close([0, 1, 2, 3].map(warm), [0.025, 0.05, 0.075, 0.1], 1e-15, 'warm-up');
  close([4, 7, 10].map(warm), [0.1, 0.05, 0], 1e-15, 'decay after the warm-up');
  close(steps(10).map((t) => learningRate(0.1, { kind: 'cosine', warmup: 4 }, t, 10)), steps(10).map(warm), 0, 'learningRate cosine');
  assert.equal(learningRate(0.1, { kind: 'constant' }, 7, 10), 0.1);
});

test('a federated run\'s schedule counts rounds from 1: cosine from lr at round 1, step from the given round on', () => {
  const cos = lrSchedule({ lr: 0.1, schedule: 'cosine', lrSteps: [], rounds: 24 });
  close(steps(24).map((t) => cos(t + 1)), torch.cosine.lr.slice(0, 24), 1e-12, 'federated cosine');
  const step = lrSchedule({ lr: 0.1, schedule: 'step', lrSteps: [[3, 0.01], [5, 0.005]], rounds: 6 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(step), [0.1, 0.1, 0.01, 0.01, 0.005, 0.005]);
  assert.deepEqual([1, 50].map(lrSchedule({ lr: 0.2, schedule: 'constant', lrSteps: [], rounds: 50 })), [0.2, 0.2]);
});

test('--lr-steps: AT:LR pairs, checked by the option schema', () => {
  assert.deepEqual(parseLrSteps('10:0.01,15:0.005'), [[10, 0.01], [15, 0.005]]);
  assert.deepEqual(parseLrSteps('5:1e-3'), [[5, 0.001]]);
  assert.deepEqual(parseLrSteps(undefined), []);
  const o = parseCommand(trainCommand, ['--schedule', 'step', '--lr-steps', '2:0.01,4:.001']);
  assert.equal(o?.lrSteps, '2:0.01,4:.001');
  for (const bad of ['10', '10:', ':0.1', '10:0.1,', '10-0.1', '10:abc', '1.5:0.1']) {
    assert.throws(() => parseCommand(trainCommand, ['--lr-steps', bad]), (e: Error) => e instanceof UsageError && /^invalid --lr-steps: expected EPOCH:LR/.test(e.message), bad);
  }
});
