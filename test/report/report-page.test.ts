// `dgp report`: one self-contained page from earlier runs (a privacy table, a comparison, an
// attack), opened in headless Chromium: every image grid and every figure must render, and the
// command of every number, the tool version and the commit must be on the page.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { attackCommand } from '../../src/cli/attack.js';
import { compareCommand } from '../../src/cli/compare.js';
import { privacyTableCommand } from '../../src/cli/privacy-table.js';
import { commandLine, reportCommand } from '../../src/cli/report.js';
import { chromiumMissing, launchChromium } from '../../scripts/browser.js';
import { quietly } from '../helpers/quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));


const runs = { table: join(dir, 'table'), compare: join(dir, 'compare'), attack: join(dir, 'attack') };

async function makeRuns(): Promise<void> {
  await quietly(() => privacyTableCommand.run(parseCommand(privacyTableCommand, ['--out', runs.table, '--images', '2', '--attacks', 'ig,rtf', '--ig-width', '0.25', '--ig-iterations', '3', '--defenses', 'none,dgp'])!));
  await quietly(() => compareCommand.run(parseCommand(compareCommand, ['--dataset', 'mnist', '--model', 'mlp', '--clients', '2', '--rounds', '2', '--batch-size', '8', '--train-limit', '64', '--test-limit', '32', '--eval-every', '1', '--out', runs.compare])!));
  await quietly(() => attackCommand.run(parseCommand(attackCommand, ['--attack', 'rtf', '--defense', 'none', '--images', '3', '--out', runs.attack])!));
}

test('commandLine gives back the flags a result was made with', () => {
  const line = commandLine({ command: 'attack', options: { attack: 'ig', model: 'resnet18', images: 8, knowLabels: false, batchNorm: 'eval', defenseOptions: { ef: false }, noiseMultiplier: [1e-4, 1e-3], notAnOption: 3 } });
  assert.equal(line, 'dgp attack --attack ig --model resnet18 --images 8 --batch-norm eval --noise-multiplier 0.0001,0.001');
});

const missing = chromiumMissing();
test('dgp report writes one page; in Chromium every grid image and every figure renders', { skip: missing ?? false }, async () => {
  await makeRuns();
  const out = join(dir, 'report');
  await quietly(() => reportCommand.run(parseCommand(reportCommand, ['--out', out, '--from', `${runs.table},${runs.compare},${runs.attack}`])!));
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  assert.ok(!/src="(?!data:)/.test(html), 'the page fetches nothing: every picture is a data: URI');
  assert.match(html, /dgp privacy-table --out [^<]*--images 2/);
  assert.match(html, /dgp privacy-table --out [^<]*--defenses none,dgp/, 'the command gives the rows as they were asked for');
  assert.ok(!html.includes('[object Object]'), 'no option rendered as an object');
  assert.match(html, /dgp compare /);
  assert.match(html, /dgp-toolkit 0\.\d+\.\d+, commit/);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${join(out, 'index.html')}`);
    const images = await page.$$eval('img', (els) => els.map((e) => ({ w: (e as HTMLImageElement).naturalWidth, alt: (e as HTMLImageElement).alt })));
    // 2 images x 3 table rows (ig, ig-mask vs dgp, rtf x 2) ... every row's grid, and the 3 images of the attack.
    assert.ok(images.length >= 2 * 5 + 3, `${images.length} images`);
    for (const im of images) assert.ok(im.w > 0, `an image did not render: ${im.alt}`);
    const captions = await page.$$eval('.cell figcaption', (els) => els.map((e) => e.textContent ?? ''));
    assert.equal(captions.length, images.length);
    for (const c of captions) assert.match(c, /^(\d+\.\d|Infinity) dB$/);
    const svgs = await page.$$eval('figure.figure svg', (els) => els.map((e) => (e as SVGSVGElement).getBoundingClientRect().width));
    // psnr.svg of the table; loss, bandwidth and accuracy of the comparison.
    assert.equal(svgs.length, 4);
    for (const w of svgs) assert.ok(w > 100, `a figure is ${w} px wide`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('dgp report names a folder it cannot read', async () => {
  await assert.rejects(reportCommand.run(parseCommand(reportCommand, ['--out', join(dir, 'r2'), '--from', dir])!), /holds none of table\.json .* figure\.json/);
  await assert.rejects(reportCommand.run(parseCommand(reportCommand, ['--out', join(dir, 'r2'), '--from', join(dir, 'nope')])!), /--from .*nope: no such folder/);
});
