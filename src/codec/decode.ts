// Decoder of the wire format (see format.ts). Messages come from the network, so nothing in them
// is trusted: every count is checked against the bytes that remain, the declared shape, the
// expected layout and the caller's cap before anything is allocated, and every fault is reported
// as a WireFormatError saying what is wrong and where.
import { checkPositions, type ClientUpdate, type TensorLayout, type UpdateTensor } from '../common/index.js';
import type { PositionTensor } from './encode.js';
import {
  bitmapBytes, CODINGS, DEFAULT_MAX_ENTRIES, DTYPE_BYTES, DTYPES, FIXED_HEADER_BYTES, FLOAT32_MAX, KINDS, levelBits, LITTLE_ENDIAN_HOST, MAX_LEVELS,
  MAGIC, MAX_NAME_BYTES, MAX_RANK, type MessageHeader, type MessageKind, sharedSetOf, VERSION, type WireDtype, WireFormatError,
} from './format.js';
import { fromHalfBits } from './half.js';

export interface DecodeOptions {
  /** The names and shapes the message must carry, in order. */
  layout?: readonly TensorLayout[];
  /** The kind the message must be. */
  kind?: MessageKind;
  /** Most entries accepted over all declared shapes (default 2^28). */
  maxEntries?: number;
  /** Longest message accepted, in bytes. */
  maxBytes?: number;
  /** Shared position sets by tensor name, for tensors sent with 'shared' positions (ADGP). */
  shared?: Readonly<Record<string, Uint32Array>>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array, readonly view: DataView) {}

  get left(): number {
    return this.bytes.length - this.at;
  }

  need(n: number, what: string): void {
    if (n > this.left) throw fail(`truncated: ${what} needs ${n} bytes at offset ${this.at}, ${this.left} remain`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.at++]!;
  }

  varint(what: string): number {
    let v = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8(what);
      if (i === 4 && b > 0x0f) throw fail(`${what}: varint at offset ${this.at - 5} overflows 32 bits`);
      v += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return v;
    }
    throw fail(`${what}: varint at offset ${this.at - 5} is longer than 5 bytes`);
  }
}

function fail(message: string): WireFormatError {
  return new WireFormatError(`update message: ${message}`);
}

export interface DecodedMessage<T> {
  header: MessageHeader;
  tensors: T[];
}

/** Decodes a message of kind 'update' or 'aggregate'. */
export function decodeUpdate(bytes: Uint8Array, options: DecodeOptions = {}): { header: MessageHeader; update: ClientUpdate } {
  const m = decode(bytes, options, false);
  if (m.header.kind === 'positions') throw fail(`kind "positions" carries no values (decode it with decodePositions)`);
  return { header: m.header, update: m.tensors as UpdateTensor[] };
}

/** Decodes a message of kind 'positions' (encodePositions). */
export function decodePositions(bytes: Uint8Array, options: DecodeOptions = {}): DecodedMessage<PositionTensor> {
  const m = decode(bytes, options, true);
  if (m.header.kind !== 'positions') throw fail(`kind "${m.header.kind}" where "positions" was expected`);
  return m as DecodedMessage<PositionTensor>;
}

