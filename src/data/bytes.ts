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

// A table rather than a division per pixel: the values are exactly float32(i / 255), and the
// lookup keeps loading all of MNIST well under a second.
const UNIT = new Float32Array(256);
for (let i = 0; i < 256; i++) UNIT[i] = i / 255;

/** bytes[i] / 255 into out[offset + i]. */
export function bytesToUnit(bytes: Uint8Array, out: Float32Array, offset = 0): void {
  const n = bytes.length;
  for (let i = 0; i < n; i++) out[offset + i] = UNIT[bytes[i]!]!;
}
