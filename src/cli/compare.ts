// `dgp compare`: the same federated run under six defenses (undefended, DGP with and without
// error feedback, ADGP, Top-k, DP noise), one after the other, and a markdown table of final test
// accuracy and bytes per client up and down (src/federation/compare.ts), with figures on --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compareDefenses, comparisonTable, defaultConfigs, EXTRA_COMPARE_ROWS, extraConfigs, lastImages, selectConfigs } from '../federation/index.js';
import { refineRunFlags, specFromOptions, strategyOptions, strategyShape, trainingOptions, trainingShape } from './run-options.js';
import { accuracyFigure, bandwidthFigure, lossFigure, ProgressBar, writeLinePlot } from '../report/index.js';
import { type Command, int, nameList, num, UsageError } from './args.js';
import { type DataSource, openDataset } from './data.js';
import type { DatasetSplits } from '../data/index.js';
import { resultHead, writeResult } from './result.js';
import { effectiveDefenseOptions } from '../defenses/index.js';

const DEFAULTS = { model: 'lenet', init: 'dlg', batchSize: 32, lr: 0.03, schedule: 'constant' } as const;

const schema = z.object({
  ...trainingShape(DEFAULTS),
  ...strategyShape,
  clients: int().positive().default(10),
  rounds: int().positive().default(500),
  clip: num().positive().default(1),
  noiseMultiplier: num().min(0).default(0.01),
  also: nameList(EXTRA_COMPARE_ROWS).optional(),
  out: z.string().optional(),
  defenses: z.string().regex(/^[a-z-]+(,[a-z-]+)*$/, 'expected KEY[,KEY...], e.g. none,dgp,dgp-noef').optional(),
  seeds: z.string().regex(/^-?\d+(,-?\d+)*$/, 'expected SEED[,SEED...], e.g. 1,2,3').optional(),
  holdout: int().positive().optional(),
  checkpoint: z.string().optional(),
  checkpointEvery: int().positive().optional(),
}).superRefine((o, ctx) => {
  refineRunFlags(o, ctx);
  const seeds = o.seeds?.split(',') ?? [];
  if (new Set(seeds).size !== seeds.length) ctx.addIssue({ code: 'custom', path: ['seeds'], message: `a seed is named twice in ${o.seeds}` });
});

/** --holdout N: the test set becomes the last N training images, and training keeps to the images before them (--train-limit at most that). */
function withHoldout<T extends { data: DatasetSplits; source: DataSource }>(opened: T, o: { holdout?: number; trainLimit?: number }): T {
  const n = o.holdout;
  if (n === undefined) return opened;
  const count = opened.data.train.count;
  if (n >= count) throw new UsageError(`invalid --holdout: ${n} of the ${count} training images would leave none to train on`);
  if (o.trainLimit !== undefined && o.trainLimit > count - n) throw new UsageError(`invalid --train-limit: ${o.trainLimit} reaches into the ${n} held-out images (at most ${count - n})`);
  o.trainLimit ??= count - n;
  const test = lastImages(opened.data.train, n);
  return { ...opened, data: { train: opened.data.train, test }, source: { ...opened.source, test: n, holdout: n } };
}

