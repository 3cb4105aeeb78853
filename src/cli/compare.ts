// `dgp compare`: the same federated run under six defenses (undefended, DGP with and without
// error feedback, ADGP, Top-k, DP noise), one after the other, and a markdown table of final test
// accuracy and bytes per client up and down (src/federation/compare.ts), with figures on --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compareDefenses, comparisonTable, defaultConfigs, EXTRA_COMPARE_ROWS, extraConfigs } from '../federation/index.js';
import { refineRunFlags, specFromOptions, strategyOptions, strategyShape, trainingOptions, trainingShape } from './run-options.js';
import { accuracyFigure, bandwidthFigure, lossFigure, ProgressBar, writeLinePlot } from '../report/index.js';
import { type Command, int, nameList, num } from './args.js';
import { openDataset } from './data.js';
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
}).superRefine((o, ctx) => refineRunFlags(o, ctx));

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
  },
  schema,
  async run(o) {
    const { data, source } = await openDataset('compare', o.dataset, o);
    const { defense: _, ...base } = specFromOptions(o, { name: 'none', options: {} }, data.train.count);
    const configs = [...defaultConfigs({ clip: o.clip, noiseMultiplier: o.noiseMultiplier }), ...extraConfigs(o.also ?? [], { precode: { k: o.precodeK, beta: o.precodeBeta } })];
    let bar: ProgressBar | undefined;
    const total = configs.length * base.rounds;
    const rows = await compareDefenses(base, data, configs, (c, round) => {
      (bar ??= new ProgressBar({ total, unit: 'rounds', label: 'compare' })).update(configs.indexOf(c) * base.rounds + round, c.label);
    });
    bar?.finish();
    console.log(`${base.model.name} on ${base.dataset}, ${base.clients} clients x ${base.batchSize} examples, ${base.rounds} rounds of ${base.algorithm}, lr ${base.lr} (${base.schedule}), seed ${base.seed}\n`);
    const setting = `${base.model.name} on ${base.dataset}, ${base.clients} clients x ${base.batchSize} examples, ${base.rounds} rounds`;
    console.log(comparisonTable(rows));
    console.log(`\n${rows.map((r) => `${r.label}: ${r.seconds.toFixed(0)} s`).join('; ')}`);
    const head = resultHead('compare', { ...o, defenses: configs.map((c) => ({ label: c.label, defense: c.defense.name, defenseOptions: effectiveDefenseOptions(c.defense.name, c.defense.options), ...(c.precode ? { precode: c.precode } : {}) })) });
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
