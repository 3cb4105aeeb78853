// What both ends of the deployment service agree on, in a module free of Node built-ins (a browser
// client imports it): the protocol version, the chunk size, and the digest commits are checked by.
import type { Interceptor } from '@connectrpc/connect';
import { sha256 } from '@noble/hashes/sha2.js';

export const PROTOCOL_VERSION = 1;
/** Payloads larger than this travel as several messages of one task or answer. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * HTTP/2's default flow-control windows (64 KiB a stream and a connection) make a sender wait on
 * a busy receiver's window updates while it pushes a model, a broadcast or an answer: both ends
 * open them this wide.
 */
export const WINDOW_BYTES = 16 * 1024 * 1024;

export function digest(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Puts a party's token on every call (Node and browser transports alike). */
export function authInterceptor(credential: { token: string }): Interceptor {
  const value = `Bearer ${credential.token}`;
  return (next) => (req) => {
    req.header.set('authorization', value);
    return next(req);
  };
}
