// What a client trains on (`dgp client --data SOURCE`): data it holds itself, or, for experiments,
// its share of a named data set cut by the run's seed (as in one process). The server names only
// the data set's kind (its image size and classes); the examples never leave the client.
//   folder:DIR    an image folder, one subfolder per class (PNG or JPEG)
//   mnist:DIR     MNIST's IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, optionally .gz)
//   cifar10:DIR   CIFAR-10's binary batches, or the PNG form (cifar10_batch_K.png + cifar10_labels.js)
//   share[:DIR]   the share of the run's data set that the run's seed gives this client id
//   DIR           one of the first three, recognised by what the folder holds
import { existsSync, readdirSync, statSync } from 'node:fs';
import { detectCifar10, loadCifar10, loadDataset, loadImageFolder, loadMnistSplit, type DatasetName } from '../data/index.js';
import type { ClientSource, FederatedSpec } from '../federation/index.js';

export type DataSource =
  | { kind: 'folder' | 'mnist' | 'cifar10'; dir: string }
  | { kind: 'share'; dir?: string };

export function parseDataSource(text: string): DataSource {
  const m = /^(folder|mnist|cifar10|share):(.*)$/.exec(text);
  if (text === 'share') return { kind: 'share' };
  if (m) {
    const kind = m[1] as DataSource['kind'];
    if (!m[2]) throw new Error(`--data ${text}: ${kind}: needs a folder (${kind}:DIR)`);
    return { kind, dir: m[2] };
  }
  if (!existsSync(text) || !statSync(text).isDirectory()) {
    throw new Error(`--data ${text}: not a folder; expected folder:DIR, mnist:DIR, cifar10:DIR, share or share:DIR`);
  }
  if (readdirSync(text).some((f) => f.startsWith('train-images-idx3-ubyte'))) return { kind: 'mnist', dir: text };
  if (detectCifar10(text)) return { kind: 'cifar10', dir: text };
  return { kind: 'folder', dir: text };
}

/** The client's examples for a run, checked against the run's data set. */
export async function loadClientSource(source: DataSource, spec: FederatedSpec): Promise<ClientSource> {
  const want: DatasetName = spec.dataset;
  if (source.kind === 'share') return { kind: 'share', data: await loadDataset(want, { dataDir: source.dir }) };
  if (source.kind !== 'folder' && source.kind !== want) {
    throw new Error(`--data ${source.kind}:${source.dir}: this run trains on ${want} images, not ${source.kind}`);
  }
  if (source.kind === 'mnist') return { kind: 'own', train: loadMnistSplit(source.dir, 'train') };
  if (source.kind === 'cifar10') return { kind: 'own', train: loadCifar10({ dataDir: source.dir }).train };
  return { kind: 'own', train: loadImageFolder(source.dir, want) };
}
