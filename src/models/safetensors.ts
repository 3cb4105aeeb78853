// Save and load named float32 tensors in the safetensors format (8-byte little-endian header
// length, a JSON header of {name: {dtype, shape, data_offsets}}, then the raw bytes).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TensorList } from '../common/tensors.js';

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

export function decodeSafetensors(buf: Buffer, source = 'buffer'): { tensors: TensorList; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (buf.length < 8) fail(`only ${buf.length} bytes`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > buf.length) fail(`header length ${n} exceeds the file (${buf.length} bytes)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors: TensorList = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as unknown as Record<string, string>;
      continue;
    }
    if (info.dtype !== 'F32') fail(`tensor ${name} has dtype ${info.dtype}; only F32 is supported`);
    if (!Array.isArray(info.shape) || info.shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`tensor ${name} has a bad shape`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((a, d) => a * d, 1);
    if (!(b >= 0 && e <= dataLen && e - b === count * 4)) fail(`tensor ${name} offsets [${b}, ${e}] do not fit shape [${info.shape}] in ${dataLen} data bytes`);
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buf.subarray(dataStart + b, dataStart + e));
    tensors.push({ name, shape: info.shape, data });
  }
  return { tensors, metadata };
}

/** Writes atomically: a crash mid-write leaves the old file, never a truncated one. */
export function saveSafetensors(path: string, tensors: TensorList, metadata: Record<string, string> = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  renameSync(tmp, path);
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
