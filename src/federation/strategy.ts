// What differs between federated algorithms, kept out of the server loop (as Flower's Strategy):
// which clients train in a round, what they are asked to do, how their updates are combined and
// which optimizer the server applies to the result. The defense is none of its business.
import { type Rng, sizeOf, type NamedTensor, type TensorList, checkUpdate, denseUpdate, type ClientUpdate, type UpdateTensor } from '../common/index.js';
import { meanUpdates, restrictToSupport, supportUnion } from '../aggregation/index.js';
import { encodedSize } from '../codec/index.js';
import type { SgdOptionsInput } from '../optim/index.js';
import type { SecureSum } from '../secagg/index.js';
import { stateLayout, type ModelLayout } from './replica.js';
import { aggregateOfSum, type SecureAggregate } from './secure-vector.js';
import { fitTaskSchema, type FitTask, type SharedPositions } from './wire.js';

/** One client's decoded answer. */
export interface FitResult {
  clientId: number;
  examples: number;
  loss: number;
  report: Record<string, number>;
  /** The defended update (one entry per parameter) followed by the dense buffers. */
  tensors: ClientUpdate;
}

/** What a strategy asks of a round (Flower's configure_fit): who trains, and how. */
export interface FitConfig {
  /** The clients that train, distinct ids in 0..clientCount-1, increasing. */
  clients: number[];
  /** What each of them computes: a gradient at the current model, or a local-SGD delta. */
  task: FitTask;
}

/**
 * A federated algorithm in Flower's terms: configureFit picks the round's clients and their task,
 * aggregateFit combines their answers into the update every party's server optimizer steps with.
 * The built-ins are createStrategy's CL-SGD and FedAvg; a user's own object runs the same way
 * (createFederation's `strategy` option, with the spec's algorithm 'custom'). Its state, if any,
 * is not checkpointed: draw randomness from the `rng` given (the server's stream, which is).
 */
export interface Strategy {
  /** Recorded in the run's spec (`custom.strategy`) when the strategy is a user's own. */
  readonly name: string;
  /** The optimizer every party applies to the broadcast aggregate (its lr is serverLr(round)). */
  readonly serverOptimizer: SgdOptionsInput;
  configureFit(round: number, clientCount: number, rng: Rng): FitConfig;
  /** One entry per parameter (dense or sparse), then the batch-norm buffers dense, in the model's layout. */
  aggregateFit(round: number, layout: ModelLayout, results: readonly FitResult[]): ClientUpdate;
  serverLr(round: number): number;
  /**
   * Under secure aggregation: the weighted mean (at ADGP's common set, or dense) and the round's
   * figures from the secure sum of the clients' vectors alone (secure-vector.ts). A strategy
   * without it cannot run with secure aggregation (the server sees no single client's update).
   */
  aggregateSum?(layout: ModelLayout, sum: SecureSum, options: { clip: number; shared?: SharedPositions }): SecureAggregate;
}

export interface StrategyOptions {
  algorithm: 'clsgd' | 'fedavg';
  /** Share of the clients sampled per round: ceil(fraction * N), at least one. */
  fraction: number;
  /** FedAvg: local SGD steps per round (CL-SGD takes exactly one gradient). */
  localSteps: number;
  /** Learning rate of round r (from 1): the server's step (CL-SGD) or the clients' local SGD (FedAvg). */
  lrAt: (round: number) => number;
  /** CL-SGD: the server's momentum; FedAvg: unused (the server adds the mean delta as it is). */
  momentum: number;
  /** CL-SGD: the server's weight decay; FedAvg: the clients' local weight decay. */
  weightDecay: number;
  /** FedAvg: the server's step on the mean delta (1: the new model is the mean of the clients' models). */
  serverLr: number;
}

export function createStrategy(o: StrategyOptions): Strategy {
  if (!(o.fraction > 0 && o.fraction <= 1)) throw new Error(`strategy: fraction must be in (0, 1], got ${o.fraction}`);
  if (o.algorithm === 'clsgd' && o.localSteps !== 1) throw new Error(`strategy: CL-SGD takes one local step per round, got localSteps ${o.localSteps} (use fedavg)`);
  const aggregateFit = (_round: number, layout: ModelLayout, results: readonly FitResult[]) => weightedMean(layout, results);
  const aggregateSum = (layout: ModelLayout, sum: SecureSum, a: { clip: number; shared?: SharedPositions }) => aggregateOfSum(layout, sum, a.clip, a.shared);
  if (o.algorithm === 'clsgd') {
    return {
      name: 'clsgd',
      serverOptimizer: { lr: o.lrAt(1), momentum: o.momentum, weightDecay: o.weightDecay },
      configureFit: (_round, n, rng) => ({ clients: sampleClients(n, o.fraction, rng), task: { payload: 'gradient', localSteps: 1, lr: 0, weightDecay: 0 } }),
      aggregateFit,
      aggregateSum,
      serverLr: (round) => o.lrAt(round),
    };
  }
  return {
    name: 'fedavg',
    serverOptimizer: { lr: o.serverLr },
    configureFit: (round, n, rng) => ({
      clients: sampleClients(n, o.fraction, rng),
      task: { payload: 'delta', localSteps: o.localSteps, lr: o.lrAt(round), weightDecay: o.weightDecay },
    }),
    aggregateFit,
    aggregateSum,
    serverLr: () => o.serverLr,
  };
}

