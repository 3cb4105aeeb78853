// The server loop: it moves bytes between the strategy and the clients and counts them. It knows
// neither the defense nor the algorithm: the strategy says who trains and how updates combine,
// the clients' messages say the rest. A client that fails (throws, rejects, or misses the optional
// deadline) is recorded as dropped and the round goes on with the others; its replica is then
// considered stale, and it gets the whole model (a sync) before it next trains.
import { Rng, type RngState, type ClientUpdate } from '../common/index.js';
import type { ClientProxy } from './client.js';
import { type ModelLayout, type Replica, stateLayout } from './replica.js';
import { aggregateRound, configureRound, type FitResult, type Strategy } from './strategy.js';
import type { BroadcasterParty } from './aligned.js';
import type { SecureSum } from '../secagg/index.js';
import type { SecureTask } from './secure-client.js';
import { SecureRoundFailed, secureSum, type SecureStep } from './secure-round.js';
import { secureLength } from './secure-vector.js';
import { decodeWithTensors, encodeMessage, encodeWithTensors, EVERYONE, type SharedPositions } from './wire.js';

export interface Dropout {
  client: number;
  /** `secagg`: a step of secure aggregation (the reason names it). */
  phase: 'sync' | 'fit' | 'secagg' | 'broadcast';
  reason: string;
}

/** What one round did, in numbers; no clock time, so a replayed run gives the same record. */
export interface RoundRecord {
  round: number;
  lr: number;
  sampled: number[];
  dropped: Dropout[];
  /** Examples-weighted mean training loss of the clients that answered (before their local steps). */
  trainLoss: number;
  /** Mean over the answering clients of their defense's ||g - C(g)|| / ||g||. */
  relGradDistance: number | null;
  keptFraction: number | null;
  /** Secure aggregation: the clients in the sum, the share of their entries beyond the clip, the bound on the mean's error per entry. */
  secure?: { contributors: number[]; clippedFraction: number; meanErrorBound: number };
  /** Why the round failed (secure aggregation with too few clients left); the model did not change. */
  failed?: string;
  /** Bytes of every message this round, all clients together. */
  bytesUp: number;
  bytesDown: number;
}

/** What a round's answers came to: the aggregate to broadcast (null: the round failed), who holds its common set, its figures. */
interface Outcome {
  aggregate: ClientUpdate | null;
  holders: readonly number[];
  figures: Pick<RoundRecord, 'trainLoss' | 'relGradDistance' | 'keptFraction' | 'secure' | 'failed'>;
}

export interface ServerState {
  rng: RngState;
  inSync: boolean[];
  bytesUp: number[];
  bytesDown: number[];
}

export interface ServerSetup {
  layout: ModelLayout;
  /** The server's model at the start; its round is the last one completed. */
  model: Replica;
  strategy: Strategy;
  clients: readonly ClientProxy[];
  /** Draws the clients of each round. */
  rng: Rng;
  /** A client that has not answered a call after this many milliseconds is dropped (default: wait). */
  timeoutMs?: number;
  /** ADGP: the trusted party that turns the clients' proposals into the round's common set. */
  broadcaster?: BroadcasterParty;
  /** Secure aggregation (src/secagg): the server gets only the sum of the sampled clients' updates. */
  secure?: SecureTask;
}

export class FederatedServer {
  private rng: Rng;
  private current: Replica;
  /** Per client: whether its replica holds the server's current model. */
  private inSync: boolean[];
  readonly bytesUp: number[];
  readonly bytesDown: number[];

  constructor(private readonly setup: ServerSetup) {
    this.rng = setup.rng;
    this.current = setup.model;
    const n = setup.clients.length;
    setup.clients.forEach((c, i) => {
      if (c.id !== i) throw new Error(`server: client at slot ${i} has id ${c.id}; ids must be 0..${n - 1}`);
    });
    if (setup.secure && !setup.strategy.aggregateSum) {
      throw new Error(`server: strategy ${setup.strategy.name} has no aggregateSum, so it cannot run with secure aggregation (the server sees only the sum)`);
    }
    this.inSync = new Array<boolean>(n).fill(false);
    this.bytesUp = new Array<number>(n).fill(0);
    this.bytesDown = new Array<number>(n).fill(0);
  }

  get model(): Replica {
    return this.current;
  }

