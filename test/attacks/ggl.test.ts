import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { adaptiveSpec, buildCase, cmaesSearch, createAttack, GGL_SEARCHES, GglProblem, modelAtRound, observedGradient, sentMasks, type AttackCase } from '../../src/attacks/index.js';
import { runnerFor } from '../../src/attacks/case.js';
import { oneHot } from '../../src/attacks/labels.js';
import { randn, Rng } from '../../src/common/index.js';
import { type DatasetSplits, loadDataset } from '../../src/data/index.js';
import { createDefense } from '../../src/defenses/index.js';
import { psnr } from '../../src/metrics/index.js';
import { type GenerativePrior, generate, mlp, savePrior } from '../../src/models/index.js';
import { parseCommand } from '../../src/cli/args.js';
import { attackCommand } from '../../src/cli/attack.js';
import { quietly } from '../helpers/quiet.js';
import { trainPrior } from '../../src/train/index.js';

const model = mlp({ inputShape: [1, 28, 28], hidden: 64 });
const SIZE = 28 * 28;
let data: DatasetSplits;
let prior: GenerativePrior;

// A prior small and short enough for a unit test (about 5 s): blurry digits, but digits.
before(async () => {
  data = await loadDataset('mnist');
  prior = await trainPrior(data.train, { steps: 150, batchSize: 32, width: 8, latent: 16, lr: 1e-3, seed: 0 });
});

async function mnistCase(index: number, defense = 'none', options: Record<string, unknown> = {}): Promise<AttackCase> {
  const state = await modelAtRound(model, 0, { seed: 1 });
  return buildCase({ model, state, data: data.test, indices: [index], defense: createDefense(defense, options), seed: 1, knows: { batchSize: true, labels: true } });
}

const pixels = (x: Float32Array) => Float32Array.from(x, (v) => v * data.test.std[0]! + data.test.mean[0]!);

test('GGL on an undefended gradient lands closer to the true digit than random draws of the same prior', async () => {
  let [attacked, drawn] = [0, 0];
  for (const index of [0, 1, 2]) {
    const c = await mnistCase(index);
    const truth = data.test.images.subarray(index * SIZE, (index + 1) * SIZE);
    const r = await createAttack('ggl').run(c.threat, { seed: 0, prior, iterations: 200, restarts: 2 });
    attacked += psnr(truth, pixels(r.images), [1, 1, 28, 28]) / 3;
    const random = await generate(prior, randn(8 * 16, new Rng(50 + index)));
    for (let k = 0; k < 8; k++) drawn += psnr(truth, random.subarray(k * SIZE, (k + 1) * SIZE), [1, 1, 28, 28]) / 24;
  }
  assert.ok(attacked > drawn + 1, `GGL ${attacked.toFixed(2)} dB vs random G(z) ${drawn.toFixed(2)} dB`);
});

test('CMA-ES lowers the objective below that of the prior centre, from values alone', async () => {
  const c = await mnistCase(2);
  const p = new GglProblem(c.threat, prior, { objective: 'cosine', maskAware: false, latentWeight: 0 }, c.threat.labels!);
  const start = (await p.value(new Float32Array(16))).match;
  const r = await cmaesSearch(p, { ...GGL_SEARCHES.cmaes, iterations: 40 }, 0);
  assert.equal(r.evaluations, 40 * (4 + Math.floor(3 * Math.log(16))));
  assert.ok(r.match < start - 0.02, `CMA-ES ${r.match} from ${start}`);
  p.release();
});

/** The trial gradient at G(z), by the training runner (not the attack's code). */
async function trialGradient(p: GglProblem, c: AttackCase, z: Float32Array) {
  return (await runnerFor(model).lossAndGrad(c.threat.params, await p.images(z), [1, 1, 28, 28], oneHot(c.threat.labels!, 10))).grads;
}