/** The strategy's configureFit, checked (a user's strategy is code the toolkit did not write): one line naming it and the round. */
export function configureRound(strategy: Strategy, round: number, clientCount: number, rng: Rng): FitConfig {
  const c = strategy.configureFit(round, clientCount, rng);
  const at = `strategy ${strategy.name}: configureFit(round ${round})`;
  const ids = c?.clients;
  if (!Array.isArray(ids) || ids.length === 0) throw new Error(`${at} chose no clients`);
  ids.forEach((id, k) => {
    if (!Number.isInteger(id) || id < 0 || id >= clientCount) throw new Error(`${at}: client ${id} is not in 0..${clientCount - 1}`);
    if (k > 0 && id <= ids[k - 1]!) throw new Error(`${at}: clients must be distinct and increasing (${ids[k - 1]} then ${id})`);
  });
  const task = fitTaskSchema.safeParse(c.task);
  if (!task.success) throw new Error(`${at}: task: ${task.error.issues.map((i) => `${i.path.join('.') || 'task'}: ${i.message}`).join('; ')}`);
  if (task.data.payload === 'gradient' && task.data.localSteps !== 1) throw new Error(`${at}: a gradient payload takes one local step, not ${task.data.localSteps}`);
  // Whether clients answer with ADGP proposals is the run's defense's business, not the strategy's.
  const { aligned: _aligned, ...plain } = task.data;
  return { clients: [...ids], task: plain };
}

/** The strategy's aggregateFit, checked against the model's layout: one line naming it and the round. */
export function aggregateRound(strategy: Strategy, round: number, layout: ModelLayout, results: readonly FitResult[]): ClientUpdate {
  const update = strategy.aggregateFit(round, layout, results);
  try {
    checkUpdate(update, stateLayout(layout));
  } catch (e) {
    throw new Error(`strategy ${strategy.name}: aggregateFit(round ${round}): ${(e as Error).message}`);
  }
  return update;
}

/** ceil(fraction * n), at least one (the tolerance keeps 0.3 * 10 at 3). */
export function clientsPerRound(n: number, fraction: number): number {
  return Math.min(n, Math.max(1, Math.ceil(fraction * n - 1e-9)));
}

/** clientsPerRound(n, fraction) distinct clients in increasing order; all of them draw nothing from rng. */
export function sampleClients(n: number, fraction: number, rng: Rng): number[] {
  const m = clientsPerRound(n, fraction);
  if (m === n) return Array.from({ length: n }, (_, i) => i);
  return Array.from(rng.permutation(n).subarray(0, m)).sort((a, b) => a - b);
}

/**
 * CL-SGD's and FedAvg's aggregate, for a user's strategy to reuse. Weighted by examples, as the
 * mean of equal-size batches' mean gradients equals the union batch's gradient. A parameter tensor
 * goes down as the union of the clients' supports when that encodes smaller than dense: positions
 * outside the union are exactly zero in the mean.
 */
export function weightedMean(layout: ModelLayout, results: readonly FitResult[]): ClientUpdate {
  const np = layout.params.length;
  const weights = results.map((r) => r.examples);
  const params = meanUpdates(layout.params, results.map((r) => r.tensors.slice(0, np)), { weights });
  const buffers: TensorList = layout.buffers.length > 0 ? meanUpdates(layout.buffers, results.map((r) => r.tensors.slice(np)), { weights }) : [];
  const support = supportUnion(layout.params, results.map((r) => r.tensors.slice(0, np)));
  return [...params.map((t, i) => smaller(t, support[i]!)), ...buffers.map((t) => denseUpdate(t.name, t.shape, t.data))];
}

function smaller(t: NamedTensor, support: Uint32Array): UpdateTensor {
  const dense = denseUpdate(t.name, t.shape, t.data);
  if (support.length === sizeOf(t.shape)) return dense;
  const sparse = restrictToSupport([t], [support])[0]!;
  return encodedSize([sparse]) < encodedSize([dense]) ? sparse : dense;
}
