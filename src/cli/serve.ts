// `dgp serve`: coordinate one federated run over the deployment service (src/service): TLS, token
// credentials, clients in other processes or machines that bring their own data (`dgp client`),
// and for ADGP the broadcaster as a party of its own (`dgp broadcaster`). The run is described by
// the same options as `dgp train` (or a --config file of them, or a saved run spec).
import { z } from 'zod';
import {
  defenseFromFlags, defenseOptions, defenseShape, refineRunFlags, secureOptions, secureShape, specFromOptions, strategyOptions, strategyShape, trainingOptions, trainingShape,
} from './run-options.js';
import { ProgressBar } from '../report/index.js';
import { fileURLToPath } from 'node:url';
import { loadCredential, readPem, serveRun, webRoot } from '../service/index.js';
import { type Command, int, num, UsageError } from './args.js';
import { readConfig } from './config.js';
import { openDataset } from './data.js';
import { resultHead, withDefenseDefaults, writeResult } from './result.js';
import { checkCheckpointFlags } from './train-run.js';
import { interruptSignal, reloadableAccess, serviceOptions, serviceSettings, serviceShape } from './service-options.js';
import { DEFAULTS, FEDERATED_RECIPES } from './train.js';

/** Where npm run build:web writes the browser client (web/dist beside src/). */
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const schema = z.object({
  ...trainingShape(DEFAULTS),
  lr: num().positive().optional(),
  batchSize: int().positive().optional(),
  init: z.enum(['dlg', 'torch', 'xavier']).optional(),
  ...strategyShape,
  ...defenseShape,
  ...secureShape,
  clients: int().positive().optional(),
  rounds: int().positive({ message: 'must be a positive integer' }).optional(),
  ...serviceShape(7443),
  broadcaster: z.string().optional(),
  broadcasterCa: z.string().optional(),
  broadcasterCredential: z.string().optional(),
  checkpoint: z.string().optional(),
  checkpointEvery: int().positive().optional(),
  resume: z.string().optional(),
  web: z.boolean().optional(),
  webDir: z.string().optional(),
  corsOrigin: z.string().optional(),
  wait: num().positive().default(300),
  clientTimeout: num().positive().default(600),
  config: z.string().optional(),
}).superRefine((o, ctx) => {
  defenseFromFlags(o, ctx);
  refineRunFlags(o, ctx);
  if (o.rounds === undefined) ctx.addIssue({ code: 'custom', path: ['rounds'], message: 'is required: the server cannot count its clients\' examples to turn epochs into rounds' });
  const adgp = o.defense === 'adgp';
  if (adgp && (!o.broadcaster || !o.broadcasterCredential)) ctx.addIssue({ code: 'custom', path: ['broadcaster'], message: 'ADGP needs the broadcaster: --broadcaster URL and --broadcaster-credential FILE (the server\'s token there)' });
  if (!adgp && (o.broadcaster || o.broadcasterCredential)) ctx.addIssue({ code: 'custom', path: ['broadcaster'], message: `is for --defense adgp, not ${o.defense}` });
});

