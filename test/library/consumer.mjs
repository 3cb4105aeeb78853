// A user's program, plain Node ESM and no TypeScript, run inside a fresh project that installed the
// packed tarball: it imports every subpath the package exports, runs DGP on a gradient and on one
// compiled gradient of a model, and prints what it found as one JSON line.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(require.resolve('dgp-toolkit/package.json'), 'utf8'));
const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => `dgp-toolkit/${k.slice(2)}`);
const exportsOf = {};
for (const s of subpaths) exportsOf[s] = Object.keys(await import(s)).length;

const { Rng } = await import('dgp-toolkit/common');
const { createDefense } = await import('dgp-toolkit/defenses');
const { decodeUpdate, encodeUpdate } = await import('dgp-toolkit/codec');
const { mlp, initParams } = await import('dgp-toolkit/models');
const { loadMnist, getBatch } = await import('dgp-toolkit/data');
const { ModelRunner, oneHotLabels } = await import('dgp-toolkit/train');

/** DGP with error feedback on a gradient, encoded and decoded: entries kept per tensor. */
function dgpOn(gradient) {
  const dgp = createDefense('dgp', { pTop: 0.05, pKeep: 0.2 });
  const { update, report } = dgp.apply(gradient, dgp.init(gradient.map((t) => ({ name: t.name, shape: t.shape }))), new Rng(1));
  const bytes = encodeUpdate({ kind: 'update', round: 1, clientId: 0 }, update);
  const back = decodeUpdate(bytes).update;
  const same = back.every((u, i) => u.kind === update[i].kind && u.values.every((v, j) => v === update[i].values[j]));
  return { kept: back.map((u) => u.values.length), bytes: bytes.length, relGradDistance: report.relGradDistance, roundTrip: same };
}

const rng = new Rng(7);
const plain = dgpOn([{ name: 'w', shape: [50, 20], data: Float32Array.from({ length: 1000 }, () => rng.normal()) }]);

const model = mlp({ inputShape: [1, 28, 28] });
const batch = getBatch(loadMnist().train, [0, 1, 2, 3, 4, 5, 6, 7], { normalize: true });
const { loss, grads } = await new ModelRunner(model).lossAndGrad(initParams(model.params, 0), batch.x, batch.shape, oneHotLabels(batch.y, 10));
const compiled = { loss, shapes: grads.map((g) => g.shape), ...dgpOn(grads) };

console.log(JSON.stringify({ version: pkg.version, exportsOf, plain, compiled }));
