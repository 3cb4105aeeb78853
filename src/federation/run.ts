// A whole federated run in one process: partitions, clients, server, rounds, evaluation of the
// server's model, checkpoints and resumption. Every random draw comes from the spec's seed, in a
// fixed order of forks, so a run (or a resumed one) is reproduced exactly.
import { Rng } from '../common/rng.js';
import type { TensorList } from '../common/tensors.js';
import { layoutOf } from '../common/update.js';
import { type Dataset, type DatasetSplits, partitionDirichlet, partitionIid } from '../data/index.js';
import { ADGP, adgpClient, broadcasterOptionsOf, createDefense } from '../defenses/index.js';
import { broadcasterParty } from './aligned.js';
import { createModel, initParams, type Model } from '../models/index.js';
import { createSgd } from '../optim/index.js';
import { evaluate } from '../train/evaluate.js';
import { ModelRunner } from '../train/runner.js';
import { type HistoryEntry, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type ClientProxy, FederatedClient, inProcess } from './client.js';
import { Replica, type ModelLayout } from './replica.js';
import { FederatedServer } from './server.js';
import { type FederatedSpec, lrSchedule, parseSpec } from './spec.js';
import { resumeRefusal } from '../train/index.js';
import { createStrategy } from './strategy.js';

export interface RunOptions {
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
  /** Clients in other processes (net.ts) instead of in this one; checkpoints then cannot hold their state. */
  remote?: readonly ClientProxy[];
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
  clients: FederatedClient[];
  server: FederatedServer;
  test: Dataset;
  history: HistoryEntry[];
}

/** What every party of a run derives from its spec alike: the training set, the model and its layout, the partition. */
interface Common {
  spec: FederatedSpec;
  train: Dataset;
  model: Model;
  runner: ModelRunner;
  layout: ModelLayout;
  root: Rng;
  parts: ArrayLike<number>[];
  serverRng: Rng;
}

function common(input: FederatedSpec, data: DatasetSplits): Common {
  const spec = parseSpec(input);
  const train = trainingImages(data, spec.trainLimit);
  if (spec.clients > train.count) throw new Error(`federated run: clients: ${spec.clients} clients but only ${train.count} training images`);
  const model = createModel(spec.model.name, { inputShape: [train.channels, train.height, train.width], width: spec.model.width, init: spec.model.init });
  const layout: ModelLayout = { params: layoutOf(model.params), buffers: layoutOf(model.buffers) };
  // The order of the forks is part of the run: partition, server, then client 0, 1, ...
  const root = new Rng(spec.seed);
  const partRng = root.fork();
  const serverRng = root.fork();
  const parts = spec.partition.kind === 'iid'
    ? partitionIid(train.count, spec.clients, partRng)
    : partitionDirichlet(train.labels, spec.clients, spec.partition.alpha, partRng);
  return { spec, train, model, runner: new ModelRunner(model), layout, root, parts, serverRng };
}

function clientOf(c: Common, id: number, rng: Rng): FederatedClient {
  const { spec } = c;
  const { name, options } = spec.defense;
  return new FederatedClient({
    id, data: c.train, indices: c.parts[id]!, batchSize: spec.batchSize, runner: c.runner, layout: c.layout, rng,
    defense: name === ADGP ? adgpClient(options) : createDefense(name, options),
  });
}

/**
 * Client `id` of a run, alone, exactly as createFederation makes it: what a client process builds
 * from the spec the server sends it (net.ts).
 */
export function createClient(spec: FederatedSpec, data: DatasetSplits, id: number): FederatedClient {
  const c = common(spec, data);
  if (!Number.isInteger(id) || id < 0 || id >= c.spec.clients) throw new Error(`federated run: client id ${id} is not in 0..${c.spec.clients - 1}`);
  for (let k = 0; k < id; k++) c.root.fork();
  return clientOf(c, id, c.root.fork());
}

/** `remote`: clients elsewhere (e.g. other processes, net.ts), one per id in order; then no client is made here. */
export type FederationOptions = Pick<RunOptions, 'transport' | 'timeoutMs' | 'remote'>;

