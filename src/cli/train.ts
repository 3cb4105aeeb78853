// `dgp train`: training on MNIST or CIFAR-10, centralised (one party, as before) or federated
// (--clients N or a --defense: clients and a server exchanging wire messages, src/federation),
// with a progress bar and a JSON result.
import { z } from 'zod';
import type { DatasetSplits } from '../data/index.js';
import { type HistoryEntry, runFederated, clientLevelPrivacy } from '../federation/index.js';
import {
  defenseFromFlags, defenseOptions, defenseShape, refineRunFlags, runOptions, runShape, specFromOptions, trainingOptions, trainingShape,
} from './run-options.js';
import { createModel, type ModelName, saveSafetensors } from '../models/index.js';
import { ProgressBar } from '../report/index.js';
import { type Command, int, num } from './args.js';
import { type DataSource, openDataset } from './data.js';
import { checkCheckpointFlags, interruptible, runCentralised, type TrainResultCommon, writeTrainResult } from './train-run.js';

export const DEFAULTS = { model: 'mlp', init: 'xavier', batchSize: 64, lr: 0.05, schedule: 'cosine' } as const;

interface Recipe {
  optimizer: 'sgd' | 'adam';
  lr: number;
  batchSize: number;
  init: 'dlg' | 'torch' | 'xavier';
}

/**
 * Where the shared defaults do not train a model, its own, used for every flag not given. The
 * all-sigmoid DLG LeNet stays at chance under SGD from PyTorch's or Glorot's initialisation and
 * reaches 91.6 % in an epoch from DLG's; Adam at lr 0.005 on batches of 8 from DLG's gives
 * 97.7-97.9 % after one epoch of MNIST over seeds 0-3 (7,500 steps, about 35 s). Federated
 * training steps with SGD, so there only the initialisation changes.
 */
const CENTRALISED_RECIPES: Partial<Record<ModelName, Partial<Recipe>>> = {
  lenet: { optimizer: 'adam', lr: 0.005, batchSize: 8, init: 'dlg' },
};
export const FEDERATED_RECIPES: Partial<Record<ModelName, Partial<Recipe>>> = {
  lenet: { init: 'dlg' },
};

const schema = z.object({
  ...trainingShape(DEFAULTS),
  // No defaults here: the model's recipe fills what the command line leaves out (see withModelRecipe).
  lr: num().positive().optional(),
  batchSize: int().positive().optional(),
  init: z.enum(['dlg', 'torch', 'xavier']).optional(),
  epochs: int().positive().optional(),
  optimizer: z.enum(['sgd', 'adam']).optional(),
  save: z.string().optional(),
  force: z.boolean().optional(),
  clientStore: z.string().optional(),
  ...runShape,
  ...defenseShape,
}).superRefine((o, ctx) => {
  defenseFromFlags(o, ctx);
  if (o.force && o.checkpoint === undefined) ctx.addIssue({ code: 'custom', path: ['force'], message: 'needs --checkpoint DIR (it lets this run replace the checkpoint there)' });
  if (o.checkpointEvery !== undefined && o.checkpoint === undefined) ctx.addIssue({ code: 'custom', path: ['checkpointEvery'], message: 'needs --checkpoint DIR' });
  if (!isFederated(o)) {
    for (const k of [...FEDERATED_ONLY, 'clientStore' as const]) {
      if (o[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'is for federated training: add --clients N (N > 1) or a --defense' });
    }
    return;
  }
  if (o.optimizer === 'adam') ctx.addIssue({ code: 'custom', path: ['optimizer'], message: 'federated training steps the server model with SGD; adam is for centralised training' });
  refineRunFlags(o, ctx);
  if (o.rounds !== undefined && o.epochs !== undefined) ctx.addIssue({ code: 'custom', path: ['rounds'], message: 'give --rounds or --epochs, not both' });
});

type Given = z.infer<typeof schema>;
type Options = Omit<Given, keyof Recipe> & Recipe;