  async runRound(): Promise<RoundRecord> {
    const { strategy, clients, secure } = this.setup;
    const model = this.current;
    const round = model.round + 1;
    const up0 = sum(this.bytesUp);
    const down0 = sum(this.bytesDown);
    const { clients: sampled, task } = configureRound(strategy, round, clients.length, this.rng);
    const aligned = this.setup.broadcaster !== undefined;
    const fit = encodeMessage({ type: 'fit', round, modelRound: model.round, task: { ...task, ...(aligned ? { aligned } : {}), ...(secure ? { secure } : {}) } });
    const dropped: Dropout[] = [];
    let answers = await this.gather(sampled, (c) => this.train(c, fit), dropped);
    let shared: SharedPositions | undefined;
    if (this.setup.broadcaster) {
      // The proposals go to the broadcaster unread; the commit comes back to every proposer.
      const decided = await this.setup.broadcaster.commit(round, answers.map(([c, message]) => ({ clientId: c, message })));
      const { commit, rejected } = decided;
      // A proposal that went to the broadcaster directly is this client's upload all the same.
      for (const [c, answer] of answers) {
        const sent = decided.proposalBytes?.get(c);
        if (sent !== undefined) this.bytesUp[c]! += sent - answer.length;
      }
      for (const r of rejected) dropped.push(this.drop(r.clientId, 'fit', new Error(r.reason)));
      const proposers = answers.map(([c]) => c).filter((c) => !rejected.some((r) => r.clientId === c));
      shared = decided.shared;
      answers = await this.gather(proposers, (c) => this.send(c, 'fit', commit, () => clients[c]!.fit(commit)), dropped);
    }
    const outcome = secure ? await this.secureOutcome(round, sampled, answers, dropped, shared) : this.plainOutcome(round, answers, dropped, shared);
    const lr = strategy.serverLr(round);
    const listeners = clients.filter((c) => this.inSync[c.id]);
    // Values only where every listener holds the common set (it took part in this round's commit).
    const valuesOnly = shared && outcome.aggregate && listeners.every((c) => outcome.holders.includes(c.id)) ? shared : undefined;
    const broadcast = outcome.aggregate
      ? encodeWithTensors({ type: 'broadcast', round, lr }, EVERYONE, 'aggregate', outcome.aggregate, valuesOnly)
      : encodeMessage({ type: 'skip', round, reason: outcome.figures.failed ?? 'failed' });
    model.applyBroadcast(broadcast, valuesOnly);
    await Promise.all(listeners.map(async (c) => {
      this.bytesDown[c.id]! += broadcast.length;
      try {
        await this.call(c.broadcast(broadcast));
      } catch (e) {
        dropped.push(this.drop(c.id, 'broadcast', e));
      }
    }));
    return {
      round,
      lr,
      sampled,
      dropped: dropped.sort((a, b) => a.client - b.client || a.phase.localeCompare(b.phase)),
      ...outcome.figures,
      bytesUp: sum(this.bytesUp) - up0,
      bytesDown: sum(this.bytesDown) - down0,
    };
  }

  /** The clients' answers decoded as updates, and the strategy's aggregate of them. */
  private plainOutcome(round: number, answers: readonly [number, Uint8Array][], dropped: Dropout[], shared?: SharedPositions): Outcome {
    const results: FitResult[] = [];
    for (const [c, answer] of answers) {
      try {
        const { control, tensors } = decodeWithTensors(answer, 'result', 'update', stateLayout(this.setup.layout), { round, clientId: c }, shared);
        if (control.clientId !== c) throw new Error(`answer names client ${control.clientId}`);
        results.push({ clientId: c, examples: control.examples, loss: control.loss, report: control.report, tensors });
      } catch (e) {
        dropped.push(this.drop(c, 'fit', e));
      }
    }
    if (results.length === 0) {
      throw new Error(`round ${round}: every sampled client failed (${dropped.map((d) => `client ${d.client}: ${d.reason}`).join('; ')})`);
    }
    return {
      aggregate: aggregateRound(this.setup.strategy, round, this.setup.layout, results),
      holders: results.map((r) => r.clientId),
      figures: {
        trainLoss: results.reduce((s, r) => s + r.loss * r.examples, 0) / results.reduce((s, r) => s + r.examples, 0),
        relGradDistance: meanOf(results, 'relGradDistance'),
        keptFraction: meanOf(results, 'keptFraction'),
      },
    };
  }

