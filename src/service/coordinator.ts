// `dgp serve`: the coordinator of one federated run over the deployment service. It listens (TLS
// by default), admits clients by credential, waits for all of them, then runs the same rounds as
// a run in one process (runFederated, with RemoteClient proxies and, for ADGP, the broadcaster as
// a remote party), checkpoints itself after asking every client to save its own state, and tells
// the clients how the run ended.
import { randomUUID } from 'node:crypto';
import type { Dataset } from '../data/index.js';
import { type FederatedResult, type FederatedServer, type FederatedSpec, type HistoryEntry, loadCheckpoint, modelLayoutOf, runFederated } from '../federation/index.js';
import { type AccessList, type Credential } from './auth.js';
import { remoteBroadcaster } from './broadcaster.js';
import { ClientHub } from './hub.js';
import { type Limits, startServiceServer, type ServiceServer } from './http.js';
import { staticFiles } from './static.js';
import { nodeTransport } from './transport.js';

export interface ServeRunOptions {
  spec: FederatedSpec;
  /** The server's test set: what it evaluates the model on (it holds no training data). */
  test: Dataset;
  host: string;
  port: number;
  tls: { cert: Buffer; key: Buffer } | null;
  access: () => AccessList;
  limits?: Partial<Limits>;
  /** ADGP: where the broadcaster is, the CA its certificate is from, and the server's credential there. */
  broadcaster?: { url: string; ca?: Buffer; credential: Credential };
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: string;
  /** How long to wait for every client to join before the first round. */
  waitMs: number;
  /** A client that has not answered a call within this long is dropped for the round. */
  clientTimeoutMs: number;
  /** Serve the browser client's page from this folder (webRoot), and let these other origins' pages call in. */
  webRoot?: string;
  corsOrigins?: readonly string[];
  /** Told the port once listening (port 0 picks a free one). */
  onListening?: (s: ServiceServer) => void;
  onRound?: (entry: HistoryEntry, rounds: number) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ServeResult {
  runId: string;
  result: FederatedResult;
  /** Bytes on the wire (TLS and HTTP/2 included) per client id, at the server. */
  wireBytes: number[];
}

export async function serveRun(o: ServeRunOptions): Promise<ServeResult> {
  const log = o.log ?? (() => {});
  const spec = o.spec;
  let runId: string = randomUUID().replaceAll('-', '');
  let restore: { round: number; saved: boolean[] } | undefined;
  if (o.resume) {
    const cp = loadCheckpoint(o.resume, modelLayoutOf(spec));
    if (!cp.remote) throw new Error(`cannot resume from ${o.resume}: it is a checkpoint of a run in one process (dgp train), not of dgp serve`);
    runId = cp.remote.runId;
    restore = { round: cp.model.round, saved: cp.remote.clientsSaved };
  }
  let server: FederatedServer | null = null;
  const stale = new Set<number>();
  const limits = o.limits ?? {};
  const hub = new ClientHub({
    runId,
    specJson: JSON.stringify(spec),
    clients: spec.clients,
    needsBroadcaster: spec.defense.name === 'adgp',
    maxAnswerBytes: 1 << 30,
    restore,
    serverRound: () => server?.model.round ?? restore?.round ?? 0,
    onStale: (c) => (server ? server.markStale(c) : stale.add(c)),
    log,
  });
  const http = await startServiceServer({
    host: o.host, port: o.port, tls: o.tls, routes: hub.routes, access: o.access, limits, log,
    fallback: o.webRoot ? staticFiles(o.webRoot) : undefined, corsOrigins: o.corsOrigins,
  });
  o.onListening?.(http);
  try {
    const broadcaster = spec.defense.name === 'adgp' ? await openBroadcaster(o, runId) : undefined;
    log(`waiting for ${spec.clients} clients (run ${runId})`);
    await hub.waitForAll(o.waitMs, o.signal);
    hub.state = 'running';
    const result = await runFederated(spec, { test: o.test }, {
      remote: {
        runId,
        proxies: hub.clients,
        saveStates: (round) => hub.checkpointClients(round, o.clientTimeoutMs),
        ready: (s) => {
          server = s;
          for (const c of stale) s.markStale(c);
        },
      },
      broadcaster,
      timeoutMs: o.clientTimeoutMs,
      checkpoint: o.checkpoint,
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      shouldStop: () => o.signal?.aborted ?? false,
      onRound: (e, rounds) => {
        hub.round = e.round;
        if (e.testAccuracy !== undefined) hub.lastEvaluation = { accuracy: e.testAccuracy, loss: e.testLoss! };
        o.onRound?.(e, rounds);
      },
    });
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('interrupted');
    hub.lastEvaluation = { accuracy: result.testAccuracy, loss: result.testLoss };
    hub.finish('finished', `finished ${spec.rounds} rounds; test accuracy ${(100 * result.testAccuracy).toFixed(2)} %`);
    await settle(hub);
    const wire = http.wireBytes();
    return { runId, result, wireBytes: hub.clients.map((c) => wire.get(`client:${c.id}`) ?? 0) };
  } catch (e) {
    hub.finish('aborted', (e as Error).message);
    await settle(hub);
    throw e;
  } finally {
    await http.close();
  }
}

async function openBroadcaster(o: ServeRunOptions, runId: string) {
  if (!o.broadcaster) throw new Error('this run uses ADGP: give the broadcaster (--broadcaster URL, --broadcaster-credential FILE)');
  const transport = nodeTransport({ url: o.broadcaster.url, ca: o.broadcaster.ca, credential: o.broadcaster.credential });
  try {
    return await remoteBroadcaster(transport, runId, o.spec);
  } catch (e) {
    throw new Error(`cannot open the run at the broadcaster ${o.broadcaster.url}: ${(e as Error).message}`);
  }
}

/** Gives the clients a moment to read how the run ended before the server closes their connections. */
async function settle(hub: ClientHub): Promise<void> {
  const until = Date.now() + 2000;
  while (hub.openStreams > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
}
