// docs/library.md cannot rot: each of its `ts` blocks runs here, as a program of its own, against
// the sources (the tarball test type-checks the same blocks against the installed package).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { againstSources, examplesOf } from './examples.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const examples = examplesOf(join(ROOT, 'docs/library.md'));

describe('docs/library.md examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-docs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the page has an example for each open object and for the codec and defenses alone', () => {
    const headings = examples.map((e) => e.heading);
    for (const h of ['Your own model', 'Your own defense', 'Your own strategy', 'Attacks on your own model and defense', 'The codec and the defenses alone (any engine, any page)']) {
      assert.ok(headings.includes(h), `no example under "${h}" (found: ${headings.join('; ')})`);
    }
  });

  for (const [k, ex] of examples.entries()) {
    it(`runs the example under "${ex.heading}" (line ${ex.line})`, () => {
      const file = join(dir, `example-${k}.mts`);
      writeFileSync(file, againstSources(ex.code, join(ROOT, 'src')));
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `docs/library.md:${ex.line} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
      assert.ok(r.stdout.trim().length > 0, 'it printed nothing');
      console.log(r.stdout.trim().split('\n').map((l) => `  ${l}`).join('\n'));
    });
  }
});
