// The valid messages the codec fuzz test mutates, their field maps, the option combinations it
// decodes under, and the independent check every successful decode must pass.
import { type DecodeOptions, encodePositions, encodeUpdate, type PositionTensor } from '../../src/codec/index.js';
import { Rng } from '../../src/common/rng.js';
import type { ClientUpdate, TensorLayout, UpdateTensor } from '../../src/common/update.js';
import type { Field, Specimen } from '../helpers/mutate.js';

export interface CodecSpecimen extends Specimen {
  label: string;
  kind: 'update' | 'aggregate' | 'positions';
  layout: TensorLayout[];
  shared?: Record<string, Uint32Array>;
}

/** Reads the fields of a message the encoder wrote (valid input only: this is no decoder). */
export function fieldsOf(bytes: Uint8Array): Pick<Specimen, 'fields' | 'records'> {
  const fields: Field[] = [];
  const records: NonNullable<Specimen['records']> = [];
  let at = 0;
  const field = (length: number, kind: Field['kind'], role: string): Field => {
    const f = { at, length, kind, role };
    fields.push(f);
    at += length;
    return f;
  };
  const varint = (role: string): { f: Field; v: number } => {
    let v = 0;
    let i = 0;
    for (; bytes[at + i]! >= 0x80; i++) v += (bytes[at + i]! & 0x7f) * 2 ** (7 * i);
    v += bytes[at + i]! * 2 ** (7 * i);
    return { f: field(i + 1, 'varint', role), v };
  };
  field(4, 'bytes', 'magic');
  field(1, 'u8', 'version');
  field(1, 'u8', 'kind');
  field(1, 'u8', 'flags');
  field(4, 'u32', 'round');
  field(4, 'u32', 'client');
  const count = varint('tensor count');
  for (let t = 0; t < count.v; t++) {
    const start = at;
    const nameLength = varint('name length').v;
    field(nameLength, 'bytes', 'name');
    const rank = bytes[at]!;
    field(1, 'u8', 'rank');
    let n = 1;
    for (let d = 0; d < rank; d++) n *= varint('dimension').v;
    const dtype = bytes[at]!;
    field(1, 'u8', 'dtype');
    const coding = bytes[at]!;
    field(1, 'u8', 'coding');
    let k = n;
    if (coding !== 0) {
      k = varint('position count').v;
      if (coding === 1) field(Math.ceil(n / 8), 'bytes', 'bitmap');
      if (coding === 2) for (let j = 0; j < k; j++) varint('gap');
    }
    if (dtype === 0) for (let j = 0; j < k; j++) field(4, 'f32', 'value');
    if (dtype === 1) for (let j = 0; j < k; j++) field(2, 'f16', 'value');
    if (dtype === 3) {
      field(8, 'f64', 'scale');
      const s = varint('levels').v;
      field(Math.ceil((k * (32 - Math.clz32(2 * s))) / 8), 'bytes', 'codes');
    }
    records.push({ at: start, length: at - start, countField: count.f });
  }
  if (at !== bytes.length) throw new Error(`fieldsOf: read ${at} of ${bytes.length} bytes`);
  return { fields, records };
}

function sparse(name: string, shape: number[], indices: number[], values: number[]): UpdateTensor {
  return { name, shape, kind: 'sparse', indices: Uint32Array.from(indices), values: Float32Array.from(values) };
}

function dense(name: string, shape: number[], values: number[]): UpdateTensor {
  return { name, shape, kind: 'dense', values: Float32Array.from(values) };
}

function quantised(name: string, shape: number[], q: number[], s: number, scale: number, indices?: number[]): UpdateTensor {
  const values = Float32Array.from(q, (k) => Math.fround((k * scale) / s));
  const levels = { scale, s, q: Int32Array.from(q) };
  return indices ? { ...sparse(name, shape, indices, [...values]), levels } : { ...dense(name, shape, [...values]), levels };
}

