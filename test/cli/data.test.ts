// One rule for where every command's data comes from (src/cli/data.ts): --data-dir, else the
// cache folder when it holds CIFAR-10, else (or before, with --download) the bundled subset with
// a notice. Never a download that was not asked for.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Command, parseCommand } from '../../src/cli/args.js';
import { attackCommand } from '../../src/cli/attack.js';
import { compareCommand } from '../../src/cli/compare.js';
import { FIXTURE_CIFAR10, openDataset } from '../../src/cli/data.js';
import { privacyTableCommand } from '../../src/cli/privacy-table.js';
import { trainCommand } from '../../src/cli/train.js';
import type { FetchLike } from '../../src/data/index.js';

const noNetwork: FetchLike = async (url) => {
  throw new Error(`test tried to fetch ${url}`);
};

describe('where the data comes from', () => {
  let home: string;
  let saved: string | undefined;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'dgp-cache-'));
    saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = home;
  });
  after(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });

  it('CIFAR-10 with an empty cache: the bundled subset, said so, and no download', async () => {
    const notes: string[] = [];
    const { data, source } = await openDataset('train', 'cifar10', { fetch: noNetwork, notify: (l) => notes.push(l) });
    assert.equal(source.subset, true);
    assert.equal(source.dir, FIXTURE_CIFAR10);
    assert.deepEqual([data.train.count, data.test.count], [2000, 1000]);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^dgp train: CIFAR-10 is not in .*dgp-toolkit\/cifar10: using the bundled subset .*2,000 training and 1,000 test images.*--download.*--data-dir/);
  });

  it('--download asks for the archive (here: no network, so the error says so)', async () => {
    await assert.rejects(openDataset('train', 'cifar10', { download: true, fetch: noNetwork }), /test tried to fetch https:\/\/www\.cs\.toronto\.edu/);
  });

  it('CIFAR-10 in the cache is used, without a notice', async () => {
    const cache = join(home, 'dgp-toolkit', 'cifar10');
    mkdirSync(cache, { recursive: true });
    for (const f of ['cifar10_batch_0.png', 'cifar10_batch_50.png', 'cifar10_labels.js']) cpSync(join(FIXTURE_CIFAR10, f), join(cache, f));
    const notes: string[] = [];
    const { data, source } = await openDataset('attack', 'cifar10', { fetch: noNetwork, notify: (l) => notes.push(l) });
    assert.deepEqual(notes, []);
    assert.equal(source.dir, cache);
    assert.equal(source.subset, false);
    assert.equal(data.train.count, 1000);
    rmSync(cache, { recursive: true });
  });

  it('--data-dir is read as given; a missing folder or --download with it is an error', async () => {
    const { source } = await openDataset('compare', 'cifar10', { dataDir: FIXTURE_CIFAR10, fetch: noNetwork });
    assert.equal(source.dir, FIXTURE_CIFAR10);
    await assert.rejects(openDataset('train', 'cifar10', { dataDir: join(home, 'nope') }), /--data-dir .*nope: folder not found/);
    await assert.rejects(openDataset('train', 'cifar10', { dataDir: FIXTURE_CIFAR10, download: true }), /--download fills the cache folder; it cannot be used with --data-dir/);
    await assert.rejects(openDataset('train', 'mnist', { download: true }), /--download is for CIFAR-10/);
  });

  it('every command with a data set takes --data-dir and --download, and its help states the rule', () => {
    for (const cmd of [trainCommand, compareCommand, attackCommand, privacyTableCommand]) {
      assert.match(cmd.options['data-dir']!.description, /without --data-dir.*cache folder.*--download.*bundled subset/, cmd.name);
      assert.equal(cmd.options.download?.type, 'boolean', cmd.name);
    }
    const base = { train: [], compare: [], attack: ['--attack', 'dlg', '--out', 'x'], 'privacy-table': ['--out', 'x'] } as Record<string, string[]>;
    for (const cmd of [trainCommand, compareCommand, attackCommand, privacyTableCommand] as Command[]) {
      const o = parseCommand(cmd, [...base[cmd.name]!, '--download']) as { download?: boolean };
      assert.equal(o.download, true, cmd.name);
    }
  });
});
