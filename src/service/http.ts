// The HTTP/2 server under every service of a deployment (the run's server, the broadcaster): TLS
// by default, Connect's handlers for the gRPC, gRPC-Web and Connect protocols, and the limits that
// keep a hostile peer from holding resources:
// - a deadline to authenticate: a connection that has made no authenticated request within
//   `authDeadlineMs` of opening (TLS handshake included) is closed;
// - a small message limit before authentication: a request without a valid token is handled by
//   a twin of the routes whose read limit is `unauthenticatedMaxBytes` and which answers
//   `unauthenticated`, so its body is never buffered beyond that;
// - a configured message limit after it (`maxMessageBytes`), a cap on connections and on
//   concurrent streams per connection, and a deadline for a request body to arrive in full
//   (`slowSenderMs`: a peer that stops sending mid-message loses the stream).
// It also counts the bytes on the wire per principal (raw TCP, so TLS and HTTP/2 framing are
// included), for the protocol-overhead figures.
import { createServer as createH2c, createSecureServer, constants as h2, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { Code, ConnectError, cors, createContextKey, createContextValues, type ConnectRouter, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter, type ConnectNodeAdapterOptions } from '@connectrpc/connect-node';
import type { AccessList, Principal } from './auth.js';
import { WINDOW_BYTES } from './protocol.js';

export interface Limits {
  authDeadlineMs: number;
  unauthenticatedMaxBytes: number;
  maxMessageBytes: number;
  maxConnections: number;
  maxConcurrentStreams: number;
  slowSenderMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  authDeadlineMs: 10_000,
  unauthenticatedMaxBytes: 16 * 1024,
  maxMessageBytes: 8 * 1024 * 1024,
  maxConnections: 256,
  maxConcurrentStreams: 32,
  slowSenderMs: 30_000,
};

const principalKey = createContextKey<Principal | null>(null, { description: 'the caller' });

/** The caller of a handler, as its token says; handlers run only for authenticated calls. */
export function callerOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw new ConnectError('no valid credential', Code.Unauthenticated);
  return p;
}

/** Throws permission_denied unless the caller is client `clientId`. */
export function requireClient(ctx: HandlerContext, clientId: number): void {
  const p = callerOf(ctx);
  if (p.role !== 'client') throw new ConnectError(`a ${p.role} credential cannot act as client ${clientId}`, Code.PermissionDenied);
  if (p.clientId !== clientId) throw new ConnectError(`this credential is client ${p.clientId}'s, not client ${clientId}'s`, Code.PermissionDenied);
}

export function requireRole(ctx: HandlerContext, ...roles: Principal['role'][]): Principal {
  const p = callerOf(ctx);
  if (!roles.includes(p.role)) throw new ConnectError(`this call needs a ${roles.join(' or ')} credential, not a ${p.role} one`, Code.PermissionDenied);
  return p;
}

export interface ServiceServerOptions {
  host: string;
  port: number;
  /** PEM certificate and key; null serves plain HTTP/2 (h2c), for --insecure on loopback. */
  tls: { cert: Buffer; key: Buffer } | null;
  routes: (router: ConnectRouter) => void;
  /** Read at every request, so a reloaded access list takes effect at once. */
  access: () => AccessList;
  limits?: Partial<Limits>;
  log?: (line: string) => void;
  /** Served for paths that are not RPCs (the browser client's page); 404 otherwise. */
  fallback?: ConnectNodeAdapterOptions['fallback'];
  /** Origins whose pages may call the service from elsewhere (a static host): CORS for them alone. */
  corsOrigins?: readonly string[];
}

export interface ServiceServer {
  port: number;
  url: string;
  /** Bytes read and written on the wire, per principal key ('client:3', 'server', ...; 'unauthenticated'). */
  wireBytes(): Map<string, number>;
  /** Connections open now. */
  connections(): number;
  close(): Promise<void>;
}

function principalName(p: Principal | null): string {
  if (!p) return 'unauthenticated';
  return p.role === 'client' ? `client:${p.clientId}` : p.role;
}

interface Connection {
  /** The TCP socket: its byte counts are the wire's (TLS records and all). */
  raw: Socket;
  /** The TLS socket over it, once the handshake is done: closing a connection closes this one. */
  secure: Socket | null;
  owner: string;
  deadline: NodeJS.Timeout | null;
  done: boolean;
  /** Bytes of static files (the browser client's page) served on this connection: not the protocol's. */
  staticBytes: number;
  close?: () => void;
}

/** TLS records (29 bytes per 16 KiB) and HTTP/2 DATA frames (9 bytes per 16 KiB) around a static body. */
const STATIC_FRAMING = 1 + 38 / 16384;

