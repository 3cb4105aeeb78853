// evaluate(): accuracy and mean cross-entropy over a data set in evaluation mode, checked against
// the same figures computed here in float64 from the model's formula, whatever the batch size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { getBatch } from '../../src/data/index.js';
import { initParams } from '../../src/models/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { ModelRunner } from '../../src/train/runner.js';
import { bnModel, linearModel, syntheticDataset } from '../attacks/helpers.js';

/** Accuracy and mean cross-entropy of logits = W x + b over the first n images, in float64. */
function byHand(w: Float32Array, b: Float32Array, x: Float32Array, y: ArrayLike<number>, n: number, d: number, k: number) {
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, (_, c) => b[c]! + w.subarray(c * d, (c + 1) * d).reduce((s, wj, j) => s + wj * x[i * d + j]!, 0));
    const m = Math.max(...z);
    loss += Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) + m - z[y[i]!]!;
    if (z.indexOf(m) === y[i]) correct++;
  }
  return { accuracy: correct / n, loss: loss / n, count: n };
}

test('evaluate() gives the accuracy and mean cross-entropy of the model on every image, in batches of any size', async () => {
  const rng = new Rng(31);
  const labels = Array.from({ length: 23 }, () => rng.int(4));
  const data = syntheticDataset(labels, [1, 3, 3], 32);
  const model = linearModel([1, 3, 3], 4);
  // Weights large enough for a spread of right and wrong answers.
  const params = initParams(model.params, 3).map((t) => ({ ...t, data: t.data.map((v) => v * 8) }));
  const all = getBatch(data, [...Array(23).keys()], { normalize: true });
  const want = byHand(params[0]!.data, params[1]!.data, all.x, all.y, 23, 9, 4);
  assert.ok(want.accuracy > 0 && want.accuracy < 1, `a test that shows something needs some right and some wrong: ${want.accuracy}`);
  const runner = new ModelRunner(model);
  for (const batchSize of [500, 23, 7, 1]) {
    const got = await evaluate(runner, params, [], data, batchSize);
    assert.equal(got.count, 23);
    assert.equal(got.accuracy, want.accuracy, `batch ${batchSize}: accuracy`);
    assert.ok(Math.abs(got.loss - want.loss) < 1e-5 * want.loss, `batch ${batchSize}: loss ${got.loss} vs ${want.loss}`);
  }
  // A limit takes the first images only.
  const first = byHand(params[0]!.data, params[1]!.data, all.x, all.y, 10, 9, 4);
  const limited = await evaluate(runner, params, [], data, 4, 10);
  assert.equal(limited.count, 10);
  assert.equal(limited.accuracy, first.accuracy);
  assert.ok(Math.abs(limited.loss - first.loss) < 1e-5 * first.loss);
  assert.equal((await evaluate(runner, params, [], data, 4, 1000)).count, 23, 'a limit past the end is the whole set');
});

test('evaluate() runs batch norm in evaluation mode, on the running statistics it is given', async () => {
  const labels = [0, 1, 2, 3, 0, 1, 2, 3, 1];
  const data = syntheticDataset(labels, [1, 4, 4], 33);
  const model = bnModel([1, 4, 4], 2, 4);
  const params = initParams(model.params, 4);
  const runner = new ModelRunner(model);
  const stats = (mean: number, variance: number) => initParams(model.buffers, 0).map((t) => ({ ...t, data: t.data.fill(t.name.endsWith('mean') ? mean : variance) }));
  const a = await evaluate(runner, params, stats(0, 1), data, 4);
  const b = await evaluate(runner, params, stats(0.5, 4), data, 4);
  assert.notEqual(a.loss, b.loss, 'other running statistics, other results');
  // The same as predicting the whole set at once with those statistics: no batch statistics leak in.
  const all = getBatch(data, [...Array(9).keys()], { normalize: true });
  const logits = await runner.predict(params, stats(0.5, 4), all.x, all.shape);
  let loss = 0;
  for (let i = 0; i < 9; i++) {
    const z = Array.from(logits.subarray(i * 4, i * 4 + 4));
    const m = Math.max(...z);
    loss += Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) + m - z[all.y[i]!]!;
  }
  assert.ok(Math.abs(b.loss - loss / 9) < 1e-6 * (loss / 9), `${b.loss} vs ${loss / 9}`);
});
