// The secure-aggregation flags of dgp train and dgp serve: each bad combination fails with one
// line naming the flag; a config file and a saved spec give the same spec as the flags; and a few
// rounds of `dgp train --secure-aggregation` on real MNIST record who was in each sum.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { DEFAULT_SECURE_CLIP, defenseFromFlags, specFromOptions } from '../../src/cli/run-options.js';
import { serveCommand } from '../../src/cli/serve.js';
import { trainCommand } from '../../src/cli/train.js';
import { usageErrorOf } from '../helpers/usage.js';

const train = (argv: string) => parseCommand(trainCommand, argv.split(' '))!;
const serve = (argv: string) => parseCommand(serveCommand, [...argv.split(' '), '--access', 'a.json'])!;

/** The one-line usage error of parsing (and making the spec of) `argv`. */
function trainError(argv: string): string {
  return usageErrorOf(() => {
    const o = train(argv);
    specFromOptions(o as never, defenseFromFlags(o), 60_000);
  }, `"${argv}"`);
}

describe('secure-aggregation flags', () => {
  const cases: [string, RegExp][] = [
    ['--clients 10 --threshold 6', /^invalid --threshold: needs --secure-aggregation/],
    ['--clients 10 --sa-clip 2', /^invalid --sa-clip: needs --secure-aggregation/],
    ['--clients 10 --secure-aggregation', /^invalid --threshold: is required with --secure-aggregation/],
    ['--clients 10 --secure-aggregation --threshold 1', /^invalid --threshold: must be at least 2/],
    ['--clients 10 --secure-aggregation --threshold 11', /^invalid --threshold with --secure-aggregation: 11 exceeds the 10 clients sampled per round/],
    ['--clients 10 --fraction 0.3 --secure-aggregation --threshold 4', /^invalid --threshold with --secure-aggregation: 4 exceeds the 3 clients sampled per round/],
    ['--clients 300 --secure-aggregation --threshold 200', /^invalid --clients with --secure-aggregation: secure aggregation takes at most 255 clients per round .* samples 300/],
    ['--clients 10 --secure-aggregation --threshold 6 --defense dgp', /^invalid --defense with --secure-aggregation: dgp sends each client's values at positions of its own choosing/],
    ['--clients 10 --secure-aggregation --threshold 6 --defense topk', /^invalid --defense with --secure-aggregation: topk/],
    ['--clients 10 --secure-aggregation --threshold 6 --sa-neighbours 3', /^invalid --sa-neighbours: must be even/],
    ['--clients 10 --secure-aggregation --threshold 6 --sa-neighbours 4', /^invalid --threshold with --secure-aggregation: 6 exceeds neighbours \+ 1 = 5/],
    ['--clients 10 --secure-aggregation --threshold 6 --sa-clip 0', /^invalid --sa-clip: /],
    ['--secure-aggregation --threshold 2', /^invalid --secure-aggregation: is for federated training/],
  ];
  for (const [argv, want] of cases) it(argv, () => assert.match(trainError(argv), want));

  it('the flags make the spec field, with the default clip', () => {
    const o = train('--clients 10 --defense adgp --secure-aggregation --threshold 7');
    assert.deepEqual(specFromOptions(o as never, defenseFromFlags(o), 60_000).secureAggregation, { threshold: 7, clip: DEFAULT_SECURE_CLIP });
    const k = train('--clients 10 --secure-aggregation --threshold 3 --sa-clip 0.5 --sa-neighbours 4');
    assert.deepEqual(specFromOptions(k as never, defenseFromFlags(k), 60_000).secureAggregation, { threshold: 3, clip: 0.5, neighbours: 4 });
    assert.equal(specFromOptions(train('--clients 10') as never, { name: 'none', options: {} }, 60_000).secureAggregation, undefined);
  });

  it('dgp serve takes them from a config file, and a saved spec gives them back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-sa-config-'));
    try {
      const yaml = join(dir, 'run.yaml');
      writeFileSync(yaml, 'clients: 10\nrounds: 5\ndefense: dp\nsecure-aggregation: true\nthreshold: 7\nsa-clip: 0.25\n');
      // dgp serve fills the model's recipe (lr, batch size, init) itself before it makes the spec.
      const withRecipe = (o: ReturnType<typeof serve>) => ({ ...o, lr: o.lr ?? 0.05, batchSize: o.batchSize ?? 64, init: o.init ?? 'xavier' }) as never;
      const o = serve(`--config ${yaml}`);
      const spec = specFromOptions(withRecipe(o), defenseFromFlags(o), 60_000);
      assert.deepEqual(spec.secureAggregation, { threshold: 7, clip: 0.25 });
      const saved = join(dir, 'result.json');
      writeFileSync(saved, JSON.stringify({ spec: { ...spec, secureAggregation: { threshold: 6, clip: 0.5, neighbours: 6 } } }));
      const again = serve(`--config ${saved}`);
      assert.deepEqual(specFromOptions(withRecipe(again), defenseFromFlags(again), 60_000).secureAggregation, { threshold: 6, clip: 0.5, neighbours: 6 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dgp train --secure-aggregation on real MNIST: every round a sum of the sampled clients, the JSON result says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-sa-train-'));
    try {
      const json = join(dir, 'run.json');
      await trainCommand.run(train(`--model mlp --clients 6 --fraction 0.5 --batch-size 16 --rounds 4 --lr 0.05 --defense adgp --secure-aggregation --threshold 2 --train-limit 600 --test-limit 200 --json ${json}`));
      const out = JSON.parse(readFileSync(json, 'utf8'));
      assert.deepEqual(out.spec.secureAggregation, { threshold: 2, clip: DEFAULT_SECURE_CLIP });
      for (const e of out.history) {
        assert.deepEqual(e.secure.contributors, e.sampled);
        assert.equal(e.sampled.length, 3);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
