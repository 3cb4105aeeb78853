// Small synthetic data sets and specs, so the federation tests run in seconds without MNIST.
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import type { DatasetSplits } from '../../src/data/index.js';
import { makeDataset } from '../../src/data/types.js';
import type { FederatedResult, FederatedSpec } from '../../src/federation/index.js';

/** 1x8x8 images whose class sets a bright row, plus noise: learnable in a few steps. */
export function syntheticSplits(trainCount = 240, testCount = 100, seed = 1): DatasetSplits {
  const rng = new Rng(seed);
  const make = (n: number) => {
    const images = new Float32Array(n * 64);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const y = i % 10;
      labels[i] = y;
      for (let p = 0; p < 64; p++) images[i * 64 + p] = 0.3 * rng.uniform() + (Math.floor(p / 8) === y % 8 ? 0.6 : 0) + (y >= 8 && p % 8 === y - 8 ? 0.6 : 0);
    }
    return makeDataset('mnist', images, labels, { channels: 1, height: 8, width: 8 }, 'synthetic');
  };
  return { train: make(trainCount), test: make(testCount) };
}

export function spec(overrides: Partial<FederatedSpec> = {}): FederatedSpec {
  return {
    dataset: 'mnist',
    model: { name: 'mlp', width: 1, init: 'torch' },
    clients: 4,
    rounds: 3,
    batchSize: 8,
    partition: { kind: 'iid' },
    fraction: 1,
    algorithm: 'clsgd',
    localSteps: 1,
    lr: 0.1,
    schedule: 'constant',
    lrSteps: [],
    momentum: 0.9,
    weightDecay: 1e-4,
    serverLr: 1,
    defense: { name: 'none', options: {} },
    seed: 7,
    evalEvery: 0,
    ...overrides,
  };
}

/** The whole result of two runs, bit for bit: every history entry, the final weights and buffers, the bytes. */
export function assertSameRun(got: FederatedResult, want: FederatedResult): void {
  assert.equal(got.history.length, want.spec.rounds);
  assert.deepEqual(got.history, want.history);
  assert.deepEqual(got.params, want.params);
  assert.deepEqual(got.buffers, want.buffers);
  assert.deepEqual(got.bytesUp, want.bytesUp);
  assert.deepEqual(got.bytesDown, want.bytesDown);
  assert.equal(got.testAccuracy, want.testAccuracy);
  assert.equal(got.testLoss, want.testLoss);
}