/** Valid messages of every form the codec writes. */
export function codecCorpus(): CodecSpecimen[] {
  const r = new Rng(5);
  const normal = (n: number) => Array.from({ length: n }, () => r.normal());
  const out: CodecSpecimen[] = [];
  const header = (kind: 'update' | 'aggregate') => ({ kind, round: 3 + out.length, clientId: out.length });
  const add = (label: string, kind: 'update' | 'aggregate', update: ClientUpdate, opts: { dtype?: 'float16'; shared?: Record<string, Uint32Array> } = {}) => {
    const bytes = encodeUpdate(header(kind), update, opts);
    out.push({ label, kind, bytes, ...fieldsOf(bytes), layout: update.map((u) => ({ name: u.name, shape: u.shape })), shared: opts.shared });
  };
  const addPositions = (label: string, tensors: PositionTensor[]) => {
    const bytes = encodePositions({ round: 9, clientId: 1 }, tensors);
    out.push({ label, kind: 'positions', bytes, ...fieldsOf(bytes), layout: tensors.map((t) => ({ name: t.name, shape: t.shape })) });
  };
  const model = [dense('conv.weight', [2, 3, 2], normal(12)), dense('conv.bias', [2], normal(2))];
  add('dense float32', 'update', model);
  add('dense float16', 'update', model, { dtype: 'float16' });
  add('dense aggregate', 'aggregate', model);
  const gaps = sparse('fc.weight', [40, 5], [3, 17, 18, 130, 199], normal(5));
  const bitmap = sparse('fc.bias', [12], [0, 2, 3, 5, 7, 8, 11], normal(7));
  add('sparse gaps + bitmap', 'update', [gaps, bitmap, dense('bn.mean', [3], normal(3))]);
  add('sparse float16', 'update', [gaps, bitmap], { dtype: 'float16' });
  add('sparse aggregate', 'aggregate', [bitmap, gaps]);
  add('levels dense and sparse', 'update', [quantised('q.weight', [4, 3], [1, -1, 0, 16, -16, 3, 2, 0, 0, 5, -7, 8], 16, 0.25), quantised('q.bias', [20], [-1, 1, 1], 1, 2.5, [1, 9, 19])]);
  add('levels, many', 'update', [quantised('qsgd', [9], [0, 255, -255, 100, -3, 7, 0, 1, -1], 255, 3e38)]);
  const common = { 'fc.weight': Uint32Array.from([3, 17, 18, 130, 199]), 'fc.bias': Uint32Array.from([0, 2, 3, 5, 7, 8, 11]) };
  add('shared positions', 'update', [gaps, bitmap], { shared: common });
  add('shared positions, aggregate', 'aggregate', [gaps, bitmap], { shared: common });
  // Names Object.prototype also holds, sent against shared sets; as many positions as the
  // inherited function's length, so that a lookup that finds the function gets past the count.
  const trap: [string, number[]][] = [['constructor', [4]], ['toString', []], ['__proto__', [1, 3]], ['hasOwnProperty', [0]], ['valueOf', []]];
  const trapShared = Object.fromEntries(trap.map(([name, idx]) => [name, Uint32Array.from(idx)]));
  const trapUpdate = trap.map(([name, idx]) => sparse(name, [6], idx, normal(idx.length)));
  add('Object.prototype names, shared', 'update', trapUpdate, { shared: trapShared });
  add('Object.prototype names, plain', 'update', trapUpdate);
  // The scalar last: the cap must count it after the others have used the budget up.
  add('rank 0, empty and zero-sized tensors', 'update', [dense('empty', [0], []), dense('hollow', [2, 0, 3], []), sparse('none sent', [5], [], []), dense('scalar', [], [1.5])]);
  add('no tensors', 'aggregate', []);
  add('unicode name', 'update', [dense('größe·重み', [2], normal(2))]);
  addPositions('positions (band)', [{ name: 'fc.weight', shape: [40, 5], indices: Uint32Array.from([3, 17, 18, 130, 199]) }, { name: 'fc.bias', shape: [12], indices: Uint32Array.from([0, 2, 3, 5, 7, 8, 11]) }]);
  addPositions('positions, rank 0 and prototype names', [{ name: 'valueOf', shape: [3], indices: Uint32Array.from([]) }, { name: 'constructor', shape: [], indices: Uint32Array.from([0]) }]);
  return out;
}

/** Entries the decoder allocates for these shapes. */
export function entriesOf(layout: readonly TensorLayout[]): number {
  return layout.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 1), 0);
}

/**
 * The option combinations of DecodeOptions a specimen is decoded under: layout (none, its own,
 * another), kind (none, its own, another), maxEntries (default, exact, one short, 0), maxBytes
 * (none, its length, one short) and shared sets (none, its own, an empty map, other positions).
 */