export const compareCommand: Command<typeof schema> = {
  name: 'compare',
  summary: 'train the same federated run under six defenses; accuracy and bytes per client as a table and figures',
  usage: 'dgp compare [--dataset mnist --model lenet --clients 10 --batch-size 32 --rounds 500 --lr 0.03] [--json out.json]',
  options: {
    ...trainingOptions(DEFAULTS),
    clients: { type: 'string', description: 'clients', default: '10' },
    rounds: { type: 'string', description: 'rounds of every run', default: '500' },
    ...strategyOptions,
    clip: { type: 'string', description: 'DP row: bound on each client update\'s L2 norm (as dgp train --defense dp --clip)', default: '1' },
    'noise-multiplier': { type: 'string', description: 'DP row: noise std over --clip (as dgp train --defense dp --noise-multiplier)', default: '0.01' },
    also: { type: 'string', description: `more rows after the six, comma-separated: ${EXTRA_COMPARE_ROWS.join(', ')} (PRECODE with --precode-k / --precode-beta, Outpost with its defaults)` },
    'dp-clip': { type: 'string', description: '', aliasOf: 'clip' },
    'dp-noise': { type: 'string', description: '', aliasOf: 'noise-multiplier' },
    out: { type: 'string', description: 'folder for table.md, compare.json and the figures (loss.svg, bandwidth.svg; accuracy.svg with --eval-every)' },
    defenses: { type: 'string', description: 'the rows to run, in order (the first is the reference): none, dgp, dgp-noef, adgp, topk, dp (default: all six)' },
    seeds: { type: 'string', description: 'run every row once per seed (e.g. 1,2,3); the table shows the mean, each seed, and the paired difference to the first row (default: --seed)' },
    holdout: { type: 'string', description: 'evaluate on the last N training images instead of the test set, and train on the images before them (more evaluation images than the test set holds)' },
    checkpoint: { type: 'string', description: 'folder for one checkpoint per row and seed (DIR/seed-S/ROW); the same command run again continues from them (finished runs are only evaluated)' },
    'checkpoint-every': { type: 'string', description: 'rounds between checkpoints (and after the last)', default: '10' },
  },
  schema,
  async run(o) {
    const opened = await openDataset('compare', o.dataset, o);
    const { data, source } = withHoldout(opened, o);
    const { defense: _, ...base } = specFromOptions(o, { name: 'none', options: {} }, data.train.count);
    const defaults = defaultConfigs({ clip: o.clip, noiseMultiplier: o.noiseMultiplier });
    const extra = (names: readonly (typeof EXTRA_COMPARE_ROWS)[number][]) => extraConfigs(names, { precode: { k: o.precodeK, beta: o.precodeBeta } });
    let configs = [...defaults, ...extra(o.also ?? [])];
    try {
      // --defenses picks among every row, the other papers' defenses included.
      if (o.defenses) configs = selectConfigs([...defaults, ...extra(EXTRA_COMPARE_ROWS)], o.defenses);
    } catch (e) {
      throw new UsageError(`invalid --defenses: ${(e as Error).message}`);
    }
    const seeds = o.seeds ? o.seeds.split(',').map(Number) : [base.seed];
    let bar: ProgressBar | undefined;
    const total = configs.length * seeds.length * base.rounds;
    const rows = await compareDefenses(base, data, configs, {
      seeds,
      checkpoint: o.checkpoint ? (c, seed) => join(o.checkpoint!, `seed-${seed}`, c.key) : undefined,
      checkpointEvery: o.checkpointEvery,
      onRound: (c, seed, round) => {
        const done = (configs.indexOf(c) * seeds.length + seeds.indexOf(seed)) * base.rounds + round;
        (bar ??= new ProgressBar({ total, unit: 'rounds', label: 'compare' })).update(done, `${c.label}, seed ${seed}`);
      },
    });
    bar?.finish();
    const evaluated = o.holdout ? `, tested on the last ${o.holdout} training images (trained on the ${base.trainLimit} before them)` : '';
    console.log(`${base.model.name} on ${base.dataset}, ${base.clients} clients x ${base.batchSize} examples, ${base.rounds} rounds of ${base.algorithm}, lr ${base.lr} (${base.schedule}), seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')}${evaluated}\n`);
    const setting = `${base.model.name} on ${base.dataset}, ${base.clients} clients x ${base.batchSize} examples, ${base.rounds} rounds`;
    console.log(comparisonTable(rows));
    console.log(`\n${rows.map((r) => `${r.label}: ${r.seconds.toFixed(0)} s`).join('; ')}`);
    const head = resultHead('compare', { ...o, defenseRows: configs.map((c) => ({ label: c.label, defense: c.defense.name, defenseOptions: effectiveDefenseOptions(c.defense.name, c.defense.options), ...(c.precode ? { precode: c.precode } : {}) })) });
    const body = { spec: base, data: source, rows };
    if (o.json) writeResult(o.json, head, body);
    if (o.out) {
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, 'table.md'), `${comparisonTable(rows)}\n`);
      writeResult(join(o.out, 'compare.json'), head, body);
      writeLinePlot(join(o.out, 'loss.svg'), lossFigure(rows, setting));
      writeLinePlot(join(o.out, 'bandwidth.svg'), bandwidthFigure(rows, `${setting}: accuracy against bytes`));
      const accuracy = accuracyFigure(rows, setting);
      if (accuracy) writeLinePlot(join(o.out, 'accuracy.svg'), accuracy);
      console.log(`wrote ${o.out}/table.md, compare.json, loss.svg, bandwidth.svg${accuracy ? ', accuracy.svg' : ''}`);
    }
  },
};
