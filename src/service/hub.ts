// The server's side of FederationService: one RemoteClient per client id, each a ClientProxy, so
// the FederatedServer runs its rounds over remote clients exactly as over clients in its process.
// A proxy call becomes a task pushed on the client's Tasks stream (in chunks of `chunkBytes`) and
// resolves with the client's Respond (reassembled from its chunks). A client whose stream ends
// fails its pending calls (the server records a dropout); it may join again, and a newer join of
// the same id replaces the older session, whose stream then ends.
import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import type { ClientProxy } from '../federation/index.js';
import { FederationService, type JoinRequest, type RespondRequest, type Task, TaskKind, TaskSchema, type TasksRequest } from './gen/dgp/v1/federation_pb.js';
import { callerOf, requireClient } from './http.js';
import { DEFAULT_CHUNK_BYTES, PROTOCOL_VERSION } from './protocol.js';
import { AsyncQueue } from './queue.js';

const HEARTBEAT_MS = 15_000;

type RunState = 'waiting' | 'running' | 'finished' | 'aborted';

export interface HubOptions {
  runId: string;
  specJson: string;
  clients: number;
  needsBroadcaster: boolean;
  chunkBytes?: number;
  /** The largest answer a client may send to one task, all chunks together. */
  maxAnswerBytes: number;
  /** A resumed run: its checkpoint's round, and which clients saved their state at it. */
  restore?: { round: number; saved: readonly boolean[] };
  /** The round of the server's model now (a joining client holding another is stale). */
  serverRound: () => number;
  /** Told when a client joins without the server's current model, so it is synced before it trains. */
  onStale?: (clientId: number) => void;
  heartbeatMs?: number;
  log?: (line: string) => void;
}

interface Pending {
  kind: TaskKind;
  resolve: (answer: Uint8Array) => void;
  reject: (e: Error) => void;
  parts: Uint8Array[];
  received: number;
  total: number | null;
}

export class RemoteClient implements ClientProxy {
  session: string | null = null;
  examples = 0;
  private stream: AsyncQueue<Task> | null = null;
  private pending = new Map<number, Pending>();

  constructor(readonly id: number, private readonly hub: ClientHub) {}

  get connected(): boolean {
    return this.stream !== null;
  }

  /** A new join: the older session (if any) ends. */
  admit(session: string, examples: number): void {
    this.detach('joined again');
    this.session = session;
    this.examples = examples;
  }

  attach(session: string): AsyncQueue<Task> {
    if (session !== this.session) throw new ConnectError(`client ${this.id}: session ${session} is not the current one; join again`, Code.FailedPrecondition);
    this.detach('opened a new task stream');
    this.stream = new AsyncQueue<Task>();
    return this.stream;
  }

  /** The stream is gone: pending calls fail (the server drops the client for this round). */
  detach(reason: string, stream: AsyncQueue<Task> | null = this.stream): void {
    if (!stream || stream !== this.stream) return;
    stream.close();
    this.stream = null;
    for (const p of this.pending.values()) p.reject(new Error(`client ${this.id} ${reason}`));
    this.pending.clear();
    this.hub.changed();
  }

  /** Pushes a task (chunked) and resolves with the client's whole answer. */
  call(kind: TaskKind, round: number, payload: Uint8Array): Promise<Uint8Array> {
    const stream = this.stream;
    if (!stream) return Promise.reject(new Error(`client ${this.id} is not connected`));
    const taskId = this.hub.nextTaskId();
    return new Promise((resolve, reject) => {
      this.pending.set(taskId, { kind, resolve, reject, parts: [], received: 0, total: null });
      this.push(stream, taskId, kind, round, payload);
    });
  }

  private push(stream: AsyncQueue<Task>, taskId: number, kind: TaskKind, round: number, payload: Uint8Array): void {
    const chunk = this.hub.chunkBytes;
    let offset = 0;
    do {
      const data = payload.subarray(offset, offset + chunk);
      stream.push(create(TaskSchema, { taskId, kind, round, offset, totalBytes: payload.length, data }));
      offset += data.length;
    } while (offset < payload.length);
  }

  /** Broadcasts whose failure the client may still report (it answers a broadcast only when it fails). */
  private unanswered = new Map<number, number>();

