// Checkpoints of a federated run (the folder itself: src/train/checkpoints.ts):
//   DIR/round-000040/  model.safetensors (parameters, buffers, momentum), state.json, manifest.json,
//   and clients.safetensors when the clients' states hold floats (state.json names the file and them)
// Loading checks every file against the manifest, then the structure of state.json (a schema,
// and the client and server states against the spec and the model), so a file edited by hand
// and given new hashes is refused with the file and the field named, not read as garbage.
import { join } from 'node:path';
import type { NamedTensor } from '../common/index.js';
import { stateFromJSON, stateToJSON, type Defense } from '../defenses/index.js';
import { decodeSafetensors, encodeSafetensors, matchLayout } from '../models/index.js';
import { latestRoundFolder, readRoundFolder, writeRoundFolder } from '../train/index.js';
import { checkStateFile } from './checkpoint-state.js';
import type { ClientState } from './client.js';
import { joinTensors, splitTensors } from './state-tensors.js';
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
  /** A run with a client store: where the clients' states are (`clients` is empty). */
  clientStore?: { dir: string };
}

interface StateFile {
  format: number;
  spec: FederatedSpec;
  model: ReplicaMeta;
  server: ServerState;
  clients: ClientState[];
  history: HistoryEntry[];
  remote?: { runId: string; clientsSaved: boolean[] };
  clientStore?: { dir: string };
  clientTensors?: typeof CLIENT_TENSORS;
}

/** Where the clients' floats go: JSON text of a ResNet-18 run's residuals is longer than V8 can make. */
const CLIENT_TENSORS = 'clients.safetensors';

export function saveCheckpoint(dir: string, c: Checkpoint): string {
  const m = c.model;
  const clientTensors: NamedTensor[] = [];
  const state: StateFile = {
    format: FORMAT,
    spec: c.spec,
    model: m.meta,
    server: c.server,
    clients: splitTensors(c.clients, 'clients', clientTensors) as ClientState[],
    history: c.history,
    ...(c.remote ? { remote: c.remote } : {}),
    ...(c.clientStore ? { clientStore: c.clientStore } : {}),
    ...(clientTensors.length > 0 ? { clientTensors: CLIENT_TENSORS } : {}),
  };
  const files = {
    'model.safetensors': encodeSafetensors(m.allTensors(), { round: String(m.round) }),
    ...(clientTensors.length > 0 ? { [CLIENT_TENSORS]: encodeSafetensors(clientTensors, { round: String(m.round) }) } : {}),
    'state.json': Buffer.from(stateToJSON(state)),
  };
  const summary = { kind: 'federated' as const, done: m.round, planned: c.spec.rounds, dataset: c.spec.dataset, model: c.spec.model.name, writtenAt: new Date().toISOString() };
  return writeRoundFolder(dir, m.round, files, { format: FORMAT, keep: 1, summary });
}

/** `defense`: the run's own defense object, when its spec says 'custom' (the client states are checked against a fresh one). */
export function loadCheckpoint(dir: string, layout: ModelLayout, defense?: Defense): Checkpoint {
  const fail = (why: string): never => {
    throw new Error(`checkpoint ${dir}: ${why}`);
  };
  const folder = latestRoundFolder(dir, fail);
  const files = readRoundFolder(folder, ['model.safetensors', 'state.json'], fail);
  let raw: unknown;
  try {
    raw = stateFromJSON(files['state.json']!.toString('utf8'));
  } catch (e) {
    return fail(`state.json is not readable (${(e as Error).message})`);
  }
  // Checkpoints written before clients.safetensors kept the clients' floats in state.json; a newer one names the file.
  const stateFile = join(folder, 'state.json');
  const named = raw !== null && typeof raw === 'object' ? (raw as { clientTensors?: unknown }).clientTensors : undefined;
  if (named === CLIENT_TENSORS) {
    const tensorsFile = join(folder, CLIENT_TENSORS);
    const { tensors } = decodeSafetensors(readRoundFolder(folder, [CLIENT_TENSORS], fail)[CLIENT_TENSORS]!, tensorsFile);
    const raws = raw as { clients: unknown };
    raws.clients = joinTensors(raws.clients, new Map(tensors.map((t) => [t.name, t.data])), (why) => fail(`${tensorsFile}: ${why}`));
  }
  // The structure, then the parts against each other, the spec and the model: a file edited and given new sums is refused here.
  const state = checkStateFile(raw, layout, (why) => fail(`${stateFile}: ${why}`), defense) as StateFile;
  const modelFile = join(folder, 'model.safetensors');
  const { tensors, metadata } = decodeSafetensors(files['model.safetensors']!, modelFile);
  if (metadata['round'] !== String(state.model.round)) fail(`model.safetensors is of round ${metadata['round']}, state.json of round ${state.model.round}`);
  const ordered = matchLayout(tensors, fullLayout(layout, state.model.momentum), modelFile);
  const model = Replica.fromTensors(layout, ordered, state.model);
  return { spec: state.spec, model, server: state.server, clients: state.clients, history: state.history, ...(state.remote ? { remote: state.remote } : {}), ...(state.clientStore ? { clientStore: state.clientStore } : {}) };
}