export function optionCombinations(s: CodecSpecimen, corpus: readonly CodecSpecimen[]): DecodeOptions[] {
  const other = corpus[(corpus.indexOf(s) + 1) % corpus.length]!;
  const entries = entriesOf(s.layout);
  const otherShared = Object.fromEntries(Object.entries(s.shared ?? { w: new Uint32Array(1) }).map(([k, v]) => [k, v.map((x) => x + 1)]));
  const layouts = [undefined, s.layout, other.layout];
  const kinds = [undefined, s.kind, s.kind === 'update' ? 'aggregate' as const : 'update' as const];
  const maxEntries = [undefined, entries, Math.max(0, entries - 1), 0];
  const maxBytes = [undefined, s.bytes.length, s.bytes.length - 1];
  const shared = [undefined, s.shared, {}, otherShared];
  const out: DecodeOptions[] = [];
  for (const layout of layouts) for (const kind of kinds) for (const me of maxEntries) for (const mb of maxBytes) for (const sh of shared) {
    out.push({ layout, kind, maxEntries: me, maxBytes: mb, shared: sh });
  }
  return out;
}

const DEFAULT_MAX_ENTRIES = 2 ** 28;

/**
 * Why a decoded message is not acceptable under the options, or null. Written from the format's
 * rules, not from the decoder: finite values, shapes equal to the layout, positions strictly
 * increasing inside the tensor, value counts matching, the entry and byte caps, the kind.
 */
export function invalidity(
  decoded: { header: { kind: string; round: number; clientId: number }; tensors: readonly (UpdateTensor | PositionTensor)[] },
  bytes: Uint8Array,
  o: DecodeOptions,
  positions: boolean,
): string | null {
  const { header, tensors } = decoded;
  if (positions !== (header.kind === 'positions')) return `kind ${header.kind} from the ${positions ? 'positions' : 'update'} decoder`;
  if (o.kind !== undefined && header.kind !== o.kind) return `kind ${header.kind}, asked for ${o.kind}`;
  for (const v of [header.round, header.clientId]) if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) return `header field ${v}`;
  if (o.maxBytes !== undefined && bytes.length > o.maxBytes) return `${bytes.length} bytes over the cap of ${o.maxBytes}`;
  if (o.layout && tensors.length !== o.layout.length) return `${tensors.length} tensors for a layout of ${o.layout.length}`;
  let entries = 0;
  for (const [t, u] of tensors.entries()) {
    const at = `tensor ${t} "${u.name}"`;
    if (typeof u.name !== 'string') return `${at}: name`;
    if (!Array.isArray(u.shape) || u.shape.length > 8 || u.shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) return `${at}: shape [${u.shape}]`;
    const want = o.layout?.[t];
    if (want && (want.name !== u.name || want.shape.length !== u.shape.length || want.shape.some((d, i) => d !== u.shape[i]))) return `${at}: [${u.shape}] where ${want.name} [${want.shape}]`;
    const n = u.shape.reduce((a, d) => a * d, 1);
    entries += n;
    const values = 'values' in u ? u.values : undefined;
    if (positions === (values !== undefined)) return `${at}: values ${positions ? 'in a positions message' : 'missing'}`;
    const dense = 'kind' in u && u.kind === 'dense';
    if (!dense) {
      const idx = (u as { indices: unknown }).indices;
      if (!(idx instanceof Uint32Array)) return `${at}: positions are not a Uint32Array`;
      for (let j = 0; j < idx.length; j++) {
        if (idx[j]! >= n) return `${at}: position ${idx[j]} outside ${n}`;
        if (j > 0 && idx[j]! <= idx[j - 1]!) return `${at}: position ${idx[j]} after ${idx[j - 1]}`;
      }
      if (values && values.length !== idx.length) return `${at}: ${values.length} values at ${idx.length} positions`;
    } else if (values!.length !== n) return `${at}: ${values!.length} values for ${n} entries`;
    if (values) {
      if (!(values instanceof Float32Array)) return `${at}: values are not a Float32Array`;
      for (let j = 0; j < values.length; j++) if (!Number.isFinite(values[j]!)) return `${at}: value ${values[j]} at slot ${j}`;
    }
  }
  const cap = o.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (entries > cap) return `${entries} entries over the cap of ${cap}`;
  return null;
}