/** The options with every recipe flag filled: given on the command line, else the model's recipe, else the default. */
export function withModelRecipe(o: Given): Options {
  const recipe = (isFederated(o) ? FEDERATED_RECIPES : CENTRALISED_RECIPES)[o.model] ?? {};
  return {
    ...o,
    optimizer: o.optimizer ?? recipe.optimizer ?? 'sgd',
    lr: o.lr ?? recipe.lr ?? DEFAULTS.lr,
    batchSize: o.batchSize ?? recipe.batchSize ?? DEFAULTS.batchSize,
    init: o.init ?? recipe.init ?? DEFAULTS.init,
  };
}

function recipeNote(key: keyof Recipe): string {
  const notes = Object.entries(CENTRALISED_RECIPES)
    .filter(([, r]) => r[key] !== undefined)
    .map(([m, r]) => `${m}: ${r[key]}${FEDERATED_RECIPES[m as ModelName]?.[key] === r[key] ? '' : ', centralised'}`);
  return notes.length ? ` (${notes.join('; ')})` : '';
}
// Checkpoints serve both modes; the rest of the run options ask for federated training.
const BOTH_MODES = ['clients', 'checkpoint', 'checkpointEvery', 'resume'];
const FEDERATED_ONLY = Object.keys(runShape).filter((k) => !BOTH_MODES.includes(k)) as (keyof typeof runShape)[];

/** More than one client, or a defense, makes a federated run; otherwise training stays centralised as it was. */
function isFederated(o: { clients?: number; defense: string }): boolean {
  return (o.clients ?? 1) > 1 || o.defense !== 'none';
}

export const trainCommand: Command<typeof schema> = {
  name: 'train',
  summary: 'train a model, centralised or federated (--clients, --defense), and report test accuracy and bytes',
  usage: 'dgp train --dataset mnist --model mlp --epochs 1 [--json out.json]\n       dgp train --model lenet --init dlg --clients 10 --batch-size 32 --rounds 300 --lr 0.03 --schedule constant --defense dgp\n       (clients in other processes or machines: dgp serve and dgp client)',
  options: {
    ...withRecipeNotes(trainingOptions(DEFAULTS)),
    epochs: { type: 'string', description: 'passes over the training set', default: '1' },
    optimizer: { type: 'string', description: `sgd (momentum, weight decay) | adam (centralised only)${recipeNote('optimizer')}`, default: 'sgd' },
    save: { type: 'string', description: 'save the trained parameters (safetensors) to this file' },
    force: { type: 'boolean', description: 'with --checkpoint DIR: let this run replace another run\'s checkpoint there (kept until this run writes its first one); without it such a folder is refused' },
    'client-store': { type: 'string', description: 'federated: keep idle clients\' states (error-feedback residuals, samplers) in this folder and only a round\'s clients in memory; the same result (a resumed run needs the same store)' },
    ...runOptions,
    ...defenseOptions,
  },
  schema,
  async run(given) {
    const t0 = performance.now();
    const o = withModelRecipe(given);
    checkCheckpointFlags(o);
    const { data, source } = await openDataset('train', o.dataset, o);
    if (isFederated(o)) return trainFederated(o, data, source, t0);
    return runCentralised(o, data, source, t0);
  },
};

