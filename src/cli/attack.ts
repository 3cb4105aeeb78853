// `dgp attack`: one gradient-inversion attack against one defense, on N test images in batches of
// B, with the model after R training rounds. Writes a PNG grid (ground truth above the
// reconstruction), the metrics as JSON, and prints one summary line.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BATCH_NORM_MODES, type BatchNormMode, modelAtRound, type ExperimentResult, runExperiment, ATTACK_NAMES } from '../attacks/index.js';
import type { DatasetSplits } from '../data/index.js';
import { defenseFromFlags, defenseOptions, defenseShape, precodeOf } from './run-options.js';
import { createModel, loadPrior, MODEL_NAMES, type Model } from '../models/index.js';
import { type LpipsBackend, type LpipsNotComputed, openLpips, alexnetLpips } from '../metrics/index.js';
import { ProgressBar, writeImageGrid } from '../report/index.js';
import { type Command, int, num, type OptionSpec } from './args.js';
import { dataOptions, dataShape, openDataset } from './data.js';
import { type ResultHead, resultHead, withDefenseDefaults, writeResult } from './result.js';
import { resumeFiles } from './resume-files.js';
import { loadModelFile } from './model-file.js';

export { FIXTURE_CIFAR10 } from './data.js';

/** Options shared with privacy-table: data, model, round, seed, attack effort. */
export const commonSchema = {
  model: z.enum(MODEL_NAMES).default('lenet'),
  width: num().positive().default(1),
  dataset: z.enum(['cifar10', 'mnist']).default('cifar10'),
  ...dataShape,
  round: int().min(0).default(0),
  trainLr: num().positive().default(0.01),
  seed: int().default(0),
  iterations: int().positive().optional(),
  restarts: int().positive().optional(),
  first: int().min(0).default(0),
  lpipsWeights: z.string().optional(),
  precode: z.boolean().optional(),
  precodeK: int().positive().default(256),
  precodeBeta: num().min(0).default(1e-3),
  batchNorm: z.enum(BATCH_NORM_MODES as [BatchNormMode, ...BatchNormMode[]]).default('eval'),
  tv: num().min(0).optional(),
  snapshotEvery: int().positive().default(200),
  traceEvery: int().positive().optional(),
};

export const commonOptions: Record<string, OptionSpec> = {
  model: { type: 'string', description: `attacked model: ${MODEL_NAMES.join(' | ')}`, default: 'lenet' },
  width: { type: 'string', description: 'channel multiplier for convnet / resnet18', default: '1' },
  dataset: { type: 'string', description: 'cifar10 | mnist', default: 'cifar10' },
  ...dataOptions,
  round: { type: 'string', description: 'attack the model after this many SGD steps (batch 32) on training images; 0 = at initialisation', default: '0' },
  'train-lr': { type: 'string', description: 'learning rate of those steps', default: '0.01' },
  seed: { type: 'string', description: 'seed of the model, the attack starts and the defense noise', default: '0' },
  iterations: { type: 'string', description: "iterations per restart (default: the attack's own)" },
  restarts: { type: 'string', description: "restarts (default: the attack's own)" },
  first: { type: 'string', description: 'index of the first attacked test image', default: '0' },
  'lpips-weights': { type: 'string', description: 'LPIPS (AlexNet) weights, safetensors (scripts/lpips-alexnet-weights.py); without it LPIPS is "not computed: no weights"' },
  precode: { type: 'boolean', description: "attack a model with PRECODE's variational bottleneck before its classifier (the client's noise draw is unknown to the attacker, who uses the bottleneck's mean)" },
  'precode-k': { type: 'string', description: 'PRECODE: bottleneck width K', default: '256' },
  'precode-beta': { type: 'string', description: 'PRECODE: weight of the KL term', default: '1e-3' },
  'batch-norm': {
    type: 'string',
    description: "models with batch norm: eval = the server sends the running statistics and the client computes in evaluation mode on them (breaching's provide_public_buffers) | train = the client normalises with its batch's statistics",
    default: 'eval',
  },
  tv: { type: 'string', description: "total-variation weight of the attack's objective (default: the attack's own for the model)" },
  'snapshot-every': { type: 'string', description: 'Adam steps between snapshots of a case in progress (an interrupted run resumes from the last one)', default: '200' },
  'trace-every': { type: 'string', description: 'print the objective of each restart every this many steps (stderr)' },
};

