// What `dgp train --save` and `dgp compare --out` leave on disk, run in process on a few hundred
// MNIST images: the saved weights are the trained ones (they score what the run reported), and
// the comparison's table, JSON and figures agree with each other.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { compareCommand } from '../../src/cli/compare.js';
import { trainCommand } from '../../src/cli/train.js';
import { loadDataset } from '../../src/data/index.js';
import { comparisonTable, type CompareRow } from '../../src/federation/index.js';
import { createModel, initParams, loadSafetensors, matchLayout } from '../../src/models/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { ModelRunner } from '../../src/train/runner.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-outputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let mnist: ReturnType<typeof loadDataset> | undefined;

/** Test accuracy of the weights in a saved file, on the first `testLimit` MNIST test images. */
async function accuracyOfSaved(path: string, testLimit: number): Promise<{ accuracy: number; metadata: Record<string, string>; initial: boolean }> {
  const { tensors, metadata } = loadSafetensors(path);
  const model = createModel('mlp', { inputShape: [1, 28, 28] });
  const params = matchLayout(tensors, model.params, path);
  assert.equal(tensors.length, model.params.length + model.buffers.length, 'parameters and buffers, nothing else');
  const data = await (mnist ??= loadDataset('mnist'));
  const r = await evaluate(new ModelRunner(model), params, [], data.test, 500, testLimit);
  // Both kinds of run start from initParams with the run's seed (0 here).
  const initial = initParams(model.params, 0).some((t, i) => t.data.every((v, j) => v === params[i]!.data[j]));
  return { accuracy: r.accuracy, metadata, initial };
}

describe('dgp train --save', () => {
  // The metadata records what `dgp attack --model-file` needs: the model, its width, and how far it was trained.
  for (const [mode, flags, metadata] of [
    ['centralised', '--epochs 1', { model: 'mlp', width: '1', dataset: 'mnist', epochs: '1', steps: '4' }],
    ['federated', '--clients 2 --rounds 3 --defense dgp --batch-size 16', { model: 'mlp', width: '1', dataset: 'mnist', rounds: '3', defense: 'dgp' }],
  ] as const) {
    it(`${mode}: the file holds the trained model, which scores what the run reported`, async () => {
      const save = join(dir, `${mode}.safetensors`);
      const json = join(dir, `${mode}.json`);
      const argv = `--model mlp --train-limit 256 --test-limit 200 ${flags} --save ${save} --json ${json}`.split(' ');
      await trainCommand.run(parseCommand(trainCommand, argv)!);
      const reported = JSON.parse(readFileSync(json, 'utf8')) as { testAccuracy: number };
      const saved = await accuracyOfSaved(save, 200);
      assert.deepEqual(saved.metadata, metadata);
      assert.equal(saved.accuracy, reported.testAccuracy);
      assert.ok(!saved.initial, 'a tensor still holds its initial values');
      assert.ok(saved.accuracy > 0.2, `above chance (0.1): ${saved.accuracy}`);
    });
  }
});

describe('dgp compare --out', () => {
  it('writes the table, the JSON and the figures, which agree with each other', async () => {
    const out = join(dir, 'compare');
    const argv = `--model mlp --clients 2 --rounds 2 --batch-size 8 --train-limit 32 --test-limit 50 --eval-every 1 --out ${out}`.split(' ');
    await compareCommand.run(parseCommand(compareCommand, argv)!);
    for (const f of ['table.md', 'compare.json', 'loss.svg', 'bandwidth.svg', 'accuracy.svg']) assert.ok(existsSync(join(out, f)), `${f} missing`);
    const { spec, rows } = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as { spec: { clients: number; rounds: number; model: { name: string } }; rows: CompareRow[] };
    assert.deepEqual([spec.clients, spec.rounds, spec.model.name], [2, 2, 'mlp']);
    assert.deepEqual(rows.map((r) => r.defense.name), ['none', 'dgp', 'dgp', 'adgp', 'topk', 'dp']);
    // The table on disk is the table of the rows on disk.
    assert.equal(readFileSync(join(out, 'table.md'), 'utf8'), `${comparisonTable(rows)}\n`);
    for (const r of rows) {
      assert.equal(r.curve.length, 2, `${r.label}: a loss per round`);
      assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1 && r.upPerClient > 0 && r.downPerClient > 0, r.label);
    }
    // Every figure is an SVG naming every row in its legend.
    for (const f of ['loss.svg', 'bandwidth.svg', 'accuracy.svg']) {
      const svg = readFileSync(join(out, f), 'utf8');
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, f);
      assert.ok(svg.trimEnd().endsWith('</svg>'), `${f} is cut short`);
      for (const r of rows) assert.ok(svg.includes(escape(r.label)), `${f} has no legend entry for ${r.label}`);
    }
  });
});

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
