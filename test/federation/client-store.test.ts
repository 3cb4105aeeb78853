// A client store (clients made when sampled, idle ones on disk, no replicas of their own) changes
// nothing of a run's result: the same history, weights and bytes as clients all in memory; a
// checkpoint with it resumes to the uninterrupted run; a damaged state file is refused by name.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeSafetensors, decodeSafetensors } from '../../src/models/index.js';
import { ClientStore, clientStateFile, runFederated, type FederatedSpec } from '../../src/federation/index.js';
import { assertSameRun, spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits(300);
const dgpEf: FederatedSpec = spec({ clients: 50, rounds: 5, fraction: 0.2, batchSize: 4, defense: { name: 'dgp', options: {} } });
const root = mkdtempSync(join(tmpdir(), 'dgp-store-'));
let n = 0;
const fresh = () => join(root, `s${n++}`);

const stateFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();

describe('client store', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('gives the run of clients kept in memory, bit for bit (50 clients, 20 % sampled, DGP with error feedback)', async () => {
    const want = await runFederated(dgpEf, data);
    const dir = fresh();
    const got = await runFederated(dgpEf, data, { clientStore: dir });
    assertSameRun(got, want);
    // A file per client ever sampled (its newest version only, with no checkpoint), none for the others: the run ends with every state written.
    const sampled = [...new Set(want.history.flatMap((e) => e.sampled))].sort((a, b) => a - b);
    assert.ok(sampled.length < dgpEf.clients && sampled.length > 10);
    const ids = stateFiles(dir).map((f) => Number(/client-(\d+)/.exec(f)![1]));
    assert.deepEqual(ids, sampled);
    // Every round's broadcast went to the idle clients in step too: the bytes down above match.
    assert.ok(want.history.at(-1)!.bytesDown > want.history.at(-1)!.sampled.length * 1000);
  });

  it('keeps a round\'s clients in memory even when asked to keep fewer, and FedAvg, ADGP and label skew run alike', async () => {
    for (const s of [
      spec({ clients: 12, rounds: 4, fraction: 0.5, algorithm: 'fedavg', localSteps: 2, momentum: 0, partition: { kind: 'dirichlet', alpha: 0.5 }, defense: { name: 'randomk', options: { fraction: 0.3 } } }),
      spec({ clients: 8, rounds: 4, fraction: 0.5, defense: { name: 'adgp', options: {} } }),
    ]) {
      const want = await runFederated(s, data);
      const got = await runFederated(s, data, { clientStore: fresh(), clientsInMemory: 1 });
      assertSameRun(got, want);
    }
  });

  it('resumes from a checkpoint to the uninterrupted run, and takes up a checkpoint that kept the states itself', async () => {
    const s = { ...dgpEf, rounds: 8, evalEvery: 2 };
    const whole = await runFederated(s, data);
    const crash = (e: { round: number }) => {
      if (e.round === 7) throw new Error('power cut');
    };
    for (const storeFirst of [true, false]) {
      const cp = fresh();
      const store = fresh();
      await assert.rejects(runFederated(s, data, { checkpoint: cp, checkpointEvery: 4, onRound: crash, ...(storeFirst ? { clientStore: store } : {}) }), /power cut/);
      if (storeFirst) {
        const state = JSON.parse(readFileSync(join(cp, 'round-000004', 'state.json'), 'utf8'));
        assert.deepEqual(state.clients, []);
        assert.equal(state.clientStore.dir, store);
        assert.ok(stateFiles(store).some((f) => f.endsWith('round-000006.safetensors')), 'clients of rounds 5 and 6 were written after the checkpoint');
        await assert.rejects(runFederated(s, data, { resume: cp }), /its clients' states are in the client store .*--client-store/);
      }
      const ran: number[] = [];
      const resumed = await runFederated(s, data, { resume: cp, checkpoint: cp, checkpointEvery: 4, clientStore: store, onRound: (e) => ran.push(e.round) });
      assert.deepEqual(ran, [5, 6, 7, 8]);
      assertSameRun(resumed, whole);
    }
  });

  it('drain waits for the disk once the states waiting for it pass the byte bound, however few they are', async () => {
    const dir = fresh();
    const store = new ClientStore(dir, 1000);
    const state = { sampler: { epoch: 1 }, defenseRng: [1, 2], defense: { residual: [new Float32Array(1000)] }, replicaRound: 3 } as never;
    for (let id = 0; id < 3; id++) store.write(id, 3, state);
    // Three versions are far below the count bound, but 12 kB are above the byte bound: drain must wait for the disk.
    await store.drain(100);
    for (let id = 0; id < 3; id++) assert.ok(existsSync(join(dir, clientStateFile(id, 3))), `client ${id}'s state is on disk`);
    await store.settled();
  });

  it('refuses a store of another run, and a damaged state file, naming the file', async () => {
    const s = { ...dgpEf, schedule: 'constant' as const };
    const store = fresh();
    const cp = fresh();
    await runFederated(s, data, { clientStore: store, checkpoint: cp });
    await assert.rejects(runFederated(s, data, { clientStore: store }), /client store .* holds the states of \d+ clients of another run; a new run needs an empty folder/);
    await assert.rejects(runFederated({ ...s, seed: 8 }, data, { clientStore: store, resume: cp }), /checkpoint|another spec/);
    const files = stateFiles(store);
    const more = { ...s, rounds: 12 };
    // Truncated: every client that is sampled again reads its file.
    const copies = files.map((f) => readFileSync(join(store, f)));
    for (const f of files) truncateSync(join(store, f), 100);
    await assert.rejects(runFederated(more, data, { clientStore: store, resume: cp }), /client state .*client-\d{6}-round-\d{6}\.safetensors: not a valid safetensors file/);
    // A residual of the wrong length: its structure is checked against a fresh client's.
    files.forEach((f, i) => {
      const { tensors, metadata } = decodeSafetensors(copies[i]!);
      writeFileSync(join(store, f), encodeSafetensors(tensors.map((t) => ({ ...t, shape: [3], data: t.data.subarray(0, 3) })), metadata));
    });
    await assert.rejects(runFederated(more, data, { clientStore: store, resume: cp }), /client state .*\.safetensors: field "state\.defense\.residual\.0": 3 entries, expected \d+/);
    // A state that names a tensor the file lacks.
    files.forEach((f, i) => {
      const { metadata } = decodeSafetensors(copies[i]!);
      writeFileSync(join(store, f), encodeSafetensors([], metadata));
    });
    await assert.rejects(runFederated(more, data, { clientStore: store, resume: cp }), /client state .*\.safetensors: its state names tensor "state\.defense\.residual\.0", which the file does not hold/);
  });
});
