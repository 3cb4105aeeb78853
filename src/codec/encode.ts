// Encoder of the wire format (see format.ts). The size of every part is planned first, so a
// message is written into one exactly-sized buffer and its size is known without writing it.
import { sizeOf, checkPositions, type ClientUpdate, type Levels, type UpdateTensor } from '../common/index.js';
import {
  bitmapBytes, choosePositionCoding, CODINGS, DTYPE_BYTES, DTYPES, FIXED_HEADER_BYTES, KINDS, levelBits, levelsBytes,
  LITTLE_ENDIAN_HOST, MAGIC, MAX_LEVELS, MAX_RANK, type MessageHeader, type PositionCoding, sharedSetOf, varintBytes, VERSION,
  type WireDtype, WireFormatError,
} from './format.js';
import { toHalfBits } from './half.js';

export interface EncodeOptions {
  /** Value precision on the wire (default float32, lossless). float16: see half.ts for the loss. */
  dtype?: 'float32' | 'float16';
  /**
   * Position sets both sides already hold (ADGP's common set), by tensor name. A sparse tensor
   * whose positions equal its shared set is sent as values only.
   */
  shared?: Readonly<Record<string, Uint32Array>>;
}

/** Positions without values, e.g. a client's DGP band sent to the ADGP broadcaster. */
export interface PositionTensor {
  name: string;
  shape: number[];
  indices: Uint32Array;
}

interface Plan {
  label: string;
  name: Uint8Array;
  shape: number[];
  n: number;
  dtype: WireDtype;
  coding: PositionCoding;
  indices: Uint32Array | null;
  values: Float32Array | null;
  levels: Levels | null;
  bytes: number;
}

const utf8 = new TextEncoder();

function plan(u: UpdateTensor | PositionTensor, dtype: WireDtype, shared: Uint32Array | undefined): Plan {
  // dtype becomes 'levels' below for a quantiser's tensor.
  const n = sizeOf(u.shape);
  if (u.shape.length > MAX_RANK) throw new WireFormatError(`tensor "${u.name}": rank ${u.shape.length} exceeds ${MAX_RANK}`);
  for (const d of u.shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new WireFormatError(`tensor "${u.name}": bad dimension ${d}`);
  }
  const name = utf8.encode(u.name);
  let bytes = varintBytes(name.length) + name.length + 1 + u.shape.reduce((s, d) => s + varintBytes(d), 0) + 2;
  const values = 'values' in u ? u.values : null;
  const indices = 'kind' in u ? (u.kind === 'sparse' ? u.indices : null) : u.indices;
  let coding: PositionCoding = 'dense';
  if (indices) {
    if (shared && sameSet(shared, indices)) {
      coding = 'shared';
      checkPositions(u.name, indices, n);
    }
    else {
      const c = choosePositionCoding(indices, n);
      coding = c.coding;
      bytes += c.bytes;
    }
    bytes += varintBytes(indices.length);
  }
  // A quantiser's integers travel as such unless the caller asked for float16.
  const levels = 'kind' in u && u.levels && dtype === 'float32' ? checkedLevels(u.name, u.values, u.levels) : null;
  if (levels) dtype = 'levels';
  bytes += levels ? levelsBytes(levels.q.length, levels.s) : (values ? values.length : 0) * DTYPE_BYTES[dtype as Exclude<WireDtype, 'levels'>];
  return { label: u.name, name, shape: u.shape, n, dtype, coding, indices, values, levels, bytes };
}

/** The levels, after checking that they give exactly the values they stand for. */
function checkedLevels(name: string, values: Float32Array, l: Levels): Levels {
  const { scale, s, q } = l;
  if (!(Number.isInteger(s) && s >= 1 && s <= MAX_LEVELS) || !(Number.isFinite(scale) && scale >= 0) || q.length !== values.length) {
    throw new WireFormatError(`tensor "${name}": levels (scale ${scale}, s ${s}, ${q.length} integers) do not describe ${values.length} values`);
  }
  for (let j = 0; j < q.length; j++) {
    const k = q[j]!;
    if (!(k >= -s && k <= s) || Math.fround((k * scale) / s) !== values[j] || !Number.isFinite(values[j]!)) {
      throw new WireFormatError(`tensor "${name}": level ${k} at slot ${j} does not give its value ${values[j]}`);
    }
  }
  return l;
}

function sameSet(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
  return true;
}

function headerBytes(count: number): number {
  return FIXED_HEADER_BYTES + varintBytes(count);
}

/** Exact size in bytes of encodeUpdate(header, update, options), without encoding. */
export function encodedSize(update: ClientUpdate, options: EncodeOptions = {}): number {
  const dtype = options.dtype ?? 'float32';
  return update.reduce((s, u) => s + plan(u, dtype, sharedSetOf(options.shared, u.name)).bytes, headerBytes(update.length));
}

/** Exact size in bytes of encodePositions(header, tensors). */
export function encodedPositionsSize(tensors: readonly PositionTensor[]): number {
  return tensors.reduce((s, t) => s + plan(t, 'none', undefined).bytes, headerBytes(tensors.length));
}

export function encodeUpdate(header: MessageHeader, update: ClientUpdate, options: EncodeOptions = {}): Uint8Array {
  if (header.kind === 'positions') throw new WireFormatError(`a message of kind "positions" is made by encodePositions`);
  const dtype = options.dtype ?? 'float32';
  for (const u of update) {
    const n = sizeOf(u.shape);
    if (u.kind === 'dense' && u.values.length !== n) throw new WireFormatError(`tensor "${u.name}": ${u.values.length} values for ${n} entries`);
    if (u.kind === 'sparse' && u.indices.length !== u.values.length) {
      throw new WireFormatError(`tensor "${u.name}": ${u.indices.length} positions but ${u.values.length} values`);
    }
  }
  return write(header, update.map((u) => plan(u, dtype, sharedSetOf(options.shared, u.name))));
}