export async function startServiceServer(o: ServiceServerOptions): Promise<ServiceServer> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const log = o.log ?? (() => {});
  const reject: Interceptor = () => async () => {
    throw new ConnectError('a valid credential is required (authorization: Bearer TOKEN)', Code.Unauthenticated);
  };
  // Static files (the page) are counted apart, so the protocol's overhead is the protocol's.
  const fallback: ServiceServerOptions['fallback'] = o.fallback && ((req, res) => {
    const c = open.get(keyOf(req.socket));
    res.on('finish', () => {
      if (c) c.staticBytes += Number(res.getHeader('content-length') ?? 0);
    });
    o.fallback!(req, res);
  });
  const common = { routes: o.routes, acceptCompression: [], fallback };
  const principals = new WeakMap<object, Principal>();
  const authed = connectNodeAdapter({
    ...common,
    readMaxBytes: limits.maxMessageBytes,
    contextValues: (req) => createContextValues().set(principalKey, principals.get(req) ?? null),
  });
  const unauthed = connectNodeAdapter({ ...common, readMaxBytes: limits.unauthenticatedMaxBytes, interceptors: [reject] });

  // Wide flow-control windows (see transport.ts): answers of a few MiB arrive without waiting on the server.
  const settings = { maxConcurrentStreams: limits.maxConcurrentStreams, initialWindowSize: WINDOW_BYTES };
  const server = o.tls
    ? createSecureServer({ cert: o.tls.cert, key: o.tls.key, allowHTTP1: true, settings, handshakeTimeout: limits.authDeadlineMs })
    : createH2c({ settings });
  server.maxConnections = limits.maxConnections;

  const open = new Map<string, Connection>();
  const totals = new Map<string, number>();
  const add = (owner: string, n: number) => totals.set(owner, (totals.get(owner) ?? 0) + n);
  /** A connection's bytes, the page's (estimated with its framing) apart from the owner's. */
  const split = (c: Connection): [string, number][] => {
    const page = Math.round(c.staticBytes * STATIC_FRAMING);
    return [[c.owner, c.raw.bytesRead + c.raw.bytesWritten - page], ['page', page]];
  };
  const settle = (c: Connection) => split(c).forEach(([k, n]) => add(k, n));
  const keyOf = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress}|${s.remotePort}`;

  server.on('connection', (raw: Socket) => {
    const key = keyOf(raw);
    const c: Connection = { raw, secure: null, owner: 'unauthenticated', done: false, deadline: null, staticBytes: 0 };
    c.deadline = setTimeout(() => {
      log(`closed a connection from ${raw.remoteAddress}: not authenticated within ${limits.authDeadlineMs} ms`);
      (c.secure ?? raw).destroy();
      raw.destroy();
    }, limits.authDeadlineMs);
    c.deadline.unref();
    open.set(key, c);
    const closed = () => {
      if (c.done) return;
      c.done = true;
      if (c.deadline) clearTimeout(c.deadline);
      settle(c);
      open.delete(key);
    };
    raw.on('close', closed);
    raw.on('error', () => {});
    c.close = closed;
  });
  server.on('secureConnection', (secure: Socket) => {
    const c = open.get(keyOf(secure));
    if (!c) return;
    c.secure = secure;
    secure.on('close', () => c.close?.());
    secure.on('error', () => {});
  });
  // Sessions whose peer misbehaves at the HTTP/2 level end there; the server goes on.
  server.on('sessionError', () => {});
  server.on('session', (session) => {
    try {
      session.setLocalWindowSize(WINDOW_BYTES);
    } catch {
      // A session torn down before it started: nothing to widen.
    }
  });

  const origins = new Set(o.corsOrigins ?? []);
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
      res.setHeader('access-control-expose-headers', cors.exposedHeaders.join(', '));
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': cors.allowedMethods.join(', '),
          'access-control-allow-headers': [...cors.allowedHeaders, 'authorization'].join(', '),
          'access-control-max-age': '7200',
        });
        res.end();
        return;
      }
    }
    const principal = o.access().lookup(req.headers.authorization);
    const c = open.get(keyOf(req.socket));
    if (principal) {
      principals.set(req, principal);
      if (c) {
        if (c.deadline) clearTimeout(c.deadline);
        c.deadline = null;
        if (c.owner === 'unauthenticated') {
          // What the connection carried before its first authenticated request counts as its owner's.
          c.owner = principalName(principal);
        }
      }
    }
    // A body that has not fully arrived within the deadline: the peer stopped sending mid-message.
    const slow = setTimeout(() => {
      log(`reset a request from ${req.socket.remoteAddress} to ${req.url}: its body did not arrive within ${limits.slowSenderMs} ms`);
      if (req.stream) req.stream.close(h2.NGHTTP2_CANCEL);
      else req.socket.destroy();
    }, limits.slowSenderMs);
    slow.unref();
    const done = () => clearTimeout(slow);
    req.once('end', done);
    req.once('close', done);
    // A Date header on every response is some 30 bytes of overhead per call that no client reads.
    res.sendDate = false;
    (principal ? authed : unauthed)(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    port,
    url: `${o.tls ? 'https' : 'http'}://${hostInUrl === '0.0.0.0' ? '127.0.0.1' : hostInUrl}:${port}`,
    wireBytes() {
      const out = new Map(totals);
      for (const c of open.values()) for (const [k, n] of split(c)) out.set(k, (out.get(k) ?? 0) + n);
      return out;
    },
    connections: () => open.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of open.values()) {
          c.secure?.destroy();
          c.raw.destroy();
        }
      }),
  };
}
