// What `dgp client` and `dgp worker` share: how a client process reaches the run (server,
// broadcaster, the CA, backoff), where it keeps its own state, and its random stream.
import { z } from 'zod';
import { type ClientRunOptions, type Credential, LocalStateStore, nodeTransport, readPem } from '../service/index.js';
import { num, type OptionSpec } from './args.js';

export const connectionShape = {
  server: z.string({ required_error: 'is required: the server\'s URL, e.g. https://127.0.0.1:7443' }),
  tlsCa: z.string().optional(),
  broadcaster: z.string().optional(),
  stateDir: z.string().optional(),
  retryFor: num().positive().default(600),
};

export const connectionOptions: Record<string, OptionSpec> = {
  server: { type: 'string', description: 'the server, https://HOST:PORT (http:// for a server started with --insecure)' },
  'tls-ca': { type: 'string', description: 'PEM of the CA of the server\'s (and broadcaster\'s) certificate (default: the system\'s)' },
  broadcaster: { type: 'string', description: 'ADGP runs: the broadcaster\'s URL (the client\'s own setting: it trusts that party, not the server\'s word)' },
  'state-dir': { type: 'string', description: 'folder where the client saves its own state at the server\'s checkpoints (needed to resume a run)' },
  'retry-for': { type: 'string', description: 'seconds to keep trying while the server cannot be reached', default: '600' },
};

type Connection = z.infer<z.ZodObject<typeof connectionShape>>;

/** The runner's options that follow from the connection flags, for one client's credential. */
export function connectionFor(o: Connection, credential: Extract<Credential, { role: 'client' }>, signal: AbortSignal, ca = o.tlsCa ? readPem(o.tlsCa, '--tls-ca') : undefined): Pick<ClientRunOptions, 'server' | 'broadcaster' | 'credential' | 'stateStore' | 'retry' | 'signal'> {
  return {
    server: nodeTransport({ url: o.server, ca, credential }),
    broadcaster: o.broadcaster ? nodeTransport({ url: o.broadcaster, ca, credential }) : undefined,
    credential,
    stateStore: o.stateDir ? (runId, clientId) => new LocalStateStore(o.stateDir!, runId, clientId) : undefined,
    retry: { giveUpMs: o.retryFor * 1000 },
    signal,
  };
}

/** Aborts on the first SIGINT or SIGTERM (the client stops between tasks). */
export function stopSignal(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  return ac.signal;
}
