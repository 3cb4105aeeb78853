import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { detectCifar10, loadCifar10, parseLabelsJs, type DatasetSplits } from '../../src/data/index.js';
import { cifarPixel, cifarRecords, tempDir } from './helpers.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/cifar10');
const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);

function channelMeans(images: Float32Array, count: number): number[] {
  const sums = [0, 0, 0];
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) {
      const o = (i * 3 + c) * 1024;
      for (let p = 0; p < 1024; p++) sums[c]! += images[o + p]!;
    }
  }
  return sums.map((s) => s / (count * 1024));
}

describe('CIFAR-10 PNG subset (fixtures/cifar10)', () => {
  let data: DatasetSplits;
  before(() => {
    data = loadCifar10({ dataDir: FIXTURE });
  });

  it('holds 2,000 training and 1,000 test images of 3x32x32', () => {
    assert.equal(data.train.count, 2000);
    assert.equal(data.test.count, 1000);
    for (const ds of [data.train, data.test]) {
      assert.equal(ds.name, 'cifar10');
      assert.deepEqual([ds.channels, ds.height, ds.width, ds.numClasses], [3, 32, 32, 10]);
      assert.equal(ds.images.length, ds.count * 3072);
    }
  });

  it('starts the test set with cat, ship, ship, airplane, frog, frog, automobile, frog', () => {
    const names = [...data.test.labels.subarray(0, 8)].map((y) => data.test.classNames[y]);
    assert.deepEqual(names, ['cat', 'ship', 'ship', 'airplane', 'frog', 'frog', 'automobile', 'frog']);
    // data_batch_1 opens with frog, truck, truck, deer, automobile.
    assert.deepEqual([...data.train.labels.subarray(0, 5)], [6, 9, 9, 4, 1]);
  });

  it('converts interleaved RGB rows to NCHW planes', () => {
    // The first training image's top-left pixel is (59, 62, 63) in the official data_batch_1.
    const x = data.train.images;
    assert.deepEqual([x[0]! * 255, x[1024]! * 255, x[2048]! * 255].map(Math.round), [59, 62, 63]);
    const png = PNG.sync.read(readFileSync(join(FIXTURE, 'cifar10_batch_50.png')));
    const row = 7;
    const p = 5 * 32 + 9;
    for (let c = 0; c < 3; c++) {
      assert.equal(Math.round(data.test.images[(row * 3 + c) * 1024 + p]! * 255), png.data[(row * 1024 + p) * 4 + c]);
    }
  });

  it('has per-channel means close to the data set means', () => {
    for (const ds of [data.train, data.test]) {
      const m = channelMeans(ds.images, ds.count);
      m.forEach((v, c) => assert.ok(Math.abs(v - ds.mean[c]!) < 0.02, `channel ${c}: ${v} vs ${ds.mean[c]}`));
    }
  });
});

describe('CIFAR-10 PNG subset, corrupt files', () => {
  function subsetCopy(): string {
    const dir = tempDir();
    for (const f of ['cifar10_batch_0.png', 'cifar10_batch_50.png', 'cifar10_labels.js']) {
      copyFileSync(join(FIXTURE, f), join(dir, f));
    }
    return dir;
  }

  it('rejects a PNG of the wrong size, naming the file', () => {
    const dir = subsetCopy();
    const png = new PNG({ width: 1024, height: 999 });
    const file = join(dir, 'cifar10_batch_50.png');
    writeFileSync(file, PNG.sync.write(png));
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) => e.message.startsWith(`${file}: wrong PNG size 1024x999`));
  });

  it('rejects a file that is not a PNG, or a truncated one', () => {
    const dir = subsetCopy();
    const file = join(dir, 'cifar10_batch_0.png');
    const good = readFileSync(file);
    writeFileSync(file, good.subarray(0, good.length >> 1));
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) => e.message.startsWith(`${file}: not a readable PNG`));
    writeFileSync(file, 'hello');
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) => e.message.startsWith(`${file}: not a readable PNG`));
  });

  it('rejects labels.js that is malformed, out of range or too short', () => {
    assert.throws(() => parseLabelsJs('labels = [1, 2]', 'L'), /L: expected the form 'var labels=\[6, 9, \.\.\.\];', found "labels = \[1, 2\]"$/);
    // Truncated: the message says what was found, not the form it was expected to have.
    assert.throws(() => parseLabelsJs('var labels=[6, 9, 9, 4, 1', 'L'), /L: truncated: the label list has no closing '\]' \(the file's 25 characters end after 5 labels\)$/);
    assert.throws(() => parseLabelsJs('var labels=[1, 2, x]', 'L'), /L: entry 2 is "x", not an integer label/);
    assert.throws(() => parseLabelsJs('var labels=[1, 10, 2];', 'L'), /L: label 10 at entry 1 is out of range 0..9/);
    assert.deepEqual([...parseLabelsJs('var labels=[1, 0,\n 9];\n', 'L')], [1, 0, 9]);
    const dir = subsetCopy();
    const file = join(dir, 'cifar10_labels.js');
    writeFileSync(file, `var labels=[${new Array(1500).fill(3).join(',')}]`);
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) => e.message === `${file}: 1500 labels, expected at least 51000 (${join(dir, 'cifar10_batch_50.png')} needs labels 50000..50999)`);
    // A labels file cut short mid-way, as a failed copy leaves it.
    const full = readFileSync(join(FIXTURE, 'cifar10_labels.js'), 'utf8');
    writeFileSync(file, full.slice(0, 3000));
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) => e.message.startsWith(`${file}: truncated: the label list has no closing ']'`));
  });

  it('requires both a training and a test batch', () => {
    const dir = tempDir();
    copyFileSync(join(FIXTURE, 'cifar10_labels.js'), join(dir, 'cifar10_labels.js'));
    copyFileSync(join(FIXTURE, 'cifar10_batch_50.png'), join(dir, 'cifar10_batch_50.png'));
    assert.throws(() => loadCifar10({ dataDir: dir }), /no training batches/);
  });
});

