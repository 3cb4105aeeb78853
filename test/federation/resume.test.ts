// Checkpoints: a run interrupted and resumed gives the history of an uninterrupted one, bit for
// bit; a checkpoint written partly or damaged is never loaded as if it were whole. A run is
// deterministic, so a "resume" that ignored the checkpoint and started over would give the same
// history too: every resume here also checks which rounds it actually ran.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runFederated, type FederatedResult, type FederatedSpec } from '../../src/federation/index.js';
import { assertSameRun, spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();
// Sampling, a defense drawing random numbers, error feedback and FedAvg all carry state across rounds.
const s: FederatedSpec = spec({
  clients: 5, rounds: 6, fraction: 0.6, evalEvery: 2, algorithm: 'fedavg', localSteps: 2, lr: 0.05, momentum: 0,
  defense: { name: 'randomk', options: { fraction: 0.3 } },
});

describe('checkpoint and resume', () => {
  let dir: string;
  let whole: FederatedResult;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgp-fed-'));
    whole = await runFederated(s, data);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Interrupted after round 5 (the last checkpoint: round 4), then resumed: rounds 5 and 6 must be all it runs. */
  async function interruptedAndResumed(run: FederatedSpec, name: string, beforeResume?: (cp: string) => void): Promise<FederatedResult> {
    const cp = join(dir, name);
    const crash = (e: { round: number }) => {
      if (e.round === 5) throw new Error('power cut');
    };
    await assert.rejects(runFederated(run, data, { checkpoint: cp, checkpointEvery: 2, onRound: crash }), /power cut/);
    assert.equal(readFileSync(join(cp, 'latest'), 'utf8').trim(), 'round-000004');
    beforeResume?.(cp);
    const ran: number[] = [];
    const resumed = await runFederated(run, data, { resume: cp, checkpoint: cp, checkpointEvery: 2, onRound: (e) => ran.push(e.round) });
    assert.deepEqual(ran, [5, 6], 'the resumed run starts after the checkpoint\'s round 4');
    return resumed;
  }

  it('a run interrupted after round 5 and resumed from round 4 repeats the uninterrupted history exactly', async () => {
    const resumed = await interruptedAndResumed(s, 'run');
    assertSameRun(resumed, whole);
    assert.ok(whole.history.some((e) => e.sampled.length === 3) && whole.history.every((e) => e.testAccuracy === undefined || e.round % 2 === 0));
  });

  it('the same with CL-SGD: server momentum, DGP residuals and a Dirichlet partition come back', async () => {
    const clsgd = spec({ clients: 4, rounds: 6, partition: { kind: 'dirichlet', alpha: 0.5 }, defense: { name: 'dgp', options: {} } });
    const resumed = await interruptedAndResumed(clsgd, 'clsgd');
    const straight = await runFederated(clsgd, data);
    assertSameRun(resumed, straight);
  });

  it('a finished run continues for more rounds as if it had been planned longer (constant schedule)', async () => {
    const cp = join(dir, 'extend');
    await runFederated({ ...s, rounds: 4 }, data, { checkpoint: cp });
    const ran: number[] = [];
    const longer = await runFederated(s, data, { resume: cp, onRound: (e) => ran.push(e.round) });
    assert.deepEqual(ran, [5, 6]);
    // Round 4 was the last of the shorter run, so it was evaluated there and not in the planned-longer one.
    assert.deepEqual(longer.history.map(({ testAccuracy, testLoss, ...rest }) => rest), whole.history.map(({ testAccuracy, testLoss, ...rest }) => rest));
    assert.deepEqual(longer.history.slice(4), whole.history.slice(4));
    assert.deepEqual(longer.params, whole.params);
    assert.deepEqual(longer.buffers, whole.buffers);
    await assert.rejects(runFederated({ ...s, rounds: 3 }, data, { resume: cp }), /it is at round 4, past the 3 rounds of this run/);
    const cosine = join(dir, 'cosine');
    await runFederated({ ...s, rounds: 2, schedule: 'cosine' }, data, { checkpoint: cp.replace('extend', 'cosine') });
    await assert.rejects(runFederated({ ...s, schedule: 'cosine' }, data, { resume: cosine }), /different run \(rounds: 2 vs 6\)/);
  });

  it('ignores a half-written round folder and loads the one "latest" names', async () => {
    const resumed = await interruptedAndResumed(s, 'partial', (cp) => {
      // What a crash during the next save leaves: a temporary folder and a round folder not yet pointed at.
      mkdirSync(join(cp, '.tmp-round-000006-999'));
      writeFileSync(join(cp, '.tmp-round-000006-999', 'state.json'), '{"trunc');
      mkdirSync(join(cp, 'round-000006'));
    });
    assertSameRun(resumed, whole);
  });

  it('refuses a damaged file, a missing manifest entry and a different run, naming the cause', async () => {
    const cp = join(dir, 'damaged');
    await runFederated({ ...s, rounds: 2 }, data, { checkpoint: cp });
    const folder = join(cp, 'round-000002');
    const state = readFileSync(join(folder, 'state.json'));
    await assert.rejects(runFederated({ ...s, rounds: 2, lr: 0.07 }, data, { resume: cp }), /written by a different run \(lr: 0.05 vs 0.07\)/);
    state[20] ^= 1;
    writeFileSync(join(folder, 'state.json'), state);
    await assert.rejects(runFederated({ ...s, rounds: 2 }, data, { resume: cp }), /state\.json does not match its SHA-256/);
    const model = readFileSync(join(folder, 'model.safetensors'));
    writeFileSync(join(folder, 'model.safetensors'), model.subarray(0, model.length - 8));
    await assert.rejects(runFederated({ ...s, rounds: 2 }, data, { resume: cp }), /model\.safetensors has \d+ bytes, the manifest says \d+/);
    await assert.rejects(runFederated(s, data, { resume: join(dir, 'nowhere') }), /no "latest" file/);
  });
});
