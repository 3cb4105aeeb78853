// A checkpoint edited by hand (or by an attacker) and given fresh SHA-256 sums passes the
// manifest, so its structure is what must be checked: each tampered state.json or safetensors
// header is refused with the file and the field named, never a TypeError from deep inside.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stateFromJSON, stateToJSON } from '../../src/defenses/index.js';
import { FEDERATED_DEFENSE_NAMES } from '../../src/defenses/index.js';
import { checkStateFile } from '../../src/federation/checkpoint-state.js';
import { joinTensors } from '../../src/federation/state-tensors.js';
import { decodeSafetensors } from '../../src/models/index.js';
import { runFederated, type FederatedSpec } from '../../src/federation/index.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();
const s: FederatedSpec = spec({ clients: 3, rounds: 2, defense: { name: 'dgp', options: {} } });

/** Rewrites one file of the checkpoint's round folder and the manifest's sums, as a careful forger would. */
function forge(dir: string, file: 'state.json' | 'model.safetensors', bytes: Uint8Array): void {
  const folder = join(dir, readFileSync(join(dir, 'latest'), 'utf8').trim());
  writeFileSync(join(folder, file), bytes);
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  manifest.files[file] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
}

function folderOf(dir: string): string {
  return join(dir, readFileSync(join(dir, 'latest'), 'utf8').trim());
}

