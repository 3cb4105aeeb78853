// The CIFAR ResNet-18 against PyTorch (fixtures/reference/resnet_bn_ref.py): its layout and
// parameter count, and, at width 1/16, the model runner's loss, gradients, batch-norm running
// statistics and evaluation-mode logits against PyTorch's float64 results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createModel, initParams, resnet18 } from '../../src/models/index.js';
import { oneHotLabels } from '../../src/train/evaluate.js';
import { ModelRunner, updateRunningStats } from '../../src/train/runner.js';
import { get, loadReference, referenceJson, relL2 } from '../helpers/reference.js';

interface Layout {
  paramCount: number;
  params: { name: string; shape: number[] }[];
  buffers: { name: string; shape: number[] }[];
}

test('ResNet-18 has PyTorch\'s layout: the same names, shapes and order, and 11,173,962 parameters', () => {
  const torch = referenceJson<Layout>('resnet18_layout.json');
  const model = createModel('resnet18', { inputShape: [3, 32, 32] });
  assert.deepEqual(model.params.map((p) => ({ name: p.name, shape: p.shape })), torch.params);
  assert.deepEqual(model.buffers.map((p) => ({ name: p.name, shape: p.shape })), torch.buffers);
  const count = model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(count, 11_173_962);
  assert.equal(torch.paramCount, 11_173_962);
  // Running statistics start as PyTorch's: mean 0, variance 1; batch-norm weight 1, bias 0.
  const buffers = initParams(model.buffers, 0);
  for (const b of buffers) assert.ok(b.data.every((v) => v === (b.name.endsWith('running_var') ? 1 : 0)), b.name);
  const params = initParams(model.params.filter((p) => /bn\d\.|shortcut\.1\./.test(p.name)), 0);
  for (const p of params) assert.ok(p.data.every((v) => v === (p.name.endsWith('weight') ? 1 : 0)), p.name);
});

// Measured (float32 through ONNX Runtime against PyTorch float64): loss below 1e-7, evaluation
// logits 8e-8, parameter gradients up to 3.7e-6 (batch-norm biases, whose gradients are sums that
// nearly cancel; convolution weights up to 2.1e-6), running statistics up to 8.2e-8. Asserted
// with a margin of 2 to 4.
const TOL = { loss: 1e-6, logits: 3e-7, grad: 8e-6, running: 3e-7 };

test('batch norm in training and evaluation mode, and the running statistics after a step, as PyTorch computes them', async () => {
  const R = loadReference('resnet_bn');
  const model = resnet18({ width: 1 / 16, inputShape: [3, 16, 16] });
  const params = model.params.map((p) => ({ name: p.name, shape: p.shape, data: get(R, `in.${p.name}`).data.slice() }));
  const buffers = model.buffers.map((b) => ({ name: b.name, shape: b.shape, data: get(R, `in.${b.name}`).data.slice() }));
  const x = get(R, 'in.x');
  const labels = get(R, 'in.y').data;
  const runner = new ModelRunner(model);

  const r = await runner.lossAndGrad(params, x.data, x.shape, oneHotLabels(labels, 10));
  const lossErr = relL2([r.loss], get(R, 'out.train.loss').data);
  assert.ok(lossErr < TOL.loss, `training loss ${r.loss} vs ${get(R, 'out.train.loss').data[0]}`);
  const worst = r.grads.map((g) => ({ name: g.name, e: relL2(g.data, get(R, `out.train.g.${g.name}`).data) })).sort((a, b) => b.e - a.e);
  assert.ok(worst[0]!.e < TOL.grad, `gradient of ${worst[0]!.name}: relative L2 error ${worst[0]!.e}`);

  // One batch-norm layer per running-statistics pair, in order; PyTorch's update is momentum 0.1
  // with the unbiased batch variance.
  assert.equal(r.bnStats.length * 2, model.buffers.length);
  const after = buffers.map((b) => ({ ...b, data: b.data.slice() }));
  updateRunningStats(after, r.bnStats);
  for (const b of after) {
    const e = relL2(b.data, get(R, `out.train.${b.name}`).data);
    assert.ok(e < TOL.running, `${b.name} after the step: relative L2 error ${e}`);
  }

  const logits = await runner.predict(params, buffers, x.data, x.shape);
  const evalErr = relL2(logits, get(R, 'out.eval.logits').data);
  assert.ok(evalErr < TOL.logits, `evaluation-mode logits: relative L2 error ${evalErr}`);
  // Evaluation mode reads the running statistics: the batch's own would give other logits.
  assert.ok(relL2(logits, get(R, 'out.train.logits').data) > 1e-2);
});
