// A run as a file: --config gives dgp serve its options (YAML or JSON, flag names), flags override
// it, a saved run spec comes back as the same spec, and a bad file says what is wrong.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { defenseFromFlags, specFromOptions } from '../../src/cli/run-options.js';
import { serveCommand } from '../../src/cli/serve.js';
import type { FederatedSpec } from '../../src/federation/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-config-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const parse = (...argv: string[]) => parseCommand(serveCommand, [...argv, '--access', 'a.json'])!;

describe('dgp serve --config', () => {
  it('takes the options from a YAML file under their flag names, and flags over them', () => {
    const yaml = file('run.yaml', 'model: lenet\nrounds: 20\nbatch-size: 16\ndefense: dgp\np-top: 0.1\nlisten: 0.0.0.0:7443\n');
    const o = parse('--config', yaml, '--rounds', '30');
    assert.equal(o.model, 'lenet');
    assert.equal(o.batchSize, 16);
    assert.equal(o.pTop, 0.1);
    assert.equal(o.listen, '0.0.0.0:7443');
    assert.equal(o.rounds, 30, 'the flag overrides the file');
  });

  it('takes JSON with camelCase names too', () => {
    const o = parse('--config', file('run.json', JSON.stringify({ model: 'mlp', rounds: 5, noiseMultiplier: 0.5, defense: 'dp', clip: 2 })));
    assert.deepEqual([o.rounds, o.defense, o.noiseMultiplier, o.clip], [5, 'dp', 0.5, 2]);
  });

  it('turns a saved run spec back into the flags that make the same spec', () => {
    const spec: FederatedSpec = {
      dataset: 'mnist', trainLimit: 3000, model: { name: 'lenet', width: 1, init: 'dlg' }, clients: 4, rounds: 12, batchSize: 32,
      partition: { kind: 'dirichlet', alpha: 0.3 }, fraction: 0.5, algorithm: 'fedavg', localSteps: 3, lr: 0.02, schedule: 'step',
      lrSteps: [[5, 0.01], [9, 0.005]], momentum: 0.9, weightDecay: 1e-4, serverLr: 1.5, defense: { name: 'dgp', options: { pTop: 0.05, pKeep: 0.25, ef: false } },
      seed: 11, evalEvery: 3,
    };
    const o = parse('--config', file('result.json', JSON.stringify({ testAccuracy: 0.9, spec, history: [] })));
    assert.deepEqual(specFromOptions(o as never, defenseFromFlags(o), 60_000), spec);
  });

  it('says which key is wrong, and what it might be', () => {
    assert.throws(() => parse('--config', file('typo.yaml', 'rounds: 5\nbatch-sise: 8\n')), /"batch-sise" is not an option of dgp serve \(did you mean --batch-size\?\)/);
    assert.throws(() => parse('--config', file('bad.yaml', 'rounds: [5\n')), /--config .*bad\.yaml: not valid YAML/);
    assert.throws(() => parse('--config', file('list.yaml', '- 5\n')), /expected a mapping of option names to values/);
    assert.throws(() => parse('--config', join(dir, 'nowhere.yaml')), /cannot read it \(ENOENT\)/);
    assert.throws(() => parse('--config', file('badval.yaml', 'rounds: -5\n')), /invalid --rounds/);
  });
});