export function encodePositions(header: Omit<MessageHeader, 'kind'>, tensors: readonly PositionTensor[]): Uint8Array {
  return write({ ...header, kind: 'positions' }, tensors.map((t) => plan(t, 'none', undefined)));
}

/** Addresses an encoded message to another client, in place: only the header's client id changes (one message encoded once, sent to many). */
export function readdress(message: Uint8Array, clientId: number): void {
  if (message.length < FIXED_HEADER_BYTES || MAGIC.some((b, i) => message[i] !== b)) throw new WireFormatError('readdress: not an encoded message');
  if (!Number.isInteger(clientId) || clientId < 0 || clientId > 0xffffffff) throw new WireFormatError(`header clientId ${clientId} is not a u32`);
  new DataView(message.buffer, message.byteOffset, message.byteLength).setUint32(11, clientId, true);
}

function write(header: MessageHeader, plans: Plan[]): Uint8Array {
  for (const [what, v] of [['round', header.round], ['clientId', header.clientId]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new WireFormatError(`header ${what} ${v} is not a u32`);
  }
  const out = new Uint8Array(plans.reduce((s, p) => s + p.bytes, headerBytes(plans.length)));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = KINDS.indexOf(header.kind);
  out[6] = 0;
  view.setUint32(7, header.round, true);
  view.setUint32(11, header.clientId, true);
  let at = writeVarint(out, FIXED_HEADER_BYTES, plans.length);
  for (const p of plans) at = writeTensor(out, view, at, p);
  if (at !== out.length) throw new Error(`internal: wrote ${at} of ${out.length} planned bytes`);
  return out;
}

function writeTensor(out: Uint8Array, view: DataView, at: number, p: Plan): number {
  at = writeVarint(out, at, p.name.length);
  out.set(p.name, at);
  at += p.name.length;
  out[at++] = p.shape.length;
  for (const d of p.shape) at = writeVarint(out, at, d);
  out[at++] = DTYPES.indexOf(p.dtype);
  out[at++] = CODINGS.indexOf(p.coding);
  if (p.indices) {
    at = writeVarint(out, at, p.indices.length);
    // Positions are checked (increasing, inside the tensor) as they are written.
    const idx = p.indices;
    let prev = -1;
    if (p.coding === 'bitmap') {
      const bad = writeBitmap(out, at, idx, p.n);
      if (bad >= 0) throw badPosition(p, bad, bad > 0 ? idx[bad - 1]! : -1);
      at += bitmapBytes(p.n);
    } else if (p.coding === 'gaps') {
      for (let j = 0; j < idx.length; j++) {
        const i = idx[j]!;
        if (i <= prev || i >= p.n) throw badPosition(p, j, prev);
        at = writeVarint(out, at, i - Math.max(prev, 0));
        prev = i;
      }
    }
  }
  if (p.levels) at = writeLevels(out, view, at, p.levels);
  else if (p.values) at = writeValues(out, view, at, p.values, p.dtype, p.label);
  return at;
}

/**
 * Sets bit idx[j] of the bitmap at `at` (LSB first) for every j; returns the first slot whose
 * position does not increase or lies outside n entries, or -1. (The hot loops of the encoder are
 * functions of their own so that V8 optimises them whole.)
 */
function writeBitmap(out: Uint8Array, at: number, idx: Uint32Array, n: number): number {
  let prev = -1;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    if (i <= prev || i >= n) return j;
    prev = i;
    out[at + (i >>> 3)] |= 1 << (i & 7);
  }
  return -1;
}

/** The first slot whose float32 bits are not finite, or -1. */
function firstNonFinite(bits: Uint32Array): number {
  for (let j = 0; j < bits.length; j++) if ((bits[j]! & 0x7f800000) === 0x7f800000) return j;
  return -1;
}

function badPosition(p: Plan, j: number, prev: number): WireFormatError {
  const i = p.indices![j]!;
  return new WireFormatError(
    i >= p.n
      ? `tensor "${p.label}": position ${i} at slot ${j} is outside ${p.n} entries`
      : `tensor "${p.label}": position ${i} at slot ${j} does not increase (after ${prev})`,
  );
}

function writeValues(out: Uint8Array, view: DataView, at: number, v: Float32Array, dtype: WireDtype, name: string): number {
  if (dtype === 'float16') {
    for (let j = 0; j < v.length; j++) {
      const h = toHalfBits(v[j]!);
      if (h < 0) throw new WireFormatError(`tensor "${name}": value ${v[j]} at slot ${j} has no finite float16 (|x| <= 65504); send float32`);
      view.setUint16(at + 2 * j, h, true);
    }
    return at + 2 * v.length;
  }
  const j = firstNonFinite(new Uint32Array(v.buffer, v.byteOffset, v.length));
  if (j >= 0) throw new WireFormatError(`tensor "${name}": value ${v[j]} at slot ${j} is not finite`);
  if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
  else for (let j = 0; j < v.length; j++) view.setFloat32(at + 4 * j, v[j]!, true);
  return at + 4 * v.length;
}

function writeLevels(out: Uint8Array, view: DataView, at: number, l: Levels): number {
  view.setFloat64(at, l.scale, true);
  at = writeVarint(out, at + 8, l.s);
  const bits = levelBits(l.s);
  let acc = 0;
  let filled = 0;
  for (let j = 0; j < l.q.length; j++) {
    acc |= (l.q[j]! + l.s) << filled;
    filled += bits;
    while (filled >= 8) {
      out[at++] = acc & 0xff;
      acc >>>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) out[at++] = acc & 0xff;
  return at;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}