export const serveCommand: Command<typeof schema> = {
  name: 'serve',
  summary: 'coordinate a federated run over TLS for dgp client processes (and, for ADGP, a dgp broadcaster)',
  usage: 'dgp serve --config run.yaml\n       dgp serve --model mlp --clients 3 --rounds 50 --defense dgp --tls-cert server.pem --tls-key server-key.pem --access access.json [--json out.json]',
  options: {
    config: { type: 'string', description: 'YAML or JSON file of these options (or a saved run spec); flags override it' },
    ...trainingOptions(DEFAULTS),
    clients: { type: 'string', description: 'clients (default: as many as the access file has client tokens)' },
    rounds: { type: 'string', description: 'federated rounds (required)' },
    ...strategyOptions,
    ...defenseOptions,
    ...secureOptions,
    ...serviceOptions(7443),
    broadcaster: { type: 'string', description: 'ADGP: the broadcaster\'s URL, https://HOST:PORT' },
    'broadcaster-ca': { type: 'string', description: 'ADGP: PEM of the CA of the broadcaster\'s certificate (default: the system\'s)' },
    'broadcaster-credential': { type: 'string', description: 'ADGP: this server\'s credential file at the broadcaster' },
    checkpoint: { type: 'string', description: 'checkpoint into this folder (each client saves its own state there too: dgp client --state-dir)' },
    'checkpoint-every': { type: 'string', description: 'rounds between checkpoints (and after the last)', default: '10' },
    resume: { type: 'string', description: 'continue the run of the checkpoint in this folder (the same clients come back)' },
    web: { type: 'boolean', description: 'also serve the browser client\'s page at the same address (https://HOST:PORT/): clients can join from a browser' },
    'web-dir': { type: 'string', description: 'with --web: the page\'s folder (default: the toolkit\'s web/dist, made by npm run build:web)' },
    'cors-origin': { type: 'string', description: 'origins (comma-separated, e.g. https://fl.example.org) whose pages, served from elsewhere, may call this service' },
    wait: { type: 'string', description: 'seconds to wait for every client to join', default: '300' },
    'client-timeout': { type: 'string', description: 'drop a client that has not answered a call within this many seconds', default: '600' },
  },
  schema,
  readConfig,
  async run(o) {
    const log = (line: string) => console.error(`dgp serve: ${line}`);
    const service = serviceSettings(o);
    const access = reloadableAccess(o.access, log);
    const clients = o.clients ?? access().clientIds.length;
    const missing = Array.from({ length: clients }, (_, i) => i).filter((i) => !access().clientIds.includes(i));
    if (clients === 0) throw new UsageError(`invalid --access: ${o.access} holds no client tokens (dgp credentials makes them)`);
    if (missing.length) throw new UsageError(`invalid --access: ${o.access} has no token for client${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of the run's ${clients}`);
    checkCheckpointFlags(o);
    const recipe = FEDERATED_RECIPES[o.model] ?? {};
    const flags = { ...o, clients, lr: o.lr ?? recipe.lr ?? DEFAULTS.lr, batchSize: o.batchSize ?? recipe.batchSize ?? DEFAULTS.batchSize, init: o.init ?? recipe.init ?? DEFAULTS.init };
    const spec = specFromOptions(flags, defenseFromFlags(o), Number.MAX_SAFE_INTEGER);
    const { data } = await openDataset('serve', o.dataset, o);
    const signal = interruptSignal(log);
    let bar: ProgressBar | undefined;
    let accuracy = '';
    const t0 = performance.now();
    const served = await serveRun({
      spec,
      test: data.test,
      ...service,
      access,
      broadcaster: o.broadcaster ? { url: o.broadcaster, ca: o.broadcasterCa ? readPem(o.broadcasterCa, '--broadcaster-ca') : undefined, credential: loadCredential(o.broadcasterCredential!) } : undefined,
      checkpoint: o.checkpoint ?? o.resume,
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      webRoot: o.web || o.webDir ? webRoot(o.webDir ?? DEFAULT_WEB_DIR) : undefined,
      corsOrigins: o.corsOrigin?.split(',').filter(Boolean),
      waitMs: o.wait * 1000,
      clientTimeoutMs: o.clientTimeout * 1000,
      onListening: (s) => log(`listening on ${s.url}; waiting for ${clients} clients (dgp client --server ${s.url} --credential client-K.json --data ...${o.web || o.webDir ? `, or a browser at ${s.url}/` : ''})`),
      onRound: (e, rounds) => {
        if (e.testAccuracy !== undefined) accuracy = ` acc ${(e.testAccuracy * 100).toFixed(1)}%`;
        (bar ??= new ProgressBar({ total: rounds, label: `serve ${spec.defense.name}` })).update(e.round, `loss ${e.trainLoss.toFixed(3)}${accuracy}${e.dropped.length ? ` (${e.dropped.length} dropped)` : ''}`);
      },
      log,
      signal,
    });
    bar?.finish();
    const { result, runId, wireBytes } = served;
    const seconds = (performance.now() - t0) / 1000;
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    const payload = result.bytesUp.map((u, i) => u + result.bytesDown[i]!);
    // With ADGP the proposals travel to the broadcaster, so the server's wire misses them: the overhead is then the demo's sum over both services.
    const overhead = spec.defense.name === 'adgp' ? null : (wireBytes.reduce((a, b) => a + b, 0) - payload.reduce((a, b) => a + b, 0)) / payload.reduce((a, b) => a + b, 0);
    console.log(
      `${spec.model.name} on ${spec.dataset}, ${spec.clients} remote clients, ${spec.defense.name}: test accuracy ${(result.testAccuracy * 100).toFixed(2)}% after ${spec.rounds} rounds; ` +
        `per client ${(mean(result.bytesUp) / 1e6).toFixed(2)} MB up, ${(mean(result.bytesDown) / 1e6).toFixed(2)} MB down` +
        `${overhead !== null ? `, protocol overhead ${(100 * overhead).toFixed(2)} %` : ''}; ${seconds.toFixed(1)} s`,
    );
    if (o.json) {
      writeResult(o.json, resultHead('serve', withDefenseDefaults(o, spec.defense)), {
        mode: 'served', completed: true, runId, dataset: spec.dataset, model: spec.model.name, testAccuracy: result.testAccuracy, testLoss: result.testLoss,
        rounds: spec.rounds, clients: spec.clients, seconds,
        bytes: { upPerClient: mean(result.bytesUp), downPerClient: mean(result.bytesDown), up: result.bytesUp, down: result.bytesDown },
        wire: { serverBytes: wireBytes, protocolOverhead: overhead },
        spec, history: result.history,
      });
    }
  },
};
