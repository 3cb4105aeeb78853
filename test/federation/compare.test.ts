// The comparison behind docs/federation.md's tables, on a tiny synthetic run: six rows, the
// bytes each defense should weigh, and the markdown table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareDefenses, comparisonTable, defaultConfigs } from '../../src/federation/index.js';
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
