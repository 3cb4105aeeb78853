// The protocol's messages as bytes: a small versioned binary format. Every message starts with
// an 8-byte header: magic "SA" (0x53 0x41), version (1), kind (1-7), round (uint32 LE). All
// integers are little-endian; ids are uint32; every list is sorted by id, strictly increasing.
// Decoding trusts nothing: every count is checked against the bytes that remain before anything
// is allocated, the kind and round must be the expected ones, no byte may trail, and every fault
// is a SecAggError('malformed' | 'round') saying what is wrong and where.
//
//   advertise        client u32 | encryption key [32] | masking key [32]
//   roster           threshold u16 | neighbours u16 (0: all) | clip f64 | count u16 | (id u32 | enc key [32] | mask key [32]) x count
//   shares           sender u32 | seed commitment [32] | count u16 | (receiver u32 | bundle [102]) x count
//   relay            receiver u32 | count u16 | (sender u32 | bundle [102]) x count
//   masked           sender u32 | length u32 | value u32 x length
//   unmask-request   count u16 | survivor u32 x count | count u16 | dropped u32 x count
//   unmask-response  sender u32 | count u16 | (subject u32 | secret u8 (1 seed, 2 key) | share [33]) x count
import { KEY_BYTES, LITTLE_ENDIAN_HOST, SEALED_BUNDLE_BYTES, SHARE_BYTES } from './crypto.js';
import { SecAggError } from './errors.js';
import { MAX_CLIENTS } from './fixed-point.js';

export const WIRE_VERSION = 1;
export const MAGIC = [0x53, 0x41] as const;
export const HEADER_BYTES = 8;
/** Longest masked vector a message may carry (2^28 entries, 1 GiB). */
export const MAX_VECTOR_LENGTH = 2 ** 28;

export const MESSAGE_KINDS = ['advertise', 'roster', 'shares', 'relay', 'masked', 'unmask-request', 'unmask-response'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export interface RosterEntry {
  readonly id: number;
  /** Public X25519 key c_u, for the share bundles. */
  readonly encryptionKey: Uint8Array;
  /** Public X25519 key s_u, for the pairwise masks. */
  readonly maskingKey: Uint8Array;
}
/** A sealed share bundle and the other end of it (its receiver in `shares`, its sender in `relay`). */
export interface SealedBundle {
  readonly peer: number;
  readonly sealed: Uint8Array;
}
export interface ShareOf {
  readonly subject: number;
  readonly secret: 'seed' | 'key';
  readonly share: Uint8Array;
}

export type SecAggMessage =
  | { kind: 'advertise'; round: number; client: number; encryptionKey: Uint8Array; maskingKey: Uint8Array }
  | { kind: 'roster'; round: number; threshold: number; neighbours: number | null; clip: number; clients: readonly RosterEntry[] }
  | { kind: 'shares'; round: number; sender: number; seedCommitment: Uint8Array; bundles: readonly SealedBundle[] }
  | { kind: 'relay'; round: number; receiver: number; bundles: readonly SealedBundle[] }
  | { kind: 'masked'; round: number; sender: number; values: Uint32Array }
  | { kind: 'unmask-request'; round: number; survivors: readonly number[]; dropped: readonly number[] }
  | { kind: 'unmask-response'; round: number; sender: number; shares: readonly ShareOf[] };

export type MessageOf<K extends MessageKind> = Extract<SecAggMessage, { kind: K }>;

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void { this.view.setUint8(this.at++, v); }
  u16(v: number): void { this.view.setUint16(this.at, v, true); this.at += 2; }
  u32(v: number): void { this.view.setUint32(this.at, v, true); this.at += 4; }
  f64(v: number): void { this.view.setFloat64(this.at, v, true); this.at += 8; }
  raw(b: Uint8Array, length: number, what: string): void {
    if (!(b instanceof Uint8Array) || b.length !== length) throw new SecAggError('options', `${what} must be ${length} bytes`);
    this.bytes.set(b, this.at);
    this.at += length;
  }
  words(values: Uint32Array): void {
    if (LITTLE_ENDIAN_HOST) this.bytes.set(new Uint8Array(values.buffer, values.byteOffset, 4 * values.length), this.at);
    else values.forEach((v, i) => this.view.setUint32(this.at + 4 * i, v, true));
    this.at += 4 * values.length;
  }
  count(n: number, what: string): void {
    if (n > MAX_CLIENTS) throw new SecAggError('options', `${what}: ${n} entries, at most ${MAX_CLIENTS}`);
    this.u16(n);
  }
}

