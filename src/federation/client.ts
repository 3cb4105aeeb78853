// One federated client: its partition of the training data, its batch sampler, its defense and
// the defense's state (e.g. the error-feedback residual), its random stream, and its replica of the
// global model. It sees nothing of any other client, and it talks to the server only in bytes
// (wire.ts): a sync or a broadcast in, a fit instruction in and a defended update out.
import { Rng, type RngState, cloneTensors, type TensorList, type ClientUpdate, denseUpdate } from '../common/index.js';
import { BatchSampler, type BatchSamplerState, type Dataset, getBatch } from '../data/index.js';
import type { AdgpClient, AdgpPending, Defense, DefenseReport } from '../defenses/index.js';
import { createSgd } from '../optim/index.js';
import { oneHotLabels, type ModelRunner, updateRunningStats } from '../train/index.js';
import { Replica, type ModelCopy, type ModelLayout } from './replica.js';
import { commonSetOf, proposalMessage } from './aligned.js';
import { type SecureTask, SecureUpload } from './secure-client.js';
import { secureInput } from './secure-vector.js';
import { decodeMessage, encodeWithTensors, type FitTask, type SharedPositions } from './wire.js';

/** How the server reaches a client: three calls, bytes in and out (a network stub would do the same). */
export interface ClientProxy {
  readonly id: number;
  /**
   * The client reads the server's own model in this process (client-host.ts): its sync carries
   * the control part only, and is counted as the whole sync a client with its own copy receives.
   */
  readonly readsServerModel?: boolean;
  sync(message: Uint8Array): Promise<void>;
  fit(message: Uint8Array): Promise<Uint8Array>;
  broadcast(message: Uint8Array): Promise<void>;
}

export interface ClientSetup {
  id: number;
  /** The training set; the client reads only `indices` of it. */
  data: Dataset;
  indices: ArrayLike<number>;
  batchSize: number;
  runner: ModelRunner;
  layout: ModelLayout;
  /** A defense applied to each update, or ADGP's client side (a proposal, then values at the common set). */
  defense: Defense | AdgpClient;
  /** The client's own stream: its sampler and its defense each get a fork. */
  rng: Rng;
  /**
   * A client hosted in the server's process (client-host.ts): its model at a round, read from the
   * server's (which an in-step replica equals bit for bit) instead of a copy of its own.
   */
  views?: (round: number) => ModelCopy;
}

/** Everything a checkpoint needs to bring a client back (the replica comes from the server's model). */
export interface ClientState {
  sampler: BatchSamplerState;
  defenseRng: RngState;
  defense: unknown;
  /** The round of the replica's model, null before the first sync. */
  replicaRound: number | null;
}

export class FederatedClient {
  readonly id: number;
  private replica: ModelCopy | null = null;
  private sampler: BatchSampler;
  private defenseRng: Rng;
  private defenseState: unknown;
  /** ADGP, between proposal and commit: what the round computed (and whether it is aggregated securely). */
  private proposed: { round: number; pending: AdgpPending; work: LocalWork; secure?: SecureTask } | null = null;
  /** Secure aggregation, between the keys and the last step: this round's masked upload. */
  private secure: SecureUpload | null = null;
  /** ADGP: the last commit's common set, for the broadcast of that round. */
  private shared: { round: number; positions: SharedPositions } | null = null;

  constructor(private readonly setup: ClientSetup) {
    this.id = setup.id;
    this.sampler = BatchSampler.create(setup.indices, setup.batchSize, setup.rng.fork());
    this.defenseRng = setup.rng.fork();
    this.defenseState = setup.defense.init(setup.layout.params);
  }

  async sync(message: Uint8Array): Promise<void> {
    const views = this.setup.views;
    this.replica = views ? views(decodeMessage(message, 'sync').control.round) : Replica.fromSync(message, this.setup.layout, this.id);
  }

  async broadcast(message: Uint8Array): Promise<void> {
    if (!this.replica) throw new Error(`client ${this.id}: a broadcast arrived before any sync`);
    const shared = this.shared?.round === this.replica.round + 1 ? this.shared.positions : undefined;
    this.replica.applyBroadcast(message, shared);
  }

