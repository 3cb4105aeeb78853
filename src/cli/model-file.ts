// `--model-file`: the attacked model read from disk instead of trained on the spot. Three kinds:
//   a file `dgp train --save FILE` wrote (parameters and buffers; its metadata says the model, the
//     width, and the rounds or epochs and steps it was trained for),
//   a checkpoint folder (federated or centralised; its latest round-/step- folder, checked against
//     the manifest), or one such folder's model.safetensors directly (momentum and optimizer
//     tensors in it are ignored: only the model's parameters and buffers are read).
// The result records where the model came from and at which round, epoch or step it was.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ModelState } from '../attacks/index.js';
import { decodeSafetensors, loadSafetensors, matchLayout, type Model } from '../models/index.js';
import { folderSummary, latestRoundFolder, readRoundFolder, ROUND_DIR } from '../train/index.js';

export interface ModelOrigin {
  file: string;
  kind: 'saved' | 'federated checkpoint' | 'centralised checkpoint';
  /** Federated rounds, or centralised steps, the model had been trained for. */
  round: number;
  unit: 'rounds' | 'steps';
  epochs?: number;
  model?: string;
  dataset?: string;
}

const count = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/** The model state in `path`, checked against `model`'s layout; `round` when the file does not say it. */
export function loadModelFile(path: string, model: Model, o: { width: number; round?: number } = { width: 1 }): { state: ModelState; origin: ModelOrigin } {
  if (!existsSync(path)) throw new Error(`--model-file ${path}: no such file or folder`);
  let tensors;
  let metadata: Record<string, string>;
  let kind: ModelOrigin['kind'] = 'saved';
  let file = path;
  const folder = statSync(path).isDirectory() ? path : ROUND_DIR.test(basename(dirname(path))) ? dirname(path) : undefined;
  const fail = (why: string): never => {
    throw new Error(`--model-file ${path}: ${why}`);
  };
  let summaryModel: string | undefined;
  let summaryDataset: string | undefined;
  if (folder) {
    // A checkpoint: the folder `latest` names (or the round folder given), its files checked against the manifest.
    const round = ROUND_DIR.test(basename(folder)) ? folder : latestRoundFolder(folder, fail);
    file = join(round, 'model.safetensors');
    ({ tensors, metadata } = decodeSafetensors(readRoundFolder(round, ['model.safetensors'], fail)['model.safetensors']!, file));
    const summary = folderSummary(round, fail);
    kind = (summary?.kind ?? (metadata['round'] !== undefined ? 'federated' : 'centralised')) === 'federated' ? 'federated checkpoint' : 'centralised checkpoint';
    summaryModel = summary?.model;
    summaryDataset = summary?.dataset;
  } else ({ tensors, metadata } = loadSafetensors(path));
  const named = metadata['model'] ?? summaryModel;
  if (named !== undefined && named !== model.name) fail(`it holds a ${named} model, not ${model.name} (give --model ${named.replace('+precode', ' --precode')})`);
  const width = metadata['width'];
  if (width !== undefined && Number(width) !== o.width) fail(`it holds a model of width ${width}, not ${o.width} (give --width ${width})`);
  const layout = [...model.params, ...model.buffers].map((t) => ({ name: t.name, shape: [...t.shape] }));
  const ordered = matchLayout(tensors, layout, file);
  const np = model.params.length;
  const rounds = count(metadata['round']) ?? count(metadata['rounds']);
  const steps = count(metadata['step']) ?? count(metadata['steps']);
  const round = rounds ?? steps ?? o.round;
  if (round === undefined) fail('it does not say how long the model was trained (no round, rounds, step or steps in its metadata); give --model-round R');
  const unit = rounds !== undefined || (steps === undefined && kind === 'federated checkpoint') ? 'rounds' : 'steps';
  const epochs = count(metadata['epochs']);
  const origin: ModelOrigin = { file, kind, round: round!, unit, ...(epochs !== undefined ? { epochs } : {}), model: named, dataset: metadata['dataset'] ?? summaryDataset };
  // Copies: the attack must not share buffers with anything that might change them.
  const copy = (t: (typeof ordered)[number]) => ({ name: t.name, shape: [...t.shape], data: Float32Array.from(t.data) });
  return { state: { params: ordered.slice(0, np).map(copy), buffers: ordered.slice(np).map(copy), round: round!, losses: [] }, origin };
}
