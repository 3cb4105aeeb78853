import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { attackCommand } from '../../src/cli/attack.js';
import { privacyTableCommand } from '../../src/cli/privacy-table.js';
import { Rng } from '../../src/common/rng.js';
import { ALEXNET_CONVS, alexnetFeatureSpecs } from '../../src/models/alexnet.js';
import { initParams, saveSafetensors } from '../../src/models/index.js';
import { quietly } from '../helpers/quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-attack-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What `run` prints with console.log, line by line. */
async function printed(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await run();
  } finally {
    console.log = log;
  }
  return lines;
}

test('dgp attack writes a grid, metrics JSON with the round, and a summary line', async () => {
  const out = join(dir, 'rtf');
  const o = parseCommand(attackCommand, ['--attack', 'rtf', '--defense', 'none', '--model', 'lenet', '--images', '4', '--batch', '2', '--out', out, '--bins', '128']);
  assert.ok(o);
  const lines = await printed(() => attackCommand.run(o));
  assert.match(lines[0]!, /^rtf vs none on lenet \(round 0\), 4 images in batches of 2: PSNR/);
  assert.ok(existsSync(join(out, 'attack.png')));
  const json = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  assert.equal(json.summary.round, 0);
  assert.equal(json.summary.lpips, 'not computed: no weights');
  assert.equal(json.records.length, 2);
  assert.equal(json.records[0].round, 0);
  // The common head of every result: tool, time, schema, and the options with the defense's defaults.
  assert.equal(json.schemaVersion, 1);
  assert.equal(json.command, 'attack');
  assert.equal(json.options.defenseOptions.ef, false);
  assert.equal(json.options.bins, 128);
});

test('dgp attack --lpips-weights scores every image with LPIPS (AlexNet) and prints it', async () => {
  const weights = join(dir, 'alex.safetensors');
  const rng = new Rng(1);
  saveSafetensors(weights, [
    ...initParams(alexnetFeatureSpecs(), 1),
    ...ALEXNET_CONVS.map((c, k) => ({ name: `lin${k}.model.1.weight`, shape: [1, c.cout, 1, 1], data: Float32Array.from({ length: c.cout }, () => rng.uniform()) })),
  ]);
  const out = join(dir, 'rtf-lpips');
  const o = parseCommand(attackCommand, ['--attack', 'rtf', '--defense', 'dgp', '--images', '2', '--out', out, '--lpips-weights', weights])!;
  const lines = await printed(() => attackCommand.run(o));
  assert.match(lines[0]!, / LPIPS \d+\.\d{3},/);
  const json = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  assert.ok(json.summary.lpips > 0, `LPIPS ${json.summary.lpips}`);
  assert.equal(json.records[0].lpipsPerImage.length, 1);
});

test('dgp attack options are checked, defense flags (shared with dgp train) validated', async () => {
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'nope', '--out', dir]), UsageError);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'dlg', '--out', dir, '--batch', '0']), /invalid --batch/);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'dlg', '--defense', 'topk', '--p-top', '0.1', '--out', dir]), /invalid --p-top: applies to --defense dgp or adgp, not topk/);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'dlg', '--defense', 'dgp', '--p-top', '0.9', '--p-keep', '0.5', '--out', dir]), /pTop \+ pKeep must be at most 1/);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'dlg', '--defense', 'adgp', '--out', dir]), /invalid --defense: adgp is a protocol between clients and a broadcaster/);
  assert.throws(() => parseCommand(privacyTableCommand, ['--out', dir, '--images', '6', '--batch', '4']), /invalid --images: must be a multiple of --batch \(4\)/);
});

test('dgp privacy-table runs every row on a tiny budget and writes the table', async () => {
  const out = join(dir, 'table');
  const o = parseCommand(privacyTableCommand, ['--out', out, '--images', '1', '--attacks', 'dlg', '--dlg-iterations', '2'])!;
  await quietly(() => privacyTableCommand.run(o));
  const md = readFileSync(join(out, 'table.md'), 'utf8');
  for (const row of ['| dlg | lenet | none |', '| dlg-mask | lenet | DGP (drop top 5 %, send 20 %) |', '| dlg-mask | lenet | Top-k 20 % |', '= dlg (dense update)']) assert.ok(md.includes(row), `${row} missing from\n${md}`);
  assert.ok(existsSync(join(out, 'dlg-mask__dgp.png')));
  const table = JSON.parse(readFileSync(join(out, 'table.json'), 'utf8'));
  assert.equal(table.command, 'privacy-table');
  assert.deepEqual(table.options.attacks, ['dlg']);
  assert.deepEqual(table.options.defenseRows.map((d: { defenseOptions: Record<string, unknown> }) => d.defenseOptions), [
    { ef: false }, { pTop: 0.05, pKeep: 0.2, tinyTensor: 'send', ef: true }, { fraction: 0.2, ef: true },
    { mechanism: 'gaussian', clip: 100, noiseMultiplier: 1e-4, ef: false }, { mechanism: 'gaussian', clip: 100, noiseMultiplier: 1e-3, ef: false },
    ...[0, 1].map(() => ({ pTop: 0.05, pKeep: 0.2, tinyTensor: 'send', ef: true, protectTop: true, policy: 'vote' })), { ef: false },
  ]);
  // The ADGP rows: one round of 10 clients' images (batch 1 each), each upload and the secure aggregate.
  for (const row of ['| dlg-mask | lenet | ADGP, each of 10 clients\' uploads |', '| dlg-mask | lenet | ADGP + secure aggregation: the aggregate of 10 clients |', '| dlg | lenet | none + secure aggregation: the aggregate of 10 clients |']) assert.ok(md.includes(row), `${row} missing`);
  const aggregate = JSON.parse(readFileSync(join(out, 'dlg__adgp-aggregate.json'), 'utf8'));
  assert.deepEqual([aggregate.summary.images, aggregate.summary.clients, aggregate.summary.view, aggregate.records.length, aggregate.records[0].batch], [10, 10, 'aggregate', 1, 10]);
  const each = JSON.parse(readFileSync(join(out, 'dlg__adgp-client.json'), 'utf8'));
  assert.deepEqual([each.summary.images, each.summary.view, each.records.length, each.records[0].batch], [10, 'client', 10, 1]);
  const row = JSON.parse(readFileSync(join(out, 'dlg-mask__dgp.json'), 'utf8'));
  assert.equal(row.options.defenseOptions.pKeep, 0.2);
});

test('privacy-table takes the DP options by dgp train\'s names; the old ones say what replaced them', () => {
  const o = parseCommand(privacyTableCommand, ['--out', dir, '--clip', '10', '--noise-multiplier', '0.01,0.1,1'])!;
  assert.equal(o.clip, 10);
  assert.deepEqual(o.noiseMultiplier, [0.01, 0.1, 1]);
  assert.equal(parseCommand(privacyTableCommand, ['--out', dir, '--dp-clip', '10'])!.clip, 10);
  assert.throws(() => parseCommand(privacyTableCommand, ['--out', dir, '--dp-low', '1e-4']), /--dp-low is no longer an option: the DP rows' noise multipliers are now one list, --noise-multiplier LOW,HIGH/);
  assert.throws(() => parseCommand(privacyTableCommand, ['--out', dir, '--noise-multiplier', '1e-4,x']), /invalid --noise-multiplier: "x" is not a non-negative number/);
});
