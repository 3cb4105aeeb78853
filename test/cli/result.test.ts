// Every JSON result carries one head (tool, version, git commit, time, schema version, the
// effective options with the defense's defaults), and train's centralised and federated results
// share their keys.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { compareCommand } from '../../src/cli/compare.js';
import { gitCommit, RESULT_SCHEMA_VERSION, resultHead, withDefenseDefaults } from '../../src/cli/result.js';
import { trainCommand } from '../../src/cli/train.js';
import { quietly } from '../helpers/quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-result-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ROOT = join(import.meta.dirname, '../..');
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));


describe('the result head', () => {
  it('names the tool, its version, the commit, the time and the schema', () => {
    const head = resultHead('train', { lr: 0.1, skipped: undefined }, new Date('2024-02-03T04:05:06Z'));
    const pkg = json(join(ROOT, 'package.json'));
    assert.deepEqual(head.tool.name, pkg.name);
    assert.deepEqual(head.tool.version, pkg.version);
    assert.equal(head.schemaVersion, RESULT_SCHEMA_VERSION);
    assert.equal(head.createdAt, '2024-02-03T04:05:06.000Z');
    assert.deepEqual(head.options, { lr: 0.1 });
    let expected: string | null = null;
    try {
      expected = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not a git checkout here: the head says null
    }
    assert.equal(head.tool.gitCommit, expected);
  });

  it('the commit is null outside a git checkout, never an error', () => {
    assert.equal(gitCommit(dir), null);
    assert.equal(gitCommit(join(dir, 'does-not-exist')), null);
  });

  it("the effective options hold the defense's defaults, read by its own parser", () => {
    assert.deepEqual(withDefenseDefaults({ seed: 1 }, { name: 'dgp', options: {} }), { seed: 1, defense: 'dgp', defenseOptions: { pTop: 0.05, pKeep: 0.2, tinyTensor: 'send', ef: true } });
    assert.deepEqual(withDefenseDefaults({}, { name: 'adgp', options: { pKeep: 0.1 } }).defenseOptions, { pTop: 0.05, pKeep: 0.1, tinyTensor: 'send', ef: true, protectTop: true, policy: 'vote' });
    assert.deepEqual(withDefenseDefaults({}, { name: 'dp', options: { clip: 2 } }).defenseOptions, { mechanism: 'gaussian', clip: 2, noiseMultiplier: 1, ef: false });
  });
});

describe('dgp train and dgp compare results', () => {
  it('centralised and federated train results share their keys and carry the head', async () => {
    const c = join(dir, 'c.json');
    const f = join(dir, 'f.json');
    await quietly(() => trainCommand.run(parseCommand(trainCommand, `--train-limit 256 --test-limit 100 --json ${c}`.split(' '))!));
    await quietly(() => trainCommand.run(parseCommand(trainCommand, `--train-limit 256 --test-limit 100 --clients 2 --defense dgp --rounds 2 --json ${f}`.split(' '))!));
    const [a, b] = [json(c), json(f)];
    const common = ['schemaVersion', 'tool', 'createdAt', 'command', 'options', 'mode', 'completed', 'dataset', 'model', 'data', 'testAccuracy', 'testLoss', 'testImages', 'seconds', 'progress', 'history'];
    for (const r of [a, b]) for (const k of common) assert.ok(k in r, `${r.mode}: no ${k}`);
    assert.deepEqual([a.mode, b.mode], ['centralised', 'federated']);
    assert.deepEqual([a.progress.unit, b.progress.unit], ['steps', 'rounds']);
    assert.equal(a.completed && b.completed, true);
    assert.equal(b.options.defenseOptions.pTop, 0.05, 'the DGP default, not given on the command line');
    assert.equal(b.options.defenseOptions.pKeep, 0.2);
    assert.equal(a.options.defense, 'none');
    assert.deepEqual(a.data, { dataset: 'mnist', dir: null, subset: false, train: 60000, test: 10000 });
  });

  it('compare takes the DP options by the names train uses (old names still work) and records every row\'s defaults', async () => {
    const out = join(dir, 'compare.json');
    const o = parseCommand(compareCommand, `--train-limit 200 --test-limit 100 --clients 2 --rounds 1 --model mlp --init torch --clip 2 --noise-multiplier 0.5 --json ${out}`.split(' '))!;
    await quietly(() => compareCommand.run(o));
    const r = json(out);
    assert.equal(r.command, 'compare');
    const dp = r.options.defenseRows.find((d: { defense: string }) => d.defense === 'dp');
    assert.deepEqual(dp.defenseOptions, { mechanism: 'gaussian', clip: 2, noiseMultiplier: 0.5, ef: false });
    assert.equal(r.options.defenseRows.find((d: { defense: string }) => d.defense === 'topk').defenseOptions.ef, true);
    assert.equal(r.rows.length, 6);
    const old = parseCommand(compareCommand, ['--dp-clip', '3', '--dp-noise', '0.1'])!;
    assert.deepEqual([old.clip, old.noiseMultiplier], [3, 0.1]);
  });
});
