import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { encodeImageGrid, writeImageGrid } from '../../src/report/index.js';

test('an image grid round-trips through pngjs with the right size and pixels', () => {
  // row 0: two RGB 2x3 images; row 1: one gray 2x3 image
  const rgb = new Float32Array(2 * 3 * 6);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i % 7) / 6;
  const gray = new Float32Array([0, 0.2, 0.4, 0.6, 0.8, 1]);
  const path = join(mkdtempSync(join(tmpdir(), 'grid-')), 'sub', 'grid.png');
  const size = writeImageGrid(path, [{ images: rgb, shape: [2, 3, 2, 3] }, { images: gray, shape: [1, 1, 2, 3] }], { scale: 3, pad: 1, background: 1 });
  // width: (pad + 2 * (3 + pad)) * 3 = 27; height: (pad + 2 * (2 + pad)) * 3 = 21
  assert.deepEqual(size, { width: 27, height: 21 });
  const png = PNG.sync.read(readFileSync(path));
  assert.equal(png.width, 27);
  assert.equal(png.height, 21);
  const px = (x: number, y: number) => [...png.data.subarray(4 * (y * 27 + x), 4 * (y * 27 + x) + 4)];
  assert.deepEqual(px(0, 0), [255, 255, 255, 255]); // padding
  // image 1 of row 0, pixel (row 1, col 2), drawn from x = (1 + 1 * 4) * 3 + 2 * 3, y = 3 + 1 * 3
  const plane = 6;
  const base = 1 * 3 * plane + 1 * 3 + 2;
  const expect = [0, 1, 2].map((c) => Math.round(rgb[base + c * plane]! * 255));
  for (const [dx, dy] of [[0, 0], [2, 2]]) assert.deepEqual(px(15 + 6 + dx!, 3 + 3 + dy!), [...expect, 255]);
  // gray row: value 0.6 at (row 1, col 0) -> x = 3, y = (1 + 1 * 3) * 3 + 3
  assert.deepEqual(px(3, 15), [153, 153, 153, 255]);
  // the empty cell of row 1 stays background
  assert.deepEqual(px(16, 16), [255, 255, 255, 255]);
});

test('image grid clamps values and rejects bad input', () => {
  const { png, width, height } = encodeImageGrid([{ images: new Float32Array([-1, 2, Number.NaN, 0.5]), shape: [1, 1, 2, 2] }], { pad: 0 });
  assert.deepEqual([width, height], [2, 2]);
  const img = PNG.sync.read(png);
  assert.deepEqual([img.data[0], img.data[4], img.data[8], img.data[12]], [0, 255, 0, 128]);
  assert.throws(() => encodeImageGrid([{ images: new Float32Array(8), shape: [1, 2, 2, 2] }]), /2 channels; 1 or 3 can be drawn/);
  assert.throws(() => encodeImageGrid([{ images: new Float32Array(3), shape: [1, 1, 2, 2] }]), /holds 3 values/);
  assert.throws(() => encodeImageGrid([{ images: new Float32Array(4), shape: [1, 1, 2, 2] }], { scale: 1.5 }), /scale must be a positive integer/);
  assert.throws(() => encodeImageGrid([]), /no rows/);
});
