// A client process's life in a deployed run: join with its credential, build its FederatedClient
// from the run's spec and its own data, then answer the tasks the server pushes until the run
// ends. While the server is not up yet, or restarting, it joins again with exponential backoff;
// it stops with a ClientStop error when it may not go on (refused credential, aborted run, a
// server that stayed away too long). The bytes it handles are the same wire messages as in one
// process; ADGP proposals go to the broadcaster, and the commit the server relays is checked
// against the broadcaster's digest before any value is uploaded. Secure aggregation's steps come
// as fit tasks too, and go to the client as they are.
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { Rng } from '../common/index.js';
import {
  clientStream, createClient as createFederatedClient, decodeMessage, type ClientSource, type FederatedClient, type FederatedSpec, type ModelLayout, modelLayoutOf,
  parseSpec,
} from '../federation/index.js';
import type { ModelRunner } from '../train/index.js';
import type { Credential } from './auth.js';
import { FederationService, type JoinResponse, type Task, TaskKind } from './gen/dgp/v1/federation_pb.js';
import { broadcasterProposer } from './proposer.js';
import { PROTOCOL_VERSION } from './protocol.js';

/** Where a client keeps its own state at the server's checkpoint rounds (Node: LocalStateStore, a folder). */
export interface ClientStateStore {
  readonly dir: string;
  rounds(): number[];
  save(round: number, client: FederatedClient): unknown;
  load(round: number, client: FederatedClient, layout: ModelLayout): void;
}

export class ClientStop extends Error {
  constructor(readonly reason: 'unauthenticated' | 'refused' | 'aborted' | 'unreachable' | 'failed', message: string) {
    super(message);
  }
}

export interface ClientRunOptions {
  server: Transport;
  /** The ADGP broadcaster (the client's own setting, never the server's word). */
  broadcaster?: Transport;
  credential: Extract<Credential, { role: 'client' }>;
  /** What this client trains on, given the run's spec. */
  data: (spec: FederatedSpec) => Promise<ClientSource>;
  /** Where this client keeps its own state at the checkpoint rounds, per run (a resumable run needs it). */
  stateStore?: (runId: string, clientId: number) => ClientStateStore;
  /**
   * The client's random stream: 'run' derives it from the run's seed, exactly as in one process
   * (reproducible, but the server can then predict the client's DP noise); a number seeds it;
   * default: a fresh random seed.
   */
  seed?: 'run' | number;
  /** A model runner for the run's model, shared by the clients one process hosts (default: one of its own). */
  runner?: (spec: FederatedSpec) => ModelRunner;
  /** Backoff between joins: first wait, cap, and how long to keep trying without reaching the server. */
  retry?: { initialMs?: number; maxMs?: number; giveUpMs?: number };
  /** A silent task stream is given up after this long (the server sends heartbeats). */
  silenceMs?: number;
  log?: (line: string) => void;
  /** Told after each task this client answered (a page shows it). */
  onTask?: (e: TaskEvent) => void;
  signal?: AbortSignal;
}

export interface TaskEvent {
  kind: 'sync' | 'fit' | 'broadcast' | 'checkpoint';
  /** The round the task belongs to (the model's round for a sync). */
  round: number;
  /** This task's payload bytes, and the totals so far. */
  bytesDown: number;
  bytesUp: number;
  totalDown: number;
  totalUp: number;
  /** A fit that produced this client's update: its training loss and its defense's report (entries sent, relative gradient distance...). */
  loss?: number;
  report?: Record<string, number>;
  error?: string;
}

export interface ClientOutcome {
  runId: string;
  fits: number;
  /** Payload bytes this client received from and sent to the server (and sent to the broadcaster). */
  bytesDown: number;
  bytesUp: number;
  reason: string;
}

interface Joined {
  runId: string;
  spec: FederatedSpec;
  client: FederatedClient;
  store: ClientStateStore | null;
  proposer: ReturnType<typeof broadcasterProposer> | null;
}

const RETRYABLE = new Set([Code.Unavailable, Code.Canceled, Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Aborted]);

