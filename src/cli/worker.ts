// `dgp worker`: many clients of a run in one process (a population of clients on one machine, or a
// device that hosts several). Each client id has its own credential, session, data, defense state
// and random stream, exactly as a `dgp client` process; they share one model runner (its compiled
// sessions) and one load of a shared data set.
import { join } from 'node:path';
import { z } from 'zod';
import type { FederatedSpec } from '../federation/index.js';
import { ModelRunner } from '../train/index.js';
import { createModel } from '../models/index.js';
import { DATASET_SHAPES } from '../federation/index.js';
import { ClientStop, LocalStateStore, loadClientSource, loadCredential, nodeTransport, parseDataSource, readPem, runClient, type DataSource } from '../service/index.js';
import { type Command, int, num, UsageError } from './args.js';

const schema = z.object({
  server: z.string({ required_error: 'is required: the server\'s URL' }),
  credentials: z.string({ required_error: 'is required: the folder of client-K.json credential files' }),
  clients: z.string().regex(/^\d+-\d+$/, 'expected A-B, e.g. 0-49'),
  data: z.string({ required_error: 'is required: as dgp client --data; {id} stands for the client id (folder:shards/client-{id})' }),
  tlsCa: z.string().optional(),
  broadcaster: z.string().optional(),
  stateDir: z.string().optional(),
  seed: z.literal('run').optional(),
  retryFor: num().positive().default(600),
});

export const workerCommand: Command<typeof schema> = {
  name: 'worker',
  summary: 'host clients A-B of a dgp serve run in one process, each with its own credential, data and state',
  usage: 'dgp worker --server https://HOST:7443 --credentials creds/ --clients 0-49 --data share [--tls-ca ca.pem]',
  options: {
    server: { type: 'string', description: 'the server, https://HOST:PORT' },
    credentials: { type: 'string', description: 'folder with client-K.json for every K in --clients' },
    clients: { type: 'string', description: 'the client ids this process hosts, A-B (inclusive)' },
    data: { type: 'string', description: 'as dgp client --data, with {id} for the client id (e.g. folder:shards/client-{id}); share: each its share of the run\'s data set' },
    'tls-ca': { type: 'string', description: 'PEM of the CA of the server\'s (and broadcaster\'s) certificate' },
    broadcaster: { type: 'string', description: 'ADGP runs: the broadcaster\'s URL' },
    'state-dir': { type: 'string', description: 'folder where the clients save their own state at checkpoints' },
    seed: { type: 'string', description: 'run: each client\'s stream derived from the run\'s seed (reproducible); default: random' },
    'retry-for': { type: 'string', description: 'seconds to keep trying while the server cannot be reached', default: '600' },
  },
  schema,
  async run(o) {
    const [a, b] = o.clients.split('-').map(Number) as [number, number];
    if (b < a) throw new UsageError(`invalid --clients: ${o.clients} is an empty range`);
    const ca = o.tlsCa ? readPem(o.tlsCa, '--tls-ca') : undefined;
    const sources = new Map<string, Promise<Awaited<ReturnType<typeof loadClientSource>>>>();
    let runner: ModelRunner | null = null;
    const load = (source: DataSource, spec: FederatedSpec) => {
      // Shares of one data set are cut from one load of it.
      const key = JSON.stringify(source);
      if (!sources.has(key)) sources.set(key, loadClientSource(source, spec));
      return sources.get(key)!;
    };
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    const ids = Array.from({ length: b - a + 1 }, (_, i) => a + i);
    const results = await Promise.allSettled(ids.map(async (id) => {
      const credential = loadCredential(join(o.credentials, `client-${id}.json`));
      if (credential.role !== 'client' || credential.clientId !== id) throw new UsageError(`client-${id}.json is not client ${id}'s credential`);
      const source = parseDataSource(o.data.replaceAll('{id}', String(id)));
      return runClient({
        server: nodeTransport({ url: o.server, ca, credential }),
        broadcaster: o.broadcaster ? nodeTransport({ url: o.broadcaster, ca, credential }) : undefined,
        credential,
        data: (spec) => load(source, spec),
        runner: (spec) => (runner ??= new ModelRunner(createModel(spec.model.name, { inputShape: DATASET_SHAPES[spec.dataset], width: spec.model.width, init: spec.model.init, precode: spec.model.precode }))),
        stateStore: o.stateDir ? (runId, clientId) => new LocalStateStore(o.stateDir!, runId, clientId) : undefined,
        seed: o.seed,
        retry: { giveUpMs: o.retryFor * 1000 },
        log: (line) => (/joined|stopped|restored/.test(line) ? console.error(`dgp worker: ${line}`) : undefined),
        signal: ac.signal,
      });
    }));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`client ${ids[i]}: ${r.reason instanceof ClientStop ? r.reason.message : (r.reason as Error).message}`] : []));
    const fits = results.reduce((s, r) => s + (r.status === 'fulfilled' ? r.value.fits : 0), 0);
    console.log(`worker ${o.clients}: ${ids.length - failed.length} of ${ids.length} clients finished; ${fits} fits in all`);
    if (failed.length) throw new Error(`${failed.length} clients stopped: ${failed.slice(0, 5).join('; ')}${failed.length > 5 ? '; ...' : ''}`);
  },
};
