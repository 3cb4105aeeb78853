// A whole federated run in one process: partitions, clients, server, rounds, evaluation of the
// server's model, checkpoints and resumption. Every random draw comes from the spec's seed, in a
// fixed order of forks, so a run (or a resumed one) is reproduced exactly.
import { Rng, type TensorList, layoutOf } from '../common/index.js';
import { type Dataset, type DatasetSplits, partitionDirichlet, partitionIid } from '../data/index.js';
import { ADGP, broadcasterOptionsOf } from '../defenses/index.js';
import { broadcasterParty, type BroadcasterParty } from './aligned.js';
import { initParams, type Model } from '../models/index.js';
import { createSgd } from '../optim/index.js';
import { resumeRefusal, evaluate, ModelRunner } from '../train/index.js';
import { type HistoryEntry, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type ClientProxy, type ClientState, FederatedClient, inProcess } from './client.js';
import { ClientHost } from './client-host.js';
import { ClientStore } from './client-store.js';
import { checkClientState, freshDefenseState } from './checkpoint-state.js';
import { Replica, type ModelCopy, type ModelLayout } from './replica.js';
import { clientsPerRound } from './strategy.js';
import { FederatedServer } from './server.js';
import { type RunObjects, type RunParts, runParts } from './parts.js';
import type { FederatedSpec } from './spec.js';

/** `model`, `defense`, `strategy`: the user's own objects where the spec says 'custom' (parts.ts). */
export interface RunOptions extends RunObjects {
  /** Write a checkpoint into this folder every `checkpointEvery` rounds and after the last. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Continue from the checkpoint in this folder (its spec must equal this run's). */
  resume?: string;
  /** Called after every round with its record (testAccuracy set on evaluation rounds). */
  onRound?: (entry: HistoryEntry, rounds: number) => void;
  /** Wraps each client's transport, e.g. to make one fail. */
  transport?: (proxy: ClientProxy) => ClientProxy;
  /** Drop a client that takes longer than this to answer (default: wait). */
  timeoutMs?: number;
  /** Clients that hold their own data (one data set per client id) instead of shares of `data.train`. */
  clientData?: readonly Dataset[];
  /** Clients in other processes (the deployment service) instead of in this one. */
  remote?: RemoteClients;
  /** ADGP's broadcaster as another party (the deployment service) instead of one in this process. */
  broadcaster?: BroadcasterParty;
  /** Checked before each round: true stops the run there (the result holds the rounds done). */
  shouldStop?: () => boolean;
  /**
   * Keep the clients' states in this folder (client-store.ts) and in memory only the clients of
   * recent rounds, so that a round costs what its sampled clients cost. The result is the same.
   */
  clientStore?: string;
  /** With clientStore: how many clients stay in memory between rounds (default: the clients of one round). */
  clientsInMemory?: number;
}

/** Clients elsewhere, one proxy per id in order; they keep their state themselves. */
export interface RemoteClients {
  proxies: readonly ClientProxy[];
  /** The run's id, recorded in its checkpoints (a resumed run keeps it, so clients find their saved states). */
  runId: string;
  /** Asks every client to save its own state of `round` (before the server's checkpoint of it); which did. */
  saveStates?: (round: number) => Promise<boolean[]>;
  /** Called with the server once it is made (and restored from the checkpoint, if resumed), before the first round. */
  ready?: (server: FederatedServer) => void;
}

/** The data a run needs here: the server's test set, and the training set unless every client brings its own. */
export interface RunData {
  train?: Dataset;
  test: Dataset;
}

export interface FederatedResult {
  spec: FederatedSpec;
  history: HistoryEntry[];
  testAccuracy: number;
  testLoss: number;
  params: TensorList;
  buffers: TensorList;
  /** Per client, every byte it sent and received over the run. */
  bytesUp: number[];
  bytesDown: number[];
}

/** The components of a run before its first round (or as its checkpoint left them). */
export interface Federation {
  spec: FederatedSpec;
  model: Model;
  runner: ModelRunner;
  layout: ModelLayout;
  /** Every client, built up front; empty with a client store (`host` holds them) or remote clients. */
  clients: FederatedClient[];
  /** With a client store: the clients, made when sampled and kept on disk when idle. */
  host?: ClientHost;
  server: FederatedServer;
  test: Dataset;
  history: HistoryEntry[];
}

/** The input shape of a data set's images: what a run's model is built for. */
export const DATASET_SHAPES: Record<FederatedSpec['dataset'], [number, number, number]> = { mnist: [1, 28, 28], cifar10: [3, 32, 32] };

function shapeOf(d: Dataset): [number, number, number] {
  return [d.channels, d.height, d.width];
}

