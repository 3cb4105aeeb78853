// The parts of `dgp train` that both modes share, and its centralised mode: checkpoints and
// resumption (--checkpoint, --resume, --force), Ctrl-C (a partial --json result, exit 130), and
// one layout of the JSON result for centralised and federated runs.
import type { DataSource } from './data.js';
import type { DatasetSplits } from '../data/index.js';
import { trainingImages } from '../federation/index.js';
import { createModel, type ModelName, saveSafetensors } from '../models/index.js';
import { cosineSchedule, parseLrSteps, stepSchedule } from '../optim/index.js';
import { ProgressBar } from '../report/index.js';
import { precodeOf } from './run-options.js';
import {
  type CentralisedSpec, checkCheckpointTarget, loadTrainCheckpoint, optimizerTemplate, resumeRefusal, saveTrainCheckpoint, trainCentralized,
  type TrainState,
} from '../train/index.js';
import { UsageError } from './args.js';
import { resultHead, withDefenseDefaults, writeResult } from './result.js';

/** The options of a centralised run, as `dgp train` has resolved them. */
export interface CentralisedOptions {
  dataset: 'mnist' | 'cifar10';
  model: ModelName;
  width: number;
  init: 'dlg' | 'torch' | 'xavier';
  precode?: boolean;
  precodeK: number;
  precodeBeta: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  batchSize: number;
  epochs?: number;
  schedule: 'step' | 'cosine' | 'constant';
  lrSteps?: string;
  momentum: number;
  weightDecay: number;
  seed: number;
  evalEvery: number;
  testLimit?: number;
  trainLimit?: number;
  json?: string;
  save?: string;
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: string;
  force?: boolean;
}

/**
 * Refuses, before any work, a --checkpoint folder that holds another run's checkpoint (unless
 * --force, or it is the folder this run resumes from).
 */
