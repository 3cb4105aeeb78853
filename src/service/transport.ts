// How a Node party reaches a service: the Connect protocol (binary) over HTTP/2, TLS checked
// against the run's CA, and the party's credential on every call. A browser client makes the same
// calls through @connectrpc/connect-web.
import type { Http2Session } from 'node:http2';
import type { Transport } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import type { Credential } from './auth.js';
import { authInterceptor, WINDOW_BYTES } from './protocol.js';

export interface TransportOptions {
  url: string;
  credential: Credential;
  /** PEM of the CA that signed the service's certificate (https); default: the system's CAs. */
  ca?: Buffer;
  /** The largest message accepted from the service. */
  readMaxBytes?: number;
}

/** A session manager that opens each connection's flow-control window wide (WINDOW_BYTES). */
class WideSessionManager extends Http2SessionManager {
  private widened = new WeakSet<Http2Session>();

  override async request(...args: Parameters<Http2SessionManager['request']>) {
    const stream = await super.request(...args);
    const session = stream.session;
    if (session && !this.widened.has(session)) {
      this.widened.add(session);
      session.setLocalWindowSize(WINDOW_BYTES);
    }
    return stream;
  }
}

export function nodeTransport(o: TransportOptions): Transport {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new Error(`${o.url}: not a URL (expected https://HOST:PORT)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${o.url}: expected an https:// (or, with --insecure, http://) URL`);
  return createConnectTransport({
    baseUrl: o.url,
    httpVersion: '2',
    useBinaryFormat: true,
    interceptors: [authInterceptor(o.credential)],
    acceptCompression: [],
    readMaxBytes: o.readMaxBytes ?? 64 * 1024 * 1024,
    // Notice a dead connection between rounds instead of waiting on it.
    sessionManager: new WideSessionManager(o.url, { pingIntervalMs: 10_000, pingTimeoutMs: 10_000 }, {
      ...(o.ca ? { ca: o.ca } : {}),
      settings: { initialWindowSize: WINDOW_BYTES },
    }),
  });
}
