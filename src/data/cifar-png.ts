// The PNG subset of CIFAR-10 (convnetjs demo files, see fixtures/cifar10/README.md):
// cifar10_batch_K.png holds 1,000 images, one per row of 1,024 RGB pixels (32x32 row-major,
// channels interleaved); K < 50 are training batches, K >= 50 test batches. Labels come from
// cifar10_labels.js, where image j of batch K has label labels[K * 1000 + j].

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { readBytes } from './bytes.js';
import { makeDataset, type Dataset, type DatasetSplits } from './types.js';

export const PNG_LABELS_FILE = 'cifar10_labels.js';
export const PNG_BATCH_PATTERN = /^cifar10_batch_(\d+)\.png$/;
const ROWS = 1000;
const PIXELS = 32 * 32;
const FIRST_TEST_BATCH = 50;

/** Parses `var labels=[...]` into class indices 0..9. */
export function parseLabelsJs(text: string, file: string): Uint8Array {
  const m = /^\s*var\s+labels\s*=\s*\[([^\]]*)\]\s*;?\s*$/.exec(text);
  if (!m) {
    const open = /^\s*var\s+labels\s*=\s*\[([^\]]*)$/.exec(text);
    if (open) {
      const entries = open[1]!.split(',').filter((x) => x.trim() !== '').length;
      throw new Error(`${file}: truncated: the label list has no closing ']' (the file's ${text.length} characters end after ${entries} labels)`);
    }
    const start = text.slice(0, 40);
    throw new Error(`${file}: expected the form 'var labels=[6, 9, ...];', found ${JSON.stringify(start)}${text.length > 40 ? '...' : ''}`);
  }
  const parts = m[1]!.split(',');
  const labels = new Uint8Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const s = parts[i]!.trim();
    if (!/^\d+$/.test(s)) throw new Error(`${file}: entry ${i} is ${JSON.stringify(s)}, not an integer label`);
    const v = Number(s);
    if (v >= 10) throw new Error(`${file}: label ${v} at entry ${i} is out of range 0..9`);
    labels[i] = v;
  }
  return labels;
}

/** Decodes one subset PNG into NCHW [0, 1] values (1,000 images of 3x32x32). */
export function decodeSubsetPng(buf: Buffer, file: string): Float32Array {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    throw new Error(`${file}: not a readable PNG (${(e as Error).message})`);
  }
  if (png.width !== PIXELS || png.height !== ROWS) {
    throw new Error(
      `${file}: wrong PNG size ${png.width}x${png.height}, expected ${PIXELS}x${ROWS} (one 32x32 image per row)`,
    );
  }
  if (!png.color || png.depth !== 8) {
    throw new Error(`${file}: expected 8-bit RGB, found ${png.color ? 'color' : 'grayscale'} at ${png.depth} bits`);
  }
  // pngjs always hands back RGBA, 4 bytes per pixel.
  const rgba = png.data;
  const out = new Float32Array(ROWS * 3 * PIXELS);
  for (let r = 0; r < ROWS; r++) {
    const src = r * PIXELS * 4;
    const dst = r * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      const s = src + p * 4;
      out[dst + p] = rgba[s]! / 255;
      out[dst + PIXELS + p] = rgba[s + 1]! / 255;
      out[dst + 2 * PIXELS + p] = rgba[s + 2]! / 255;
    }
  }
  return out;
}

/** The batch numbers of the subset PNGs present in dir, ascending. */
export function listSubsetBatches(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => PNG_BATCH_PATTERN.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export function loadCifarPngSubset(dir: string): DatasetSplits {
  const labelsFile = join(dir, PNG_LABELS_FILE);
  const allLabels = parseLabelsJs(readBytes(labelsFile).toString('utf8'), labelsFile);
  const batches = listSubsetBatches(dir);
  const train = batches.filter((k) => k < FIRST_TEST_BATCH);
  const test = batches.filter((k) => k >= FIRST_TEST_BATCH);
  const range = (a: number, b: number) => `cifar10_batch_${a}..${b}.png`;
  if (train.length === 0) throw new Error(`${dir}: no training batches (${range(0, 49)}) in the PNG subset`);
  if (test.length === 0) throw new Error(`${dir}: no test batches (${range(50, 59)}) in the PNG subset`);
  return {
    train: readBatches(dir, train, allLabels, labelsFile, 'train'),
    test: readBatches(dir, test, allLabels, labelsFile, 'test'),
  };
}

function readBatches(dir: string, ks: number[], allLabels: Uint8Array, labelsFile: string, split: string): Dataset {
  const images = new Float32Array(ks.length * ROWS * 3 * PIXELS);
  const labels = new Uint8Array(ks.length * ROWS);
  ks.forEach((k, i) => {
    const file = join(dir, `cifar10_batch_${k}.png`);
    const end = (k + 1) * ROWS;
    if (end > allLabels.length) {
      throw new Error(`${labelsFile}: ${allLabels.length} labels, expected at least ${end} (${file} needs labels ${k * ROWS}..${end - 1})`);
    }
    images.set(decodeSubsetPng(readBytes(file), file), i * ROWS * 3 * PIXELS);
    labels.set(allLabels.subarray(k * ROWS, end), i * ROWS);
  });
  const shape = { channels: 3, height: 32, width: 32 };
  return makeDataset('cifar10', images, labels, shape, `${dir} (CIFAR-10 PNG subset, ${split})`);
}
