// The options every service command shares (`dgp serve`, `dgp broadcaster`): where it listens,
// its TLS certificate, who may call it, and the limits against hostile peers; and how those become
// the service's settings, with the checks a deployment needs (TLS unless --insecure, and plain
// HTTP/2 only on loopback unless forced).
import { isIP } from 'node:net';
import { z } from 'zod';
import { AccessList, DEFAULT_LIMITS, type Limits, readPem } from '../service/index.js';
import { int, num, type OptionSpec, parseHostPort, UsageError } from './args.js';

export const serviceShape = (defaultPort: number) => ({
  listen: z.string().default(`127.0.0.1:${defaultPort}`),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  insecure: z.boolean().optional(),
  force: z.boolean().optional(),
  access: z.string({ required_error: 'is required: the access file with the tokens\' hashes (dgp credentials makes one)' }),
  maxConnections: int().positive().default(DEFAULT_LIMITS.maxConnections),
  authDeadline: num().positive().default(DEFAULT_LIMITS.authDeadlineMs / 1000),
  maxMessageMib: num().positive().default(DEFAULT_LIMITS.maxMessageBytes / 2 ** 20),
  bodyDeadline: num().positive().default(DEFAULT_LIMITS.slowSenderMs / 1000),
});

export const serviceOptions = (defaultPort: number): Record<string, OptionSpec> => ({
  listen: { type: 'string', description: 'HOST:PORT to listen on (0.0.0.0 for every interface; port 0: any free port)', default: `127.0.0.1:${defaultPort}` },
  'tls-cert': { type: 'string', description: 'PEM certificate of this service (dgp certs makes one)' },
  'tls-key': { type: 'string', description: 'PEM private key of that certificate' },
  insecure: { type: 'boolean', description: 'plain HTTP/2 without TLS: loopback only, unless --force' },
  force: { type: 'boolean', description: 'allow --insecure on a non-loopback address; overwrite a checkpoint folder of another run' },
  access: { type: 'string', description: 'JSON access file: the SHA-256 of each token and the role it grants; reloaded on SIGHUP' },
  'max-connections': { type: 'string', description: 'connections at once', default: String(DEFAULT_LIMITS.maxConnections) },
  'auth-deadline': { type: 'string', description: 'seconds a connection has to make an authenticated request', default: String(DEFAULT_LIMITS.authDeadlineMs / 1000) },
  'max-message-mib': { type: 'string', description: 'largest message after authentication, MiB (before it: 16 KiB)', default: String(DEFAULT_LIMITS.maxMessageBytes / 2 ** 20) },
  'body-deadline': { type: 'string', description: 'seconds a request\'s body has to arrive in full (a peer that stops sending mid-message loses the request)', default: String(DEFAULT_LIMITS.slowSenderMs / 1000) },
});

type ServiceFlags = z.infer<z.ZodObject<ReturnType<typeof serviceShape>>>;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export interface ServiceSettings {
  host: string;
  port: number;
  tls: { cert: Buffer; key: Buffer } | null;
  limits: Partial<Limits>;
}

export function serviceSettings(o: ServiceFlags): ServiceSettings {
  let address: { host: string; port: number };
  try {
    address = parseHostPort(o.listen);
  } catch (e) {
    throw new UsageError(`invalid --listen: ${(e as Error).message}`);
  }
  const { host, port } = address;
  let tls: ServiceSettings['tls'] = null;
  if (o.insecure) {
    if (o.tlsCert || o.tlsKey) throw new UsageError('give --insecure or --tls-cert/--tls-key, not both');
    if (!isLoopback(host) && !o.force) throw new UsageError(`refusing to serve without TLS on ${host}: anyone on the network could read and alter the run; use --tls-cert/--tls-key, or add --force`);
  } else {
    if (!o.tlsCert || !o.tlsKey) throw new UsageError('TLS is on by default: give --tls-cert and --tls-key (dgp certs makes them), or --insecure on loopback');
    tls = { cert: readPem(o.tlsCert, '--tls-cert'), key: readPem(o.tlsKey, '--tls-key') };
  }
  return {
    host,
    port,
    tls,
    limits: { maxConnections: o.maxConnections, authDeadlineMs: o.authDeadline * 1000, maxMessageBytes: Math.round(o.maxMessageMib * 2 ** 20), slowSenderMs: o.bodyDeadline * 1000 },
  };
}

/** The access list, reloaded on SIGHUP (a broken file keeps the one in use, and says why). */
export function reloadableAccess(path: string, log: (line: string) => void): () => AccessList {
  let current = AccessList.load(path);
  process.on('SIGHUP', () => {
    try {
      current = AccessList.load(path);
      log(`reloaded ${path}: ${current.clientIds.length} client tokens`);
    } catch (e) {
      log(`kept the access list in use: ${(e as Error).message}`);
    }
  });
  return () => current;
}

/** Stops at the first SIGINT/SIGTERM between rounds; a second one exits at once. */
export function interruptSignal(log: (line: string) => void): AbortSignal {
  const ac = new AbortController();
  const stop = (sig: string) => {
    if (ac.signal.aborted) process.exit(130);
    log(`${sig}: stopping after the round in progress (again to quit at once)`);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return ac.signal;
}
