// CIFAR-10 in its official binary form: each record is 1 label byte then 3,072 pixel bytes, the
// R, G and B planes one after the other, each 32x32 row-major. That is already NCHW per image, so
// a record's pixels copy straight into the dataset.

import { join } from 'node:path';
import { readBytes } from './bytes.js';
import { bytesToUnit } from './pixels.js';
import { makeDataset, type Dataset, type DatasetSplits } from './types.js';

export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;
export const CIFAR_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES;
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_BIN_SUBDIR = 'cifar-10-batches-bin';

/** Validates one batch file's bytes and returns its record count. */
export function checkCifarBatch(buf: Uint8Array, file: string): number {
  if (buf.length === 0) throw new Error(`${file}: empty file, expected records of ${CIFAR_RECORD_BYTES} bytes`);
  if (buf.length % CIFAR_RECORD_BYTES !== 0) {
    const whole = Math.floor(buf.length / CIFAR_RECORD_BYTES);
    throw new Error(
      `${file}: length ${buf.length} is not a multiple of the ${CIFAR_RECORD_BYTES}-byte record ` +
        `(truncated or corrupt after record ${whole})`,
    );
  }
  const count = buf.length / CIFAR_RECORD_BYTES;
  for (let r = 0; r < count; r++) {
    const label = buf[r * CIFAR_RECORD_BYTES]!;
    if (label >= 10) throw new Error(`${file}: label ${label} of record ${r} is out of range 0..9`);
  }
  return count;
}

/** Reads and concatenates batch files (in the order given) into one dataset. */
export function readCifarBatches(files: string[], source: string): Dataset {
  const buffers = files.map((f) => {
    const buf = readBytes(f);
    return { buf, count: checkCifarBatch(buf, f) };
  });
  const total = buffers.reduce((s, b) => s + b.count, 0);
  const images = new Float32Array(total * CIFAR_IMAGE_BYTES);
  const labels = new Uint8Array(total);
  let n = 0;
  for (const { buf, count } of buffers) {
    for (let r = 0; r < count; r++, n++) {
      const at = r * CIFAR_RECORD_BYTES;
      labels[n] = buf[at]!;
      bytesToUnit(buf.subarray(at + 1, at + CIFAR_RECORD_BYTES), images, n * CIFAR_IMAGE_BYTES);
    }
  }
  return makeDataset('cifar10', images, labels, { channels: 3, height: 32, width: 32 }, source);
}

/** Loads data_batch_1..5.bin and test_batch.bin from `dir` (the folder that holds them). */
export function loadCifarBinary(dir: string): DatasetSplits {
  return {
    train: readCifarBatches(CIFAR_TRAIN_FILES.map((f) => join(dir, f)), `${dir} (CIFAR-10 binary, train)`),
    test: readCifarBatches([join(dir, CIFAR_TEST_FILE)], `${dir} (CIFAR-10 binary, test)`),
  };
}
