// The toolkit as a user gets it: the tarball `npm pack` makes, installed into a fresh project with
// no network, then used from plain Node ESM (every subpath imported; DGP on a gradient and on a
// compiled gradient of a model), from the `dgp` command, from a browser bundle (dgp-toolkit/defenses
// and /codec with esbuild, platform browser), and from TypeScript (docs/library.md's examples
// type-checked against the installed declarations).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src/common/index.js';
import { createDefense } from '../../src/defenses/index.js';
import { getBatch, loadMnist } from '../../src/data/index.js';
import { initParams, mlp } from '../../src/models/index.js';
import { ModelRunner, oneHotLabels } from '../../src/train/index.js';
import { bundleForBrowser, EXERCISE, runLikeAPage } from './bundle.js';
import { examplesOf } from './examples.js';
import { consumerProject, installOffline, pack, type Packed, ROOT } from './package.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };

describe('the packed tarball, installed offline into a fresh project', { concurrency: 1 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-tarball-'));
  const project = join(dir, 'consumer');
  let packed: Packed;
  let installSeconds: number;
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(() => {
    packed = pack(dir);
    consumerProject(project, packed.tarball);
    installSeconds = installOffline(project);
    console.log(`tarball ${(packed.size / 1e6).toFixed(2)} MB (${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${packed.files.length} files); ` +
      `npm pack ${packed.seconds.toFixed(1)} s (${packed.built ? 'prepare built dist/' : 'the up-to-date dist/ of npm ci'}), npm ci --offline ${installSeconds.toFixed(1)} s`);
  });

  it('holds the compiled modules, their declarations, the command and the protocol, and no tests, fixtures or sources', () => {
    for (const f of ['bin/dgp.js', 'dist/cli/main.js', 'dist/federation/index.js', 'dist/federation/index.d.ts', 'proto/dgp/v1/federation.proto', 'README.md', 'docs/library.md', 'package.json', 'web/dist/index.html', 'web/dist/app.js', 'web/dist/ort-wasm-simd-threaded.wasm']) {
      assert.ok(packed.files.includes(f), `${f} is not in the tarball`);
    }
    const unwanted = packed.files.filter((f) => /^(src|test|fixtures|bench|scripts|node_modules)\/|\.test\.|tsbuildinfo|^docs\/api\//.test(f));
    assert.deepEqual(unwanted, []);
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === './package.json') continue;
      const { types, default: js } = target as { types: string; default: string };
      assert.ok(packed.files.includes(js.slice(2)) && packed.files.includes(types.slice(2)), `${subpath}: ${js} or ${types} not packed`);
    }
  });

  it('plain Node ESM imports every subpath and runs DGP on a gradient and on a compiled gradient of a model, as the sources do', async () => {
    copyFileSync(join(ROOT, 'test/library/consumer.mjs'), join(project, 'consumer.mjs'));
    const out = execFileSync(process.execPath, ['consumer.mjs'], { cwd: project, encoding: 'utf8' });
    const r = JSON.parse(out) as {
      version: string; exportsOf: Record<string, number>;
      plain: { kept: number[]; roundTrip: boolean; relGradDistance: number };
      compiled: { loss: number; shapes: number[][]; kept: number[]; roundTrip: boolean; relGradDistance: number };
    };
    assert.equal(r.version, pkg.version);
    assert.deepEqual(Object.keys(r.exportsOf).sort(), Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => `dgp-toolkit/${k.slice(2)}`).sort());
    for (const [s, n] of Object.entries(r.exportsOf)) assert.ok(n > 0, `${s} exports nothing`);
    assert.deepEqual(r.plain.kept, [200]);
    assert.ok(r.plain.roundTrip && r.compiled.roundTrip);
    // The same step through the sources in this process: the installed package computes the same.
    const model = mlp({ inputShape: [1, 28, 28] });
    const batch = getBatch(loadMnist().train, [0, 1, 2, 3, 4, 5, 6, 7], { normalize: true });
    const ours = await new ModelRunner(model).lossAndGrad(initParams(model.params, 0), batch.x, batch.shape, oneHotLabels(batch.y, 10));
    assert.equal(r.compiled.loss, ours.loss);
    assert.deepEqual(r.compiled.shapes, ours.grads.map((g) => g.shape));
    const dgp = createDefense('dgp', { pTop: 0.05, pKeep: 0.2 });
    const mine = dgp.apply(ours.grads, dgp.init(ours.grads), new Rng(1));
    assert.deepEqual(r.compiled.kept, mine.update.map((u) => u.values.length));
    assert.equal(r.compiled.relGradDistance, mine.report.relGradDistance);
  });

  it('the dgp command runs the compiled JavaScript: --version, a short training run, and a clear word when CIFAR-10 is nowhere', () => {
    const dgp = join(project, 'node_modules/.bin/dgp');
    assert.equal(execFileSync(dgp, ['--version'], { encoding: 'utf8' }).trim(), `dgp-toolkit ${pkg.version}`);
    const train = spawnSync(dgp, ['train', '--dataset', 'mnist', '--model', 'mlp', '--train-limit', '512', '--test-limit', '200', '--epochs', '1'], { cwd: project, encoding: 'utf8' });
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stdout, /test accuracy \d+\.\d+%/);
    const cache = join(dir, 'empty-cache');
    mkdirSync(cache);
    const cifar = spawnSync(dgp, ['train', '--dataset', 'cifar10', '--model', 'convnet', '--epochs', '1'], { cwd: project, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache } });
    assert.equal(cifar.status, 1);
    assert.match(cifar.stderr, /CIFAR-10 is not in .*empty-cache.*no bundled subset.*--download.*--data-dir/);
  });

  it('dgp-toolkit/defenses and /codec bundle for the browser without a Node built-in, and the bundle runs like a page', async () => {
    for (const s of ['defenses', 'codec']) {
      const b = await bundleForBrowser(`export * from 'dgp-toolkit/${s}';`, project);
      assert.deepEqual(b.nodeImports, [], `dgp-toolkit/${s}`);
    }
    const both = await bundleForBrowser(`export * from 'dgp-toolkit/defenses'; export * from 'dgp-toolkit/codec'; export { Rng } from 'dgp-toolkit/common';`, project);
    const page = JSON.parse(JSON.stringify(runLikeAPage(both, `(function (lib) { ${EXERCISE} })(lib)`))) as { decoded: number[]; back: string; json: string };
    assert.deepEqual(page.decoded, [410, 13]);
    assert.equal(page.back, page.json);
  });

  it('docs/library.md\'s examples type-check against the installed declarations', () => {
    const examples = join(project, 'examples');
    mkdirSync(examples);
    const blocks = examplesOf(join(ROOT, 'docs/library.md'));
    blocks.forEach((ex, k) => writeFileSync(join(examples, `example-${k}.mts`), ex.code));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      include: ['examples'],
    }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, `${blocks.length} examples:\n${r.stdout}${r.stderr}`);
  });
});
