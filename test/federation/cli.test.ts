// `dgp train` as a user meets it: bad options fail with one line naming the option, and a few
// rounds of DGP on a slice of real MNIST go through the same code as the command.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { trainCommand, withModelRecipe } from '../../src/cli/train.js';
import { defenseFromFlags } from '../../src/cli/run-options.js';
import { usageErrorOf } from '../helpers/usage.js';

function parse(argv: string) {
  const o = parseCommand(trainCommand, argv.split(' '));
  assert.ok(o !== null);
  return o;
}

const usageError = (argv: string) => usageErrorOf(() => parseCommand(trainCommand, argv.split(' ')), `"${argv}"`);

describe('dgp train options', () => {
  const cases: [string, RegExp][] = [
    ['--defense dgpp', /^invalid --defense: .*'dgp'.*received 'dgpp'/],
    ['--clients 10 --fraction 0', /^invalid --fraction: must be in \(0, 1\]/],
    ['--clients 10 --fraction 1.5', /^invalid --fraction: must be in \(0, 1\]/],
    ['--clients 0', /^invalid --clients: /],
    ['--clients 10 --partition dirichlet', /^invalid --partition: expected iid or dirichlet:ALPHA with ALPHA > 0, got "dirichlet"/],
    ['--clients 10 --partition dirichlet:0', /^invalid --partition: .*got "dirichlet:0"/],
    ['--clients 10 --partition noniid', /^invalid --partition: /],
    ['--defense topk --p-keep 0.3', /^invalid --p-keep: applies to --defense dgp or adgp, not topk/],
    ['--defense dgp --k 0.2', /^invalid --k: applies to --defense topk or randomk, not dgp/],
    ['--defense dgp --p-top 0.9 --p-keep 0.2', /^invalid --defense: defense dgp: pTop \+ pKeep must be at most 1/],
    ['--defense dgp --error-feedback maybe', /^invalid --error-feedback: /],
    ['--defense dgp --no-error-feedback --error-feedback true', /^invalid --error-feedback: give --error-feedback or --no-error-feedback, not both/],
    ['--defense dp --noise-multiplier=-1', /^invalid --noise-multiplier: /],
    ['--rounds 5', /^invalid --rounds: is for federated training/],
    ['--clients 4 --rounds 5 --epochs 2', /^invalid --rounds: give --rounds or --epochs, not both/],
    ['--clients 4 --algorithm clsgd --local-steps 3', /^invalid --local-steps: CL-SGD sends one gradient per round/],
    ['--clients 4 --optimizer adam', /^invalid --optimizer: federated training steps the server model with SGD/],
    ['--clients 4 --checkpoint-every 5', /^invalid --checkpoint-every: needs --checkpoint DIR/],
    ['--client-store /tmp/x', /^invalid --client-store: is for federated training/],
  ];
  for (const [argv, want] of cases) {
    it(argv, () => assert.match(usageError(argv), want));
  }

  it('more clients than training images is an error naming --clients', async () => {
    const o = parse('--clients 20 --train-limit 10 --defense dgp');
    await assert.rejects(trainCommand.run(o), (e: Error) => e instanceof UsageError && /^invalid --clients: 20 clients but only 10 training images$/.test(e.message));
  });

  it('--error-feedback false and --no-error-feedback say the same', () => {
    const off = { name: 'dgp', options: { pTop: 0.1, ef: false } };
    assert.deepEqual(defenseFromFlags(parse('--defense dgp --p-top 0.1 --error-feedback false')), off);
    assert.deepEqual(defenseFromFlags(parse('--defense dgp --p-top 0.1 --no-error-feedback')), off);
    assert.deepEqual(defenseFromFlags(parse('--defense topk --k 0.3')), { name: 'topk', options: { fraction: 0.3 } });
  });
});