/** The options that decide a result: a resumed run must have the same ones. */
export function resumeKey(o: Record<string, unknown>): string {
  const { out: _out, snapshotEvery: _s, traceEvery: _t, ...rest } = o;
  return JSON.stringify(rest);
}

/** Prints one line per trace point: the objective and matching term of every restart. */
export function traceLine(label: string): (k: number, t: number, v: { loss: number; match: number }[]) => void {
  return (k, t, v) => console.error(`${label} case ${k} step ${t}: ${v.map((r) => `loss ${r.loss.toPrecision(4)} match ${r.match.toPrecision(4)}`).join(' | ')}`);
}

/** The LPIPS backend for --lpips-weights, or why there is none. */
export async function lpipsFor(weightsPath: string | undefined): Promise<LpipsBackend | LpipsNotComputed> {
  return openLpips({ weightsPath, createBackend: alexnetLpips });
}

// The defense flags are the ones `dgp train` takes (one table in cli/run-options.ts).
const schema = z
  .object({
    ...commonSchema,
    ...defenseShape,
    attack: z.enum(ATTACK_NAMES as [string, ...string[]]),
    images: int().positive().default(8),
    batch: int().positive().default(1),
    knowLabels: z.boolean().default(false),
    bins: int().min(2).default(64),
    modelFile: z.string().optional(),
    modelRound: int().min(0).optional(),
    prior: z.string().optional(),
    out: z.string(),
  })
  .superRefine((o, ctx) => {
    defenseFromFlags(o, ctx);
    priorFlag(o, ctx);
    if (o.modelFile !== undefined && o.round !== 0) ctx.addIssue({ code: 'custom', path: ['round'], message: `trains a fresh model for R steps; with --model-file (${o.modelFile}) the model is the file's, at the round it records` });
    if (o.modelRound !== undefined && o.modelFile === undefined) ctx.addIssue({ code: 'custom', path: ['modelRound'], message: 'only says the round of a --model-file whose metadata does not' });
    if (o.defense === 'adgp') ctx.addIssue({ code: 'custom', path: ['defense'], message: 'adgp is a protocol between clients and a broadcaster; attack one client\'s update under dgp instead' });
  });

export type AttackCommandOptions = z.infer<typeof schema>;

/** --prior goes with the GGL attacks, and they need it. */
function priorFlag(o: { attack?: unknown; prior?: string }, ctx: z.RefinementCtx): void {
  if (typeof o.attack !== 'string') return; // a bad --attack has its own message
  const ggl = o.attack.startsWith('ggl');
  if (ggl && o.prior === undefined) ctx.addIssue({ code: 'custom', path: ['prior'], message: `is needed by ${o.attack}: a generative prior made by dgp train-prior` });
  if (!ggl && o.prior !== undefined) ctx.addIssue({ code: 'custom', path: ['prior'], message: `is for the ggl attacks, not ${o.attack}` });
}

const priorOption: OptionSpec = { type: 'string', description: 'ggl attacks: the generative prior (.safetensors from dgp train-prior)' };

/** The data set by the one rule of every command (data.ts). */
export async function loadData(name: 'cifar10' | 'mnist', dataDir?: string, command = 'client'): Promise<DatasetSplits> {
  return (await openDataset(command, name, { dataDir })).data;
}

export function attackedModel(o: { model: (typeof MODEL_NAMES)[number]; width: number; precode?: { k: number; beta: number } }, data: DatasetSplits): Model {
  const t = data.test;
  return createModel(o.model, { inputShape: [t.channels, t.height, t.width], width: o.width, precode: o.precode });
}

/** Writes NAME.png (truth row above reconstruction row) and NAME.json (the result head, summary, `extra`, records) under `dir`. */
export function writeExperiment(dir: string, r: ExperimentResult, head: ResultHead, extra: Record<string, unknown> = {}, name = 'attack'): { grid: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const grid = join(dir, `${name}.png`);
  const json = join(dir, `${name}.json`);
  writeImageGrid(grid, [{ images: r.truth, shape: r.shape }, { images: r.recon, shape: r.shape }], { scale: 2, pad: 1 });
  writeResult(json, head, { summary: r.summary, ...extra, records: r.records });
  return { grid, json };
}

