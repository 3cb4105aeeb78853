// `dgp attack --model-file`: a model trained by `dgp train` (saved with --save, or from a federated
// or centralised checkpoint folder) is the attacked one, and the result records its round or step.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCommand } from '../../src/cli/args.js';
import { attackCommand } from '../../src/cli/attack.js';
import { loadModelFile } from '../../src/cli/model-file.js';
import { trainCommand } from '../../src/cli/train.js';
import { createModel, initParams, loadSafetensors, saveSafetensors } from '../../src/models/index.js';
import { CIFAR_DIR } from './helpers.js';
import { quietly } from '../helpers/quiet.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-model-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));


const lenet = createModel('lenet', { inputShape: [3, 32, 32] });

test('dgp train --save records the model, its width and its rounds; the attack reads them and records the round', async () => {
  const saved = join(dir, 'fed.safetensors');
  const checkpoint = join(dir, 'fed-ckpt');
  const train = parseCommand(trainCommand, [
    '--model', 'lenet', '--dataset', 'cifar10', '--data-dir', CIFAR_DIR, '--clients', '2', '--batch-size', '8', '--rounds', '3', '--lr', '0.01', '--schedule', 'constant',
    '--defense', 'dgp', '--train-limit', '64', '--test-limit', '16', '--save', saved, '--checkpoint', checkpoint,
  ])!;
  await quietly(() => trainCommand.run(train));
  const meta = loadSafetensors(saved).metadata;
  assert.deepEqual([meta['model'], meta['width'], meta['rounds'], meta['defense']], ['lenet', '1', '3', 'dgp']);

  for (const [file, kind] of [[saved, 'saved'], [checkpoint, 'federated checkpoint'], [join(checkpoint, 'round-000003', 'model.safetensors'), 'federated checkpoint']] as const) {
    const { state, origin } = loadModelFile(file, lenet);
    assert.equal(origin.kind, kind, file);
    assert.equal(state.round, 3, file);
    assert.equal(origin.unit, 'rounds');
    // The trained parameters, not a fresh initialisation.
    const fresh = initParams(lenet.params, 0)[0]!.data;
    assert.notDeepEqual(state.params[0]!.data.slice(0, 8), fresh.slice(0, 8));
  }
  const out = join(dir, 'attack-fed');
  const o = parseCommand(attackCommand, ['--attack', 'idlg', '--defense', 'none', '--model', 'lenet', '--images', '1', '--iterations', '2', '--data-dir', CIFAR_DIR, '--model-file', checkpoint, '--out', out])!;
  await quietly(() => attackCommand.run(o));
  const json = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
  assert.equal(json.summary.round, 3);
  assert.equal(json.records[0].round, 3);
  assert.equal(json.modelOrigin.kind, 'federated checkpoint');
  assert.equal(json.modelOrigin.round, 3);
});

test('a centralised checkpoint gives the step; a file without a round needs --model-round; wrong models are refused by name', async () => {
  const checkpoint = join(dir, 'central-ckpt');
  const saved = join(dir, 'central.safetensors');
  const train = parseCommand(trainCommand, ['--model', 'lenet', '--dataset', 'cifar10', '--data-dir', CIFAR_DIR, '--epochs', '1', '--batch-size', '16', '--train-limit', '32', '--test-limit', '16', '--checkpoint', checkpoint, '--save', saved])!;
  await quietly(() => trainCommand.run(train));
  const c = loadModelFile(checkpoint, lenet);
  assert.equal(c.origin.kind, 'centralised checkpoint');
  assert.deepEqual([c.state.round, c.origin.unit], [2, 'steps']);
  const s = loadModelFile(saved, lenet);
  assert.deepEqual([s.state.round, s.origin.unit, s.origin.epochs], [2, 'steps', 1]);

  const bare = join(dir, 'bare.safetensors');
  saveSafetensors(bare, [...initParams(lenet.params, 1)], {});
  assert.throws(() => loadModelFile(bare, lenet), /does not say how long the model was trained .* give --model-round R/);
  assert.throws(() => loadModelFile(bare, createModel('convnet', { inputShape: [3, 32, 32] }), { width: 1, round: 5 }), /bare\.safetensors: tensor conv1\.weight has shape \[12,3,5,5\], expected \[32,3,3,3\]/);
  assert.equal(loadModelFile(bare, lenet, { width: 1, round: 5 }).state.round, 5);
  assert.throws(() => loadModelFile(saved, createModel('mlp', { inputShape: [3, 32, 32] })), /holds a lenet model, not mlp \(give --model lenet\)/);
  assert.throws(() => loadModelFile(join(dir, 'nope'), lenet), /--model-file .*nope: no such file or folder/);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'ig', '--model-file', saved, '--round', '4', '--out', dir]), /invalid --round: trains a fresh model/);
  assert.throws(() => parseCommand(attackCommand, ['--attack', 'ig', '--model-round', '4', '--out', dir]), /invalid --model-round: only says the round of a --model-file/);
});
