// The comparison behind docs/federation.md's tables, on a tiny synthetic run: six rows, the
// bytes each defense should weigh, and the markdown table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareDefenses, comparisonTable, defaultConfigs, pairedDifference, selectConfigs, type CompareConfig } from '../../src/federation/index.js';
import { spec, syntheticSplits } from './helpers.js';

describe('compare', () => {
  it('runs the six configurations on the same spec and tabulates accuracy and bytes', async () => {
    const { defense: _, ...base } = spec({ clients: 3, rounds: 3 });
    const rows = await compareDefenses(base, syntheticSplits(), defaultConfigs({ clip: 1, noiseMultiplier: 0.01 }));
    assert.deepEqual(rows.map((r) => r.defense.name), ['none', 'dgp', 'dgp', 'adgp', 'topk', 'dp']);
    const [none, dgp, dgpNoEf, adgp, topk, dp] = rows as [typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0]];
    assert.equal(none.relGradDistance, 0);
    for (const r of [dgp, dgpNoEf, adgp, topk]) assert.ok(r.upPerClient < 0.3 * none.upPerClient, `${r.label}: ${r.upPerClient} vs ${none.upPerClient}`);
    assert.ok(adgp.downPerClient < dgp.downPerClient, `ADGP downloads ${adgp.downPerClient}, DGP ${dgp.downPerClient}`);
    assert.ok(Math.abs(dp.upPerClient - none.upPerClient) < 0.01 * none.upPerClient);
    assert.equal(dgp.curve.length, 3);
    const table = comparisonTable(rows).trimEnd().split('\n');
    assert.equal(table.length, 8);
    assert.match(table[0]!, /^\| defense \| test accuracy \| vs first row \| MB up \/ client/);
    assert.match(table[2]!, /^\| undefended \| \d+\.\d\d % \| - \| /);
    assert.match(table[3]!, /^\| DGP 5 %\/20 %, error feedback \| \d+\.\d\d % \| -?\d+\.\d\d pt \| /);
  });
});

describe('compare over seeds', () => {
  it('pairs each row with the first seed by seed, and a second run continues from the checkpoints', async () => {
    const { defense: _, ...base } = spec({ clients: 3, rounds: 3 });
    const configs = selectConfigs(defaultConfigs({ clip: 1, noiseMultiplier: 0.01 }), 'none,dgp');
    const dir = mkdtempSync(join(tmpdir(), 'dgp-compare-'));
    try {
      const checkpoint = (c: CompareConfig, seed: number) => join(dir, `seed-${seed}`, c.key);
      const rows = await compareDefenses(base, syntheticSplits(), configs, { seeds: [1, 2, 3], checkpoint });
      assert.deepEqual(rows.map((r) => r.seeds), [[1, 2, 3], [1, 2, 3]]);
      assert.equal(rows[0]!.paired, undefined);
      const p = rows[1]!.paired!;
      assert.deepEqual(p.differences, rows[1]!.accuracies.map((a, i) => a - rows[0]!.accuracies[i]!));
      assert.ok(p.low <= p.mean && p.mean <= p.high);
      // Each seed is its own run (the seed moves the initial model): not every accuracy is the same.
      assert.ok(new Set(rows[0]!.accuracies).size > 1 || new Set(rows[1]!.accuracies).size > 1);
      const table = comparisonTable(rows).trimEnd().split('\n');
      assert.match(table[0]!, /mean of 3 seeds \| per seed \| vs first row, paired/);
      assert.match(table[3]!, /^\| DGP 5 %\/20 %, error feedback \| \d+\.\d\d % \| [\d.]+, [\d.]+, [\d.]+ \| -?\d+\.\d\d ± \d+\.\d\d pt \[/);
      // Run again: every run is taken from its finished checkpoint, with the same figures.
      let rounds = 0;
      const again = await compareDefenses(base, syntheticSplits(), configs, { seeds: [1, 2, 3], checkpoint, onRound: () => rounds++ });
      assert.equal(rounds, 0);
      assert.deepEqual(again.map((r) => [r.accuracies, r.upPerClient, r.downPerClient, r.curve]), rows.map((r) => [r.accuracies, r.upPerClient, r.downPerClient, r.curve]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names an unknown row and computes the paired interval by hand', () => {
    assert.throws(() => selectConfigs(defaultConfigs({ clip: 1, noiseMultiplier: 0.01 }), 'none,dgpp'), /no configuration "dgpp"; the configurations are none, dgp, dgp-noef, adgp, topk, dp/);
    const p = pairedDifference([0.5, 0.6, 0.7], [0.4, 0.6, 0.5]);
    assert.deepEqual(p.differences.map((d) => +d.toFixed(12)), [0.1, 0, 0.2]);
    assert.ok(Math.abs(p.mean - 0.1) < 1e-12);
    assert.ok(Math.abs(p.standardError - 0.1 / Math.sqrt(3)) < 1e-12);
    assert.ok(Math.abs(p.high - (0.1 + 4.303 * 0.1 / Math.sqrt(3))) < 1e-12);
  });
});
