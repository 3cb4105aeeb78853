// Checkpoints of a federated run, as durable round folders (durable.ts): a crash at any moment
// leaves either the previous checkpoint or the new one, never a mixture:
//   DIR/round-000040/  model.safetensors (parameters, buffers, momentum), state.json, manifest.json
//   DIR/latest         the name of the newest complete round folder
// Loading checks every file against the sizes and SHA-256 sums in the manifest before trusting it.
import { join } from 'node:path';
import { stateFromJSON, stateToJSON } from '../defenses/index.js';
import { decodeSafetensors, encodeSafetensors, matchLayout } from '../models/index.js';
import type { ClientState } from './client.js';
import { latestRoundFolder, readRoundFolder, writeRoundFolder } from './durable.js';
import { fullLayout, Replica, type ModelLayout, type ReplicaMeta } from './replica.js';
import type { RoundRecord, ServerState } from './server.js';
import type { FederatedSpec } from './spec.js';

const FORMAT = 1;

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
  /** A run with remote clients: its id, and which clients saved their own state at this round (they hold it; `clients` is empty). */
  remote?: { runId: string; clientsSaved: boolean[] };
}

interface StateFile {
  format: number;
  spec: FederatedSpec;
  model: ReplicaMeta;
  server: ServerState;
  clients: ClientState[];
  history: HistoryEntry[];
  remote?: { runId: string; clientsSaved: boolean[] };
}

export function saveCheckpoint(dir: string, c: Checkpoint): string {
  const m = c.model;
  const state: StateFile = {
    format: FORMAT,
    spec: c.spec,
    model: m.meta,
    server: c.server,
    clients: c.clients,
    history: c.history,
    ...(c.remote ? { remote: c.remote } : {}),
  };
  const files: Record<string, Uint8Array> = {
    'model.safetensors': encodeSafetensors(m.allTensors(), { round: String(m.round) }),
    'state.json': Buffer.from(stateToJSON(state)),
  };
  return writeRoundFolder(dir, m.round, files, { format: FORMAT, keep: 1 });
}

export function loadCheckpoint(dir: string, layout: ModelLayout): Checkpoint {
  const fail = (why: string): never => {
    throw new Error(`checkpoint ${dir}: ${why}`);
  };
  const folder = latestRoundFolder(dir, fail);
  const files = readRoundFolder(folder, ['model.safetensors', 'state.json'], fail);
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
  return { spec: state.spec, model, server: state.server, clients: state.clients, history: state.history, ...(state.remote ? { remote: state.remote } : {}) };
}
