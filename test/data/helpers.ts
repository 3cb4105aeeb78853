// Builders for small synthetic data files, so that format and corruption tests need no fixtures.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temporary folder, removed when the test file finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-data-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function idxImages(count: number, rows: number, cols: number, fill = (i: number) => i % 256): Buffer {
  const buf = Buffer.alloc(16 + count * rows * cols);
  buf.writeUInt32BE(2051, 0);
  buf.writeUInt32BE(count, 4);
  buf.writeUInt32BE(rows, 8);
  buf.writeUInt32BE(cols, 12);
  for (let i = 0; i < count * rows * cols; i++) buf[16 + i] = fill(i);
  return buf;
}

export function idxLabels(labels: number[]): Buffer {
  const buf = Buffer.alloc(8 + labels.length);
  buf.writeUInt32BE(2049, 0);
  buf.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (buf[8 + i] = l));
  return buf;
}

/**
 * CIFAR binary records whose pixel byte encodes (record, channel, position) so that a layout
 * mix-up shows: value = (17 * record + 50 * channel + position) % 256.
 */
export function cifarRecords(labels: number[]): Buffer {
  const buf = Buffer.alloc(labels.length * 3073);
  labels.forEach((l, r) => {
    buf[r * 3073] = l;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) buf[r * 3073 + 1 + c * 1024 + p] = cifarPixel(r, c, p);
    }
  });
  return buf;
}

export function cifarPixel(record: number, channel: number, position: number): number {
  return (17 * record + 50 * channel + position) % 256;
}

/** A POSIX ustar archive of the given files (written independently of src/data/tar.ts). */
export function ustar(files: { name: string; data: Uint8Array | string; type?: '0' | '5' }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const data = typeof f.data === 'string' ? Buffer.from(f.data) : Buffer.from(f.data);
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(f.type ?? '0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
