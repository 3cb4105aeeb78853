// `dgp train` keeps work: centralised runs checkpoint and resume too (a resumed run is the
// uninterrupted one, bit for bit), a --checkpoint folder holding another run's checkpoint is
// refused without --force, a resume that cannot match says why and what works, and Ctrl-C writes
// the partial --json result, says where, and exits with 130 (run as a child process, as a user
// would press it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { trainCommand } from '../../src/cli/train.js';
import { resumeRefusal } from '../../src/train/index.js';

const root = mkdtempSync(join(tmpdir(), 'dgp-train-cp-'));
after(() => rmSync(root, { recursive: true, force: true }));
const BIN = join(import.meta.dirname, '../../bin/dgp.js');

async function train(argv: string): Promise<void> {
  const o = parseCommand(trainCommand, argv.split(' ').filter(Boolean));
  assert.ok(o);
  await trainCommand.run(o);
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Runs `dgp train` as a child; with `interrupt`, sends SIGINT once training has printed a progress line. */
function child(argv: string, interrupt: boolean): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [BIN, 'train', ...argv.split(' ')], { env: { ...process.env, DGP_PROGRESS_SECONDS: '0.02' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let sent = false;
    p.stdout.on('data', (b: Buffer) => (stdout += b));
    p.stderr.on('data', (b: Buffer) => {
      stderr += b;
      if (interrupt && !sent && / steps | rounds /.test(stderr)) {
        sent = true;
        p.kill('SIGINT');
      }
    });
    p.on('error', fail);
    p.on('close', (code, signal) => done({ code, signal, stderr, stdout }));
  });
}

const MNIST = '--train-limit 6400 --test-limit 300 --batch-size 64 --epochs 2 --eval-every 40 --lr 0.05 --momentum 0.9';

