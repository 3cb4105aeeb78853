// A small reader for tar archives (POSIX ustar and GNU tar, with pax and GNU long names), enough
// to unpack cifar-10-binary.tar.gz without a dependency. Extraction refuses absolute paths and
// '..' so an archive cannot write outside its destination.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  /** The entry's bytes (a view into the archive buffer). */
  data: Uint8Array;
}

/** Lists the entries of an uncompressed tar archive, validating headers and sizes. */
export function readTar(buf: Uint8Array, file: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | null = null;
  let pax: Record<string, string> = {};
  for (;;) {
    if (pos + BLOCK > buf.length) {
      throw new Error(`${file}: truncated tar: no end-of-archive marker after ${entries.length} entries`);
    }
    const h = buf.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) return entries;
    checkHeader(h, pos, file);
    const typeflag = String.fromCharCode(h[156]!);
    let name = headerName(h);
    const size = pax.size !== undefined ? Number(pax.size) : octal(h.subarray(124, 136), 'size', pos, file);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`${file}: bad tar entry size '${pax.size}' at byte ${pos}`);
    const start = pos + BLOCK;
    if (start + size > buf.length) {
      throw new Error(
        `${file}: truncated tar: entry '${name}' declares ${size} bytes, only ${buf.length - start} remain`,
      );
    }
    const data = buf.subarray(start, start + size);
    pos = start + Math.ceil(size / BLOCK) * BLOCK;
    // Meta entries describe the entry that follows them.
    if (typeflag === 'L') {
      longName = cString(data);
      continue;
    }
    if (typeflag === 'x') {
      pax = parsePax(data, file);
      continue;
    }
    if (typeflag === 'g' || typeflag === 'K') continue;
    name = pax.path ?? longName ?? name;
    longName = null;
    pax = {};
    const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    entries.push({ name, type, size, data });
  }
}

/**
 * Writes the regular files of a tar archive under destDir (directories are created as needed;
 * links and devices are skipped). Returns the paths written.
 */
export function extractTar(buf: Uint8Array, destDir: string, file: string): string[] {
  const root = resolve(destDir);
  const written: string[] = [];
  for (const e of readTar(buf, file)) {
    if (e.type === 'other') continue;
    const parts = e.name.split('/').filter((p) => p !== '' && p !== '.');
    if (e.name.startsWith('/') || parts.includes('..') || parts.length === 0) {
      throw new Error(`${file}: unsafe path '${e.name}' in tar archive`);
    }
    const target = join(root, ...parts);
    if (!target.startsWith(root + sep)) throw new Error(`${file}: unsafe path '${e.name}' in tar archive`);
    if (e.type === 'directory') {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, e.data);
    written.push(target);
  }
  return written;
}

function checkHeader(h: Uint8Array, pos: number, file: string): void {
  const magic = String.fromCharCode(...h.subarray(257, 262));
  if (magic !== 'ustar') {
    throw new Error(`${file}: not a tar archive or corrupt: no ustar magic in the header at byte ${pos}`);
  }
  const stored = octal(h.subarray(148, 156), 'checksum', pos, file);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Historic writers summed signed chars; accept either.
  if (stored !== unsigned && stored !== signed) {
    throw new Error(`${file}: bad tar header checksum at byte ${pos} (stored ${stored}, computed ${unsigned})`);
  }
}

function headerName(h: Uint8Array): string {
  const name = cString(h.subarray(0, 100));
  // Only POSIX ustar ("ustar\0") has a prefix field; GNU tar keeps other data there.
  const posix = h[262] === 0;
  const prefix = posix ? cString(h.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(b.subarray(0, end < 0 ? b.length : end)).toString('utf8');
}

function octal(b: Uint8Array, field: string, pos: number, file: string): number {
  // GNU base-256 for values too large for octal digits.
  if (b[0]! & 0x80) {
    let v = b[0]! & 0x7f;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = cString(b).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`${file}: bad tar ${field} field '${s}' in the header at byte ${pos}`);
  return parseInt(s, 8);
}

/** pax records: "<length> <key>=<value>\n", length counting the whole record. */
function parsePax(data: Uint8Array, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const buf = Buffer.from(data);
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    const len = space < 0 ? NaN : Number(buf.toString('utf8', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > buf.length) {
      throw new Error(`${file}: corrupt pax header record at offset ${pos}`);
    }
    const rec = buf.toString('utf8', space + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}