  /**
   * A fit instruction (answered with the defended update, an ADGP proposal, or under secure
   * aggregation this client's keys), an ADGP commit, or a step of secure aggregation.
   */
  async fit(message: Uint8Array): Promise<Uint8Array> {
    const { control } = decodeMessage(message, ['fit', 'commit', 'secagg']);
    if (control.type === 'commit') return this.commit(message, control.round);
    if (control.type === 'secagg') return this.secureStep(message, control.round);
    this.secure = null; // a new round: whatever an earlier one left is void
    const replica = this.replica;
    if (!replica || replica.round !== control.modelRound) {
      throw new Error(`client ${this.id}: holds the model of round ${replica?.round ?? 'none'}, asked to train from round ${control.modelRound}`);
    }
    const work = await this.localWork(replica, control.task);
    const defense = this.setup.defense;
    if (isAdgp(defense)) {
      if (!control.task.aligned) throw new Error(`client ${this.id}: runs ADGP, but the server asked for a plain update`);
      const { bands, pending } = defense.propose(work.pseudoGrad, this.defenseState as never);
      this.proposed = { round: control.round, pending, work, secure: control.task.secure };
      return proposalMessage(control.round, this.id, this.setup.layout.params, bands);
    }
    if (control.task.aligned) throw new Error(`client ${this.id}: the server asked for an ADGP proposal, but this client runs ${defense.name}`);
    // Model-aware defenses (Outpost) read the weights the update was computed at and the round.
    const r = defense.apply(work.pseudoGrad, this.defenseState, this.defenseRng, { params: replica.params, iteration: control.modelRound });
    this.defenseState = r.state;
    const secure = control.task.secure;
    if (secure) return this.advertise(control.round, work, r.update, r.report, secure);
    return this.result(control.round, work, r.update, r.report);
  }

  /** ADGP's second step: the values at the broadcaster's common set, the rest kept in the residual. */
  private commit(message: Uint8Array, round: number): Uint8Array {
    const defense = this.setup.defense;
    const proposed = this.proposed;
    if (!isAdgp(defense) || !proposed || proposed.round !== round) throw new Error(`client ${this.id}: a commit for round ${round} without a proposal of that round`);
    const { common, shared } = commonSetOf(message, this.setup.layout.params, round);
    const r = defense.upload(proposed.pending, this.defenseState as never, common);
    this.defenseState = r.state;
    this.proposed = null;
    this.shared = { round, positions: shared };
    if (proposed.secure) return this.advertise(round, proposed.work, r.update, r.report, proposed.secure, shared);
    return this.result(round, proposed.work, r.update, r.report, shared);
  }

  /** Secure aggregation's first step: the update becomes the vector to mask, and this client's keys go up. */
  private advertise(round: number, work: LocalWork, update: ClientUpdate, report: DefenseReport, task: SecureTask, shared?: SharedPositions): Uint8Array {
    const input = secureInput(this.setup.layout, { update, buffers: work.buffers, examples: work.examples, loss: work.loss, report: reportNumbers(report) }, task.fullBatch, task.clip, shared);
    this.secure = new SecureUpload(round, this.id, task, input);
    return this.secure.advertisement();
  }

  /** Secure aggregation's later steps: the answer to the roster, the relay, the unmask request. */
  private async secureStep(message: Uint8Array, round: number): Promise<Uint8Array> {
    const secure = this.secure;
    if (!secure || secure.round !== round) throw new Error(`client ${this.id}: a secure-aggregation message for round ${round}, which this client is not masking an input for`);
    const { reply, done } = await secure.answer(message);
    if (done) this.secure = null;
    return reply;
  }

  /** The result message: the defended update, then the batch-norm running statistics dense, for the server to average. */
  private result(round: number, work: LocalWork, defended: ClientUpdate, report: DefenseReport, shared?: SharedPositions): Uint8Array {
    const update = [...defended, ...work.buffers.map((t) => denseUpdate(t.name, t.shape, t.data))];
    const result = { type: 'result' as const, round, clientId: this.id, examples: work.examples, loss: work.loss, report: reportNumbers(report) };
    return encodeWithTensors(result, this.id, 'update', update, shared);
  }