describe('centralised checkpoints and Ctrl-C', () => {
  it('Ctrl-C writes the partial result and a checkpoint and exits 130; the resumed run equals the uninterrupted one', async () => {
    const whole = join(root, 'whole.json');
    await train(`${MNIST} --json ${whole} --save ${join(root, 'whole.safetensors')}`);
    const cp = join(root, 'cp');
    const part = join(root, 'part.json');
    const r = await child(`${MNIST} --checkpoint ${cp} --json ${part}`, true);
    assert.equal(r.code, 130, `exit ${r.code} (${r.signal}); stderr: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`dgp train: interrupted; checkpoint of step \\d+ in ${cp}/step-\\d+ \\(continue with --resume ${cp} --checkpoint ${cp}\\); partial result \\(\\d+ of 200 steps\\) in ${part}`));
    const partial = json(part);
    assert.equal(partial.completed, false);
    assert.equal(partial.mode, 'centralised');
    assert.ok(partial.progress.done > 0 && partial.progress.done < 200, `stopped at step ${partial.progress.done}`);
    // The progress lines a log gets off a terminal.
    assert.match(r.stderr, /train mlp \d+\/200 steps/);
    const resumed = join(root, 'resumed.json');
    await train(`${MNIST} --resume ${cp} --checkpoint ${cp} --json ${resumed} --save ${join(root, 'resumed.safetensors')}`);
    const [a, b] = [json(whole), json(resumed)];
    assert.deepEqual(b.history, a.history);
    assert.equal(b.testAccuracy, a.testAccuracy);
    assert.equal(b.steps, 200);
    assert.equal(sha(join(root, 'resumed.safetensors')), sha(join(root, 'whole.safetensors')));
  });

  it('a finished run resumes for more epochs under a constant schedule; a cosine one says why it cannot', async () => {
    const cp = join(root, 'extend');
    const base = '--train-limit 640 --test-limit 200 --batch-size 64';
    await train(`${base} --epochs 1 --schedule constant --checkpoint ${cp}`);
    await train(`${base} --epochs 2 --schedule constant --resume ${cp} --checkpoint ${cp} --json ${join(root, 'extended.json')}`);
    assert.equal(json(join(root, 'extended.json')).steps, 20);
    const cosine = join(root, 'cosine');
    await train(`${base} --epochs 1 --checkpoint ${cosine}`);
    await assert.rejects(train(`${base} --epochs 2 --resume ${cosine}`), /different run \(epochs: 1 vs 2\): its cosine schedule decays the learning rate to 0 over the 1 epochs it planned, so resuming cannot change --epochs; resume with --epochs 1, or start a new run of 2/);
    await assert.rejects(train(`${base} --epochs 1 --lr 0.1 --resume ${cosine}`), /different run \(lr: 0.05 vs 0.1\); resume with that run's options \(its state.json "spec" holds them all\)/);
  });

  it('a tampered optimizer buffer is refused with the field named', async () => {
    const cp = join(root, 'tamper');
    await train(`--train-limit 256 --test-limit 100 --batch-size 64 --checkpoint ${cp}`);
    const folder = join(cp, readFileSync(join(cp, 'latest'), 'utf8').trim());
    const state = json(join(folder, 'state.json'));
    state.optimizer.momentumBuffers[0] = { $tensor: 'optimizer/999' };
    const bytes = Buffer.from(JSON.stringify(state));
    writeFileSync(join(folder, 'state.json'), bytes);
    const manifest = json(join(folder, 'manifest.json'));
    manifest.files['state.json'] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(train(`--train-limit 256 --test-limit 100 --batch-size 64 --resume ${cp}`), /state\.json: field "optimizer\.momentumBuffers\.0": expected a reference to an optimizer tensor/);
  });
});

describe('--checkpoint into a folder that holds another run\'s checkpoint', () => {
  const base = '--train-limit 256 --test-limit 100 --batch-size 64';
  it('is refused without --force, saying what is there and how to proceed; --force replaces it; resuming into it is allowed', async () => {
    const cp = join(root, 'taken');
    await train(`${base} --checkpoint ${cp}`);
    await assert.rejects(train(`${base} --lr 0.1 --checkpoint ${cp}`), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, new RegExp(`^--checkpoint ${cp} already holds a checkpoint of a centralised run \\(mlp on mnist, step 4 of 4, written \\d{4}-\\d\\d-\\d\\dT[^)]*\\); continue that run with --resume ${cp} --checkpoint ${cp}, let this run replace it with --force`));
      return true;
    });
    const folder = () => join(cp, readFileSync(join(cp, 'latest'), 'utf8').trim());
    assert.equal(json(join(folder(), 'state.json')).spec.lr, 0.05, 'the refused run left the old checkpoint alone');
    await train(`${base} --lr 0.1 --checkpoint ${cp} --force`);
    assert.equal(json(join(folder(), 'state.json')).spec.lr, 0.1);
    await train(`${base} --lr 0.1 --epochs 1 --resume ${cp} --checkpoint ${cp}`);
    // A federated run is refused the same way.
    await assert.rejects(train(`${base} --clients 2 --rounds 2 --checkpoint ${cp}`), /already holds a checkpoint of a centralised run/);
    assert.throws(() => parseCommand(trainCommand, ['--force']), /invalid --force: needs --checkpoint DIR/);
  });
});

describe('resume refusals', () => {
  it('say what differs, why it matters and what works', () => {
    const saved = { schedule: 'cosine', rounds: 10, lr: 0.1 };
    assert.match(resumeRefusal('D', saved, { ...saved, rounds: 20 }, 'rounds')!, /^cannot resume from D: it was written by a different run \(rounds: 10 vs 20\): its cosine schedule .* resume with --rounds 10, or start a new run of 20 \(another --checkpoint folder, or --force\); runs under a constant or step schedule can be extended$/);
    assert.equal(resumeRefusal('D', { ...saved, schedule: 'constant' }, { ...saved, schedule: 'constant', rounds: 20 }, 'rounds'), null);
    assert.equal(resumeRefusal('D', saved, saved, 'rounds'), null);
  });
});

describe('federated Ctrl-C', () => {
  it('writes the partial --json result with the rounds done, says where, and exits 130', async () => {
    const part = join(root, 'fed-part.json');
    const r = await child(`--clients 2 --defense dgp --rounds 3000 --train-limit 1000 --test-limit 200 --batch-size 16 --eval-every 5 --json ${part}`, true);
    assert.equal(r.code, 130, `exit ${r.code} (${r.signal}); stderr: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`dgp train: interrupted; partial result \\(rounds 1-\\d+ of 3000\\) in ${part}`));
    assert.ok(existsSync(part));
    const p = json(part);
    assert.equal(p.mode, 'federated');
    assert.equal(p.completed, false);
    assert.equal(p.history.length, p.progress.done);
    assert.ok(p.progress.done > 0 && p.progress.done < 3000);
    assert.equal(p.options.defenseOptions.pTop, 0.05);
  });
});
