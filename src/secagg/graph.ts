// SecAgg+ (Bell et al., CCS 2020): instead of every pair of clients, only neighbours in a random
// k-regular graph share secrets and masks. The graph is the Harary graph H(n, k) (position i is
// joined to positions i +- 1 ... i +- k/2 mod n) over the roster ids in a random order; the order
// is drawn from a ChaCha20 stream keyed by the roster digest, so every party derives the same
// graph from the roster alone and a new roster gives a new graph.
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Per client, its closed neighbourhood (itself and its neighbours), increasing. `neighbours`
 * null, or at least n - 1, gives the complete graph: the protocol of Bonawitz et al.
 */
export function closedNeighbourhoods(ids: readonly number[], neighbours: number | null, rosterDigest: Uint8Array): Map<number, readonly number[]> {
  const n = ids.length;
  if (neighbours === null || neighbours >= n - 1) return new Map(ids.map((id) => [id, ids]));
  const order = shuffled(ids, sha256(concatBytes(utf8ToBytes('dgp-secagg/v1 graph'), rosterDigest)));
  const out = new Map<number, readonly number[]>();
  order.forEach((id, i) => {
    const hood = [id];
    for (let d = 1; d <= neighbours / 2; d++) hood.push(order[(i + d) % n]!, order[(i - d + n) % n]!);
    out.set(id, hood.sort((a, b) => a - b));
  });
  return out;
}

/** Fisher-Yates with unbiased draws (rejection sampling) from the ChaCha20 keystream of `key`. */
function shuffled(ids: readonly number[], key: Uint8Array): number[] {
  const out = [...ids];
  const stream = chacha20(key, new Uint8Array(12), new Uint8Array(4 * 4 * out.length + 64));
  const view = new DataView(stream.buffer, stream.byteOffset, stream.length);
  let at = 0;
  const below = (m: number): number => {
    const limit = 2 ** 32 - (2 ** 32 % m);
    for (;;) {
      if (at + 4 > stream.length) throw new Error('secagg graph: keystream exhausted'); // p < 2^-100
      const w = view.getUint32(at, true);
      at += 4;
      if (w < limit) return w % m;
    }
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = below(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
