// Seeded mini-batch sampling. Every shuffle draws from the Rng handed in, so a run replays
// exactly from its seed, and the sampler's position is plain data that can be checkpointed.

import { Rng, type RngState } from '../common/index.js';

function toPool(indices: ArrayLike<number> | number): Int32Array {
  if (typeof indices === 'number') {
    if (!Number.isInteger(indices) || indices < 0) throw new Error(`sampler: bad dataset size ${indices}`);
    const pool = new Int32Array(indices);
    for (let i = 0; i < indices; i++) pool[i] = i;
    return pool;
  }
  return Int32Array.from(indices);
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`sampler: batchSize must be a positive integer, got ${batchSize}`);
}

/**
 * One epoch over `indices` (or 0..n-1) in a fresh random order, as batches of batchSize; the
 * last, shorter batch is yielded unless dropLast.
 */
export function* epochBatches(
  indices: ArrayLike<number> | number,
  batchSize: number,
  rng: Rng,
  opts: { dropLast?: boolean } = {},
): Generator<Int32Array> {
  checkBatchSize(batchSize);
  const pool = toPool(indices);
  rng.shuffle(pool);
  for (let at = 0; at < pool.length; at += batchSize) {
    const end = Math.min(at + batchSize, pool.length);
    if (end - at < batchSize && opts.dropLast) return;
    yield pool.slice(at, end);
  }
}

export interface BatchSamplerState {
  pool: number[];
  order: number[];
  position: number;
  epoch: number;
  batchSize: number;
  rng: RngState;
}

/**
 * An endless stream of batches, for training by rounds (a client drawing 32 samples per round):
 * each epoch walks a new permutation; the remainder too short for a full batch is skipped and
 * a new epoch begins. A pool smaller than batchSize yields the whole pool, shuffled, every time.
 */
export class BatchSampler {
  private constructor(
    private readonly pool: Int32Array,
    private order: Int32Array,
    private position: number,
    private epochCount: number,
    readonly batchSize: number,
    private readonly rng: Rng,
  ) {}

  /** The sampler draws from rng from then on: hand it its own stream (rng.fork()). */
  static create(indices: ArrayLike<number> | number, batchSize: number, rng: Rng): BatchSampler {
    checkBatchSize(batchSize);
    const pool = toPool(indices);
    if (pool.length === 0) throw new Error('BatchSampler: no indices to sample from');
    return new BatchSampler(pool, new Int32Array(0), 0, 0, batchSize, rng);
  }

  /** Completed passes plus the current one (0 before the first batch). */
  get epoch(): number {
    return this.epochCount;
  }

  next(): Int32Array {
    const take = Math.min(this.batchSize, this.pool.length);
    if (this.epochCount === 0 || this.position + take > this.order.length) {
      this.order = this.pool.slice();
      this.rng.shuffle(this.order);
      this.position = 0;
      this.epochCount++;
    }
    const batch = this.order.slice(this.position, this.position + take);
    this.position += take;
    return batch;
  }

  getState(): BatchSamplerState {
    return {
      pool: Array.from(this.pool),
      order: Array.from(this.order),
      position: this.position,
      epoch: this.epochCount,
      batchSize: this.batchSize,
      rng: this.rng.getState(),
    };
  }

  static fromState(s: BatchSamplerState): BatchSampler {
    return new BatchSampler(
      Int32Array.from(s.pool), Int32Array.from(s.order), s.position, s.epoch, s.batchSize, Rng.fromState(s.rng),
    );
  }
}
