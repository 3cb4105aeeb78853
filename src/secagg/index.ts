// Secure aggregation (Bonawitz et al., CCS 2017, "Practical Secure Aggregation for
// Privacy-Preserving Machine Learning"), honest-but-curious server: the server learns the sum of
// the clients' vectors and which clients are in it, nothing about any one client's vector, and a
// round survives up to n - t clients dropping at any step. With `neighbours: k`, SecAgg+ (Bell et
// al., CCS 2020): clients share and mask only with their k neighbours of a random k-regular
// graph, so a client's work grows with k instead of n. Engine-free and free of Node
// built-ins (it bundles for browsers); the cryptography is @noble/curves (X25519),
// @noble/hashes (HKDF-SHA256, SHA-256), @noble/ciphers (ChaCha20 PRG, ChaCha20-Poly1305) and
// shamir-secret-sharing (t-of-n over GF(256)). See docs/secure-aggregation.md.
//
// In one process:
//   const { sum, contributors } = await aggregateSecurely(new Map([[0, x0], [1, x1], [2, x2]]), { threshold: 2, clip: 1 });
// Across a network, one SecAggClient per client and one SecAggServer per round exchange the bytes:
//   client.advertiseKeys() -> server.receiveAdvertisement(m) ... server.closeAdvertising() -> roster
//   client.shareKeys(roster) -> server.receiveShares(m)       ... server.closeShareKeys()  -> relays[id]
//   client.maskInput(relay, x) -> server.receiveMaskedInput(m) ... server.closeMaskedInput() -> request
//   client.unmask(request) -> server.receiveUnmaskResponse(m)  ... await server.finish() -> { sum, contributors, errorBound }
//
// Values: Float32Array of any length L, clipped to [-clip, clip] and quantised into Z_(2^32) with
// scale floor((2^31 - 1) / n) / clip for a roster of n clients, so no sum of them wraps wrongly;
// the decoded sum of m contributors is within sumErrorBound(fixedPoint(clip, n), m), about
// m * n * clip / 2^32, of the exact sum of the clipped inputs (the mean within about n * clip / 2^32).
export { SecAggClient, type SecAggClientOptions } from './client.js';
export { SecAggServer, type SecAggServerOptions, type SecureSum, type RoundProgress, type ServerPhase } from './server.js';
export { aggregateSecurely, type SecureAggregationOptions, type SecureAggregationResult, type Traffic } from './driver.js';
export type { RoundOptions } from './options.js';
export { SecAggError, type SecAggErrorCode } from './errors.js';
export { fixedPoint, quantise, dequantiseSum, sumErrorBound, MAX_CLIENTS, type FixedPoint } from './fixed-point.js';
export { systemRandom, seededRandom, type RandomSource } from './crypto.js';
export { closedNeighbourhoods } from './graph.js';
export {
  encodeMessage, MESSAGE_KINDS, MAX_VECTOR_LENGTH, WIRE_VERSION,
  type MessageKind, type MessageOf, type SecAggMessage, type RosterEntry, type SealedBundle, type ShareOf,
} from './wire.js';
export { decodeMessage, peekMessage } from './wire-decode.js';