export function summaryLine(s: ExperimentResult['summary']): string {
  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
  const labels = s.labelAccuracy !== undefined ? ` label acc ${f(s.labelAccuracy)}` : '';
  const lp = typeof s.lpips === 'number' ? ` LPIPS ${f(s.lpips, 3)},` : '';
  return `${s.attack} vs ${s.defense} on ${s.model} (round ${s.round}), ${s.images} images in batches of ${s.batch}: PSNR ${f(s.psnr)} dB, SSIM ${f(s.ssim, 3)}, CW-SSIM ${f(s.cwSsim, 3)},${lp}${labels} rel. grad. distance ${f(s.relGradDistance, 3)} (${s.seconds.toFixed(0)} s)`;
}

export const attackCommand: Command<typeof schema> = {
  name: 'attack',
  summary: 'run a gradient-inversion attack against a defense and score the reconstructions',
  usage: 'dgp attack --attack dlg --defense dgp [--p-top 0.05 --p-keep 0.2] --model lenet --images 8 --batch 1 --round 0 --out runs/dlg',
  options: {
    attack: { type: 'string', description: ATTACK_NAMES.join(' | ') },
    ...defenseOptions,
    ...commonOptions,
    images: { type: 'string', description: 'attacked test images', default: '8' },
    batch: { type: 'string', description: 'images per client update (batch size, known to the attacker)', default: '1' },
    'know-labels': { type: 'boolean', description: 'give the attacker the labels (default: DLG optimises them, the others recover them)' },
    bins: { type: 'string', description: 'rtf: imprint bins', default: '64' },
    'model-file': {
      type: 'string',
      description: 'attack this model instead of a fresh one: a file from dgp train --save, a checkpoint folder (dgp train --checkpoint DIR, federated or centralised) or its model.safetensors; the result records its round or step',
    },
    'model-round': { type: 'string', description: 'the round of a --model-file whose metadata does not record one' },
    prior: priorOption,
    out: { type: 'string', description: 'output folder for attack.png and attack.json' },
  },
  schema,
  async run(o) {
    const { data, source } = await openDataset('attack', o.dataset, o);
    const model = attackedModel({ ...o, precode: precodeOf(o) }, data);
    const loaded = o.modelFile !== undefined ? loadModelFile(o.modelFile, model, { width: o.width, round: o.modelRound }) : undefined;
    const state = loaded?.state ?? (await modelAtRound(model, o.round, { seed: o.seed, train: data.train, lr: o.trainLr }));
    let bar: ProgressBar | undefined;
    const effective = withDefenseDefaults(o, defenseFromFlags(o));
    const resume = resumeFiles(o.out, 'attack', resumeKey(effective), o.snapshotEvery);
    if (resume.finished > 0) console.error(`dgp attack: resuming: ${resume.finished} case(s) already done in ${o.out}/attack.cases`);
    const result = await runExperiment({
      attack: o.attack,
      defense: o.defense,
      defenseOptions: defenseFromFlags(o).options,
      model,
      state,
      data,
      images: o.images,
      first: o.first,
      batch: o.batch,
      seed: o.seed,
      iterations: o.iterations,
      restarts: o.restarts,
      knowLabels: o.knowLabels,
      bins: o.bins,
      tv: o.tv,
      prior: o.prior !== undefined ? loadPrior(o.prior) : undefined,
      batchNorm: o.batchNorm,
      store: resume.cases,
      snapshots: resume.snapshots,
      onTrace: o.traceEvery ? traceLine(`${o.attack} vs ${o.defense}`) : undefined,
      traceEvery: o.traceEvery,
      lpips: await lpipsFor(o.lpipsWeights),
      onProgress: (p) => {
        bar ??= new ProgressBar({ total: o.images, unit: 'images', label: `${o.attack} vs ${o.defense}` });
        bar.update((p.case + p.done / p.total) * o.batch, `batch ${p.case + 1}/${p.cases}`);
      },
    });
    bar?.finish();
    const head = resultHead('attack', effective);
    const files = writeExperiment(o.out, result, head, { data: source, trainLosses: state.losses, modelOrigin: loaded?.origin ?? { kind: 'fresh', round: o.round, unit: 'steps', trainLr: o.trainLr, seed: o.seed } });
    console.log(summaryLine(result.summary));
    console.log(`wrote ${files.grid} and ${files.json}`);
  },
};
