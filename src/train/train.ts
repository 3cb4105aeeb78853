// Centralised training (one party holding all the data): the baseline every collaborative run is
// compared with, and the `dgp train` default when --clients is 1.
import { Rng } from '../common/rng.js';
import type { TensorList } from '../common/tensors.js';
import { type Dataset, epochBatches, getBatch } from '../data/index.js';
import { initParams, type Model } from '../models/index.js';
import { createAdam, createSgd, type SgdOptionsInput } from '../optim/index.js';
import { evaluate, oneHotLabels } from './evaluate.js';
import { ModelRunner, updateRunningStats } from './runner.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam';
  /** lr, momentum (SGD only) and weight decay. */
  sgd: SgdOptionsInput;
  /** Learning rate as a function of the (fractional) epoch. */
  lrAt: (epoch: number) => number;
  seed: number;
  /** Evaluate on the test set every this many steps (0: only at the end). */
  evalEvery: number;
  /** Limits the number of test images (for quick runs). */
  testLimit?: number;
  onProgress?: (p: { step: number; totalSteps: number; loss: number; accuracy?: number }) => void;
}

export interface TrainHistoryEntry {
  step: number;
  epoch: number;
  trainLoss: number;
  testAccuracy?: number;
}

export interface TrainResult {
  params: TensorList;
  buffers: TensorList;
  testAccuracy: number;
  testLoss: number;
  steps: number;
  history: TrainHistoryEntry[];
}

export async function trainCentralized(model: Model, train: Dataset, test: Dataset, o: TrainOptions): Promise<TrainResult> {
  const rng = new Rng(o.seed);
  const params = initParams(model.params, o.seed);
  const buffers = initParams(model.buffers, o.seed);
  const runner = new ModelRunner(model);
  const update = optimizerStep(o, params);
  const stepsPerEpoch = Math.floor(train.count / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const history: TrainHistoryEntry[] = [];
  let step = 0;
  let lossAvg = NaN;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const idx of epochBatches(train.count, o.batchSize, rng, { dropLast: true })) {
      const batch = getBatch(train, idx, { normalize: true });
      const r = await runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, model.numClasses));
      if (!Number.isFinite(r.loss)) throw new Error(`training diverged at step ${step} (loss ${r.loss}); lower --lr`);
      updateRunningStats(buffers, r.bnStats);
      update(r.grads, o.lrAt(step / stepsPerEpoch));
      step++;
      lossAvg = Number.isNaN(lossAvg) ? r.loss : 0.98 * lossAvg + 0.02 * r.loss;
      const entry: TrainHistoryEntry = { step, epoch, trainLoss: lossAvg };
      if (o.evalEvery > 0 && step % o.evalEvery === 0 && step < totalSteps) {
        entry.testAccuracy = (await evaluate(runner, params, buffers, test, 500, o.testLimit)).accuracy;
        history.push(entry);
      }
      o.onProgress?.({ step, totalSteps, loss: lossAvg, accuracy: entry.testAccuracy });
    }
  }
  const final = await evaluate(runner, params, buffers, test, 500, o.testLimit);
  history.push({ step, epoch: o.epochs, trainLoss: lossAvg, testAccuracy: final.accuracy });
  return { params, buffers, testAccuracy: final.accuracy, testLoss: final.loss, steps: step, history };
}

/** The chosen optimizer with its state held in the closure: (grads, lr) updates params in place. */
function optimizerStep(o: TrainOptions, params: TensorList): (grads: TensorList, lr: number) => void {
  if (o.optimizer === 'adam') {
    const adam = createAdam({ lr: o.sgd.lr, weightDecay: o.sgd.weightDecay });
    let state = adam.init(params);
    return (grads, lr) => void (state = adam.step(params, grads, state, lr));
  }
  const sgd = createSgd(o.sgd);
  let state = sgd.init(params);
  return (grads, lr) => void (state = sgd.step(params, grads, state, lr));
}
