// Many clients in the server's process at a cost that follows the sampled ones. A client exists
// in memory only while it works and for a while after (a least-recently-used set, the size of a
// round's sample); otherwise its state is a file of the client store (client-store.ts), or nothing
// at all if it was never sampled (its residual starts at zero). A client keeps no replica of the
// model: in this process the server's model is what an in-step replica holds bit for bit, so a
// client reads it through a view (ModelView), and a broadcast to an idle client is a round number
// moved on. The wire protocol and its byte counts are those of clients that keep their own.
import { decodeMessage } from './wire.js';
import { WireFormatError } from '../codec/index.js';
import type { ClientProxy, ClientState, FederatedClient } from './client.js';
import type { ModelCopy, Replica } from './replica.js';
import type { ClientStore } from './client-store.js';

/** A client's model at `round`, read from the server's; touching it when the server is at another round is a bug, and throws. */
export class ModelView implements ModelCopy {
  constructor(private readonly server: () => Replica, public round: number) {}

  private get model(): Replica {
    const m = this.server();
    if (m.round !== this.round) throw new Error(`a view of the model of round ${this.round} read while the server's is at round ${m.round}`);
    return m;
  }

  get params() {
    return this.model.params;
  }

  get buffers() {
    return this.model.buffers;
  }

  /** The server applied the broadcast to its model before sending it: the view only follows. */
  applyBroadcast(bytes: Uint8Array): void {
    const head = decodeMessage(bytes, ['broadcast', 'skip']).control;
    if (head.round !== this.round + 1) throw new WireFormatError(`${head.type} message: round ${head.round} where ${this.round + 1} was expected`);
    this.round = head.round;
  }
}

export interface HostSetup {
  clients: number;
  /** A new client `id` as createFederation makes it, reading the model through `views`. */
  make(id: number, views: (round: number) => ModelCopy): FederatedClient;
  store: ClientStore;
  /** Clients kept in memory between rounds (at least a round's sample: the host keeps more while a round needs them). */
  capacity: number;
  /** The server's model now. */
  model: () => Replica;
  /** A client's saved state, checked (against the spec and a fresh defense state); `fail` names the file. */
  check(raw: unknown, round: number, fail: (why: string) => never): ClientState;
}

interface Resident {
  client: FederatedClient;
  /** The last round it worked in: the round its saved version is named after. */
  round: number;
  /** Changed since it was last written. */
  dirty: boolean;
}

export class ClientHost {
  readonly proxies: ClientProxy[];
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly resident = new Map<number, Resident>();
  /** Per client not in memory: the round of the model it holds (-1: none, it is synced before it trains). */
  private readonly replicaRounds: Int32Array;
  /** The newest round a client was asked to work in; clients of that round are never evicted. */
  private round = 0;
  /** Clients written since the last checkpoint. */
  private readonly written = new Set<number>();
  private lastBroadcast: { bytes: Uint8Array; round: number } | null = null;
  /** A state file that could not be read: the server takes it for the client failing, the run must not. */
  private fault: Error | null = null;
  /** The end of the last queued client call (oneAtATime). */
  private working: Promise<unknown> = Promise.resolve();

  constructor(private readonly setup: HostSetup) {
    this.replicaRounds = new Int32Array(setup.clients).fill(-1);
    this.proxies = Array.from({ length: setup.clients }, (_, id) => this.proxy(id));
  }

  get store(): ClientStore {
    return this.setup.store;
  }

  /** How many clients are in memory now. */
  get inMemory(): number {
    return this.resident.size;
  }

  private proxy(id: number): ClientProxy {
    return {
      id,
      readsServerModel: true,
      // A view reads only the control part, so a sync is not copied. A client not in memory is
      // not brought in for it (a round's syncs arrive together): it holds that round's model, and
      // takes it up when it is brought in to work.
      sync: async (m) => {
        const resident = this.resident.get(id);
        if (resident) return resident.client.sync(m);
        this.replicaRounds[id] = decodeMessage(m, 'sync').control.round;
      },
      fit: (m) => {
        const { control } = decodeMessage(m, ['fit', 'commit', 'secagg']);
        // A plain update is the client's last call of its round (ADGP's commit and secure
        // aggregation's steps come back to it): then it goes to the store at once.
        const last = control.type === 'fit' && !control.task.aligned && !control.task.secure;
        return this.oneAtATime(async () => {
          await this.roomFor(id);
          const answer = await this.acquire(id, control.round).fit(m.slice());
          if (last) this.release(id);
          return answer;
        });
      },
      broadcast: async (m) => {
        const r = this.resident.get(id);
        if (r) return r.client.broadcast(m);
        this.idleBroadcast(id, m);
      },
    };
  }

