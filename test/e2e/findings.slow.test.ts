// The README's privacy table re-made by the command a user runs (`dgp privacy-table --out DIR`,
// all defaults: 8 CIFAR-10 test images, seed 7), and its headline findings checked on it. About
// 10 minutes on 2 quiet cores.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { privacyTableCommand } from '../../src/cli/privacy-table.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-findings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  attack: string;
  defense: string;
  summary?: { psnr: number; recovered: number; labelAccuracy?: number };
}

test('the privacy table of the README, and what it says about DGP against Top-k', async () => {
  // The rows of single clients (the secure-aggregation rows would add about 10 minutes; their findings are tested in test/federation).
  await privacyTableCommand.run(parseCommand(privacyTableCommand, ['--out', dir, '--defenses', 'none,dgp,topk,dp'])!);
  const rows = (JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8')) as { rows: Row[] }).rows;
  const get = (attack: string, defense: string) => {
    const r = rows.find((x) => x.attack === attack && x.defense.startsWith(defense))?.summary;
    assert.ok(r, `no row ${attack} vs ${defense}`);
    return r;
  };
  // Inverting Gradients through convnet-flat (README: 46.8, 11.9, 28.0, 30.4 dB).
  assert.ok(get('ig', 'none').psnr > 40);
  assert.ok(get('ig', 'DGP').psnr < 15, 'plain IG is stopped by DGP');
  assert.ok(get('ig', 'Top-k').psnr > 27, 'and not by Top-k 20 %');
  assert.ok(get('ig-mask', 'DGP').psnr > 25, 'the mask-aware IG gets through DGP');
  assert.ok(get('ig', 'DP σ 0.1').psnr < 13);
  // DLG on the LeNet (README: 24.9 undefended; 6.5-8.8 through either sparsifier; DGP hides the label from plain DLG).
  assert.ok(get('dlg', 'none').psnr > 20);
  for (const a of ['dlg', 'dlg-mask']) for (const d of ['DGP', 'Top-k']) assert.ok(get(a, d).psnr < 11, `${a} vs ${d}`);
  assert.ok(get('dlg', 'DGP').labelAccuracy! <= 0.5 && get('dlg-mask', 'DGP').labelAccuracy === 1);
  // Robbing the Fed (README: 8/8 undefended, 2/8 through Top-k, 0/8 through DGP).
  assert.equal(get('rtf', 'none').recovered, 8);
  assert.equal(get('rtf', 'Top-k').recovered, 2);
  assert.equal(get('rtf', 'DGP').recovered, 0);
});
