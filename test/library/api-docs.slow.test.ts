// `npm run docs` keeps working: TypeDoc reads the types of every exported subpath and writes the
// API reference without a warning (about 15 s, so it runs with the slow tests).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run docs', () => {
  const out = mkdtempSync(join(tmpdir(), 'dgp-api-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('writes a page per exported subpath, warning-free', () => {
    const r = spawnSync('npm', ['run', 'docs', '--', '--out', out, '--treatWarningsAsErrors'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    for (const k of Object.keys(pkg.exports).filter((e) => e !== './package.json')) {
      assert.ok(existsSync(join(out, 'modules', `${k.slice(2)}.html`)), `no page for ${k}`);
    }
    assert.match(readFileSync(join(out, 'modules', 'federation.html'), 'utf8'), /createFederation/);
  });
});
