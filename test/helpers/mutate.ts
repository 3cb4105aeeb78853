// Seeded mutations of valid binary messages, for the decoders' fuzz tests. A mutation is chosen
// from blind byte-level changes (bit flips, byte values, truncation, extension, insertion,
// deletion) and structure-aware ones driven by a field map of the valid message (a field's bytes
// replaced by another field's, a varint length set to an extreme, a float set to NaN, infinity or
// a value beyond float32, a whole record duplicated). One to three are stacked.
import type { Rng } from '../../src/common/rng.js';

export type FieldKind = 'u8' | 'u32' | 'varint' | 'bytes' | 'f16' | 'f32' | 'f64';

/** One field of a valid message: its bytes are message[at, at + length). */
export interface Field {
  at: number;
  length: number;
  kind: FieldKind;
  /** What it is, e.g. 'name length' (splices prefer fields of the same role). */
  role: string;
}

/** A valid message and its fields; `records` are byte ranges that may be repeated (tensors). */
export interface Specimen {
  bytes: Uint8Array;
  fields: Field[];
  records?: { at: number; length: number; countField: Field }[];
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)]!;

export function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const EXTREME_VARINTS = [0, 1, 2, 3, 7, 8, 0x7f, 0x80, 0xff, 0x3fff, 0x4000, 2 ** 16, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
/** Varints no encoder writes: past 32 bits, too long, or padded with zero continuation bytes. */
const BAD_VARINTS = [[0x80, 0x80, 0x80, 0x80, 0x10], [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x00], [0x80, 0x80, 0x80, 0x80, 0x80], [0x80]];
const EXTREME_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function floatBytes(kind: 'f16' | 'f32' | 'f64', r: Rng): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  if (kind === 'f16') {
    v.setUint16(0, pick(r, [0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001, 0x8000, 0x7c01]), true);
    return [...b.subarray(0, 2)];
  }
  const values = [NaN, Infinity, -Infinity, -0, 5e-324, 1e-45, 3.4028234663852886e38, 3.4028235677973366e38, 3.5e38, 1e300, -1e300, Number.MAX_VALUE];
  if (kind === 'f32') {
    v.setFloat32(0, pick(r, values), true);
    return [...b.subarray(0, 4)];
  }
  v.setFloat64(0, pick(r, values), true);
  return [...b];
}

function replace(bytes: Uint8Array, at: number, length: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(bytes.length - length + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + length), at + insert.length);
  return out;
}