describe('dgp train, per-model recipes', () => {
  it('a centralised LeNet takes its recipe, a given flag wins, federated keeps SGD', () => {
    const pick = (argv: string) => {
      const o = withModelRecipe(parse(argv));
      return { optimizer: o.optimizer, lr: o.lr, batchSize: o.batchSize, init: o.init };
    };
    assert.deepEqual(pick('--model lenet'), { optimizer: 'adam', lr: 0.005, batchSize: 8, init: 'dlg' });
    assert.deepEqual(pick('--model lenet --lr 0.01 --init torch'), { optimizer: 'adam', lr: 0.01, batchSize: 8, init: 'torch' });
    assert.deepEqual(pick('--model lenet --clients 4'), { optimizer: 'sgd', lr: 0.05, batchSize: 64, init: 'dlg' });
    assert.deepEqual(pick('--model mlp'), { optimizer: 'sgd', lr: 0.05, batchSize: 64, init: 'xavier' });
  });

  it("LeNet's recipe trains: 6,000 MNIST images, one epoch, well above chance on 2,000 test images", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-lenet-'));
    try {
      const out = join(dir, 'out.json');
      await trainCommand.run(parse(`--model lenet --train-limit 6000 --test-limit 2000 --json ${out}`));
      const r = JSON.parse(readFileSync(out, 'utf8')) as { testAccuracy: number; steps: number };
      assert.equal(r.steps, 750);
      assert.ok(r.testAccuracy > 0.85, `accuracy ${r.testAccuracy}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dgp train, federated, on real MNIST', () => {
  it('--client-store gives the same run as clients in memory, and leaves a file per client sampled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-cli-store-'));
    try {
      const argv = '--model mlp --clients 40 --fraction 0.1 --batch-size 4 --rounds 6 --schedule constant --defense dgp --train-limit 400 --test-limit 200';
      const runs = [];
      for (const extra of ['', ` --client-store ${join(dir, 'store')}`]) {
        const json = join(dir, `run${runs.length}.json`);
        await trainCommand.run(parse(`${argv} --json ${json}${extra}`));
        runs.push(JSON.parse(readFileSync(json, 'utf8')));
      }
      assert.deepEqual(runs[1].history, runs[0].history);
      assert.equal(runs[1].testAccuracy, runs[0].testAccuracy);
      assert.deepEqual(runs[1].spec, runs[0].spec, 'the store is no part of the spec');
      const sampled = new Set(runs[0].history.flatMap((e: { sampled: number[] }) => e.sampled));
      assert.equal(readdirSync(join(dir, 'store')).filter((f) => f.endsWith('.safetensors')).length, sampled.size);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('20 rounds of DGP on 2,000 images: bytes as designed, accuracy well above chance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-cli-'));
    try {
      const json = join(dir, 'run.json');
      const argv = `--model mlp --clients 4 --batch-size 32 --rounds 20 --lr 0.05 --schedule constant --defense dgp --train-limit 2000 --test-limit 500 --eval-every 10 --json ${json}`;
      await trainCommand.run(parse(argv));
      const out = JSON.parse(readFileSync(json, 'utf8'));
      assert.equal(out.mode, 'federated');
      assert.equal(out.history.length, 20);
      assert.deepEqual(out.history.map((e: { testAccuracy?: number }) => e.testAccuracy !== undefined), Array.from({ length: 20 }, (_, i) => i === 9 || i === 19));
      assert.ok(out.testAccuracy > 0.5, `accuracy ${out.testAccuracy}`);
      // MLP: 203,530 parameters, 814 kB dense. DGP sends 20 % of each tensor as float32 values plus
      // a bitmap or gap-coded positions: about 0.2 * 4 + 1/8 = 0.93 bytes per parameter, under a quarter of dense.
      // The bitmap costs 1/32 of dense float32: 0.2 + 0.03125 = 0.2313 of dense (measured 0.2317 with the headers).
      const dense = 203_530 * 4;
      const upPerRound = out.bytes.upPerClient / 20;
      assert.ok(Math.abs(upPerRound / dense - 0.2313) < 0.002, `upload per round ${(upPerRound / dense).toFixed(4)} of dense`);
      // Measured 0.71-0.84 (DGP drops the largest 5 % and error feedback adds back what waited).
      for (const e of out.history) assert.ok(e.relGradDistance > 0.65 && e.relGradDistance < 0.9, `relGradDistance ${e.relGradDistance}`);
      // Down: one sync of the dense model, then a broadcast of the union of four bands per round.
      // Four independent 20 % bands would cover 1 - 0.8^4 = 59 % of the entries (0.62 of dense with
      // the bitmap); the clients' bands overlap more than that, measured 0.546 of dense per round.
      // One band alone would be 0.23.
      const downPerRound = (out.bytes.downPerClient - dense) / 20 / dense;
      assert.ok(downPerRound > 0.5 && downPerRound < 0.6, `download per round ${downPerRound.toFixed(4)} of dense`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