  /** Pushes the round's broadcast; a client that fails to apply it says so, and is synced before it next trains. */
  private async sendBroadcast(payload: Uint8Array): Promise<void> {
    const stream = this.stream;
    if (!stream) throw new Error(`client ${this.id} is not connected`);
    const taskId = this.hub.nextTaskId();
    this.unanswered.set(taskId, taskId);
    for (const k of this.unanswered.keys()) if (this.unanswered.size > 4) this.unanswered.delete(k);
    this.push(stream, taskId, TaskKind.BROADCAST, 0, payload);
  }

  /** Tells the client the run ended (END) or was aborted (ABORT), then closes its stream. */
  finish(kind: TaskKind.END | TaskKind.ABORT, reason: string): void {
    this.stream?.push(create(TaskSchema, { kind, reason }));
    this.detach(kind === TaskKind.END ? 'the run ended' : `the run was aborted (${reason})`);
  }

  heartbeat(): void {
    if (this.stream && this.stream.length === 0) this.stream.push(create(TaskSchema, { kind: TaskKind.HEARTBEAT }));
  }

  /** One chunk of an answer; the call resolves when its last byte arrives. */
  respond(r: RespondRequest): void {
    if (this.unanswered.delete(r.taskId)) {
      this.hub.broadcastFailed(this.id, r.error || 'answered a broadcast without an error');
      return;
    }
    const p = this.pending.get(r.taskId);
    if (!p) throw new ConnectError(`client ${this.id}: task ${r.taskId} is not pending (answered already, or from an older session)`, Code.NotFound);
    const fail = (why: string): never => {
      this.pending.delete(r.taskId);
      p.reject(new Error(`client ${this.id}: ${why}`));
      throw new ConnectError(why, Code.InvalidArgument);
    };
    if (r.error) {
      this.pending.delete(r.taskId);
      p.reject(new Error(`client ${this.id}: ${r.error.slice(0, 500)}`));
      return;
    }
    if (r.totalBytes > this.hub.maxAnswerBytes) fail(`an answer of ${r.totalBytes} bytes exceeds the limit of ${this.hub.maxAnswerBytes}`);
    if (p.total !== null && r.totalBytes !== p.total) fail(`chunk says ${r.totalBytes} bytes in all, an earlier one ${p.total}`);
    if (r.offset !== p.received) fail(`chunk at offset ${r.offset}, expected ${p.received}`);
    if (r.offset + r.data.length > r.totalBytes) fail(`chunk overruns the answer's ${r.totalBytes} bytes`);
    p.total = r.totalBytes;
    p.parts.push(r.data);
    p.received += r.data.length;
    if (p.received < p.total) return;
    this.pending.delete(r.taskId);
    p.resolve(concat(p.parts, p.total));
  }