  /** The gradient at the replica (CL-SGD) or the replica minus the model after local SGD (FedAvg). */
  private async localWork(replica: ModelCopy, task: FitTask): Promise<LocalWork> {
    const { data, runner } = this.setup;
    if (task.payload === 'gradient' && task.localSteps !== 1) throw new Error(`client ${this.id}: a gradient payload takes one local step, not ${task.localSteps}`);
    const params = task.payload === 'gradient' ? replica.params : cloneTensors(replica.params);
    const buffers = cloneTensors(replica.buffers);
    const sgd = task.payload === 'delta' ? createSgd({ lr: task.lr, weightDecay: task.weightDecay }) : null;
    let optState = sgd?.init(params);
    let grads: TensorList = [];
    let lossSum = 0;
    let examples = 0;
    for (let k = 0; k < task.localSteps; k++) {
      const batch = getBatch(data, this.sampler.next(), { normalize: true });
      const r = await runner.lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, runner.model.numClasses));
      if (!Number.isFinite(r.loss)) throw new Error(`client ${this.id}: training diverged (loss ${r.loss}); lower --lr`);
      lossSum += r.loss * batch.y.length;
      examples += batch.y.length;
      updateRunningStats(buffers, r.bnStats);
      if (sgd) optState = sgd.step(params, r.grads, optState!);
      else grads = r.grads;
    }
    const pseudoGrad = task.payload === 'gradient' ? grads : replica.params.map((p0, i) => {
      const p = params[i]!.data;
      const d = new Float32Array(p.length);
      for (let j = 0; j < d.length; j++) d[j] = p0.data[j]! - p[j]!;
      return { name: p0.name, shape: [...p0.shape], data: d };
    });
    return { pseudoGrad, buffers, loss: lossSum / examples, examples };
  }

  /** `copy` false: the defense state itself, for a caller that only writes it out before the next round. */
  getState(copy = true): ClientState {
    return {
      sampler: this.sampler.getState(),
      defenseRng: this.defenseRng.getState(),
      defense: copy ? structuredClone(this.defenseState) : this.defenseState,
      replicaRound: this.replica?.round ?? null,
    };
  }

  /** The client's state and its replica, for a client that saves itself (a client process of the deployment service). */
  snapshot(): { state: ClientState; replica: Replica | null } {
    return { state: this.getState(), replica: this.replica instanceof Replica ? this.replica : null };
  }

  /** How many training examples this client holds. */
  get examples(): number {
    return this.setup.indices.length;
  }

  /** The round of the model this client holds, or null before its first sync. */
  get replicaRound(): number | null {
    return this.replica?.round ?? null;
  }

  /** Restores a checkpointed state; `model` is the server's model at the checkpoint's round (null: none held). */
  restore(state: ClientState, model: Replica | null): void {
    this.sampler = BatchSampler.fromState(state.sampler);
    this.defenseRng = Rng.fromState(state.defenseRng);
    this.defenseState = state.defense;
    // A client in step with the server held exactly the server's model; a stale replica is never
    // read again (the server syncs a client before it trains), so none is kept.
    const views = this.setup.views;
    if (views) this.replica = state.replicaRound === null ? null : views(state.replicaRound);
    else this.replica = model && state.replicaRound === model.round ? model.clone() : null;
  }
}

interface LocalWork {
  pseudoGrad: TensorList;
  buffers: TensorList;
  loss: number;
  examples: number;
}

function isAdgp(d: Defense | AdgpClient): d is AdgpClient {
  return 'propose' in d;
}

/** The report's figures that JSON can carry (an infinite distance has no JSON form). */
function reportNumbers(r: DefenseReport): Record<string, number> {
  const all: Record<string, number> = {
    relGradDistance: r.relGradDistance, keptFraction: r.keptFraction, gradNorm: r.gradNorm, gradDistance: r.gradDistance,
    sentEntries: r.sentEntries, totalEntries: r.totalEntries, ...r.extra,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => Number.isFinite(v)));
}

/** The in-process transport: each call hands the client its own copy of the bytes. */
export function inProcess(client: FederatedClient): ClientProxy {
  return {
    id: client.id,
    sync: (m) => client.sync(m.slice()),
    fit: async (m) => (await client.fit(m.slice())).slice(),
    broadcast: (m) => client.broadcast(m.slice()),
  };
}