/** The bytes of a message. Lists must already be sorted by id (the encoder checks). */
export function encodeMessage(m: SecAggMessage): Uint8Array {
  const w = new Writer(HEADER_BYTES + bodyBytes(m));
  w.u8(MAGIC[0]); w.u8(MAGIC[1]); w.u8(WIRE_VERSION); w.u8(MESSAGE_KINDS.indexOf(m.kind) + 1); w.u32(m.round);
  switch (m.kind) {
    case 'advertise':
      w.u32(m.client); w.raw(m.encryptionKey, KEY_BYTES, 'encryption key'); w.raw(m.maskingKey, KEY_BYTES, 'masking key');
      break;
    case 'roster':
      w.u16(m.threshold); w.u16(m.neighbours ?? 0); w.f64(m.clip); w.count(m.clients.length, 'roster');
      checkSorted(m.clients.map((c) => c.id), 'roster ids');
      for (const c of m.clients) { w.u32(c.id); w.raw(c.encryptionKey, KEY_BYTES, 'encryption key'); w.raw(c.maskingKey, KEY_BYTES, 'masking key'); }
      break;
    case 'shares':
    case 'relay':
      w.u32(m.kind === 'shares' ? m.sender : m.receiver);
      if (m.kind === 'shares') w.raw(m.seedCommitment, KEY_BYTES, 'seed commitment');
      w.count(m.bundles.length, 'bundles');
      checkSorted(m.bundles.map((b) => b.peer), 'bundle peers');
      for (const b of m.bundles) { w.u32(b.peer); w.raw(b.sealed, SEALED_BUNDLE_BYTES, 'sealed bundle'); }
      break;
    case 'masked':
      w.u32(m.sender); w.u32(m.values.length);
      w.words(m.values);
      break;
    case 'unmask-request':
      for (const ids of [m.survivors, m.dropped]) {
        w.count(ids.length, 'unmask request');
        checkSorted(ids, 'unmask request ids');
        for (const id of ids) w.u32(id);
      }
      break;
    case 'unmask-response':
      w.u32(m.sender); w.count(m.shares.length, 'unmask response');
      checkSorted(m.shares.map((s) => s.subject), 'share subjects');
      for (const s of m.shares) { w.u32(s.subject); w.u8(s.secret === 'seed' ? 1 : 2); w.raw(s.share, SHARE_BYTES, 'share'); }
      break;
  }
  return w.bytes;
}

function bodyBytes(m: SecAggMessage): number {
  switch (m.kind) {
    case 'advertise': return 4 + 2 * KEY_BYTES;
    case 'roster': return 2 + 2 + 8 + 2 + m.clients.length * (4 + 2 * KEY_BYTES);
    case 'shares': return 4 + KEY_BYTES + 2 + m.bundles.length * (4 + SEALED_BUNDLE_BYTES);
    case 'relay': return 4 + 2 + m.bundles.length * (4 + SEALED_BUNDLE_BYTES);
    case 'masked': return 8 + 4 * m.values.length;
    case 'unmask-request': return 4 + 4 * (m.survivors.length + m.dropped.length);
    case 'unmask-response': return 4 + 2 + m.shares.length * (5 + SHARE_BYTES);
  }
}

function checkSorted(ids: readonly number[], what: string): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i]! > ids[i - 1]!)) throw new SecAggError('options', `${what} must be strictly increasing (${ids[i - 1]} then ${ids[i]})`);
  }
}

