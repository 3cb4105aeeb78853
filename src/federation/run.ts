// A whole federated run in one process: partitions, clients, server, rounds, evaluation of the
// server's model, checkpoints and resumption. Every random draw comes from the spec's seed, in a
// fixed order of forks, so a run (or a resumed one) is reproduced exactly.
import { Rng } from '../common/rng.js';
import type { TensorList } from '../common/tensors.js';
import { layoutOf } from '../common/update.js';
import { type Dataset, type DatasetSplits, partitionDirichlet, partitionIid } from '../data/index.js';
import { createDefense } from '../defenses/index.js';
import { createModel, initParams, type Model } from '../models/index.js';
import { createSgd } from '../optim/index.js';
import { evaluate } from '../train/evaluate.js';
import { ModelRunner } from '../train/runner.js';
import { type HistoryEntry, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type ClientProxy, FederatedClient, inProcess } from './client.js';
import { Replica, type ModelLayout } from './replica.js';
import { FederatedServer } from './server.js';
import { type FederatedSpec, lrSchedule, parseSpec, specDifference } from './spec.js';
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

export function createFederation(input: FederatedSpec, data: DatasetSplits, options: Pick<RunOptions, 'transport' | 'timeoutMs'> = {}): Federation {
  const spec = parseSpec(input);
  const train = spec.trainLimit !== undefined ? firstImages(data.train, spec.trainLimit) : data.train;
  if (spec.clients > train.count) throw new Error(`federated run: clients: ${spec.clients} clients but only ${train.count} training images`);
  const model = createModel(spec.model.name, { inputShape: [train.channels, train.height, train.width], width: spec.model.width, init: spec.model.init });
  const runner = new ModelRunner(model);
  const layout: ModelLayout = { params: layoutOf(model.params), buffers: layoutOf(model.buffers) };
  const root = new Rng(spec.seed);
  const partRng = root.fork();
  const serverRng = root.fork();
  const parts = spec.partition.kind === 'iid'
    ? partitionIid(train.count, spec.clients, partRng)
    : partitionDirichlet(train.labels, spec.clients, spec.partition.alpha, partRng);
  const clients = parts.map((indices, id) => new FederatedClient({
    id, data: train, indices, batchSize: spec.batchSize, runner, layout, rng: root.fork(),
    defense: createDefense(spec.defense.name, spec.defense.options),
  }));
  const strategy = createStrategy({ ...spec, lrAt: lrSchedule(spec) });
  const optimizer = createSgd(strategy.serverOptimizer);
  const initial = new Replica(layout, initParams(model.params, spec.seed), initParams(model.buffers, spec.seed), optimizer.options, optimizer.init(layout.params), 0);
  const wrap = options.transport ?? ((p: ClientProxy) => p);
  const server = new FederatedServer({ layout, model: initial, strategy, clients: clients.map((c) => wrap(inProcess(c))), rng: serverRng, timeoutMs: options.timeoutMs });
  return { spec, model, runner, layout, clients, server, test: data.test, history: [] };
}

/** Runs (or resumes) the rounds of `spec` and evaluates the server's model. */
export async function runFederated(spec: FederatedSpec, data: DatasetSplits, options: RunOptions = {}): Promise<FederatedResult> {
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
  const extendable = cp.spec.schedule !== 'cosine';
  const comparable = (x: FederatedSpec) => (extendable ? { ...x, rounds: 0 } : x);
  const diff = specDifference(comparable(cp.spec), comparable(fed.spec));
  if (diff) throw new Error(`cannot resume from ${dir}: it was written by a different run (${diff})`);
  if (cp.model.round > fed.spec.rounds) throw new Error(`cannot resume from ${dir}: it is at round ${cp.model.round}, past the ${fed.spec.rounds} rounds of this run`);
  if (cp.clients.length !== fed.clients.length) throw new Error(`cannot resume from ${dir}: ${cp.clients.length} client states for ${fed.clients.length} clients`);
  fed.server.restore(cp.server, cp.model);
  fed.clients.forEach((c, i) => c.restore(cp.clients[i]!, cp.model));
  return { ...fed, history: cp.history };
}

/** The first n images of a data set, sharing its buffers. */
export function firstImages(ds: Dataset, n: number): Dataset {
  const count = Math.min(n, ds.count);
  const size = ds.channels * ds.height * ds.width;
  return { ...ds, count, images: ds.images.subarray(0, count * size), labels: ds.labels.subarray(0, count) };
}