async function trainFederated(o: Options, data: DatasetSplits, source: DataSource, t0: number): Promise<void> {
  const spec = specFromOptions(o, defenseFromFlags(o), data.train.count);
  const label = `${spec.algorithm} ${spec.defense.name}${spec.secureAggregation ? ', secure aggregation' : ''}`;
  const timeoutSeconds = o.clientTimeout;
  let bar: ProgressBar | undefined;
  let accuracy = '';
  const seen: HistoryEntry[] = [];
  const common = (completed: boolean, history: HistoryEntry[], testAccuracy: number | null, testLoss: number | null): TrainResultCommon => ({
    mode: 'federated', completed, dataset: o.dataset, model: o.model, data: source, testAccuracy, testLoss, testImages: Math.min(data.test.count, o.testLimit ?? Infinity),
    seconds: (performance.now() - t0) / 1000, progress: { unit: 'rounds', done: history.at(-1)?.round ?? 0, planned: spec.rounds }, history,
  });
  const result = await interruptible('train', () => {
    if (!o.json) return o.checkpoint ? [`the last checkpoint in ${o.checkpoint} continues with --resume ${o.checkpoint} --checkpoint ${o.checkpoint}`] : [];
    const last = [...seen].reverse().find((e) => e.testAccuracy !== undefined);
    const up = seen.reduce((a, e) => a + e.bytesUp, 0) / spec.clients;
    const down = seen.reduce((a, e) => a + e.bytesDown, 0) / spec.clients;
    writeTrainResult(o.json, o, spec.defense, common(false, seen, last?.testAccuracy ?? null, last?.testLoss ?? null), { rounds: spec.rounds, clients: spec.clients, bytes: { upPerClient: up, downPerClient: down }, spec });
    return [`partial result (rounds ${seen[0]?.round ?? 0}-${seen.at(-1)?.round ?? 0} of ${spec.rounds}) in ${o.json}`, ...(o.checkpoint ? [`the last checkpoint in ${o.checkpoint} continues with --resume ${o.checkpoint} --checkpoint ${o.checkpoint}`] : [])];
  }, () => runFederated(spec, data, {
    timeoutMs: timeoutSeconds !== undefined ? timeoutSeconds * 1000 : undefined,
    checkpoint: o.checkpoint,
    checkpointEvery: o.checkpointEvery,
    clientStore: o.clientStore,
    resume: o.resume,
    onRound: (e, rounds) => {
      seen.push(e);
      if (e.testAccuracy !== undefined) accuracy = ` acc ${(e.testAccuracy * 100).toFixed(1)}%`;
      (bar ??= new ProgressBar({ total: rounds, unit: 'rounds', label })).update(e.round, `loss ${e.trainLoss.toFixed(3)}${accuracy}`);
    },
  }));
  bar?.finish();
  const seconds = (performance.now() - t0) / 1000;
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const bytes = { upPerClient: mean(result.bytesUp), downPerClient: mean(result.bytesDown), up: result.bytesUp, down: result.bytesDown };
  const dropouts = result.history.reduce((s, e) => s + e.dropped.length, 0);
  const failed = result.history.filter((e) => e.failed !== undefined).length;
  const privacy = clientLevelPrivacy(spec, result.history);
  console.log(
    `${o.model} on ${o.dataset}, ${spec.clients} clients, ${label}: test accuracy ${(result.testAccuracy * 100).toFixed(2)}% after ${spec.rounds} rounds; ` +
      `per client ${megabytes(bytes.upPerClient)} up, ${megabytes(bytes.downPerClient)} down${dropouts ? `; ${dropouts} dropouts` : ''}${failed ? `; ${failed} failed rounds (too few clients left to unmask)` : ''}; ${seconds.toFixed(1)} s` +
      (privacy ? `; DP: epsilon ${privacy.epsilon.toPrecision(3)} at delta ${privacy.delta} per client against the server (${privacy.rounds} rounds, z ${privacy.noiseMultiplier})` : ''),
  );
  if (o.json) writeTrainResult(o.json, o, spec.defense, common(true, result.history, result.testAccuracy, result.testLoss), { rounds: spec.rounds, clients: spec.clients, bytes, ...(privacy ? { privacy } : {}), spec });
  // The metadata says what `dgp attack --model-file` needs: the model, its width and how long it trained.
  if (o.save) saveSafetensors(o.save, [...result.params, ...result.buffers], { model: o.precode ? `${o.model}+precode` : o.model, width: String(o.width), dataset: o.dataset, rounds: String(spec.rounds), defense: spec.defense.name });
}

/** The help text of the recipe flags says which models have their own default. */
function withRecipeNotes(options: ReturnType<typeof trainingOptions>): ReturnType<typeof trainingOptions> {
  const out = { ...options };
  for (const [flag, key] of [['lr', 'lr'], ['batch-size', 'batchSize'], ['init', 'init']] as const) {
    out[flag] = { ...out[flag]!, description: out[flag]!.description + recipeNote(key) };
  }
  return out;
}

function megabytes(b: number): string {
  return `${(b / 1e6).toFixed(2)} MB`;
}