describe('CIFAR-10 official binary format', () => {
  function binaryDir(parent: string, sub: boolean, perBatch = 3): string {
    const dir = sub ? join(parent, 'cifar-10-batches-bin') : parent;
    mkdirSync(dir, { recursive: true });
    TRAIN_FILES.forEach((f, b) => writeFileSync(join(dir, f), cifarRecords(Array.from({ length: perBatch }, (_, r) => (b + r) % 10))));
    writeFileSync(join(dir, 'test_batch.bin'), cifarRecords([9, 8]));
    return dir;
  }

  it('reads the batches in order, channel-major planes straight into NCHW', () => {
    for (const sub of [true, false]) {
      const root = tempDir();
      const dir = binaryDir(root, sub);
      assert.deepEqual(detectCifar10(root), { kind: 'binary', dir });
      const { train, test } = loadCifar10({ dataDir: root });
      assert.equal(train.count, 15);
      assert.deepEqual([...train.labels.subarray(0, 6)], [0, 1, 2, 1, 2, 3]);
      assert.deepEqual([...test.labels], [9, 8]);
      // Record 1 of data_batch_2 is training image 4.
      for (const [c, p] of [[0, 0], [1, 33], [2, 1023]] as const) {
        assert.equal(Math.round(train.images[(4 * 3 + c) * 1024 + p]! * 255), cifarPixel(1, c, p));
      }
    }
  });

  it('rejects a length that is not a multiple of 3073, a label over 9, and a missing batch', () => {
    const root = tempDir();
    const dir = binaryDir(root, true);
    const f3 = join(dir, 'data_batch_3.bin');
    writeFileSync(f3, cifarRecords([1, 2]).subarray(0, 3073 + 100));
    assert.throws(() => loadCifar10({ dataDir: root }), (e: Error) => e.message.startsWith(`${f3}: length 3173 is not a multiple of the 3073-byte record`));
    const bad = cifarRecords([1, 2, 3]);
    bad[2 * 3073] = 10;
    writeFileSync(f3, bad);
    assert.throws(() => loadCifar10({ dataDir: root }), (e: Error) => e.message === `${f3}: label 10 of record 2 is out of range 0..9`);
    writeFileSync(f3, Buffer.alloc(0));
    assert.throws(() => loadCifar10({ dataDir: root }), (e: Error) => e.message.startsWith(`${f3}: empty file`));
    const root2 = tempDir();
    const dir2 = binaryDir(root2, true);
    rmSync(join(dir2, 'data_batch_5.bin'));
    assert.throws(() => loadCifar10({ dataDir: root2 }), (e: Error) => e.message === `${join(dir2, 'data_batch_5.bin')}: file not found`);
  });

  it('explains what it looked for in a folder with no CIFAR-10 data', () => {
    const dir = tempDir();
    assert.equal(detectCifar10(dir), null);
    assert.throws(() => loadCifar10({ dataDir: dir }), (e: Error) =>
      e.message.includes(dir) && /no CIFAR-10 data found/.test(e.message) && /cifar-10-batches-bin/.test(e.message));
    assert.throws(() => loadCifar10({ dataDir: join(dir, 'nope') }), /nope: folder not found/);
  });
});
