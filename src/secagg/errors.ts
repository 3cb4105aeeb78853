// The one error type of the secure-aggregation component. Every fault a peer, a message or a
// caller can cause is reported as a SecAggError with a code a program can branch on.

/**
 * - `malformed`: a message's bytes are not a valid message of the expected kind (truncated,
 *   trailing bytes, bad magic or version, counts that do not fit, ids out of order);
 * - `round`: a message of another aggregation round;
 * - `protocol`: a well-formed message that breaks the protocol (unknown or duplicate sender,
 *   a roster that does not match this client's options, an unmasking request that asks for both
 *   shares of one client, a message out of phase);
 * - `decrypt`: a share bundle that fails authenticated decryption (tampered, addressed to
 *   another client, or replayed from another round) or a reconstructed secret that does not
 *   match its commitment;
 * - `too-few`: fewer than `threshold` clients remain; the round fails and nothing is revealed;
 * - `options`: bad options or inputs given by the caller.
 */
export type SecAggErrorCode = 'malformed' | 'round' | 'protocol' | 'decrypt' | 'too-few' | 'options';

export class SecAggError extends Error {
  override readonly name = 'SecAggError';
  constructor(readonly code: SecAggErrorCode, message: string) {
    super(`secagg: ${message}`);
  }
}

/** Checks that an id is a uint32 (client ids are non-negative integers below 2^32). */
export function checkClientId(id: unknown, what: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new SecAggError('options', `${what} must be an integer in [0, 2^32), got ${String(id)}`);
  }
  return id;
}
