// What differs between federated algorithms, kept out of the server loop (as Flower's Strategy):
// which clients train in a round, what they are asked to do, how their updates are combined and
// which optimizer the server applies to the result. The defense is none of its business.
import type { Rng } from '../common/rng.js';
import { sizeOf, type NamedTensor, type TensorList } from '../common/tensors.js';
import { denseUpdate, type ClientUpdate, type UpdateTensor } from '../common/update.js';
import { meanUpdates, restrictToSupport, supportUnion } from '../aggregation/index.js';
import { encodedSize } from '../codec/index.js';
import type { SgdOptionsInput } from '../optim/index.js';
import type { SecureSum } from '../secagg/index.js';
import type { ModelLayout } from './replica.js';
import { aggregateOfSum, type SecureAggregate } from './secure-vector.js';
import type { FitTask, SharedPositions } from './wire.js';

/** One client's decoded answer. */
export interface FitResult {
  clientId: number;
  examples: number;
  loss: number;
  report: Record<string, number>;
  /** The defended update (one entry per parameter) followed by the dense buffers. */
  tensors: ClientUpdate;
}

export interface Strategy {
  readonly name: 'clsgd' | 'fedavg';
  /** The optimizer every party applies to the broadcast aggregate (its lr is set per round). */
  readonly serverOptimizer: SgdOptionsInput;
  /** The clients that train in `round`, increasing. */
  sample(round: number, clientCount: number, rng: Rng): number[];
  task(round: number): FitTask;
  serverLr(round: number): number;
  /** The broadcast tensors: per parameter the weighted mean, sparse where that is smaller; then the mean buffers. */
  aggregate(layout: ModelLayout, results: readonly FitResult[]): ClientUpdate;
  /**
   * Under secure aggregation: the same weighted mean (at ADGP's common set, or dense) and the
   * round's figures, from the secure sum of the clients' vectors alone (secure-vector.ts).
   */
  aggregateSum(layout: ModelLayout, sum: SecureSum, options: { clip: number; shared?: SharedPositions }): SecureAggregate;
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
  const common = {
    sample: (round: number, n: number, rng: Rng) => sampleClients(n, o.fraction, rng),
    aggregate,
    aggregateSum: (layout: ModelLayout, sum: SecureSum, a: { clip: number; shared?: SharedPositions }) => aggregateOfSum(layout, sum, a.clip, a.shared),
  };
  if (o.algorithm === 'clsgd') {
    return {
      ...common,
      name: 'clsgd',
      serverOptimizer: { lr: o.lrAt(1), momentum: o.momentum, weightDecay: o.weightDecay },
      task: () => ({ payload: 'gradient', localSteps: 1, lr: 0, weightDecay: 0 }),
      serverLr: (round) => o.lrAt(round),
    };
  }
  return {
    ...common,
    name: 'fedavg',
    serverOptimizer: { lr: o.serverLr },
    task: (round) => ({ payload: 'delta', localSteps: o.localSteps, lr: o.lrAt(round), weightDecay: o.weightDecay }),
    serverLr: () => o.serverLr,
  };
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
 * Weighted by examples, as the mean of equal-size batches' mean gradients equals the union batch's
 * gradient. A parameter tensor goes down as the union of the clients' supports when that encodes
 * smaller than dense: positions outside the union are exactly zero in the mean.
 */
function aggregate(layout: ModelLayout, results: readonly FitResult[]): ClientUpdate {
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
