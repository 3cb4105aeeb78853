// The cryptography of the protocol, all from audited libraries: X25519 (@noble/curves), HKDF and
// SHA-256 (@noble/hashes), ChaCha20 as the mask PRG and ChaCha20-Poly1305 for the shares sent
// between clients (@noble/ciphers). Every derived key is bound to the round's context: the round
// number and the SHA-256 of the roster (ids and public keys of every participant), so keys,
// masks and ciphertexts of one round are useless in any other round or participant set.
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20, chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { SecAggError } from './errors.js';

/** Fills a fresh array of `length` random bytes. The default is the platform CSPRNG. */
export type RandomSource = (length: number) => Uint8Array;

/** globalThis.crypto.getRandomValues, through @noble/hashes (Node 20 and browsers alike). */
export const systemRandom: RandomSource = (length) => randomBytes(length);

/**
 * A deterministic random source (ChaCha20 keystream of a key hashed from `seed`), for tests and
 * benchmarks that must repeat exactly. Never use it for a real deployment: anyone who knows the
 * seed knows every key.
 */
export function seededRandom(seed: number): RandomSource {
  const key = sha256(utf8ToBytes(`dgp-secagg seeded random ${seed}`));
  const zeros = new Uint8Array(4096);
  let block = 0;
  let pool = new Uint8Array(0);
  let at = 0;
  return (length) => {
    const out = new Uint8Array(length);
    for (let filled = 0; filled < length; ) {
      if (at === pool.length) {
        pool = chacha20(key, new Uint8Array(12), zeros, undefined, block);
        block += zeros.length / 64;
        at = 0;
      }
      const k = Math.min(length - filled, pool.length - at);
      out.set(pool.subarray(at, at + k), filled);
      filled += k;
      at += k;
    }
    return out;
  };
}

export const KEY_BYTES = 32;
/** A Shamir share of a 32-byte secret: the 32 evaluated bytes and the x-coordinate. */
export const SHARE_BYTES = KEY_BYTES + 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Plaintext of a share bundle: sender id, receiver id, share of b_u, share of s_u's secret key. */
const BUNDLE_PLAIN_BYTES = 4 + 4 + 2 * SHARE_BYTES;
/** A sealed share bundle: nonce, ciphertext, Poly1305 tag. */
export const SEALED_BUNDLE_BYTES = NONCE_BYTES + BUNDLE_PLAIN_BYTES + TAG_BYTES;

/** What binds a derivation to one round: its number and the SHA-256 of its roster message. */
export interface RoundContext {
  readonly round: number;
  readonly rosterDigest: Uint8Array;
}

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function keyPair(random: RandomSource): KeyPair {
  const secretKey = random(KEY_BYTES);
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== KEY_BYTES) {
    throw new SecAggError('options', `the random source returned ${describe(secretKey)} for ${KEY_BYTES} bytes`);
  }
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/** X25519; a low-order or malformed public key is a protocol error naming its owner. */
export function agree(secretKey: Uint8Array, publicKey: Uint8Array, owner: string): Uint8Array {
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch (e) {
    throw new SecAggError('protocol', `the public key of ${owner} is unusable for X25519 (${(e as Error).message})`);
  }
}

/** Refuses a public key whose shared secret with any key is all zeros (a low-order point). */
export function checkPublicKey(publicKey: Uint8Array, owner: string): void {
  agree(PROBE_SECRET, publicKey, owner);
}
const PROBE_SECRET = sha256(utf8ToBytes('dgp-secagg public key probe'));

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(4 * i, v, true));
  return out;
}

function derive(label: string, ikm: Uint8Array, ctx: RoundContext, ...ids: number[]): Uint8Array {
  return hkdf(sha256, ikm, ctx.rosterDigest, concatBytes(utf8ToBytes(`dgp-secagg/v1 ${label}`), u32s(ctx.round, ...ids)), KEY_BYTES);
}

/** The key of the bundle `sender` seals for `receiver`: one key per direction and round. */
function bundleKey(shared: Uint8Array, ctx: RoundContext, sender: number, receiver: number): Uint8Array {
  return derive('share bundle', shared, ctx, sender, receiver);
}

