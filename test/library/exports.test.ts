// The package's surface: one exports subpath per folder with a public face (index.ts), and the
// `dgp` command's choice between the compiled JavaScript and the sources.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[]; devDependencies: Record<string, string>; dependencies: Record<string, string> };
/** Folders that are no library API: the command line. */
const NOT_EXPORTED = ['cli'];

describe('the package surface', () => {
  it('exports every folder with an index.ts (but the command line), each with its types', () => {
    const folders = readdirSync(join(ROOT, 'src')).filter((f) => existsSync(join(ROOT, 'src', f, 'index.ts')) && !NOT_EXPORTED.includes(f)).sort();
    const exported = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => k.slice(2)).sort();
    assert.deepEqual(exported, folders, 'package.json "exports" and the folders of src/ with an index.ts differ');
    for (const f of folders) assert.deepEqual(pkg.exports[`./${f}`], { types: `./dist/${f}/index.d.ts`, default: `./dist/${f}/index.js` });
  });

  it('ships neither tests nor fixtures, and runs without tsx', () => {
    assert.ok(!pkg.files.some((f) => /^(test|fixtures|src|bench)\b/.test(f)), pkg.files.join(', '));
    assert.equal(pkg.dependencies['tsx'], undefined);
    assert.ok(pkg.devDependencies['tsx']);
  });
});

describe('bin/dgp.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-bin-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  cpSync(join(ROOT, 'bin/dgp.js'), join(dir, 'bin/dgp.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  mkdirSync(join(dir, 'dist/cli'), { recursive: true });
  writeFileSync(join(dir, 'src/cli/main.ts'), "const from: string = 'sources'; console.log(from);\n");
  writeFileSync(join(dir, 'src/cli/extra.ts'), '\n');
  writeFileSync(join(dir, 'dist/cli/main.js'), "console.log('dist');\n");
  const run = () => spawnSync(process.execPath, [join(dir, 'bin/dgp.js')], { encoding: 'utf8' });
  const age = (path: string, seconds: number) => utimesSync(path, new Date(Date.now() - seconds * 1000), new Date(Date.now() - seconds * 1000));
  const ageSources = (seconds: number) => ['src', 'src/cli', 'src/cli/main.ts', 'src/cli/extra.ts'].forEach((p) => existsSync(join(dir, p)) && age(join(dir, p), seconds));

  it('in a checkout, runs dist/ while it is newer than every source, else the sources through tsx', () => {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    ageSources(60);
    assert.equal(run().stdout.trim(), 'dist');
    writeFileSync(join(dir, 'src/cli/main.ts'), "const from: string = 'edited sources'; console.log(from);\n");
    assert.equal(run().stdout.trim(), 'edited sources');
    ageSources(60);
    assert.equal(run().stdout.trim(), 'dist');
    rmSync(join(dir, 'src/cli/extra.ts')); // a removal touches its folder
    assert.equal(run().stdout.trim(), 'edited sources');
  });

  it('without tsx and with stale dist/, says what to run; installed (no src/), runs dist/', () => {
    rmSync(join(dir, 'node_modules'));
    const r = run();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/ is newer than dist\/ and tsx .* is not installed: run `npm ci` or `npm run build`/);
    rmSync(join(dir, 'src'), { recursive: true });
    assert.equal(run().stdout.trim(), 'dist');
  });
});
