// loadCifar10: finds which CIFAR-10 layout a folder holds and reads it.

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzip, readBytes } from './bytes.js';
import { CIFAR_BIN_SUBDIR, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, loadCifarBinary } from './cifar-binary.js';
import { listSubsetBatches, loadCifarPngSubset, PNG_LABELS_FILE } from './cifar-png.js';
import { extractTar } from './tar.js';
import type { DatasetSplits } from './types.js';

export const CIFAR_ARCHIVE = 'cifar-10-binary.tar.gz';

export type Cifar10Layout =
  | { kind: 'binary'; dir: string }
  | { kind: 'png-subset'; dir: string }
  | { kind: 'archive'; file: string };

/** What the folder holds, in order of preference; null when nothing recognisable is there. */
export function detectCifar10(dataDir: string): Cifar10Layout | null {
  const hasBatches = (d: string) =>
    existsSync(join(d, CIFAR_TEST_FILE)) || existsSync(join(d, CIFAR_TRAIN_FILES[0]!));
  const sub = join(dataDir, CIFAR_BIN_SUBDIR);
  if (hasBatches(sub)) return { kind: 'binary', dir: sub };
  if (hasBatches(dataDir)) return { kind: 'binary', dir: dataDir };
  if (existsSync(join(dataDir, PNG_LABELS_FILE)) || listSubsetBatches(dataDir).length > 0) {
    return { kind: 'png-subset', dir: dataDir };
  }
  const archive = join(dataDir, CIFAR_ARCHIVE);
  if (existsSync(archive)) return { kind: 'archive', file: archive };
  return null;
}

export interface Cifar10Options {
  dataDir: string;
}

/**
 * Loads CIFAR-10 from a folder holding the official binary batches (in cifar-10-batches-bin/ or
 * directly), the PNG subset, or just the downloaded cifar-10-binary.tar.gz (extracted in place).
 */
export function loadCifar10(opts: Cifar10Options): DatasetSplits {
  const dir = opts.dataDir;
  if (!existsSync(dir)) throw new Error(`CIFAR-10 dataDir ${dir}: folder not found`);
  if (!statSync(dir).isDirectory()) throw new Error(`CIFAR-10 dataDir ${dir}: not a folder`);
  const layout = detectCifar10(dir);
  if (layout === null) {
    throw new Error(
      `CIFAR-10 dataDir ${dir}: no CIFAR-10 data found; expected ${CIFAR_BIN_SUBDIR}/` +
        `{data_batch_1..5,test_batch}.bin (or those files directly), the PNG subset ` +
        `(cifar10_batch_K.png + ${PNG_LABELS_FILE}), or ${CIFAR_ARCHIVE}. ` +
        `loadDataset('cifar10', { download: true }) fetches the official archive.`,
    );
  }
  switch (layout.kind) {
    case 'binary':
      return loadCifarBinary(layout.dir);
    case 'png-subset':
      return loadCifarPngSubset(layout.dir);
    case 'archive':
      extractCifarArchive(layout.file, dir);
      return loadCifarBinary(join(dir, CIFAR_BIN_SUBDIR));
  }
}

/** Unpacks cifar-10-binary.tar.gz into destDir and checks that every batch file came out. */
export function extractCifarArchive(archive: string, destDir: string, recordsPerBatch: number | null = null): void {
  const written = new Set(extractTar(gunzip(readBytes(archive), archive), destDir, archive));
  const binDir = join(resolve(destDir), CIFAR_BIN_SUBDIR);
  for (const f of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) {
    const path = join(binDir, f);
    if (!written.has(path)) throw new Error(`${archive}: archive has no ${CIFAR_BIN_SUBDIR}/${f}`);
    if (recordsPerBatch !== null) {
      const size = statSync(path).size;
      const expected = recordsPerBatch * 3073;
      if (size !== expected) {
        throw new Error(`${path}: extracted ${size} bytes, expected ${expected} (${recordsPerBatch} records)`);
      }
    }
  }
}