test('the adaptive objective against sparsification compares only the sent positions: the cosine over them, computed by hand', async () => {
  const c = await mnistCase(0, 'topk', { fraction: 0.2 });
  const spec = { ...adaptiveSpec(c.threat, { name: 'topk' }), latentWeight: 0 };
  assert.deepEqual(spec, { objective: 'cosine', maskAware: true, latentWeight: 0 });
  const adaptive = new GglProblem(c.threat, prior, spec, c.threat.labels!);
  const plain = new GglProblem(c.threat, prior, { ...spec, maskAware: false }, c.threat.labels!);
  const z = randn(16, new Rng(4));
  const g = await trialGradient(adaptive, c, z);
  const target = observedGradient(c.threat);
  const masks = sentMasks(c.threat);
  const cosine = (useMask: boolean) => {
    let [dot, gg, tt] = [0, 0, 0];
    g.forEach((t, i) => {
      for (let j = 0; j < t.data.length; j++) {
        if (useMask && masks[i]!.data[j] === 0) continue;
        dot += t.data[j]! * target[i]!.data[j]!;
        gg += t.data[j]! ** 2;
        tt += target[i]!.data[j]! ** 2;
      }
    });
    return 1 - dot / Math.sqrt(gg * tt);
  };
  const [a, b] = [(await adaptive.value(z)).match, (await plain.value(z)).match];
  assert.ok(Math.abs(a - cosine(true)) < 1e-4, `mask-aware ${a} vs by hand ${cosine(true)}`);
  assert.ok(Math.abs(b - cosine(false)) < 1e-4, `plain ${b} vs by hand ${cosine(false)}`);
  assert.ok(Math.abs(a - b) > 0.01, 'the trial gradient off the sent positions must change the plain objective');
  adaptive.release();
  plain.release();
});

test('the adaptive objective against DP clips the trial gradient to the known bound and matches in L2', async () => {
  const clip = 0.05;
  const c = await mnistCase(1, 'dp', { clip, noiseMultiplier: 0.01 });
  const spec = { ...adaptiveSpec(c.threat, { name: 'dp', options: { clip, noiseMultiplier: 0.01 } }), latentWeight: 0 };
  assert.deepEqual(spec, { objective: 'l2', clip, maskAware: false, latentWeight: 0 });
  const p = new GglProblem(c.threat, prior, spec, c.threat.labels!);
  const z = randn(16, new Rng(6));
  const g = await trialGradient(p, c, z);
  const norm = Math.sqrt(g.reduce((s, t) => s + t.data.reduce((a, v) => a + v * v, 0), 0));
  assert.ok(norm > clip, `the trial gradient's norm ${norm} should exceed the clip ${clip} for this check to mean anything`);
  const target = observedGradient(c.threat);
  let byHand = 0;
  g.forEach((t, i) => t.data.forEach((v, j) => (byHand += (v * (clip / norm) - target[i]!.data[j]!) ** 2)));
  const got = (await p.value(z)).match;
  assert.ok(Math.abs(got - byHand) < 1e-4 * byHand, `clipped L2 ${got} vs by hand ${byHand}`);
  assert.throws(() => adaptiveSpec(c.threat, { name: 'dp', options: { mechanism: 'laplace' } }), /laplace/);
  p.release();
});

test('GGL says what it lacks: no prior, or a prior of another image shape', async () => {
  const c = await mnistCase(0);
  await assert.rejects(createAttack('ggl').run(c.threat, { seed: 0 }), /needs a generative prior.*--prior/);
  const cifarLike = { ...c.threat, data: { ...c.threat.data, channels: 3, height: 32, width: 32 } };
  await assert.rejects(createAttack('ggl-cmaes').run(cifarLike, { seed: 0, prior, iterations: 1 }), /generates \[1,28,28\] images, the attacked model takes \[3,32,32\]/);
});

test('dgp attack --attack ggl --prior FILE runs and records the attack; --prior is required by ggl and refused by others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-ggl-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'prior.safetensors');
  savePrior(file, prior);
  const out = join(dir, 'run');
  const o = parseCommand(attackCommand, ['--attack', 'ggl-adaptive', '--defense', 'dgp', '--dataset', 'mnist', '--model', 'mlp', '--images', '1', '--iterations', '5', '--restarts', '1', '--prior', file, '--out', out])!;
  await quietly(() => attackCommand.run(o));
  const result = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8')) as { summary: { attack: string; psnr: number }; options: { prior: string } };
  assert.equal(result.summary.attack, 'ggl-adaptive');
  assert.ok(Number.isFinite(result.summary.psnr));
  assert.equal(result.options.prior, file);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'ggl', '--out', out]), /--prior.*dgp train-prior/);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'ig', '--prior', file, '--out', out]), /--prior.*ggl attacks/);
});
