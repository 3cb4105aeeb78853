import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { randn, Rng } from '../../src/common/index.js';
import { parseCommand } from '../../src/cli/args.js';
import { trainPriorCommand } from '../../src/cli/train-prior.js';
import { type Dataset, loadDataset } from '../../src/data/index.js';
import { dcganGenerator, generate, initParams, loadPrior, savePrior } from '../../src/models/index.js';
import { trainPrior } from '../../src/train/index.js';
import { quietly } from '../helpers/quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-prior-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The first n training images of MNIST, as a data set of their own. */
async function mnistHead(n: number): Promise<Dataset> {
  const t = (await loadDataset('mnist')).train;
  const size = t.channels * t.height * t.width;
  return { ...t, images: t.images.slice(0, n * size), labels: t.labels.slice(0, n), count: n };
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let [ma, mb] = [0, 0];
  for (let i = 0; i < n; i++) [ma, mb] = [ma + a[i]! / n, mb + b[i]! / n];
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Pixel-wise mean over a batch of images of `size` values each. */
function meanImage(x: Float32Array, size: number): Float64Array {
  const m = new Float64Array(size);
  const n = x.length / size;
  for (let i = 0; i < x.length; i++) m[i % size] += x[i]! / n;
  return m;
}

test('a few dozen GAN steps on a fixture batch run with finite losses; the prior saves and reloads bit-identically; samples have the data shape and lie in [0, 1]', async () => {
  const data = await mnistHead(64);
  const prior = await trainPrior(data, { steps: 24, batchSize: 16, width: 8, latent: 16, seed: 3 });
  assert.equal(prior.history.length, 24);
  for (const h of prior.history) assert.ok(Number.isFinite(h.lossD) && Number.isFinite(h.lossG));
  const file = join(dir, 'p.safetensors');
  savePrior(file, prior, { dataset: 'mnist' });
  const back = loadPrior(file);
  assert.deepEqual(back.generator.imageShape, [1, 28, 28]);
  assert.equal(back.generator.latent, 16);
  assert.equal(back.metadata.dataset, 'mnist');
  back.params.forEach((t, i) => assert.deepEqual(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), Buffer.from(prior.params[i]!.data.buffer, prior.params[i]!.data.byteOffset, prior.params[i]!.data.byteLength)));
  const z = randn(5 * 16, new Rng(1));
  const [a, b] = [await generate(prior, z), await generate(back, z)];
  assert.equal(a.length, 5 * 28 * 28);
  assert.deepEqual(a, b);
  for (const v of a) assert.ok(v >= 0 && v <= 1, `pixel ${v}`);
});

test('a prior trained for a short budget on MNIST draws samples whose mean image correlates with the data mean (an untrained one does not)', async () => {
  const data = (await loadDataset('mnist')).train;
  const size = 28 * 28;
  const dataMean = meanImage(data.images.subarray(0, 5000 * size), size);
  const prior = await trainPrior(data, { steps: 150, batchSize: 32, width: 8, latent: 16, lr: 1e-3, seed: 0 });
  const z = randn(64 * 16, new Rng(9));
  const trained = pearson(meanImage(await generate(prior, z), size), dataMean);
  const g = dcganGenerator({ channels: 1, size: 28, width: 8, latent: 16 });
  const fresh = pearson(meanImage(await generate({ generator: g, params: initParams(g.params, 0) }, z), size), dataMean);
  assert.ok(trained > 0.7, `trained: correlation ${trained.toFixed(3)}`);
  assert.ok(trained > fresh + 0.3, `trained ${trained.toFixed(3)} vs untrained ${fresh.toFixed(3)}`);
});

test('dgp train-prior writes a loadable prior and a sample grid; bad flags fail with the option named', async () => {
  const out = join(dir, 'cli.safetensors');
  const o = parseCommand(trainPriorCommand, ['--dataset', 'mnist', '--steps', '3', '--batch-size', '4', '--width', '4', '--latent', '8', '--samples', '4', '--out', out])!;
  await quietly(() => trainPriorCommand.run(o));
  const p = loadPrior(out);
  assert.equal(p.metadata.steps, '3');
  assert.equal(p.metadata.r1, '10');
  assert.ok(readFileSync(out.replace(/\.safetensors$/, '.png')).subarray(1, 4).toString() === 'PNG');
  assert.throws(() => parseCommand(trainPriorCommand, ['--steps', '3', '--out', join(dir, 'x.bin')]), /--out.*\.safetensors/);
  assert.throws(() => parseCommand(trainPriorCommand, ['--steps', '0', '--out', out]), /--steps/);
  assert.throws(() => parseCommand(trainPriorCommand, ['--dataset', 'svhn', '--out', out]), /--dataset/);
  assert.throws(() => loadPrior(join(dir, 'missing.safetensors')), /cannot read/);
});