export function checkCheckpointFlags(o: { checkpoint?: string; resume?: string; force?: boolean }): void {
  if (o.checkpoint === undefined) return;
  try {
    checkCheckpointTarget(o.checkpoint, o);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * While `run` is in progress, Ctrl-C (SIGINT) calls `onInterrupt` (which writes what it can and
 * returns lines saying where), prints them and exits with 130, the shell's code for SIGINT.
 */
export async function interruptible<T>(command: string, onInterrupt: () => string[], run: () => Promise<T>): Promise<T> {
  const handler = () => {
    let lines: string[];
    try {
      lines = onInterrupt();
    } catch (e) {
      lines = [`could not save the partial result: ${(e as Error).message}`];
    }
    process.stderr.write(`\ndgp ${command}: interrupted${lines.length ? `; ${lines.join('; ')}` : ''}\n`);
    process.exit(130);
  };
  process.once('SIGINT', handler);
  try {
    return await run();
  } finally {
    process.removeListener('SIGINT', handler);
  }
}

/** The fields both modes' results have, by the same names; each mode adds its own after them. */
export interface TrainResultCommon {
  mode: 'centralised' | 'federated';
  /** False for the partial result Ctrl-C writes. */
  completed: boolean;
  dataset: string;
  model: string;
  data: DataSource;
  /** Of the final model; for a partial result, of the last evaluation (null if none yet). */
  testAccuracy: number | null;
  testLoss: number | null;
  testImages: number;
  seconds: number;
  /** How far the run got, in its own unit. */
  progress: { unit: 'steps' | 'rounds'; done: number; planned: number };
  history: unknown[];
}

export function writeTrainResult(path: string, options: object, defense: { name: string; options: Record<string, unknown> }, common: TrainResultCommon, extra: Record<string, unknown>): void {
  writeResult(path, resultHead('train', withDefenseDefaults(options, defense)), { ...common, ...extra });
}

/** Centralised `dgp train`: one party holding all the (first --train-limit) training images. */
export async function runCentralised(o: CentralisedOptions, data: DatasetSplits, source: DataSource, t0: number): Promise<void> {
  const epochs = o.epochs ?? 1;
  const train = trainingImages(data, o.trainLimit);
  const test = data.test;
  if (Math.floor(train.count / o.batchSize) === 0) throw new UsageError(`invalid --batch-size: ${o.batchSize} examples per step but only ${train.count} training images`);
  const model = createModel(o.model, { inputShape: [train.channels, train.height, train.width], width: o.width, init: o.init, precode: precodeOf(o) });
  const milestones = parseLrSteps(o.lrSteps);
  const spec: CentralisedSpec = {
    dataset: o.dataset, trainImages: train.count, ...(o.testLimit !== undefined ? { testLimit: o.testLimit } : {}),
    model: { name: o.model, width: o.width, init: o.init, ...(o.precode ? { precode: precodeOf(o) } : {}) }, optimizer: o.optimizer, lr: o.lr, batchSize: o.batchSize, epochs,
    schedule: o.schedule, lrSteps: milestones, momentum: o.momentum, weightDecay: o.weightDecay, seed: o.seed, evalEvery: o.evalEvery,
  };
  const stepsPerEpoch = Math.floor(train.count / o.batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  let resume: TrainState | undefined;
  if (o.resume) {
    const cp = loadTrainCheckpoint(o.resume, model, optimizerTemplate(o.optimizer, model.params));
    const refusal = resumeRefusal(o.resume, cp.spec, spec, 'epochs');
    if (refusal) throw new Error(refusal);
    if (cp.state.step > totalSteps) throw new Error(`cannot resume from ${o.resume}: it is at step ${cp.state.step}, past the ${totalSteps} steps of this run`);
    resume = cp.state;
  }
  // Without --checkpoint-every, a checkpoint ends every epoch (and the run, and a Ctrl-C).
  const every = o.checkpointEvery ?? stepsPerEpoch;
  let current: (() => TrainState) | undefined;
  let written: { path: string; step: number } | null = null;
  const checkpoint = (s: TrainState) => {
    if (o.checkpoint && written?.step !== s.step) written = { path: saveTrainCheckpoint(o.checkpoint, spec, s, totalSteps), step: s.step };
  };
  let bar: ProgressBar | undefined;
  const testImages = Math.min(test.count, o.testLimit ?? Infinity);
  const common = (s: TrainState, completed: boolean, accuracy: number | null, loss: number | null): TrainResultCommon => ({
    mode: 'centralised', completed, dataset: o.dataset, model: o.model, data: source, testAccuracy: accuracy, testLoss: loss, testImages,
    seconds: (performance.now() - t0) / 1000, progress: { unit: 'steps', done: s.step, planned: totalSteps }, history: s.history,
  });
  const options = { ...o, epochs };
  const none = { name: 'none', options: {} };
  const result = await interruptible('train', () => {
    const lines: string[] = [];
    const s = current?.();
    if (s && o.checkpoint) {
      checkpoint(s);
      lines.push(`checkpoint of step ${s.step} in ${written!.path} (continue with --resume ${o.checkpoint} --checkpoint ${o.checkpoint})`);
    }
    if (s && o.json) {
      const last = [...s.history].reverse().find((e) => e.testAccuracy !== undefined);
      writeTrainResult(o.json, options, none, common(s, false, last?.testAccuracy ?? null, null), { epochs, steps: s.step });
      lines.push(`partial result (${s.step} of ${totalSteps} steps) in ${o.json}`);
    }
    return lines;
  }, () => trainCentralized(model, train, test, {
    epochs,
    optimizer: o.optimizer,
    batchSize: o.batchSize,
    sgd: { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay },
    lrAt:
      o.schedule === 'cosine'
        ? cosineSchedule({ base: o.lr, total: epochs })
        : stepSchedule({ milestones: milestones.map(([at]) => at), values: [o.lr, ...milestones.map(([, lr]) => lr)] }),
    seed: o.seed,
    evalEvery: o.evalEvery,
    testLimit: o.testLimit,
    resume,
    onState: (c) => void (current = c),
    onStep: (step, c) => {
      if (o.checkpoint && step % every === 0) checkpoint(c());
    },
    onProgress: (p) => (bar ??= new ProgressBar({ total: p.totalSteps, unit: 'steps', label: `train ${o.model}` })).update(p.step, `loss ${p.loss.toFixed(3)}${p.accuracy !== undefined ? ` acc ${(p.accuracy * 100).toFixed(1)}%` : ''}`),
  }));
  bar?.finish();
  if (o.checkpoint && current) checkpoint(current());
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${o.model} on ${o.dataset}: test accuracy ${(result.testAccuracy * 100).toFixed(2)}% after ${epochs} epoch(s), ${result.steps} steps, ${seconds.toFixed(1)} s`);
  if (o.json) {
    const final = { ...common(current!(), true, result.testAccuracy, result.testLoss), history: result.history };
    writeTrainResult(o.json, options, none, final, { epochs, steps: result.steps });
  }
  if (o.save) saveSafetensors(o.save, [...result.params, ...result.buffers], { model: model.name, width: String(o.width), dataset: o.dataset, epochs: String(epochs), steps: String(result.steps) });
}
