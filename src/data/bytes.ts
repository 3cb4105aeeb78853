// File reading shared by the loaders: every failure names the file, and bytes become [0, 1] floats
// the way torchvision's ToTensor does (byte / 255).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Reads a whole file; a missing file or a directory gives an error naming the path. */
export function readBytes(file: string): Buffer {
  if (!existsSync(file)) throw new Error(`${file}: file not found`);
  if (statSync(file).isDirectory()) throw new Error(`${file}: is a directory, expected a file`);
  return readFileSync(file);
}

/** Gunzips a buffer, reporting a corrupt stream against the file it came from. */
export function gunzip(buf: Buffer, file: string): Buffer {
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw new Error(`${file}: not a valid gzip stream (${(e as Error).message})`);
  }
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}