/** The mutation operators, by name; each takes the specimen the bytes came from (its fields may be stale after an earlier mutation). */
export const MUTATIONS = {
  flipBits(r: Rng, b: Uint8Array): Uint8Array {
    const out = b.slice();
    for (let i = 1 + r.int(4); i > 0 && out.length; i--) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  },
  setByte(r: Rng, b: Uint8Array): Uint8Array {
    const out = b.slice();
    if (out.length) out[r.int(out.length)] = pick(r, [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, r.int(256)]);
    return out;
  },
  truncate(r: Rng, b: Uint8Array): Uint8Array {
    return b.slice(0, r.int(b.length));
  },
  extend(r: Rng, b: Uint8Array): Uint8Array {
    const n = 1 + r.int(32);
    const tail = Array.from({ length: n }, (_, i) => pick(r, [0, 0xff, r.int(256), b[i % Math.max(1, b.length)] ?? 0]));
    return replace(b, b.length, 0, tail);
  },
  insertBytes(r: Rng, b: Uint8Array): Uint8Array {
    return replace(b, r.int(b.length + 1), 0, Array.from({ length: 1 + r.int(8) }, () => r.int(256)));
  },
  deleteBytes(r: Rng, b: Uint8Array): Uint8Array {
    const at = r.int(b.length + 1);
    return replace(b, at, Math.min(b.length - at, 1 + r.int(8)), []);
  },
  /** A field's bytes replaced by another field's (same role when there is one): splices of field values. */
  spliceField(r: Rng, b: Uint8Array, s: Specimen, corpus: readonly Specimen[]): Uint8Array {
    const f = fieldIn(r, s, b);
    if (!f) return MUTATIONS.flipBits(r, b);
    const donor = pick(r, corpus);
    const same = donor.fields.filter((g) => g.role === f.role);
    const g = same.length && r.uniform() < 0.7 ? pick(r, same) : pick(r, donor.fields.length ? donor.fields : s.fields);
    return replace(b, f.at, f.length, donor.bytes.subarray(g.at, g.at + g.length));
  },
  /** A varint (a count, a length, a dimension, a gap) set to an extreme or malformed value, or nudged by one. */
  extremeVarint(r: Rng, b: Uint8Array, s: Specimen): Uint8Array {
    const f = fieldIn(r, s, b, 'varint');
    if (!f) return MUTATIONS.setByte(r, b);
    const old = readVarint(b, f.at);
    const choice = r.int(10);
    const value = choice < 6 ? varint(pick(r, EXTREME_VARINTS)) : choice < 8 ? varint(Math.max(0, old + pick(r, [-1, 1, 2, -2]))) : pick(r, BAD_VARINTS);
    return replace(b, f.at, f.length, value);
  },
  extremeU32(r: Rng, b: Uint8Array, s: Specimen): Uint8Array {
    const f = fieldIn(r, s, b, 'u32');
    if (!f) return MUTATIONS.setByte(r, b);
    const out = b.slice();
    new DataView(out.buffer).setUint32(f.at, pick(r, EXTREME_U32), true);
    return out;
  },
  extremeFloat(r: Rng, b: Uint8Array, s: Specimen): Uint8Array {
    const floats = s.fields.filter((f) => (f.kind === 'f16' || f.kind === 'f32' || f.kind === 'f64') && f.at + f.length <= b.length);
    if (!floats.length) return MUTATIONS.flipBits(r, b);
    const f = pick(r, floats);
    return replace(b, f.at, f.length, floatBytes(f.kind as 'f16' | 'f32' | 'f64', r));
  },
  /** A whole record (a tensor) repeated, with its count field raised to match (or not). */
  duplicateRecord(r: Rng, b: Uint8Array, s: Specimen): Uint8Array {
    const records = (s.records ?? []).filter((x) => x.at + x.length <= b.length);
    if (!records.length) return MUTATIONS.insertBytes(r, b);
    const rec = pick(r, records);
    let out = replace(b, rec.at + rec.length, 0, b.subarray(rec.at, rec.at + rec.length));
    const c = rec.countField;
    if (r.uniform() < 0.8) out = replace(out, c.at, c.length, varint(readVarint(b, c.at) + 1));
    return out;
  },
} satisfies Record<string, (r: Rng, b: Uint8Array, s: Specimen, corpus: readonly Specimen[]) => Uint8Array>;

export type MutationName = keyof typeof MUTATIONS;
export const MUTATION_NAMES = Object.keys(MUTATIONS) as MutationName[];

function fieldIn(r: Rng, s: Specimen, b: Uint8Array, kind?: FieldKind): Field | undefined {
  const fields = s.fields.filter((f) => (kind === undefined || f.kind === kind) && f.at + f.length <= b.length);
  return fields.length ? pick(r, fields) : undefined;
}

function readVarint(b: Uint8Array, at: number): number {
  let v = 0;
  for (let i = 0; i < 5 && at + i < b.length; i++) {
    v += (b[at + i]! & 0x7f) * 2 ** (7 * i);
    if (b[at + i]! < 0x80) break;
  }
  return v;
}

/** One to three stacked mutations of the specimen; `used` gets the names applied. */
export function mutate(r: Rng, s: Specimen, corpus: readonly Specimen[], used?: MutationName[]): Uint8Array {
  let b = s.bytes;
  for (let k = 1 + (r.uniform() < 0.3 ? 1 + r.int(2) : 0); k > 0; k--) {
    const name = pick(r, MUTATION_NAMES);
    used?.push(name);
    b = MUTATIONS[name](r, b, s, corpus);
  }
  return b;
}