  /**
   * Hosted clients work one at a time: they share the cores anyway, and while a client works its
   * gradient and the defense's scratch take several times its residual (a round of 20 ResNet-18
   * clients at once peaked at 5.1 GB). No call waits on another client's, so order cannot deadlock.
   */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.working.then(work);
    this.working = run.catch(() => undefined);
    return run;
  }

  /** Before client `id` is brought into memory: the store's unwritten versions kept to about a round's worth. */
  private async roomFor(id: number): Promise<void> {
    if (!this.resident.has(id)) await this.setup.store.drain(this.setup.capacity);
  }

  /** An idle client follows the broadcast as its replica would: a check of the round, and the round moves on. */
  private idleBroadcast(id: number, bytes: Uint8Array): void {
    if (this.lastBroadcast?.bytes !== bytes) this.lastBroadcast = { bytes, round: decodeMessage(bytes, ['broadcast', 'skip']).control.round };
    const round = this.lastBroadcast.round;
    const held = this.replicaRounds[id]!;
    if (held < 0) throw new Error(`client ${id}: a broadcast arrived before any sync`);
    if (held !== round - 1) throw new WireFormatError(`broadcast message: round ${round} where ${held + 1} was expected`);
    this.replicaRounds[id] = round;
  }

  /** Client `id` in memory, for work in `round`: as it was left, from its file, or new. */
  private acquire(id: number, round: number): FederatedClient {
    const found = this.resident.get(id);
    if (found) {
      this.resident.delete(id);
      this.resident.set(id, found);
      found.round = Math.max(found.round, round);
      found.dirty = true;
      return found.client;
    }
    this.round = Math.max(this.round, round);
    this.evict();
    const { store, make, model, check } = this.setup;
    const client = make(id, (r) => new ModelView(model, r));
    const held = this.replicaRounds[id]!;
    const saved = store.latest(id);
    if (saved !== null) {
      let state: ClientState;
      try {
        state = store.read(id, saved, (raw, fail) => check(raw, saved, fail));
      } catch (e) {
        throw (this.fault ??= e as Error);
      }
      client.restore({ ...state, replicaRound: held >= 0 ? held : null }, null);
    } else if (held >= 0) {
      client.restore({ ...client.getState(false), replicaRound: held }, null);
    }
    this.resident.set(id, { client, round, dirty: true });
    return client;
  }

  /** Writes the least recently used clients back until there is room, never one of the current round. */
  private evict(): void {
    for (const [id, r] of this.resident) {
      if (this.resident.size < this.setup.capacity || r.round >= this.round) return;
      this.release(id);
    }
  }

  /** Client `id` written to the store and dropped from memory; an idle client follows the broadcasts by its round alone. */
  private release(id: number): void {
    const r = this.resident.get(id);
    if (!r) return;
    this.writeBack(id, r);
    this.replicaRounds[id] = r.client.replicaRound ?? -1;
    this.resident.delete(id);
  }

  private writeBack(id: number, r: Resident): void {
    if (!r.dirty) return;
    this.setup.store.write(id, r.round, r.client.getState(false));
    this.written.add(id);
    r.dirty = false;
  }

  /** Throws the first state file that could not be read: called after each round, as the server records it only as a dropout. */
  throwFault(): void {
    if (this.fault) throw this.fault;
    this.setup.store.throwFailure();
  }

  /** Before a checkpoint of `round`: every client in memory written, so the store holds every client's state of that round. */
  async flush(round: number): Promise<void> {
    // One at a time through the store's bound, so the copies waiting for the disk stay about a round's worth.
    for (const [id, r] of this.resident) {
      this.writeBack(id, r);
      await this.setup.store.drain(this.setup.capacity);
    }
    this.setup.store.pin(round, this.written);
    this.written.clear();
    await this.setup.store.settled();
  }

  /**
   * Takes up a checkpoint of `round`: versions written after it are dropped, and a client holds the
   * server's model exactly when the server says it is in step (a stale one is synced before it trains).
   * `inline`: the clients' states of a checkpoint that kept them itself, written into the store.
   */
  resume(round: number, inSync: readonly boolean[], inline?: readonly ClientState[]): void {
    const { store } = this.setup;
    this.resident.clear();
    store.rollBack(round);
    inSync.forEach((s, id) => {
      this.replicaRounds[id] = s ? round : -1;
    });
    // A client that never drew a batch is a fresh one: it needs no file.
    inline?.forEach((state, id) => {
      if (state.sampler.epoch > 0) store.write(id, round, state);
    });
    store.pin(round, []);
    this.round = round;
  }
}