export async function runClient(o: ClientRunOptions): Promise<ClientOutcome> {
  const fed = createClient(FederationService, o.server);
  const id = o.credential.clientId;
  const log = o.log ?? (() => {});
  const initial = o.retry?.initialMs ?? 500;
  const maxWait = o.retry?.maxMs ?? 15_000;
  const giveUp = o.retry?.giveUpMs ?? 600_000;
  let joined: Joined | null = null;
  let lastContact = Date.now();
  let wait = initial;
  const tally = { fits: 0, bytesDown: 0, bytesUp: 0 };

  for (;;) {
    if (o.signal?.aborted) throw new ClientStop('failed', 'interrupted');
    try {
      const join = await fed.join({
        protocol: PROTOCOL_VERSION, clientId: id, examples: joined ? joined.client.examples : 0,
        runId: joined?.runId ?? '', savedRounds: joined?.store?.rounds() ?? [], replicaRound: joined?.client.replicaRound ?? -1,
      }, { signal: o.signal });
      lastContact = Date.now();
      wait = initial;
      joined = await admit(join, joined, o, log);
      const end = await serveTasks(fed, join, joined, o, tally, () => (lastContact = Date.now()));
      if (end) return { runId: joined.runId, ...tally, reason: end };
      log(`client ${id}: the task stream ended; joining again`);
    } catch (e) {
      if (e instanceof ClientStop) throw e;
      const err = ConnectError.from(e);
      if (err.code === Code.Unauthenticated) throw new ClientStop('unauthenticated', `the server refused this credential: ${err.rawMessage}`);
      if (err.code === Code.PermissionDenied) throw new ClientStop('refused', `the server refused client ${id}: ${err.rawMessage}`);
      if (err.code === Code.FailedPrecondition && /run is over/.test(err.rawMessage)) throw new ClientStop('refused', err.rawMessage);
      if (!RETRYABLE.has(err.code) && err.code !== Code.FailedPrecondition && err.code !== Code.NotFound) throw new ClientStop('failed', `client ${id}: ${err.rawMessage}`);
      if (Date.now() - lastContact > giveUp) throw new ClientStop('unreachable', `could not reach the server for ${Math.round(giveUp / 1000)} s (last error: ${err.rawMessage})`);
      log(`client ${id}: ${err.rawMessage}; trying again in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait, o.signal);
      wait = Math.min(maxWait, wait * 2);
    }
  }
}

/** Builds (or keeps) this client for the run the server named, and restores saved state if asked. */
async function admit(join: JoinResponse, prev: Joined | null, o: ClientRunOptions, log: (line: string) => void): Promise<Joined> {
  const id = o.credential.clientId;
  let j = prev;
  if (!j || j.runId !== join.runId) {
    const spec = parseSpec(JSON.parse(join.specJson));
    const source = await o.data(spec);
    const rng = o.seed === 'run' ? clientStream(spec.seed, id) : new Rng(o.seed ?? randomSeed());
    const client = createFederatedClient(spec, source, id, rng, o.runner?.(spec));
    const store = o.stateStore ? o.stateStore(join.runId, id) : null;
    const proposer = o.broadcaster ? broadcasterProposer(o.broadcaster, join.runId, id) : null;
    if (join.needsBroadcaster && !proposer) throw new ClientStop('failed', 'this run uses ADGP: give the broadcaster\'s URL (--broadcaster URL)');
    j = { runId: join.runId, spec, client, store, proposer };
    log(`client ${id}: joined run ${join.runId} (${spec.clients} clients, ${spec.rounds} rounds, ${spec.model.name}, defense ${spec.defense.name}; ${client.examples} examples of its own)`);
    if (join.restoreRound === 0 && store && store.rounds().length > 0) {
      // A client process that restarted while the server kept running: its newest state is the best it has.
      const newest = store.rounds().at(-1)!;
      store.load(newest, client, modelLayoutOf(spec));
      log(`client ${id}: restored its own state of round ${newest}`);
    }
  }
  if (join.restoreRound > 0) {
    if (!j.store) throw new ClientStop('failed', `the server resumed from round ${join.restoreRound}; this client needs --state-dir to restore its state`);
    const rounds = j.store.rounds();
    const round = join.restoreExact ? join.restoreRound : rounds.filter((r) => r <= join.restoreRound).at(-1);
    if (round === undefined || (join.restoreExact && !rounds.includes(round))) {
      throw new ClientStop('failed', `the server resumed from round ${join.restoreRound}, but this client holds no state of that round in ${j.store.dir} (it has ${rounds.join(', ') || 'none'})`);
    }
    j.store.load(round, j.client, modelLayoutOf(j.spec));
    log(`client ${id}: restored its state of round ${round} for the resumed run`);
  }
  return j;
}

/** Answers tasks until END (returns its reason), ABORT (throws), or the stream ends (returns null). */
async function serveTasks(
  fed: ReturnType<typeof createClient<typeof FederationService>>,
  join: JoinResponse,
  j: Joined,
  o: ClientRunOptions,
  tally: { fits: number; bytesDown: number; bytesUp: number },
  heard: () => void,
): Promise<string | null> {
  const id = o.credential.clientId;
  const { session } = join;
  const chunk = join.chunkBytes || 1 << 20;
  const watch = new AbortController();
  const stop = () => watch.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  const silence = o.silenceMs ?? 45_000;
  let timer = setTimeout(stop, silence);
  const partial = new Map<number, { parts: Uint8Array[]; received: number }>();
  try {
    for await (const t of fed.tasks({ clientId: id, session }, { signal: watch.signal })) {
      clearTimeout(timer);
      heard();
      if (t.kind === TaskKind.END) return t.reason || 'the run is over';
      if (t.kind === TaskKind.ABORT) throw new ClientStop('aborted', `the server aborted the run: ${t.reason}`);
      if (t.kind !== TaskKind.HEARTBEAT) {
        const payload = reassemble(partial, t);
        if (payload) {
          tally.bytesDown += payload.length;
          const answer = await handle(t, payload, j, o).then((a) => ({ data: a }), (e: Error) => ({ error: e.message || String(e) }));
          // A broadcast is answered only when it failed.
          if (t.kind !== TaskKind.BROADCAST || 'error' in answer) {
            if ('data' in answer) tally.bytesUp += answer.data.length;
            await respond(fed, id, session, t.taskId, answer, chunk);
          }
          if (t.kind === TaskKind.FIT && 'data' in answer) tally.fits++;
          o.onTask?.(taskEvent(t, payload, answer, tally));
        }
      }
      timer = setTimeout(stop, silence);
    }
    return null;
  } catch (e) {
    if (watch.signal.aborted && !o.signal?.aborted && !(e instanceof ClientStop)) {
      throw new ConnectError(`no word from the server for ${silence / 1000} s`, Code.Unavailable);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', stop);
  }
}

const KINDS: Partial<Record<TaskKind, TaskEvent['kind']>> = {
  [TaskKind.SYNC]: 'sync', [TaskKind.FIT]: 'fit', [TaskKind.BROADCAST]: 'broadcast', [TaskKind.CHECKPOINT]: 'checkpoint',
};

function taskEvent(t: Task, payload: Uint8Array, answer: { data: Uint8Array } | { error: string }, tally: { bytesDown: number; bytesUp: number }): TaskEvent {
  const e: TaskEvent = {
    kind: KINDS[t.kind] ?? 'fit', round: t.round, bytesDown: payload.length, bytesUp: 'data' in answer ? answer.data.length : 0, totalDown: tally.bytesDown, totalUp: tally.bytesUp,
  };
  if ('error' in answer) return { ...e, error: answer.error };
  try {
    const { control } = decodeMessage(t.kind === TaskKind.FIT ? answer.data : payload, ['sync', 'broadcast', 'result', 'proposed']);
    e.round = control.round;
    if (control.type === 'result') Object.assign(e, { loss: control.loss, report: control.report });
  } catch {
    // Another kind of message (a checkpoint's empty answer, say): nothing more to tell.
  }
  return e;
}

/** The whole payload once its last chunk is in, else null. */
function reassemble(partial: Map<number, { parts: Uint8Array[]; received: number }>, t: Task): Uint8Array | null {
  if (t.offset === 0 && t.data.length === t.totalBytes) return t.data;
  const p = partial.get(t.taskId) ?? { parts: [], received: 0 };
  if (t.offset !== p.received) throw new ConnectError(`task ${t.taskId}: chunk at ${t.offset}, expected ${p.received}`, Code.DataLoss);
  p.parts.push(t.data);
  p.received += t.data.length;
  partial.set(t.taskId, p);
  if (p.received < t.totalBytes) return null;
  partial.delete(t.taskId);
  const out = new Uint8Array(t.totalBytes);
  let at = 0;
  for (const part of p.parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function handle(t: Task, payload: Uint8Array, j: Joined, o: ClientRunOptions): Promise<Uint8Array> {
  const empty = new Uint8Array(0);
  switch (t.kind) {
    case TaskKind.SYNC:
      await j.client.sync(payload);
      return empty;
    case TaskKind.BROADCAST:
      await j.client.broadcast(payload);
      return empty;
    case TaskKind.CHECKPOINT:
      if (!j.store) throw new Error(`client ${o.credential.clientId} keeps no state (no --state-dir), so this run cannot be resumed with it`);
      j.store.save(t.round, j.client);
      return empty;
    case TaskKind.FIT: {
      // A fit instruction, ADGP's commit or a secure-aggregation step: the client answers each; only ADGP's need the broadcaster.
      const { control } = decodeMessage(payload, ['fit', 'commit', 'secagg']);
      if (control.type === 'commit') {
        if (!j.proposer) throw new Error('an ADGP commit arrived, but this client has no broadcaster');
        await j.proposer.verify(payload);
        return j.client.fit(payload);
      }
      const answer = await j.client.fit(payload);
      if (control.type === 'fit' && decodeMessage(answer, ['result', 'proposal', 'secagg']).control.type === 'proposal') {
        if (!j.proposer) throw new Error('the run asks for an ADGP proposal, but this client has no broadcaster');
        return j.proposer.propose(answer);
      }
      return answer;
    }
    default:
      throw new Error(`task ${t.taskId}: unknown kind ${t.kind}`);
  }
}

async function respond(
  fed: ReturnType<typeof createClient<typeof FederationService>>,
  clientId: number,
  session: string,
  taskId: number,
  answer: { data: Uint8Array } | { error: string },
  chunk: number,
): Promise<void> {
  if ('error' in answer) {
    await fed.respond({ clientId, session, taskId, error: answer.error.slice(0, 1000) });
    return;
  }
  const data = answer.data;
  let offset = 0;
  do {
    const part = data.subarray(offset, offset + chunk);
    await fed.respond({ clientId, session, taskId, offset, totalBytes: data.length, data: part });
    offset += part.length;
  } while (offset < data.length);
}

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]! | 0;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