/** The parameters' and buffers' names and shapes of a run's model (no data needed: a built-in model for the data set's standard shape). */
export function modelLayoutOf(input: FederatedSpec, objects: RunObjects = {}): ModelLayout {
  const parts = runParts(input, objects);
  const model = objects.model ?? parts.model(DATASET_SHAPES[parts.spec.dataset]);
  return { params: layoutOf(model.params), buffers: layoutOf(model.buffers) };
}

/**
 * The random streams of a run, in their fixed order: partition, server, then client 0, 1, ...
 * Every party derives the ones it needs from the spec's seed alike.
 */
function streams(seed: number) {
  const root = new Rng(seed);
  const partition = root.fork();
  const server = root.fork();
  return { partition, server, nextClient: () => root.fork() };
}

/** Client `id`'s stream, as createFederation hands it out. */
export function clientStream(seed: number, id: number): Rng {
  const s = streams(seed);
  for (let k = 0; k < id; k++) s.nextClient();
  return s.nextClient();
}

/** Where a client's examples come from: indices into a shared training set, or a data set of its own. */
interface ClientExamples {
  data: Dataset;
  indices: ArrayLike<number>;
}

function checkOwnData(spec: FederatedSpec, d: Dataset, id: number): void {
  const [c, h, w] = DATASET_SHAPES[spec.dataset];
  if (d.channels !== c || d.height !== h || d.width !== w) {
    throw new Error(`client ${id}: its data (${d.source}) holds ${d.channels}x${d.height}x${d.width} images; this run's model takes ${spec.dataset}'s ${c}x${h}x${w}`);
  }
  if (d.count < 1) throw new Error(`client ${id}: its data (${d.source}) holds no examples`);
}

function clientOf(parts: RunParts, model: { runner: ModelRunner; layout: ModelLayout }, id: number, ex: ClientExamples, rng: Rng, views?: (round: number) => ModelCopy): FederatedClient {
  return new FederatedClient({
    id, data: ex.data, indices: ex.indices, batchSize: parts.spec.batchSize, runner: model.runner, layout: model.layout, rng, defense: parts.defense(), ...(views ? { views } : {}),
  });
}

/** The examples of every client: shares of the training set cut by the spec's seed, or their own data sets. */
function clientExamples(spec: FederatedSpec, data: RunData, partRng: Rng, own?: readonly Dataset[]): ClientExamples[] {
  if (own) {
    if (own.length !== spec.clients) throw new Error(`federated run: ${own.length} client data sets for a run of ${spec.clients} clients`);
    own.forEach((d, id) => checkOwnData(spec, d, id));
    return own.map((d) => ({ data: d, indices: allIndices(d.count) }));
  }
  if (!data.train) throw new Error('federated run: no training set to cut the clients\' shares from, and no data of their own');
  const train = trainingImages({ train: data.train, test: data.test }, spec.trainLimit);
  if (spec.clients > train.count) throw new Error(`federated run: clients: ${spec.clients} clients but only ${train.count} training images`);
  const parts = spec.partition.kind === 'iid'
    ? partitionIid(train.count, spec.clients, partRng)
    : partitionDirichlet(train.labels, spec.clients, spec.partition.alpha, partRng);
  return parts.map((indices) => ({ data: train, indices }));
}

function allIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** How a client process gets its examples: its share of a named data set, or a data set it holds. */
export type ClientSource = { kind: 'share'; data: DatasetSplits } | { kind: 'own'; train: Dataset };

/**
 * Client `id` of a run, alone: what a client process builds from the spec the server sends it.
 * With the run's stream (`rng` omitted) and the same examples, it is exactly createFederation's client.
 * `runner`: a model runner for the run's model, shared by the clients one process hosts.
 * `objects`: the user's own model and defense where the spec says 'custom' (its strategy is the server's).
 */
export function createClient(input: FederatedSpec, source: ClientSource, id: number, rng?: Rng, runner?: ModelRunner, objects: RunObjects = {}): FederatedClient {
  const parts = runParts(input, objects);
  const spec = parts.spec;
  if (!Number.isInteger(id) || id < 0 || id >= spec.clients) throw new Error(`federated run: client id ${id} is not in 0..${spec.clients - 1}`);
  const s = streams(spec.seed);
  let ex: ClientExamples;
  if (source.kind === 'share') ex = clientExamples(spec, source.data, s.partition)[id]!;
  else {
    checkOwnData(spec, source.train, id);
    ex = { data: source.train, indices: allIndices(source.train.count) };
  }
  // Clients of one process may share a runner (its compiled sessions): it holds no client's state.
  const model = runner?.model ?? parts.model(shapeOf(ex.data));
  const layout: ModelLayout = { params: layoutOf(model.params), buffers: layoutOf(model.buffers) };
  return clientOf(parts, { runner: runner ?? new ModelRunner(model), layout }, id, ex, rng ?? clientStream(spec.seed, id));
}

