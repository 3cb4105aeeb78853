// Centralised training (one party holding all the data): the baseline every collaborative run is
// compared with, and the `dgp train` default when --clients is 1.
import { Rng, type RngState, cloneTensors, sizeOf, type TensorList, type TensorLayout } from '../common/index.js';
import { type Dataset, epochBatches, getBatch } from '../data/index.js';
import { initParams, type Model } from '../models/index.js';
import { createAdam, createSgd, type SgdOptionsInput } from '../optim/index.js';
import { evaluate, oneHotLabels } from './evaluate.js';
import { ModelRunner, updateRunningStats } from './runner.js';
import { Nullable } from './train-checkpoint.js';

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
  /** Continue from a checkpointed state (centralised-checkpoint.ts) instead of the initial model. */
  resume?: TrainState;
  /**
   * Called once at the start with a function that returns the state after the last completed
   * step, whenever it is called (after a step, or from a signal handler between two steps).
   */
  onState?: (current: () => TrainState) => void;
  /** Called after every step (e.g. to write a checkpoint every N steps). */
  onStep?: (step: number, current: () => TrainState) => void;
}

/** Everything a run needs to continue exactly where it stopped: model, optimizer, sampler position, history. */
export interface TrainState {
  /** Steps done. */
  step: number;
  /** The epoch in progress, its sampler's generator state at its start, and the batches of it done. */
  epoch: number;
  epochRng: RngState;
  stepInEpoch: number;
  /** Running mean of the training loss (null before the first step). */
  lossAvg: number | null;
  history: TrainHistoryEntry[];
  params: TensorList;
  buffers: TensorList;
  /** The optimizer's state: plain data (numbers, Float32Arrays). */
  optimizer: unknown;
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
  const r0 = o.resume;
  const params = r0 ? cloneTensors(r0.params) : initParams(model.params, o.seed);
  const buffers = r0 ? cloneTensors(r0.buffers) : initParams(model.buffers, o.seed);
  const runner = new ModelRunner(model);
  const optimizer = createOptimizer(o, params);
  if (r0) optimizer.setState(structuredClone(r0.optimizer));
  const stepsPerEpoch = Math.floor(train.count / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const history: TrainHistoryEntry[] = r0 ? structuredClone(r0.history) : [];
  const rng = r0 ? Rng.fromState(r0.epochRng) : new Rng(o.seed);
  let step = r0?.step ?? 0;
  let lossAvg = r0?.lossAvg ?? NaN;
  let epoch = r0?.epoch ?? 0;
  let epochRng = rng.getState();
  let stepInEpoch = r0?.stepInEpoch ?? 0;
  const current = (): TrainState => ({
    step, epoch, epochRng, stepInEpoch, lossAvg: Number.isNaN(lossAvg) ? null : lossAvg, history: [...history], params, buffers, optimizer: optimizer.getState(),
  });
  o.onState?.(current);
  for (; epoch < o.epochs; epoch++, stepInEpoch = 0) {
    epochRng = rng.getState();
    let skip = stepInEpoch;
    for (const idx of epochBatches(train.count, o.batchSize, rng, { dropLast: true })) {
      if (skip > 0) {
        skip--;
        continue;
      }
      const batch = getBatch(train, idx, { normalize: true });
      const r = await runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, model.numClasses));
      if (!Number.isFinite(r.loss)) throw new Error(`training diverged at step ${step} (loss ${r.loss}); lower --lr`);
      updateRunningStats(buffers, r.bnStats);
      optimizer.step(r.grads, o.lrAt(step / stepsPerEpoch));
      step++;
      stepInEpoch++;
      lossAvg = Number.isNaN(lossAvg) ? r.loss : 0.98 * lossAvg + 0.02 * r.loss;
      const entry: TrainHistoryEntry = { step, epoch, trainLoss: lossAvg };
      if (o.evalEvery > 0 && step % o.evalEvery === 0 && step < totalSteps) {
        entry.testAccuracy = (await evaluate(runner, params, buffers, test, 500, o.testLimit)).accuracy;
        history.push(entry);
      }
      o.onStep?.(step, current);
      o.onProgress?.({ step, totalSteps, loss: lossAvg, accuracy: entry.testAccuracy });
    }
  }
  // The loop leaves `epoch` at o.epochs; the state stays "at the end of the last epoch" for a checkpoint.
  epoch = o.epochs;
  const final = await evaluate(runner, params, buffers, test, 500, o.testLimit);
  history.push({ step, epoch: o.epochs, trainLoss: lossAvg, testAccuracy: final.accuracy });
  return { params, buffers, testAccuracy: final.accuracy, testLoss: final.loss, steps: step, history };
}

/** What the optimizer's state looks like for these parameters, for checking a checkpointed one. */
export function optimizerTemplate(optimizer: TrainOptions['optimizer'], layout: readonly TensorLayout[]): unknown {
  if (optimizer === 'adam') return createAdam({ lr: 1 }).init(layout);
  return { step: 0, momentumBuffers: layout.map((p) => new Nullable(new Float32Array(sizeOf(p.shape)))) };
}

/** The chosen optimizer, its state held here so a checkpoint can read and restore it. */
function createOptimizer(o: TrainOptions, params: TensorList): { step(grads: TensorList, lr: number): void; getState(): unknown; setState(s: unknown): void } {
  if (o.optimizer === 'adam') {
    const adam = createAdam({ lr: o.sgd.lr, weightDecay: o.sgd.weightDecay });
    let state = adam.init(params);
    return { step: (grads, lr) => void (state = adam.step(params, grads, state, lr)), getState: () => state, setState: (s) => void (state = s as typeof state) };
  }
  const sgd = createSgd(o.sgd);
  let state = sgd.init(params);
  return { step: (grads, lr) => void (state = sgd.step(params, grads, state, lr)), getState: () => state, setState: (s) => void (state = s as typeof state) };
}
