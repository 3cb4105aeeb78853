import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { BatchSampler, denormalize, epochBatches, getBatch, normalize, type Dataset } from '../../src/data/index.js';

/** 5 images of 3x2x2 whose pixel value encodes (image, channel, position). */
function tinyDataset(): Dataset {
  const images = new Float32Array(5 * 12);
  for (let i = 0; i < images.length; i++) images[i] = (i % 97) / 100;
  return {
    name: 'cifar10', images, labels: Uint8Array.from([3, 1, 4, 1, 5]), count: 5, channels: 3, height: 2, width: 2,
    numClasses: 10, mean: [0.5, 0.4, 0.3], std: [0.25, 0.5, 0.2], classNames: [], source: 'test',
  };
}

describe('normalize / denormalize', () => {
  it('applies per-channel statistics plane by plane and inverts exactly enough', () => {
    const ds = tinyDataset();
    const z = normalize(ds.images, ds.mean, ds.std, 4);
    assert.notEqual(z, ds.images);
    // Image 1, channel 2, position 3.
    const i = (1 * 3 + 2) * 4 + 3;
    assert.ok(Math.abs(z[i]! - (ds.images[i]! - 0.3) / 0.2) < 1e-6);
    const back = denormalize(z, ds.mean, ds.std, 4);
    for (let k = 0; k < back.length; k++) assert.ok(Math.abs(back[k]! - ds.images[k]!) < 1e-6);
  });

  it('rejects mismatched statistics and data that are not whole images', () => {
    const x = new Float32Array(24);
    assert.throws(() => normalize(x, [0.5], [0.2, 0.3], 4), /mean has 1 channels, std has 2/);
    assert.throws(() => normalize(x, [0.5], [0], 4), /std must be positive/);
    assert.throws(() => denormalize(x, [0, 0, 0], [1, 1, 1], 5), /24 values are not whole images of 3 planes of 5/);
  });
});

describe('getBatch', () => {
  it('gathers the images and labels at the indices, raw or normalised', () => {
    const ds = tinyDataset();
    const raw = getBatch(ds, [4, 0, 4], { normalize: false });
    assert.deepEqual(raw.shape, [3, 3, 2, 2]);
    assert.deepEqual([...raw.y], [5, 3, 5]);
    assert.deepEqual([...raw.x.subarray(0, 12)], [...ds.images.subarray(48, 60)]);
    assert.deepEqual([...raw.x.subarray(12, 24)], [...ds.images.subarray(0, 12)]);
    const norm = getBatch(ds, Int32Array.from([4, 0, 4]), { normalize: true });
    const expected = normalize(raw.x, ds.mean, ds.std, 4);
    for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(norm.x[k]! - expected[k]!) < 1e-6);
  });

  it('rejects indices outside the data set', () => {
    const ds = tinyDataset();
    assert.throws(() => getBatch(ds, [0, 5], { normalize: false }), /index 5 at position 1 is outside cifar10 \(5 images\)/);
    assert.throws(() => getBatch(ds, [1.5], { normalize: false }), /index 1.5/);
  });

  it('returns an empty batch for no indices', () => {
    assert.deepEqual(getBatch(tinyDataset(), [], { normalize: true }).shape, [0, 3, 2, 2]);
  });
});

describe('epochBatches', () => {
  it('covers every index once per epoch, in a seeded order', () => {
    const batches = [...epochBatches(10, 4, new Rng(1))];
    assert.deepEqual(batches.map((b) => b.length), [4, 4, 2]);
    assert.deepEqual([...batches.flatMap((b) => [...b])].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = [...epochBatches(10, 4, new Rng(1))];
    assert.deepEqual(again.map((b) => [...b]), batches.map((b) => [...b]));
    const other = [...epochBatches(10, 4, new Rng(2))];
    assert.notDeepEqual(other.map((b) => [...b]), batches.map((b) => [...b]));
  });

  it('samples from a given index list and can drop the short last batch', () => {
    const pool = [10, 20, 30, 40, 50];
    const batches = [...epochBatches(pool, 2, new Rng(3), { dropLast: true })];
    assert.deepEqual(batches.map((b) => b.length), [2, 2]);
    for (const b of batches) for (const v of b) assert.ok(pool.includes(v));
    assert.throws(() => [...epochBatches(pool, 0, new Rng(3))], /batchSize must be a positive integer/);
  });
});

describe('BatchSampler', () => {
  it('walks a fresh permutation each epoch, skipping the short remainder', () => {
    const s = BatchSampler.create(10, 3, new Rng(7));
    const seen: number[] = [];
    for (let k = 0; k < 3; k++) seen.push(...s.next());
    assert.equal(s.epoch, 1);
    assert.equal(new Set(seen).size, 9);
    s.next();
    assert.equal(s.epoch, 2);
  });

  it('resumes from its state exactly', () => {
    const a = BatchSampler.create([5, 6, 7, 8, 9, 10, 11], 2, new Rng(11));
    a.next();
    a.next();
    const b = BatchSampler.fromState(JSON.parse(JSON.stringify(a.getState())));
    for (let k = 0; k < 10; k++) assert.deepEqual([...b.next()], [...a.next()]);
  });

  it('yields the whole pool when it is smaller than a batch', () => {
    const s = BatchSampler.create([4, 2], 32, new Rng(1));
    assert.deepEqual([...s.next()].sort(), [2, 4]);
    assert.deepEqual([...s.next()].sort(), [2, 4]);
    assert.throws(() => BatchSampler.create([], 4, new Rng(1)), /no indices/);
  });
});