export function createFederation(input: FederatedSpec, data: DatasetSplits, options: FederationOptions = {}): Federation {
  const c = common(input, data);
  const { spec, model, runner, layout } = c;
  if (options.remote && options.remote.length !== spec.clients) throw new Error(`federated run: ${options.remote.length} remote clients for a run of ${spec.clients}`);
  const clients = options.remote ? [] : c.parts.map((_, id) => clientOf(c, id, c.root.fork()));
  const strategy = createStrategy({ ...spec, lrAt: lrSchedule(spec) });
  const optimizer = createSgd(strategy.serverOptimizer);
  const initial = new Replica(layout, initParams(model.params, spec.seed), initParams(model.buffers, spec.seed), optimizer.options, optimizer.init(layout.params), 0);
  const wrap = options.transport ?? ((p: ClientProxy) => p);
  const proxies = options.remote ?? clients.map((cl) => inProcess(cl));
  const broadcaster = spec.defense.name === ADGP ? broadcasterParty(layout.params, broadcasterOptionsOf(spec.defense.options)) : undefined;
  const server = new FederatedServer({ layout, model: initial, strategy, clients: proxies.map(wrap), rng: c.serverRng, timeoutMs: options.timeoutMs, broadcaster });
  return { spec, model, runner, layout, clients, server, test: data.test, history: [] };
}

/** Runs (or resumes) the rounds of `spec` and evaluates the server's model. */
export async function runFederated(spec: FederatedSpec, data: DatasetSplits, options: RunOptions = {}): Promise<FederatedResult> {
  if (options.remote && (options.checkpoint || options.resume)) throw new Error('federated run: checkpoints hold every client\'s state, which remote clients keep to themselves; run without --checkpoint/--resume');
  let fed = createFederation(spec, data, options);
  if (options.resume) fed = resumeFrom(fed, options.resume);
  const { server, runner, test, history } = fed;
  const s = fed.spec;
  const every = options.checkpointEvery ?? 10;
  let final = { accuracy: NaN, loss: NaN };
  for (let round = server.model.round + 1; round <= s.rounds; round++) {
    const entry: HistoryEntry = await server.runRound();
    if ((s.evalEvery > 0 && round % s.evalEvery === 0) || round === s.rounds) {
      final = await evaluate(runner, server.model.params, server.model.buffers, test, 500, s.testLimit);
      entry.testAccuracy = final.accuracy;
      entry.testLoss = final.loss;
    }
    history.push(entry);
    if (options.checkpoint && (round % every === 0 || round === s.rounds)) {
      saveCheckpoint(options.checkpoint, { spec: s, model: server.model, server: server.getState(), clients: fed.clients.map((c) => c.getState()), history });
    }
    options.onRound?.(entry, s.rounds);
  }
  if (Number.isNaN(final.accuracy)) {
    // A resumed run that had already finished: evaluate what the checkpoint holds.
    final = await evaluate(runner, server.model.params, server.model.buffers, test, 500, s.testLimit);
  }
  return {
    spec: s, history, testAccuracy: final.accuracy, testLoss: final.loss,
    params: server.model.params, buffers: server.model.buffers, bytesUp: [...server.bytesUp], bytesDown: [...server.bytesDown],
  };
}

function resumeFrom(fed: Federation, dir: string): Federation {
  const cp = loadCheckpoint(dir, fed.layout);
  // More rounds than first planned continue the same run, unless the schedule spans the rounds.
  const refusal = resumeRefusal(dir, cp.spec, fed.spec, 'rounds');
  if (refusal) throw new Error(refusal);
  if (cp.model.round > fed.spec.rounds) throw new Error(`cannot resume from ${dir}: it is at round ${cp.model.round}, past the ${fed.spec.rounds} rounds of this run`);
  if (cp.clients.length !== fed.clients.length) throw new Error(`cannot resume from ${dir}: ${cp.clients.length} client states for ${fed.clients.length} clients`);
  fed.server.restore(cp.server, cp.model);
  fed.clients.forEach((c, i) => c.restore(cp.clients[i]!, cp.model));
  return { ...fed, history: cp.history };
}

/** The training images a run uses: the first `trainLimit` of them, or all. */
export function trainingImages(data: DatasetSplits, trainLimit?: number): Dataset {
  return trainLimit !== undefined ? firstImages(data.train, trainLimit) : data.train;
}

/** The first n images of a data set, sharing its buffers. */
export function firstImages(ds: Dataset, n: number): Dataset {
  const count = Math.min(n, ds.count);
  const size = ds.channels * ds.height * ds.width;
  return { ...ds, count, images: ds.images.subarray(0, count * size), labels: ds.labels.subarray(0, count) };
}
