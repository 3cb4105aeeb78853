// PRECODE's variational bottleneck: its KL term and sampling as the paper defines them, exact
// derivatives through it (float64 central differences), and training with --precode end to end.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { compile, type Sym } from '../../src/core/index.js';
import { parseCommand } from '../../src/cli/args.js';
import { trainCommand } from '../../src/cli/train.js';
import { bindParams, createModel, initParams, mlp, precode, trainingLoss } from '../../src/models/index.js';
import { ModelRunner } from '../../src/train/index.js';
import { checkGrad, randn } from '../core/fd.js';
import { quietly } from '../helpers/quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-precode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = mlp({ inputShape: [1, 4, 4], hidden: 6 });
const model = precode(base, { k: 3, beta: 0.5 });

test('PRECODE inserts encoder and decoder before the classifier, which stays the last layer', () => {
  assert.equal(model.name, 'mlp+precode');
  assert.deepEqual(model.params.map((p) => `${p.name}[${p.shape}]`), [
    'fc1.weight[6,16]', 'fc1.bias[6]', 'vb.encoder.weight[6,6]', 'vb.encoder.bias[6]', 'vb.decoder.weight[6,3]', 'vb.decoder.bias[6]', 'fc2.weight[10,6]', 'fc2.bias[10]',
  ]);
  assert.deepEqual(model.noise!.shape(4), [4, 3]);
  assert.throws(() => precode({ ...base, params: base.params.slice(0, -1) }), /last two parameters of mlp must be its classifier/);
});

test('the loss is cross-entropy plus beta x KL(N(mu, softplus(s - 5)^2) || N(0, 1)), with z = mu + std x eps', async () => {
  const rng = new Rng(1);
  const params = initParams(model.params, 2);
  const x = Float32Array.from({ length: 2 * 16 }, () => rng.normal());
  const eps = Float32Array.from({ length: 2 * 3 }, () => rng.normal());
  const target = Float32Array.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const f = compile((xs: Sym, t: Sym, e: Sym, ...p: Sym[]) => {
    const r = model.forward(bindParams(model.params, p), xs, { training: true, noise: e });
    return [trainingLoss(r, t), r.extraLoss!, r.logits];
  });
  const [loss, extra, logits] = await f.run([{ data: x, shape: [2, 1, 4, 4] }, { data: target, shape: [2, 10] }, { data: eps, shape: [2, 3] }, ...params.map((t) => ({ data: t.data, shape: t.shape }))]);
  // The same arithmetic in plain numbers.
  const P = Object.fromEntries(params.map((t) => [t.name, t.data]));
  const lin = (v: number[], w: Float32Array, b: Float32Array, fin: number) => Array.from(b, (bj, j) => bj + v.reduce((a, vi, i) => a + vi * w[j * fin + i]!, 0));
  let kl = 0;
  let ce = 0;
  for (let n = 0; n < 2; n++) {
    const h = lin(Array.from(x.subarray(n * 16, n * 16 + 16)), P['fc1.weight']!, P['fc1.bias']!, 16).map((v) => Math.max(0, v));
    const st = lin(h, P['vb.encoder.weight']!, P['vb.encoder.bias']!, 6);
    const mu = st.slice(0, 3);
    const std = st.slice(3).map((s) => Math.log1p(Math.exp(s - 5)));
    kl += 0.5 * mu.reduce((a, m, i) => a + m * m + std[i]! ** 2 - 2 * Math.log(std[i]!) - 1, 0);
    const z = mu.map((m, i) => m + std[i]! * eps[n * 3 + i]!);
    const out = lin(lin(z, P['vb.decoder.weight']!, P['vb.decoder.bias']!, 3), P['fc2.weight']!, P['fc2.bias']!, 6);
    out.forEach((v, j) => assert.ok(Math.abs(v - logits![n * 10 + j]!) < 1e-4, `logit ${n},${j}: ${v} vs ${logits![n * 10 + j]}`));
    const lse = Math.log(out.reduce((a, v) => a + Math.exp(v), 0));
    ce += lse - out[n === 0 ? 1 : 9]!;
  }
  assert.ok(Math.abs(extra![0]! - 0.5 * (kl / 2)) < 1e-4, `KL term ${extra![0]} vs ${0.5 * (kl / 2)}`);
  assert.ok(Math.abs(loss![0]! - (ce / 2 + 0.5 * (kl / 2))) < 1e-4);
});

test('gradients through the bottleneck (parameters and inputs) match central differences in float64', () => {
  const rng = new Rng(3);
  const params = initParams(model.params, 4).map((t) => ({ data: Float64Array.from(t.data, (v) => v + 0.1 * rng.normal()), shape: t.shape }));
  const f = (xs: Sym, t: Sym, e: Sym, ...p: Sym[]) => trainingLoss(model.forward(bindParams(model.params, p), xs, { training: true, noise: e }), t);
  const y = { data: Float64Array.from({ length: 20 }, (_, i) => (i === 3 || i === 17 ? 1 : 0)), shape: [2, 10] };
  const xs = [randn(rng, [2, 1, 4, 4]), y, randn(rng, [2, 3]), ...params];
  checkGrad(f, xs, { wrt: [0, 3, 5, 6, 9] });
});

test('dgp train --precode trains a PRECODE model, records it in the spec, and its runner draws fresh noise each step', async () => {
  const json = join(dir, 'run.json');
  const o = parseCommand(trainCommand, ['--dataset', 'mnist', '--model', 'mlp', '--precode', '--precode-k', '8', '--clients', '2', '--rounds', '2', '--batch-size', '8', '--train-limit', '64', '--test-limit', '32', '--json', json])!;
  await quietly(() => trainCommand.run(o));
  const r = JSON.parse(readFileSync(json, 'utf8'));
  assert.deepEqual(r.spec.model.precode, { k: 8, beta: 1e-3 });
  assert.ok(r.testAccuracy >= 0 && r.history.length === 2);
  const m = createModel('mlp', { inputShape: [1, 28, 28], precode: { k: 8, beta: 1e-3 } });
  const runner = new ModelRunner(m);
  const p = initParams(m.params, 0);
  const x = new Float32Array(2 * 784).fill(0.5);
  const t = Float32Array.from({ length: 20 }, (_, i) => (i % 10 === 0 ? 1 : 0));
  const a = await runner.lossAndGrad(p, x, [2, 1, 28, 28], t);
  const b = await runner.lossAndGrad(p, x, [2, 1, 28, 28], t);
  assert.notEqual(a.grads[0]!.data[0], b.grads[0]!.data[0], 'two steps drew the same noise');
});