describe('a tampered checkpoint with recomputed hashes', () => {
  let root: string;
  let original: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'dgp-tamper-'));
    original = join(root, 'original');
    await runFederated(s, data, { checkpoint: original });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  let n = 0;
  function copy(): string {
    const dir = join(root, `copy-${n++}`);
    cpSync(original, dir, { recursive: true });
    return dir;
  }

  function editState(edit: (state: Record<string, any>) => void): string {
    const dir = copy();
    const state = stateFromJSON(readFileSync(join(folderOf(dir), 'state.json'), 'utf8')) as Record<string, any>;
    // The clients' floats live in clients.safetensors; the edit sees them in place and writes them inline, as older checkpoints hold them.
    const tensors = decodeSafetensors(readFileSync(join(folderOf(dir), 'clients.safetensors'))).tensors;
    state.clients = joinTensors(state.clients, new Map(tensors.map((t) => [t.name, t.data])), (why) => {
      throw new Error(why);
    });
    edit(state);
    forge(dir, 'state.json', Buffer.from(stateToJSON(state)));
    return dir;
  }

  it('keeps the clients\' floats in clients.safetensors, not in the JSON (a ResNet-18 run\'s residuals are longer than any JSON string V8 can make)', () => {
    const json = readFileSync(join(folderOf(original), 'state.json'), 'utf8');
    assert.ok(json.includes('"$tensor":"clients.2.defense.residual.0"'), 'state.json names the tensor');
    const names = decodeSafetensors(readFileSync(join(folderOf(original), 'clients.safetensors'))).tensors.map((t) => t.name);
    assert.ok(names.includes('clients.2.defense.residual.0'), names.join(', '));
  });

  it('refuses a checkpoint whose clients.safetensors is gone, naming it', async () => {
    const dir = copy();
    rmSync(join(folderOf(dir), 'clients.safetensors'));
    await assert.rejects(runFederated(s, data, { resume: dir }), /cannot read clients\.safetensors \(ENOENT/);
  });

  const stateCases: [string, (st: Record<string, any>) => void, RegExp][] = [
    ['the server state nulled', (st) => { st.server = null; }, /field "server": Expected object, received null/],
    ['a client state removed', (st) => { st.clients.pop(); }, /field "clients": 2 client states for a run of 3 clients/],
    ['a client state nulled', (st) => { st.clients[1] = null; }, /field "clients.1": Expected object, received null/],
    ['a sampler position that is not a number', (st) => { st.clients[0].sampler.position = 'x'; }, /field "clients.0.sampler.position": Expected number/],
    ['a negative example index', (st) => { st.clients[0].sampler.pool[0] = -1; }, /field "clients.0.sampler.pool.0": Number must be greater than or equal to 0/],
    ['an RNG word that is not an integer', (st) => { st.server.rng.s[2] = 0.5; }, /field "server.rng.s.2": Expected integer/],
    ['a residual of the wrong length', (st) => { st.clients[2].defense.residual[0] = new Float32Array(3); }, /field "clients.2.defense.residual.0": 3 entries, expected \d+/],
    ['a residual removed', (st) => { st.clients[2].defense.residual = null; }, /field "clients.2.defense.residual": expected a list of \d+/],
    ['a residual that is not finite', (st) => { st.clients[2].defense.residual[1] = st.clients[2].defense.residual[1].map(() => NaN); }, /field "clients.2.defense.residual.1": not finite/],
    ['history out of order', (st) => { st.history[0].round = 2; }, /field "history": 2 entries do not run from round 1/],
    ['history with a client that does not exist', (st) => { st.history[0].sampled = [7]; }, /field "history.0": a client id outside 0..2/],
    ['a spec field of the wrong type', (st) => { st.spec.clients = 'three'; }, /field "spec.clients": Expected number, received string/],
    ['an unknown format', (st) => { st.format = 2; }, /field "format": Invalid literal value, expected 1/],
    ['a dampening above 1', (st) => { st.model.optimizer.dampening = 5; }, /field "model.optimizer.dampening": Number must be less than or equal to 1/],
    ['momentum flags for other parameters', (st) => { st.model.momentum.push(true); }, /field "model.momentum": \d+ flags for \d+ parameters/],
  ];
  for (const [what, edit, want] of stateCases) {
    it(`refuses ${what} in state.json`, async () => {
      const dir = editState(edit);
      await assert.rejects(runFederated(s, data, { resume: dir }), (e: Error) => {
        assert.ok(!(e instanceof TypeError), `a TypeError: ${e.message}`);
        assert.match(e.message, new RegExp(`^checkpoint ${dir}: ${folderOf(dir)}/state\\.json: `));
        assert.match(e.message, want);
        return true;
      });
    });
  }

  it('refuses a state.json that is not an object at all', async () => {
    const dir = copy();
    forge(dir, 'state.json', Buffer.from('null'));
    await assert.rejects(runFederated(s, data, { resume: dir }), /state\.json: the file: Expected object, received null/);
  });

  const headerCases: [string, (h: Record<string, any>) => unknown, RegExp][] = [
    ['a null header', () => null, /header is null, not an object/],
    ['a tensor entry nulled', (h) => ({ ...h, [Object.keys(h)[1]!]: null }), /is null, not an object/],
    ['overlapping offsets', (h) => {
      const [, first, second] = Object.keys(h);
      h[second!].data_offsets = [h[first!].data_offsets[0], h[first!].data_offsets[0] + (h[second!].data_offsets[1] - h[second!].data_offsets[0])];
      return h;
    }, /overlap the previous tensor's/],
    ['fractional offsets', (h) => {
      const k = Object.keys(h)[1]!;
      h[k].data_offsets = [0.5, h[k].data_offsets[1]];
      return h;
    }, /data_offsets \[0.5,\d+\] are not two non-negative integers/],
  ];
  for (const [what, edit, want] of headerCases) {
    it(`refuses ${what} in model.safetensors`, async () => {
      const dir = copy();
      const file = readFileSync(join(folderOf(dir), 'model.safetensors'));
      const n = Number(file.readBigUInt64LE(0));
      const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
      const json = Buffer.from(JSON.stringify(edit(header)));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      forge(dir, 'model.safetensors', Buffer.concat([len, json, file.subarray(8 + n)]));
      await assert.rejects(runFederated(s, data, { resume: dir }), (e: Error) => {
        assert.ok(!(e instanceof TypeError), `a TypeError: ${e.message}`);
        assert.match(e.message, new RegExp(`${folderOf(dir)}/model\\.safetensors: not a valid safetensors file: `));
        assert.match(e.message, want);
        return true;
      });
    });
  }

  it('a state of a run with remote clients (they keep their own states) passes; a wrong count of their flags does not', () => {
    const state = stateFromJSON(readFileSync(join(folderOf(original), 'state.json'), 'utf8')) as Record<string, any>;
    const layout = { params: [{ name: 'fc1.weight', shape: [0] }], buffers: [] };
    const fail = (why: string): never => {
      throw new Error(why);
    };
    const remote = { ...state, clients: [], remote: { runId: 'r1', clientsSaved: [true, true, false] } };
    const params = state.model.momentum.map((_: boolean, i: number) => ({ name: `p${i}`, shape: [1] }));
    assert.doesNotThrow(() => checkStateFile(remote, { ...layout, params }, fail));
    assert.throws(() => checkStateFile({ ...remote, remote: { runId: 'r1', clientsSaved: [true] } }, { ...layout, params }, fail), /field "remote.clientsSaved": 1 flags for a run of 3 clients/);
  });

  it('the checks pass every defense\'s real state (and a checkpoint of each resumes)', async () => {
    for (const name of FEDERATED_DEFENSE_NAMES) {
      const dir = join(root, `defense-${name}`);
      const run = spec({ clients: 3, rounds: 2, defense: { name, options: {} } });
      await runFederated(run, data, { checkpoint: dir });
      const resumed = await runFederated(run, data, { resume: dir });
      assert.equal(resumed.history.length, 2, name);
    }
  });
});