function bundleAad(ctx: RoundContext, sender: number, receiver: number): Uint8Array {
  return concatBytes(utf8ToBytes('dgp-secagg/v1 share bundle'), u32s(ctx.round, sender, receiver), ctx.rosterDigest);
}

export interface ShareBundle {
  /** The receiver's share of the sender's self-mask seed b_u. */
  readonly seedShare: Uint8Array;
  /** The receiver's share of the sender's masking secret key s_u. */
  readonly keyShare: Uint8Array;
}

/**
 * ChaCha20-Poly1305 under a key derived from `shared` = X25519(c_sender, c_receiver), the
 * direction and the round; the ids, the round and the roster digest are the associated data.
 */
export function sealBundle(bundle: ShareBundle, ctx: RoundContext, sender: number, receiver: number, shared: Uint8Array, random: RandomSource): Uint8Array {
  const plain = concatBytes(u32s(sender, receiver), bundle.seedShare, bundle.keyShare);
  const nonce = random(NONCE_BYTES);
  const key = bundleKey(shared, ctx, sender, receiver);
  return concatBytes(nonce, chacha20poly1305(key, nonce, bundleAad(ctx, sender, receiver)).encrypt(plain));
}

export function openBundle(sealed: Uint8Array, ctx: RoundContext, sender: number, receiver: number, shared: Uint8Array): ShareBundle {
  const key = bundleKey(shared, ctx, sender, receiver);
  let plain: Uint8Array;
  try {
    plain = chacha20poly1305(key, sealed.subarray(0, NONCE_BYTES), bundleAad(ctx, sender, receiver)).decrypt(sealed.subarray(NONCE_BYTES));
  } catch {
    throw new SecAggError('decrypt', `the share bundle from client ${sender} to client ${receiver} fails to decrypt in round ${ctx.round} (tampered, misaddressed or from another round)`);
  }
  const view = new DataView(plain.buffer, plain.byteOffset, plain.length);
  if (view.getUint32(0, true) !== sender || view.getUint32(4, true) !== receiver) {
    throw new SecAggError('protocol', `the share bundle from client ${sender} to client ${receiver} names other clients inside`);
  }
  return { seedShare: plain.slice(8, 8 + SHARE_BYTES), keyShare: plain.slice(8 + SHARE_BYTES) };
}

/** SHA-256 commitment to b_u, sent to the server so it can check the seed it reconstructs. */
export function seedCommitment(seed: Uint8Array, ctx: RoundContext, owner: number): Uint8Array {
  return sha256(concatBytes(utf8ToBytes('dgp-secagg/v1 seed commitment'), u32s(ctx.round, owner), ctx.rosterDigest, seed));
}

/** PRG key of the self-mask of `owner`. */
export function selfMaskKey(seed: Uint8Array, ctx: RoundContext, owner: number): Uint8Array {
  return derive('self mask', seed, ctx, owner);
}

/** PRG key of the pairwise mask of clients a and b (the same key from either side). */
export function pairMaskKey(ownSecret: Uint8Array, peerPublic: Uint8Array, ctx: RoundContext, a: number, b: number, peer: number): Uint8Array {
  return derive('pair mask', agree(ownSecret, peerPublic, `client ${peer}`), ctx, Math.min(a, b), Math.max(a, b));
}

export const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** target += sign * PRG(key) mod 2^32, the PRG being the ChaCha20 keystream read as uint32 LE. */
export function addMask(target: Uint32Array, key: Uint8Array, sign: 1 | -1): void {
  const stream = chacha20(key, new Uint8Array(NONCE_BYTES), new Uint8Array(4 * target.length));
  const words = LITTLE_ENDIAN_HOST ? new Uint32Array(stream.buffer, stream.byteOffset, target.length) : littleEndianWords(stream);
  if (sign === 1) for (let i = 0; i < target.length; i++) target[i] = target[i]! + words[i]!;
  else for (let i = 0; i < target.length; i++) target[i] = target[i]! - words[i]!;
}

function littleEndianWords(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}

function describe(v: unknown): string {
  return v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
