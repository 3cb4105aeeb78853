// The case: from data, a model at some round, and a defense, produce what the attacker sees (a
// ThreatModel) and, kept apart, the ground truth that only the scoring step may read.
import { Rng, type TensorList, layoutOf } from '../common/index.js';
import { type Dataset, getBatch } from '../data/index.js';
import type { Defense, DefenseReport } from '../defenses/index.js';
import { initParams, type Model } from '../models/index.js';
import { oneHotLabels, ModelRunner, updateRunningStats } from '../train/index.js';
import type { ThreatModel } from './threat.js';

export interface ModelState {
  params: TensorList;
  buffers: TensorList;
  /** SGD steps taken from initialisation. */
  round: number;
  /** Training loss of each step, for the record. */
  losses: number[];
}

export interface TrainingSpec {
  seed: number;
  /** Where the training steps draw their batches from (never the attacked images). */
  train?: Dataset;
  batchSize?: number;
  lr?: number;
}

const runners = new WeakMap<Model, ModelRunner>();

/** One ModelRunner per model object, so its compiled sessions serve every case. */
export function runnerFor(model: Model): ModelRunner {
  let r = runners.get(model);
  if (!r) runners.set(model, (r = new ModelRunner(model)));
  return r;
}

/**
 * The model after `round` plain SGD steps (lr 0.01, batches of 32 drawn with the seed) from its
 * seeded initialisation; round 0 is the initialisation itself. Batch-norm running statistics
 * follow PyTorch's update.
 */
export async function modelAtRound(model: Model, round: number, t: TrainingSpec): Promise<ModelState> {
  const params = initParams(model.params, t.seed);
  const buffers = initParams(model.buffers, t.seed);
  const losses: number[] = [];
  if (round > 0) {
    if (!t.train) throw new Error(`modelAtRound: round ${round} needs training data (TrainingSpec.train)`);
    const rng = new Rng(t.seed ^ 0x7a11);
    const runner = runnerFor(model);
    const b = t.batchSize ?? 32;
    const lr = t.lr ?? 0.01;
    for (let s = 0; s < round; s++) {
      const idx = Array.from({ length: b }, () => rng.int(t.train!.count));
      const batch = getBatch(t.train, idx, { normalize: true });
      const r = await runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, model.numClasses));
      if (!Number.isFinite(r.loss)) throw new Error(`modelAtRound: training diverged at step ${s} (loss ${r.loss}); lower lr (${lr})`);
      losses.push(r.loss);
      updateRunningStats(buffers, r.bnStats);
      params.forEach((p, i) => {
        const g = r.grads[i]!.data;
        for (let j = 0; j < p.data.length; j++) p.data[j] -= lr * g[j]!;
      });
    }
  }
  return { params, buffers, round, losses };
}

/** A server that changes the model before sending it, and keeps what it planted (imprint.ts). */
export interface MaliciousServer {
  name: string;
  plant(model: Model, params: TensorList, data: Dataset): { model: Model; params: TensorList; secrets: NonNullable<ThreatModel['secrets']> };
}

export interface CaseSpec {
  model: Model;
  state: ModelState;
  /** The client's data set and which of its images form the attacked batch. */
  data: Dataset;
  indices: number[];
  defense: Defense;
  /** Seeds the defense's random draws (DP noise, random-k). */
  seed: number;
  /** What the attacker knows besides the update; positions default to visible, the rest to unknown. */
  knows?: { labels?: boolean; batchSize?: boolean; positions?: boolean };
  server?: MaliciousServer;
  /**
   * How the client runs batch norm. 'eval' (the default, breaching's honest-but-curious server with
   * `provide_public_buffers`): the server sends the running statistics with the parameters and the
   * client computes its gradient in evaluation mode on them, so the attacker has exactly the buffers
   * the client used. 'train': the client normalises with its batch's own statistics (the server
   * still holds the global model's buffers, which the client did not use).
   */
  batchNorm?: BatchNormMode;
}

export type BatchNormMode = 'eval' | 'train';
export const BATCH_NORM_MODES: readonly BatchNormMode[] = ['eval', 'train'];

export interface GroundTruth {
  /** The attacked batch in the model's (normalised) input space, NCHW. */
  x: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
  /** The client's true gradient, before its defense. */
  gradient: TensorList;
  /** What the defense reported on this update (relative gradient distance, kept fraction...). */
  defense: DefenseReport;
  /**
   * What the attacker is after: 'batch' (default), the batch behind one client's update, each
   * image matched to one reconstruction; 'any' (the aggregate of several clients), any of the
   * images behind it: each reconstruction is scored against the image it matches best.
   */
  target?: 'batch' | 'any';
}

export interface AttackCase {
  threat: ThreatModel;
  truth: GroundTruth;
}

/** One client step on `indices`, defended, seen by the server. The attacker gets `threat` only. */
export async function buildCase(spec: CaseSpec): Promise<AttackCase> {
  const { data } = spec;
  if (spec.indices.length === 0) throw new Error('buildCase: the attacked batch is empty (indices)');
  const planted = spec.server?.plant(spec.model, spec.state.params, data);
  const model = planted?.model ?? spec.model;
  const params = planted?.params ?? spec.state.params;
  const batch = getBatch(data, spec.indices, { normalize: true });
  const target = oneHotLabels(batch.y, model.numClasses);
  const hasBn = model.buffers.length > 0;
  const training = (spec.batchNorm ?? 'eval') === 'train';
  const runner = runnerFor(model);
  const { grads } =
    hasBn && !training
      ? await runner.lossAndGradEval(params, spec.state.buffers, batch.x, batch.shape, target)
      : await runner.lossAndGrad(params, batch.x, batch.shape, target);
  const defense = spec.defense;
  const { update, report } = defense.apply(grads, defense.init(layoutOf(grads)), new Rng(spec.seed), { params, iteration: spec.state.round });
  const threat = serverView({ model, params, state: spec.state, update, defense: defense.name, knows: spec.knows, labels: Int32Array.from(batch.y), data, secrets: planted?.secrets, training: !hasBn || training });
  return { threat, truth: { x: batch.x, labels: Int32Array.from(batch.y), shape: batch.shape, gradient: grads, defense: report } };
}

/** What the attacker knows about a case besides the update (see CaseSpec.knows). */
export type Knowledge = CaseSpec['knows'];

/**
 * The threat model of a server that observed `update` at `params`: the fields every case
 * shares. `labels` are those behind the update (kept only when the attacker knows them), and
 * their count is the batch size it may know.
 */
export function serverView(o: {
  model: Model;
  params: TensorList;
  state: ModelState;
  update: ThreatModel['update'];
  defense: string;
  knows?: Knowledge;
  labels: Int32Array;
  data: Dataset;
  aggregateOf?: number;
  secrets?: ThreatModel['secrets'];
  /** Whether the client normalised with its batch's statistics (default) or the running ones. */
  training?: boolean;
}): ThreatModel {
  const { model, data } = o;
  const knows = o.knows ?? {};
  return {
    model,
    params: o.params,
    buffers: model.buffers.length > 0 ? o.state.buffers : undefined,
    round: o.state.round,
    training: o.training ?? true,
    update: o.update,
    ...(o.aggregateOf !== undefined ? { aggregateOf: o.aggregateOf } : {}),
    defense: o.defense,
    positionsVisible: knows.positions ?? true,
    labels: knows.labels ? o.labels : undefined,
    batchSize: knows.batchSize ? o.labels.length : undefined,
    data: { channels: data.channels, height: data.height, width: data.width, mean: [...data.mean], std: [...data.std], numClasses: model.numClasses },
    secrets: o.secrets,
  };
}
