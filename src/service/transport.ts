// How a Node party reaches a service: the Connect protocol (binary) over HTTP/2, TLS checked
// against the run's CA, and the party's credential on every call. A browser client makes the same
// calls through @connectrpc/connect-web.
import type { Transport } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { Credential } from './auth.js';
import { authInterceptor } from './protocol.js';

export interface TransportOptions {
  url: string;
  credential: Credential;
  /** PEM of the CA that signed the service's certificate (https); default: the system's CAs. */
  ca?: Buffer;
  /** The largest message accepted from the service. */
  readMaxBytes?: number;
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
    nodeOptions: o.ca ? { ca: o.ca } : {},
    // Notice a dead connection between rounds instead of waiting on it.
    pingIntervalMs: 10_000,
    pingTimeoutMs: 10_000,
  });
}