  sync = async (m: Uint8Array): Promise<void> => void (await this.call(TaskKind.SYNC, 0, m));
  fit = (m: Uint8Array): Promise<Uint8Array> => this.call(TaskKind.FIT, 0, m);
  broadcast = (m: Uint8Array): Promise<void> => this.sendBroadcast(m);
  /** Asks the client to save its state of `round` on its disk; resolves once it has. */
  checkpoint = async (round: number): Promise<void> => void (await this.call(TaskKind.CHECKPOINT, round, new Uint8Array(0)));
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice();
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class ClientHub {
  readonly clients: RemoteClient[];
  readonly chunkBytes: number;
  readonly maxAnswerBytes: number;
  private taskIds = 1;
  private waiters = new Set<() => void>();
  private restored = new Set<number>();
  private heartbeat: NodeJS.Timeout;
  state: RunState = 'waiting';
  reason = '';
  round = 0;
  lastEvaluation: { accuracy: number; loss: number } | null = null;
  /** Task streams whose handler has not returned yet (END or ABORT may still be on its way out). */
  openStreams = 0;

  constructor(private readonly o: HubOptions) {
    this.clients = Array.from({ length: o.clients }, (_, i) => new RemoteClient(i, this));
    this.chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.maxAnswerBytes = o.maxAnswerBytes;
    this.heartbeat = setInterval(() => this.clients.forEach((c) => c.heartbeat()), o.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  nextTaskId(): number {
    return this.taskIds++;
  }

  broadcastFailed(clientId: number, why: string): void {
    this.o.log?.(`client ${clientId} could not apply a broadcast (${why.slice(0, 200)}); it is synced before it next trains`);
    this.o.onStale?.(clientId);
  }

  changed(): void {
    for (const w of this.waiters) w();
  }

  get connected(): number {
    return this.clients.filter((c) => c.connected).length;
  }

  /** Resolves once every client has its task stream open; rejects after timeoutMs. */
  async waitForAll(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.connected === this.clients.length) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = () => this.connected === this.clients.length && resolve();
        this.waiters.add(waiter);
        timer = setTimeout(() => reject(new Error(`only ${this.connected} of ${this.clients.length} clients joined within ${timeoutMs / 1000} s (missing: ${this.clients.filter((c) => !c.connected).map((c) => c.id).join(', ')})`)), timeoutMs);
        signal?.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted')), { once: true });
      });
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters.delete(waiter);
    }
  }

  /** Every connected client saves its state of `round`; which ones did (a failure is logged, not fatal). */
  async checkpointClients(round: number, timeoutMs: number): Promise<boolean[]> {
    return Promise.all(this.clients.map(async (c) => {
      if (!c.connected) return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([c.checkpoint(round), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs)))]);
        return true;
      } catch (e) {
        this.o.log?.(`client ${c.id} did not save its state of round ${round}: ${(e as Error).message}`);
        return false;
      } finally {
        clearTimeout(timer);
      }
    }));
  }

  /** Ends every client's stream with END (finished) or ABORT (why). */
  finish(state: 'finished' | 'aborted', reason: string): void {
    this.state = state;
    this.reason = reason;
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.finish(state === 'finished' ? TaskKind.END : TaskKind.ABORT, reason);
  }

  private client(id: number): RemoteClient {
    const c = this.clients[id];
    if (!c) throw new ConnectError(`client id ${id} is not in this run's 0..${this.clients.length - 1}`, Code.PermissionDenied);
    return c;
  }

  private current(ctx: HandlerContext, clientId: number, session: string): RemoteClient {
    requireClient(ctx, clientId);
    const c = this.client(clientId);
    if (session !== c.session) throw new ConnectError(`client ${clientId}: session ${session} is not the current one; join again`, Code.FailedPrecondition);
    return c;
  }

  routes = (router: ConnectRouter): void => {
    router.service(FederationService, {
      join: (req: JoinRequest, ctx) => {
        requireClient(ctx, req.clientId);
        const c = this.client(req.clientId);
        if (req.protocol !== PROTOCOL_VERSION) throw new ConnectError(`protocol ${req.protocol}; this server speaks ${PROTOCOL_VERSION}`, Code.FailedPrecondition);
        if (this.state === 'finished' || this.state === 'aborted') throw new ConnectError(`the run is over (${this.state}${this.reason ? `: ${this.reason}` : ''})`, Code.FailedPrecondition);
        const session = randomUUID();
        c.admit(session, req.examples);
        const r = this.o.restore;
        // A resumed server tells each client once which saved state to load; later joins go on.
        const restoreRound = r && !this.restored.has(c.id) ? r.round : 0;
        this.restored.add(c.id);
        const replicaRound = restoreRound > 0 && r!.saved[c.id] ? restoreRound : req.replicaRound;
        if (replicaRound !== this.o.serverRound()) this.o.onStale?.(c.id);
        this.o.log?.(`client ${c.id} joined${restoreRound ? `; it restores its state of round ${restoreRound}` : ''}`);
        return {
          runId: this.o.runId,
          specJson: this.o.specJson,
          session,
          restoreRound,
          restoreExact: restoreRound > 0 && (r!.saved[c.id] ?? false),
          needsBroadcaster: this.o.needsBroadcaster,
          chunkBytes: this.chunkBytes,
        };
      },
      tasks: (req: TasksRequest, ctx) => this.tasks(req, ctx),
      respond: (req: RespondRequest, ctx) => {
        this.current(ctx, req.clientId, req.session).respond(req);
        return {};
      },
      status: (_req, ctx) => {
        callerOf(ctx);
        return {
          runId: this.o.runId,
          state: this.state,
          round: this.round,
          rounds: JSON.parse(this.o.specJson).rounds,
          clients: this.clients.length,
          connected: this.connected,
          reason: this.reason,
          ...(this.lastEvaluation ? { evaluated: true, testAccuracy: this.lastEvaluation.accuracy, testLoss: this.lastEvaluation.loss } : {}),
        };
      },
    });
  };

  private async *tasks(req: TasksRequest, ctx: HandlerContext): AsyncIterable<Task> {
    const c = this.current(ctx, req.clientId, req.session);
    const stream = c.attach(req.session);
    this.openStreams++;
    this.changed();
    ctx.signal.addEventListener('abort', () => c.detach('disconnected', stream), { once: true });
    try {
      yield* stream;
    } finally {
      this.openStreams--;
      c.detach('closed its task stream', stream);
    }
  }
}