function decode(bytes: Uint8Array, o: DecodeOptions, positionsOnly: boolean): DecodedMessage<UpdateTensor | PositionTensor> {
  if (o.maxBytes !== undefined && bytes.length > o.maxBytes) throw fail(`${bytes.length} bytes exceed the limit of ${o.maxBytes}`);
  const r = new Reader(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  r.need(FIXED_HEADER_BYTES, 'header');
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw fail(`bad magic ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')} (expected 44475055, "DGPU")`);
  if (bytes[4] !== VERSION) throw fail(`unsupported version ${bytes[4]} (this decoder reads version ${VERSION})`);
  const kind = KINDS[bytes[5]!];
  if (!kind) throw fail(`unknown message kind ${bytes[5]}`);
  if (o.kind && kind !== o.kind) throw fail(`kind "${kind}" where "${o.kind}" was expected`);
  if (bytes[6] !== 0) throw fail(`unknown flags ${bytes[6]}`);
  const header = { kind, round: r.view.getUint32(7, true), clientId: r.view.getUint32(11, true) };
  r.at = FIXED_HEADER_BYTES;
  const count = r.varint('tensor count');
  if (o.layout && count !== o.layout.length) throw fail(`${count} tensors where ${o.layout.length} were expected`);
  const budget = { entries: o.maxEntries ?? DEFAULT_MAX_ENTRIES };
  const tensors: (UpdateTensor | PositionTensor)[] = [];
  for (let t = 0; t < count; t++) tensors.push(readTensor(r, t, o, budget, positionsOnly || kind === 'positions'));
  if (r.left > 0) throw fail(`${r.left} trailing bytes after the last tensor (offset ${r.at})`);
  return { header, tensors };
}

function readTensor(r: Reader, t: number, o: DecodeOptions, budget: { entries: number }, positionsOnly: boolean): UpdateTensor | PositionTensor {
  const nameLength = r.varint(`tensor ${t} name length`);
  if (nameLength > MAX_NAME_BYTES) throw fail(`tensor ${t}: name of ${nameLength} bytes exceeds ${MAX_NAME_BYTES}`);
  r.need(nameLength, `tensor ${t} name`);
  let name: string;
  try {
    name = utf8.decode(r.bytes.subarray(r.at, r.at + nameLength));
  } catch {
    throw fail(`tensor ${t}: name is not valid UTF-8`);
  }
  r.at += nameLength;
  const label = `tensor ${t} "${name}"`;
  const rank = r.u8(`${label} rank`);
  if (rank > MAX_RANK) throw fail(`${label}: rank ${rank} exceeds ${MAX_RANK}`);
  const shape: number[] = [];
  let n = 1;
  const overCap = () => fail(`${label}: shape [${shape}${shape.length < rank ? '...' : ''}] exceeds the limit of ${o.maxEntries ?? DEFAULT_MAX_ENTRIES} entries`);
  for (let d = 0; d < rank; d++) {
    shape.push(r.varint(`${label} dimension ${d}`));
    n *= shape[d]!;
    if (n > budget.entries) throw overCap();
  }
  // A rank-0 tensor holds one entry: it counts like any other.
  if (n > budget.entries) throw overCap();
  const want = o.layout?.[t];
  if (want && (want.name !== name || want.shape.join('x') !== shape.join('x'))) {
    throw fail(`${label} has shape [${shape}] where "${want.name}" [${want.shape}] was expected`);
  }
  budget.entries -= n;
  const dtype = DTYPES[r.u8(`${label} dtype`)];
  const coding = CODINGS[r.u8(`${label} position coding`)];
  if (!dtype) throw fail(`${label}: unknown dtype ${r.bytes[r.at - 2]}`);
  if (!coding) throw fail(`${label}: unknown position coding ${r.bytes[r.at - 1]}`);
  if ((dtype === 'none') !== positionsOnly) throw fail(`${label}: dtype "${dtype}" in a message of ${positionsOnly ? 'positions' : 'values'}`);
  if (coding === 'dense') {
    if (positionsOnly) throw fail(`${label}: dense coding in a positions message`);
    return { name, shape, kind: 'dense', values: readValues(r, n, dtype, label) };
  }
  const k = r.varint(`${label} position count`);
  if (k > n) throw fail(`${label}: ${k} positions in a tensor of ${n} entries`);
  let indices: Uint32Array;
  if (coding === 'shared') {
    const set = sharedSetOf(o.shared, name);
    if (!set) throw fail(`${label}: positions are shared but no shared set was given for it`);
    if (set.length !== k) throw fail(`${label}: ${k} values for a shared set of ${set.length} positions`);
    try {
      checkPositions(name, set, n);
    } catch (e) {
      throw fail(`${label}: the shared set is not valid here: ${(e as Error).message}`);
    }
    indices = set.slice();
  } else indices = coding === 'bitmap' ? readBitmap(r, n, k, label) : readGaps(r, n, k, label);
  if (positionsOnly) return { name, shape, indices };
  return { name, shape, kind: 'sparse', indices, values: readValues(r, k, dtype, label) };
}

/** A quantiser's block: scale (float64) | s (varint) | count codes of levelBits(s) bits, each q + s in [0, 2s]. */
function readLevels(r: Reader, count: number, label: string): Float32Array {
  r.need(8, `${label} levels scale`);
  const scale = r.view.getFloat64(r.at, true);
  r.at += 8;
  if (!(Number.isFinite(scale) && scale >= 0)) throw fail(`${label}: levels scale ${scale} is not a finite non-negative number`);
  // Values are at most the scale in size: one beyond float32 would decode to infinity.
  if (Math.fround(scale) > FLOAT32_MAX) throw fail(`${label}: levels scale ${scale} overflows float32 (largest ${FLOAT32_MAX})`);
  const s = r.varint(`${label} level count`);
  if (s < 1 || s > MAX_LEVELS) throw fail(`${label}: ${s} levels, outside 1..${MAX_LEVELS}`);
  const bits = levelBits(s);
  const bytes = Math.ceil((count * bits) / 8);
  r.need(bytes, `${label} ${count} codes of ${bits} bits`);
  const out = new Float32Array(count);
  const mask = (1 << bits) - 1;
  let acc = 0;
  let filled = 0;
  let at = r.at;
  for (let j = 0; j < count; j++) {
    while (filled < bits) {
      acc |= r.bytes[at++]! << filled;
      filled += 8;
    }
    const code = acc & mask;
    acc >>>= bits;
    filled -= bits;
    if (code > 2 * s) throw fail(`${label}: code ${code} at slot ${j} is above 2s = ${2 * s}`);
    out[j] = ((code - s) * scale) / s;
    // Rounding right at the edge of float32 can still tip one over: never hand out an infinity.
    if (!Number.isFinite(out[j]!)) throw fail(`${label}: code ${code} at slot ${j} gives ${out[j]} (scale ${scale})`);
  }
  r.at += bytes;
  return out;
}

function readBitmap(r: Reader, n: number, k: number, label: string): Uint32Array {
  const bytes = bitmapBytes(n);
  r.need(bytes, `${label} bitmap`);
  const out = new Uint32Array(k);
  let m = 0;
  for (let b = 0; b < bytes; b++) {
    let x = r.bytes[r.at + b]!;
    while (x !== 0) {
      const bit = 31 - Math.clz32(x & -x);
      x &= x - 1;
      const i = b * 8 + bit;
      if (i >= n) throw fail(`${label}: bitmap marks position ${i}, outside ${n} entries`);
      if (m === k) throw fail(`${label}: bitmap marks more than the declared ${k} positions`);
      out[m++] = i;
    }
  }
  if (m !== k) throw fail(`${label}: bitmap marks ${m} positions, ${k} declared`);
  r.at += bytes;
  return out;
}

function readGaps(r: Reader, n: number, k: number, label: string): Uint32Array {
  r.need(k, `${label} ${k} position gaps`); // each gap takes at least one byte
  const out = new Uint32Array(k);
  let p = 0;
  for (let j = 0; j < k; j++) {
    const gap = r.varint(`${label} position ${j}`);
    if (j > 0 && gap === 0) throw fail(`${label}: position ${p} repeated at slot ${j} (positions must increase)`);
    p += gap;
    if (p >= n) throw fail(`${label}: position ${p} at slot ${j} is outside ${n} entries`);
    out[j] = p;
  }
  return out;
}

function readValues(r: Reader, count: number, dtype: WireDtype, label: string): Float32Array {
  if (dtype === 'levels') return readLevels(r, count, label);
  const size = DTYPE_BYTES[dtype as Exclude<WireDtype, 'levels'>];
  r.need(count * size, `${label} ${count} ${dtype} values`);
  const out = new Float32Array(count);
  if (dtype === 'float16') {
    for (let j = 0; j < count; j++) out[j] = fromHalfBits(r.view.getUint16(r.at + 2 * j, true));
  } else if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(r.bytes.subarray(r.at, r.at + 4 * count));
  } else {
    for (let j = 0; j < count; j++) out[j] = r.view.getFloat32(r.at + 4 * j, true);
  }
  const bits = new Uint32Array(out.buffer);
  for (let j = 0; j < count; j++) {
    if ((bits[j]! & 0x7f800000) === 0x7f800000) throw fail(`${label}: value ${out[j]} at slot ${j} is not finite`);
  }
  r.at += count * size;
  return out;
}