export type FederationOptions = Pick<RunOptions, 'transport' | 'timeoutMs' | 'remote' | 'clientData' | 'broadcaster' | 'clientStore' | 'clientsInMemory' | keyof RunObjects>;

/**
 * The run's parties before its first round. Built-in parts come by name from the spec; where the
 * spec says 'custom', `options.model`, `options.defense` or `options.strategy` is the user's object,
 * and the federation's spec records its name (spec.custom).
 */
export function createFederation(input: FederatedSpec, data: RunData, options: FederationOptions = {}): Federation {
  const parts = runParts(input, options);
  const spec = parts.spec;
  const model = parts.model(shapeOf(data.train ?? data.test));
  const runner = new ModelRunner(model);
  const layout: ModelLayout = { params: layoutOf(model.params), buffers: layoutOf(model.buffers) };
  const s = streams(spec.seed);
  const remote = options.remote?.proxies;
  if (remote && remote.length !== spec.clients) throw new Error(`federated run: ${remote.length} remote clients for a run of ${spec.clients}`);
  const examples = remote ? [] : clientExamples(spec, data, s.partition, options.clientData);
  let server: FederatedServer | undefined;
  const host = examples.length > 0 && options.clientStore !== undefined
    ? hostOf(parts, { runner, layout }, examples, s.nextClient, options, () => server!.model)
    : undefined;
  const clients = host ? [] : examples.map((ex, id) => clientOf(parts, { runner, layout }, id, ex, s.nextClient()));
  const strategy = parts.strategy;
  const optimizer = createSgd(strategy.serverOptimizer);
  const initial = new Replica(layout, initParams(model.params, spec.seed), initParams(model.buffers, spec.seed), optimizer.options, optimizer.init(layout.params), 0);
  const wrap = options.transport ?? ((p: ClientProxy) => p);
  const proxies = remote ?? host?.proxies ?? clients.map((cl) => inProcess(cl));
  const broadcaster = spec.defense.name !== ADGP ? undefined : options.broadcaster ?? broadcasterParty(layout.params, broadcasterOptionsOf(spec.defense.options));
  const sa = spec.secureAggregation;
  const secure = sa && { ...sa, fullBatch: spec.batchSize * spec.localSteps };
  server = new FederatedServer({ layout, model: initial, strategy, clients: proxies.map(wrap), rng: s.server, timeoutMs: options.timeoutMs, broadcaster, secure });
  return { spec, model, runner, layout, clients, ...(host ? { host } : {}), server, test: data.test, history: [] };
}

/** The clients of a run with a client store: each made when first sampled, from its stream of the run's fixed order. */
function hostOf(
  parts: RunParts, model: { runner: ModelRunner; layout: ModelLayout }, examples: readonly ClientExamples[], nextClient: () => Rng,
  options: FederationOptions, serverModel: () => Replica,
): ClientHost {
  const spec = parts.spec;
  const streamStates = examples.map(() => nextClient().getState());
  let fresh: unknown;
  const capacity = options.clientsInMemory ?? clientsPerRound(spec.clients, spec.fraction);
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`federated run: clientsInMemory must be a positive integer, got ${capacity}`);
  return new ClientHost({
    clients: examples.length,
    make: (id, views) => clientOf(parts, model, id, examples[id]!, Rng.fromState(streamStates[id]!), views),
    store: new ClientStore(options.clientStore!),
    capacity,
    model: serverModel,
    check: (raw, round, fail) => checkClientState(raw, spec, (fresh ??= freshDefenseState(spec, model.layout, options.defense)), round, fail) as ClientState,
  });
}

