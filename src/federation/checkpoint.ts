// Checkpoints of a federated run, written so that a crash at any moment leaves either the previous
// checkpoint or the new one, never a mixture:
//   DIR/round-000040/  model.safetensors (parameters, buffers, momentum), state.json, manifest.json
//   DIR/latest         the name of the newest complete round folder
// A round folder is written under a temporary name, its files flushed, then renamed; only then is
// `latest` replaced (itself by write-and-rename). Loading checks every file against the sizes and
// SHA-256 sums in the manifest before trusting any of it.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stateFromJSON, stateToJSON } from '../defenses/index.js';
import { decodeSafetensors, encodeSafetensors, matchLayout } from '../models/index.js';
import type { ClientState } from './client.js';
import { fullLayout, Replica, type ModelLayout, type ReplicaMeta } from './replica.js';
import type { RoundRecord, ServerState } from './server.js';
import type { FederatedSpec } from './spec.js';

const FORMAT = 1;
const ROUND_DIR = /^round-\d{6,}$/;

export interface HistoryEntry extends RoundRecord {
  testAccuracy?: number;
  testLoss?: number;
}

export interface Checkpoint {
  spec: FederatedSpec;
  model: Replica;
  server: ServerState;
  clients: ClientState[];
  history: HistoryEntry[];
}

interface StateFile {
  format: number;
  spec: FederatedSpec;
  model: ReplicaMeta;
  server: ServerState;
  clients: ClientState[];
  history: HistoryEntry[];
}

export function saveCheckpoint(dir: string, c: Checkpoint): string {
  mkdirSync(dir, { recursive: true });
  const m = c.model;
  const name = `round-${String(m.round).padStart(6, '0')}`;
  const state: StateFile = {
    format: FORMAT,
    spec: c.spec,
    model: m.meta,
    server: c.server,
    clients: c.clients,
    history: c.history,
  };
  const files: Record<string, Uint8Array> = {
    'model.safetensors': encodeSafetensors(m.allTensors(), { round: String(m.round) }),
    'state.json': Buffer.from(stateToJSON(state)),
  };
  files['manifest.json'] = Buffer.from(JSON.stringify({ format: FORMAT, round: m.round, files: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, { bytes: b.length, sha256: sha256(b) }])) }));
  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [f, bytes] of Object.entries(files)) writeDurably(join(tmp, f), bytes);
  rmSync(join(dir, name), { recursive: true, force: true });
  renameSync(tmp, join(dir, name));
  writeDurably(join(dir, `.latest-${process.pid}`), Buffer.from(`${name}\n`));
  renameSync(join(dir, `.latest-${process.pid}`), join(dir, 'latest'));
  // Older rounds are no longer pointed at; a crash before this line only leaves extra folders.
  for (const old of readdirSync(dir)) if (ROUND_DIR.test(old) && old !== name) rmSync(join(dir, old), { recursive: true, force: true });
  return join(dir, name);
}

export function loadCheckpoint(dir: string, layout: ModelLayout): Checkpoint {
  const fail = (why: string): never => {
    throw new Error(`checkpoint ${dir}: ${why}`);
  };
  const latest = join(dir, 'latest');
  if (!existsSync(latest)) fail('no "latest" file: not a checkpoint folder, or no checkpoint was completed');
  const name = readFileSync(latest, 'utf8').trim();
  if (!ROUND_DIR.test(name)) fail(`"latest" names ${JSON.stringify(name)}, not a round folder`);
  const folder = join(dir, name);
  const files = readVerified(folder, fail);
  let state: StateFile;
  try {
    state = stateFromJSON(files['state.json']!.toString('utf8')) as StateFile;
  } catch (e) {
    return fail(`state.json is not readable (${(e as Error).message})`);
  }
  if (state.format !== FORMAT) fail(`state format ${state.format}, this version reads ${FORMAT}`);
  const { tensors, metadata } = decodeSafetensors(Buffer.from(files['model.safetensors']!), join(folder, 'model.safetensors'));
  if (metadata['round'] !== String(state.model.round)) fail(`model.safetensors is of round ${metadata['round']}, state.json of round ${state.model.round}`);
  const ordered = matchLayout(tensors, fullLayout(layout, state.model.momentum), join(folder, 'model.safetensors'));
  const model = Replica.fromTensors(layout, ordered, state.model);
  return { spec: state.spec, model, server: state.server, clients: state.clients, history: state.history };
}

function readVerified(folder: string, fail: (why: string) => never): Record<string, Buffer> {
  let manifest: { format: number; files: Record<string, { bytes: number; sha256: string }> };
  try {
    manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  } catch (e) {
    return fail(`manifest.json is missing or damaged (${(e as Error).message})`);
  }
  const out: Record<string, Buffer> = {};
  for (const f of ['model.safetensors', 'state.json']) {
    const want = manifest.files?.[f];
    if (!want) fail(`manifest.json does not list ${f}`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(folder, f));
    } catch (e) {
      return fail(`cannot read ${f} (${(e as Error).message})`);
    }
    if (bytes.length !== want!.bytes) fail(`${f} has ${bytes.length} bytes, the manifest says ${want!.bytes} (written partly?)`);
    if (sha256(bytes) !== want!.sha256) fail(`${f} does not match its SHA-256 in the manifest (damaged)`);
    out[f] = bytes;
  }
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes and flushes a file, so a rename after it never exposes unwritten data. */
function writeDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
