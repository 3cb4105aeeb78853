import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSgd, stepSchedule, type SgdOptionsInput } from '../../src/optim/index.js';
import { referenceJson } from '../helpers/reference.js';

function run(options: SgdOptionsInput, p0: number[], grads: number[][]): number[][] {
  const sgd = createSgd(options);
  const params = [{ name: 'p', shape: [p0.length], data: Float32Array.from(p0) }];
  let state = sgd.init(params);
  return grads.map((g) => {
    state = sgd.step(params, [{ name: 'p', shape: [g.length], data: Float32Array.from(g) }], state);
    return [...params[0]!.data];
  });
}

function close(got: number[][], want: number[][], tol: number): void {
  got.forEach((row, s) => row.forEach((x, i) => assert.ok(Math.abs(x - want[s]![i]!) <= tol, `step ${s + 1} [${i}]: ${x} vs ${want[s]![i]}`)));
}

test('SGD matches hand-computed PyTorch steps', () => {
  const ones = [[1], [1], [1]];
  // buf = d first, then 0.9 buf + d; p -= 0.1 buf
  close(run({ lr: 0.1, momentum: 0.9 }, [1], ones), [[0.9], [0.71], [0.439]], 1e-6);
  // d = g + 0.1 p: 1.1 then 1 + 0.089; buf 1.1 then 0.99 + 1.089 = 2.079
  close(run({ lr: 0.1, momentum: 0.9, weightDecay: 0.1 }, [1], ones.slice(0, 2)), [[0.89], [0.6821]], 1e-6);
  // nesterov: step uses d + 0.9 buf: 1.9, then 1 + 0.9 * 1.9 = 2.71
  close(run({ lr: 0.1, momentum: 0.9, nesterov: true }, [1], ones.slice(0, 2)), [[0.81], [0.539]], 1e-6);
  // dampening applies from the second step on: buf = 0.9 * 1 + 0.5 * 1
  close(run({ lr: 0.1, momentum: 0.9, dampening: 0.5 }, [1], ones.slice(0, 2)), [[0.9], [0.76]], 1e-6);
  // plain SGD with weight decay
  close(run({ lr: 0.5, weightDecay: 0.2 }, [2], [[1]]), [[2 - 0.5 * 1.4]], 1e-6);
});

// torch.optim.SGD on 4 steps, PyTorch 1.13 (CPU, float32), from fixtures/reference/optim_ref.py.
const torchCases = referenceJson<{ sgd: { options: SgdOptionsInput; p0: number[]; grads: number[][]; trajectory: number[][] }[] }>('optim.json').sgd;

test('SGD matches torch.optim.SGD trajectories bit for bit', () => {
  assert.equal(torchCases.length, 4);
  for (const c of torchCases) assert.deepEqual(run(c.options, c.p0, c.grads), c.trajectory.map((row) => row.map(Math.fround)));
});

test('SGD state is plain data and options are checked', () => {
  const sgd = createSgd({ lr: 0.1, momentum: 0.9 });
  const params = [{ name: 'p', shape: [2], data: new Float32Array([1, 2]) }];
  const s1 = sgd.step(params, [{ name: 'p', shape: [2], data: new Float32Array([1, 1]) }], sgd.init(params));
  assert.deepEqual(structuredClone(s1), s1);
  assert.equal(s1.step, 1);
  assert.throws(() => createSgd({ lr: 0.1, nesterov: true }), /sgd: nesterov needs momentum > 0/);
  assert.throws(() => createSgd({ lr: -1 }), /sgd: option "lr"/);
  assert.throws(() => sgd.step(params, [], s1), /1 parameters, 0 gradients/);
});

test('step learning-rate schedule', () => {
  const lr = stepSchedule({ milestones: [50, 75], values: [0.1, 0.01, 0.005] });
  assert.deepEqual([0, 49, 50, 74, 75, 1000].map(lr), [0.1, 0.1, 0.01, 0.01, 0.005, 0.005]);
  assert.throws(() => stepSchedule({ milestones: [5], values: [0.1] }), /one more value than milestones/);
  assert.throws(() => stepSchedule({ milestones: [5, 5], values: [1, 2, 3] }), /milestones must increase \(got 5 then 5\)/);
});
