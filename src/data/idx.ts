// The IDX format of MNIST's files: big-endian int32 magic (0x0803 images, 0x0801 labels), then
// one int32 per dimension, then the unsigned bytes. Reading and writing them from bytes, with no
// Node built-ins (a browser page reads the bundled MNIST shard with this).
import { bytesToUnit } from './pixels.js';
import { checkLabels, type Dataset, makeDataset } from './types.js';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count*rows*cols bytes, a view into the file buffer. */
  pixels: Uint8Array;
}

/** The header's big-endian int32 fields after its magic (the count, then the dimensions), checked. */
function idxHeader(buf: Uint8Array, file: string, magic: number, what: string, fields: number): number[] {
  const size = 4 * (1 + fields);
  if (buf.length < size) throw new Error(`${file}: truncated IDX header (${buf.length} bytes, need ${size})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) throw new Error(`${file}: bad magic ${found} for IDX ${what} (expected ${magic})`);
  return Array.from({ length: fields }, (_, i) => view.getUint32(4 + 4 * i));
}

export function parseIdxImages(buf: Uint8Array, file: string): IdxImages {
  const [count, rows, cols] = idxHeader(buf, file, IDX_IMAGES_MAGIC, 'images', 3) as [number, number, number];
  if (rows === 0 || cols === 0) throw new Error(`${file}: bad image dimensions ${rows}x${cols}`);
  checkLength(buf.length, 16, count, rows * cols, `images of ${rows}x${cols}`, file);
  return { count, rows, cols, pixels: buf.subarray(16, 16 + count * rows * cols) };
}

export function parseIdxLabels(buf: Uint8Array, file: string): Uint8Array {
  const [count] = idxHeader(buf, file, IDX_LABELS_MAGIC, 'labels', 1) as [number];
  checkLength(buf.length, 8, count, 1, 'labels', file);
  return buf.subarray(8, 8 + count);
}

function checkLength(actual: number, header: number, count: number, each: number, what: string, file: string) {
  const expected = header + count * each;
  if (actual < expected) {
    throw new Error(`${file}: truncated: the header declares ${count} ${what}, expected ${expected} bytes, found ${actual}`);
  }
  if (actual > expected) {
    throw new Error(`${file}: ${actual - expected} unexpected trailing bytes after ${count} ${what}`);
  }
}

/** MNIST images and labels from the bytes of their IDX files (read from disk, or fetched by a page). */
export function mnistFromIdx(imageBytes: Uint8Array, labelBytes: Uint8Array, imagesFile: string, labelsFile: string): Dataset {
  const images = parseIdxImages(imageBytes, imagesFile);
  const labels = parseIdxLabels(labelBytes, labelsFile);
  if (images.rows !== 28 || images.cols !== 28) {
    throw new Error(`${imagesFile}: MNIST images must be 28x28, file has ${images.rows}x${images.cols}`);
  }
  if (images.count !== labels.length) {
    throw new Error(`count mismatch: ${imagesFile} has ${images.count} images, ${labelsFile} has ${labels.length} labels`);
  }
  checkLabels(labels, 10, labelsFile);
  const x = new Float32Array(images.pixels.length);
  bytesToUnit(images.pixels, x);
  // Copy the labels so the dataset does not pin the whole file buffer.
  return makeDataset('mnist', x, new Uint8Array(labels), { channels: 1, height: 28, width: 28 }, imagesFile);
}

/** The IDX files of some of a data set's images (one channel, 8 bits a pixel): a shard a client can own. */
export function encodeIdx(data: Dataset, indices: ArrayLike<number>): { images: Uint8Array; labels: Uint8Array } {
  if (data.channels !== 1) throw new Error(`encodeIdx: IDX holds one-channel images, ${data.source} has ${data.channels}`);
  const plane = data.height * data.width;
  const images = new Uint8Array(16 + indices.length * plane);
  const labels = new Uint8Array(8 + indices.length);
  const iv = new DataView(images.buffer);
  [IDX_IMAGES_MAGIC, indices.length, data.height, data.width].forEach((v, i) => iv.setUint32(4 * i, v));
  const lv = new DataView(labels.buffer);
  [IDX_LABELS_MAGIC, indices.length].forEach((v, i) => lv.setUint32(4 * i, v));
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    for (let p = 0; p < plane; p++) images[16 + j * plane + p] = Math.round(data.images[i * plane + p]! * 255);
    labels[8 + j] = data.labels[i]!;
  }
  return { images, labels };
}