/** Runs (or resumes) the rounds of `spec` and evaluates the server's model. */
export async function runFederated(spec: FederatedSpec, data: RunData, options: RunOptions = {}): Promise<FederatedResult> {
  const remote = options.remote;
  if (remote && !remote.saveStates && (options.checkpoint || options.resume)) {
    throw new Error('federated run: remote clients keep their state themselves; a checkpoint needs them to save it (RemoteClients.saveStates)');
  }
  let fed = createFederation(spec, data, options);
  if (options.resume) fed = resumeFrom(fed, options.resume, remote, options.defense);
  else fed.host?.store.claim(fed.spec, false);
  remote?.ready?.(fed.server);
  const { server, runner, test, history } = fed;
  const s = fed.spec;
  const every = options.checkpointEvery ?? 10;
  let final = { accuracy: NaN, loss: NaN };
  try {
    for (let round = server.model.round + 1; round <= s.rounds; round++) {
      if (options.shouldStop?.()) break;
      const entry: HistoryEntry = await server.runRound();
      fed.host?.throwFault();
      if ((s.evalEvery > 0 && round % s.evalEvery === 0) || round === s.rounds) {
        final = await evaluate(runner, server.model.params, server.model.buffers, test, 500, s.testLimit);
        entry.testAccuracy = final.accuracy;
        entry.testLoss = final.loss;
      }
      history.push(entry);
      if (options.checkpoint && (round % every === 0 || round === s.rounds)) {
        // Remote clients save theirs first: a server checkpoint never names a client state that is not on disk.
        const saved = remote ? { runId: remote.runId, clientsSaved: await remote.saveStates!(round) } : undefined;
        // Likewise the client store: every client's state of this round is on disk before the checkpoint names the store.
        await fed.host?.flush(round);
        const clientStore = fed.host ? { dir: fed.host.store.dir } : undefined;
        saveCheckpoint(options.checkpoint, { spec: s, model: server.model, server: server.getState(), clients: fed.clients.map((c) => c.getState()), history, remote: saved, clientStore });
      }
      options.onRound?.(entry, s.rounds);
    }
  } catch (e) {
    // A failed run leaves its store's queued files written (a resume ignores those after its checkpoint).
    await fed.host?.store.settled().catch(() => undefined);
    throw e;
  }
  // The store ends holding every client's last state.
  await fed.host?.flush(server.model.round);
  if (Number.isNaN(final.accuracy)) {
    // A resumed run that had already finished, or one stopped early: evaluate the model it holds.
    final = await evaluate(runner, server.model.params, server.model.buffers, test, 500, s.testLimit);
  }
  return {
    spec: s, history, testAccuracy: final.accuracy, testLoss: final.loss,
    params: server.model.params, buffers: server.model.buffers, bytesUp: [...server.bytesUp], bytesDown: [...server.bytesDown],
  };
}

function resumeFrom(fed: Federation, dir: string, remote?: RemoteClients, defense?: RunObjects['defense']): Federation {
  const cp = loadCheckpoint(dir, fed.layout, defense);
  // More rounds than first planned continue the same run, unless the schedule spans the rounds.
  const refusal = resumeRefusal(dir, cp.spec, fed.spec, 'rounds');
  if (refusal) throw new Error(refusal);
  if (cp.model.round > fed.spec.rounds) throw new Error(`cannot resume from ${dir}: it is at round ${cp.model.round}, past the ${fed.spec.rounds} rounds of this run`);
  if (remote) {
    if (!cp.remote) throw new Error(`cannot resume from ${dir}: it holds the clients' states itself (a run in one process), not a run with remote clients`);
    if (cp.remote.runId !== remote.runId) throw new Error(`cannot resume from ${dir}: it is of run ${cp.remote.runId}, not ${remote.runId}`);
    fed.server.restore(cp.server, cp.model);
    return { ...fed, history: cp.history };
  }
  if (cp.clientStore && !fed.host) throw new Error(`cannot resume from ${dir}: its clients' states are in the client store ${cp.clientStore.dir}; resume with that store (--client-store ${cp.clientStore.dir})`);
  if (fed.host) {
    // A checkpoint that kept the clients' states itself moves them into a new store.
    fed.host.store.claim(fed.spec, cp.clientStore !== undefined);
    fed.server.restore(cp.server, cp.model);
    fed.host.resume(cp.model.round, cp.server.inSync, cp.clientStore ? undefined : cp.clients);
    return { ...fed, history: cp.history };
  }
  if (cp.clients.length !== fed.clients.length) throw new Error(`cannot resume from ${dir}: ${cp.clients.length} client states for ${fed.clients.length} clients`);
  fed.server.restore(cp.server, cp.model);
  fed.clients.forEach((c, i) => c.restore(cp.clients[i]!, cp.model));
  return { ...fed, history: cp.history };
}

/** The training images a run uses: the first `trainLimit` of them, or all. */
export function trainingImages(data: DatasetSplits, trainLimit?: number): Dataset {
  return trainLimit !== undefined ? firstImages(data.train, trainLimit) : data.train;
}

/** The last n images of a data set, sharing its buffers (a hold-out set cut from the end of the training images). */
export function lastImages(ds: Dataset, n: number): Dataset {
  const count = Math.min(n, ds.count);
  const size = ds.channels * ds.height * ds.width;
  const from = ds.count - count;
  return { ...ds, count, images: ds.images.subarray(from * size, ds.count * size), labels: ds.labels.subarray(from, ds.count) };
}

/** The first n images of a data set, sharing its buffers. */
export function firstImages(ds: Dataset, n: number): Dataset {
  const count = Math.min(n, ds.count);
  const size = ds.channels * ds.height * ds.width;
  return { ...ds, count, images: ds.images.subarray(0, count * size), labels: ds.labels.subarray(0, count) };
}
