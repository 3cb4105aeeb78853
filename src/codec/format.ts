// The wire format of one message (version 1), shared by the encoder and the decoder.
//
//   magic "DGPU" | version u8 | kind u8 | flags u8 (0) | round u32 LE | clientId u32 LE
//   tensorCount varint, then per tensor:
//     nameLength varint | name UTF-8 | rank u8 | dims varint... | dtype u8 | coding u8
//     [count varint, unless coding is dense] | positions | values (little-endian)
//
// Positions: 'bitmap' is one bit per entry (LSB first), 'gaps' is LEB128 varints of the first
// position and then of each difference to the previous one (a 0 gap would repeat a position and
// is rejected), 'shared' writes none: both sides hold the set, agreed out of band (ADGP).
// Varints are unsigned LEB128 of at most 5 bytes (32 bits).

export const MAGIC = [0x44, 0x47, 0x50, 0x55] as const; // "DGPU"
export const VERSION = 1;
export const FIXED_HEADER_BYTES = 15;
export const MAX_RANK = 8;
export const MAX_NAME_BYTES = 4096;
/** Default cap on the entries a decoder accepts over all tensors of one message (1 GiB of float32). */
export const DEFAULT_MAX_ENTRIES = 2 ** 28;

export type MessageKind = 'update' | 'aggregate' | 'positions';
export const KINDS: readonly MessageKind[] = ['update', 'aggregate', 'positions'];

/**
 * 'none' marks a positions-only tensor (a message of kind 'positions'). 'levels': a quantiser's
 * integers, scale (float64) | s (varint) | each q + s in levelBits(s) bits, low bits first.
 */
export type WireDtype = 'float32' | 'float16' | 'none' | 'levels';
export const DTYPES: readonly WireDtype[] = ['float32', 'float16', 'none', 'levels'];
export const DTYPE_BYTES: Record<Exclude<WireDtype, 'levels'>, number> = { float32: 4, float16: 2, none: 0 };
/** Most quantisation levels a 'levels' tensor may declare (QSGD's own bound). */
export const MAX_LEVELS = 1 << 16;

/** Bits per entry for integers in [-s, s]. */
export function levelBits(s: number): number {
  return 32 - Math.clz32(2 * s);
}

/** Bytes of a 'levels' value block of `count` entries. */
export function levelsBytes(count: number, s: number): number {
  return 8 + varintBytes(s) + Math.ceil((count * levelBits(s)) / 8);
}

/**
 * The shared set of a tensor, looked up as an own property: a name such as "constructor" or
 * "__proto__" must not find what Object.prototype holds under it.
 */
export function sharedSetOf(shared: Readonly<Record<string, Uint32Array>> | undefined, name: string): Uint32Array | undefined {
  if (!shared || !Object.prototype.hasOwnProperty.call(shared, name)) return undefined;
  const set = shared[name];
  return set instanceof Uint32Array ? set : undefined;
}

/** Largest finite float32, 2^128 - 2^104: a value beyond it (rounded) is infinite once decoded. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export type PositionCoding = 'dense' | 'bitmap' | 'gaps' | 'shared';
export const CODINGS: readonly PositionCoding[] = ['dense', 'bitmap', 'gaps', 'shared'];

export interface MessageHeader {
  kind: MessageKind;
  /** Training round the message belongs to (u32). */
  round: number;
  /** Sender, or recipient for a download (u32). */
  clientId: number;
}

/** Thrown by the decoder (and the encoder) for any message that breaks the format. */
export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function varintBytes(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes of the gap coding of strictly increasing positions. */
export function gapBytes(indices: Uint32Array): number {
  let bytes = 0;
  let prev = 0;
  for (let j = 0; j < indices.length; j++) {
    const p = indices[j]!;
    bytes += varintBytes(p - prev);
    prev = p;
  }
  return bytes;
}

export function bitmapBytes(n: number): number {
  return Math.ceil(n / 8);
}

/** The cheaper of bitmap and gaps for these positions in a tensor of n entries (bitmap on a tie). */
export function choosePositionCoding(indices: Uint32Array, n: number): { coding: 'bitmap' | 'gaps'; bytes: number } {
  const bitmap = bitmapBytes(n);
  // Gaps cost at least one byte each: skip counting them when that alone loses.
  if (indices.length >= bitmap) return { coding: 'bitmap', bytes: bitmap };
  const gaps = gapBytes(indices);
  return gaps < bitmap ? { coding: 'gaps', bytes: gaps } : { coding: 'bitmap', bytes: bitmap };
}