  /**
   * Secure aggregation: the answers are the clients' keys; the protocol's steps go through their
   * fit calls, and the strategy makes the aggregate from the sum alone. With too few clients left
   * the round fails: no aggregate, the record says why.
   */
  private async secureOutcome(round: number, sampled: readonly number[], answers: readonly [number, Uint8Array][], dropped: Dropout[], shared?: SharedPositions): Promise<Outcome> {
    const { clients, layout, strategy } = this.setup;
    const task = this.setup.secure!;
    const why = (step: SecureStep, e: unknown) => new Error(`${step}: ${e instanceof Error ? e.message : String(e)}`);
    let result: SecureSum;
    try {
      result = await secureSum({
        round,
        task,
        participants: sampled,
        vectorLength: secureLength(layout, shared),
        keys: answers,
        exchange: (ids, message, step) => this.gather(ids, (c) => {
          const m = message(c);
          return this.send(c, 'secagg', m, () => clients[c]!.fit(m)).catch((e: PhaseError) => Promise.reject(new PhaseError('secagg', why(step, e.cause))));
        }, dropped),
        refuse: (c, step, e) => dropped.push(this.drop(c, 'secagg', why(step, e))),
      });
    } catch (e) {
      if (!(e instanceof SecureRoundFailed)) throw e;
      return { aggregate: null, holders: [], figures: { trainLoss: NaN, relGradDistance: null, keptFraction: null, failed: e.message } };
    }
    const mean = strategy.aggregateSum!(layout, result, { clip: task.clip, shared });
    return {
      aggregate: mean.tensors,
      holders: answers.map(([c]) => c),
      figures: {
        trainLoss: mean.trainLoss,
        relGradDistance: mean.relGradDistance,
        keptFraction: mean.keptFraction,
        secure: { contributors: [...mean.contributors], clippedFraction: mean.clippedFraction, meanErrorBound: mean.meanErrorBound },
      },
    };
  }

  /** Runs `call` for each client at once; the answers in client order, the failures into `dropped`. */
  private async gather(ids: readonly number[], call: (c: number) => Promise<Uint8Array>, dropped: Dropout[]): Promise<[number, Uint8Array][]> {
    const out = await Promise.all(ids.map(async (c): Promise<[number, Uint8Array] | null> => {
      try {
        return [c, await call(c)];
      } catch (e) {
        dropped.push(e instanceof PhaseError ? this.drop(c, e.phase, e.cause) : this.drop(c, 'fit', e));
        return null;
      }
    }));
    return out.filter((a): a is [number, Uint8Array] => a !== null);
  }

  /** Syncs client c if its replica is behind, then sends it the fit instruction; its answer, unread. */
  private async train(c: number, fit: Uint8Array): Promise<Uint8Array> {
    const proxy = this.setup.clients[c]!;
    if (!this.inSync[c]) {
      const sync: { message: Uint8Array; fullLength?: number } = proxy.readsServerModel ? this.current.syncNotice() : { message: this.current.syncMessage(c) };
      await this.send(c, 'sync', sync.message, () => proxy.sync(sync.message), sync.fullLength);
      this.inSync[c] = true;
    }
    return this.send(c, 'fit', fit, () => proxy.fit(fit));
  }

  /**
   * One call to client c: bytes down counted before (`counted`: the message's length unless it
   * stands for a longer one), bytes up (an answer) after; a failure names its phase.
   */
  private async send<T extends void | Uint8Array>(c: number, phase: Dropout['phase'], message: Uint8Array, call: () => Promise<T>, counted = message.length): Promise<T> {
    this.bytesDown[c]! += counted;
    try {
      const answer = await this.call(call());
      if (answer instanceof Uint8Array) this.bytesUp[c]! += answer.length;
      return answer;
    } catch (e) {
      throw new PhaseError(phase, e);
    }
  }

  /** A client that (re)joined without the server's current model: it is synced before it next trains. */
  markStale(client: number): void {
    if (client >= 0 && client < this.inSync.length) this.inSync[client] = false;
  }

  /** A client that failed holds a model the server cannot vouch for: it is synced before it trains again. */
  private drop(client: number, phase: Dropout['phase'], e: unknown): Dropout {
    this.inSync[client] = false;
    return { client, phase, reason: e instanceof Error ? e.message : String(e) };
  }

  private call<T>(p: Promise<T>): Promise<T> {
    const ms = this.setup.timeoutMs;
    if (ms === undefined) return p;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  getState(): ServerState {
    return { rng: this.rng.getState(), inSync: [...this.inSync], bytesUp: [...this.bytesUp], bytesDown: [...this.bytesDown] };
  }

  /** Takes up a checkpointed run: its model (at the checkpoint's round) and the server's state. */
  restore(s: ServerState, model: Replica): void {
    const n = this.setup.clients.length;
    if (s.inSync.length !== n) throw new Error(`server state is for ${s.inSync.length} clients, this run has ${n}`);
    this.current = model;
    this.rng = Rng.fromState(s.rng);
    this.inSync = [...s.inSync];
    this.bytesUp.splice(0, n, ...s.bytesUp);
    this.bytesDown.splice(0, n, ...s.bytesDown);
  }
}

class PhaseError extends Error {
  constructor(readonly phase: Dropout['phase'], override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

function sum(a: readonly number[]): number {
  return a.reduce((s, x) => s + x, 0);
}

function meanOf(results: readonly FitResult[], key: string): number | null {
  const v = results.map((r) => r.report[key]).filter((x): x is number => x !== undefined);
  return v.length > 0 ? sum(v) / v.length : null;
}
