// Save and load named float32 tensors in the safetensors format (8-byte little-endian header
// length, a JSON header of {name: {dtype, shape, data_offsets}}, then the raw bytes).
import { readFileSync } from 'node:fs';
import type { TensorList } from '../common/index.js';
import { writeFileAtomic } from '../files/index.js';

const MAX_HEADER = 100 * 1024 * 1024;

export function encodeSafetensors(tensors: TensorList, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name in header) throw new Error(`safetensors: duplicate tensor name ${t.name}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Bytes per element of the dtypes the format defines; only F32 is read. */
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };

/**
 * Reads a safetensors file, checking its header first: a JSON object whose entries (besides
 * __metadata__, an object of strings) each have a known dtype, a shape of non-negative integers
 * and integer data_offsets [begin, end] that are in order, inside the data, do not overlap, and
 * hold exactly shape x dtype bytes. Every fault names the file, the tensor and the field.
 */
export function decodeSafetensors(buf: Buffer, source = 'buffer'): { tensors: TensorList; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) fail(`only ${buf.length} bytes`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > buf.length) fail(`header length ${n} exceeds the file (${buf.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(`header is ${Array.isArray(header) ? 'an array' : String(header)}, not an object`);
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors: TensorList = [];
  const spans: { name: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string')) fail('__metadata__ is not an object of strings');
      metadata = info as Record<string, string>;
      continue;
    }
    const at = `tensor ${JSON.stringify(name)}`;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) fail(`${at} is ${JSON.stringify(info)}, not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`${at}: dtype ${JSON.stringify(dtype)} is not a safetensors dtype`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`${at}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) fail(`${at}: data_offsets ${JSON.stringify(offsets)} are not two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    if (end < begin) fail(`${at}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) fail(`${at}: data_offsets [${begin}, ${end}] run past the ${dataLen} data bytes`);
    if (end - begin !== count * DTYPE_BYTES[dtype as string]!) fail(`${at}: ${end - begin} bytes for shape [${shape}] of ${dtype} (${count * DTYPE_BYTES[dtype as string]!} bytes)`);
    if (dtype !== 'F32') fail(`${at} has dtype ${dtype}; only F32 is supported`);
    spans.push({ name, begin, end });
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buf.subarray(dataStart + begin, dataStart + end));
    tensors.push({ name, shape: shape as number[], data });
  }
  // The format lays tensors end to end in header order; a file written otherwise overlaps or leaves gaps.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const s of spans) {
    if (s.begin < covered) fail(`tensor ${JSON.stringify(s.name)}: data_offsets [${s.begin}, ${s.end}] overlap the previous tensor's (ending at ${covered})`);
    if (s.begin > covered) fail(`tensor ${JSON.stringify(s.name)}: data_offsets begin at ${s.begin}, leaving bytes ${covered}..${s.begin - 1} unused`);
    covered = s.end;
  }
  if (covered !== dataLen) fail(`${dataLen - covered} data bytes after the last tensor`);
  return { tensors, metadata };
}

/** Writes atomically: a crash mid-write leaves the old file, never a truncated one. */
export function saveSafetensors(path: string, tensors: TensorList, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): { tensors: TensorList; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(buf, path);
}

/** Orders loaded tensors like `layout`, checking names and shapes. */
export function matchLayout(loaded: TensorList, layout: { name: string; shape: number[] }[], source: string): TensorList {
  const byName = new Map(loaded.map((t) => [t.name, t]));
  return layout.map((s) => {
    const t = byName.get(s.name);
    if (!t) throw new Error(`${source}: tensor ${s.name} is missing`);
    if (t.shape.join('x') !== s.shape.join('x')) throw new Error(`${source}: tensor ${s.name} has shape [${t.shape}], expected [${s.shape}]`);
    return t;
  });
}
