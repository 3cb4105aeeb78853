// Image grids as PNG (pngjs, no native code): one row per batch, e.g. ground truth above the
// reconstruction, so a reader sees at a glance what an attack recovered.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';

export interface ImageRow {
  /** Values in [0, 1] (others are clamped), NCHW with 1 (gray) or 3 (RGB) channels. */
  images: Float32Array;
  shape: readonly [number, number, number, number];
}

export interface GridOptions {
  /** Integer upscaling of every pixel (nearest neighbour), so 32x32 images are visible. */
  scale?: number;
  /** Pixels of background between images and around the grid (before scaling). */
  pad?: number;
  /** Background gray level in [0, 1]. */
  background?: number;
}

export interface EncodedGrid {
  png: Buffer;
  width: number;
  height: number;
}

function checkRow(row: ImageRow, r: number): void {
  const [b, c, h, w] = row.shape;
  if (row.shape.length !== 4 || [b, c, h, w].some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`image grid: row ${r} has shape [${row.shape.join(',')}], expected [B,C,H,W]`);
  }
  if (c !== 1 && c !== 3) throw new Error(`image grid: row ${r} has ${c} channels; 1 or 3 can be drawn`);
  if (row.images.length !== b * c * h * w) {
    throw new Error(`image grid: row ${r} holds ${row.images.length} values for shape [${row.shape.join(',')}]`);
  }
}

function toByte(v: number): number {
  if (!(v > 0)) return 0; // NaN draws as black
  if (v >= 1) return 255;
  return Math.round(v * 255);
}

/** Renders the rows into one PNG in memory. Cells take the largest image size of any row. */
export function encodeImageGrid(rows: readonly ImageRow[], options: GridOptions = {}): EncodedGrid {
  if (rows.length === 0) throw new Error('image grid: no rows to draw');
  rows.forEach(checkRow);
  const scale = options.scale ?? 1;
  const pad = options.pad ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`image grid: scale must be a positive integer, got ${scale}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`image grid: pad must be a non-negative integer, got ${pad}`);
  const bg = toByte(options.background ?? 1);
  const cellH = Math.max(...rows.map((r) => r.shape[2]));
  const cellW = Math.max(...rows.map((r) => r.shape[3]));
  const cols = Math.max(...rows.map((r) => r.shape[0]));
  const width = (pad + cols * (cellW + pad)) * scale;
  const height = (pad + rows.length * (cellH + pad)) * scale;
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[4 * i] = bg;
    png.data[4 * i + 1] = bg;
    png.data[4 * i + 2] = bg;
    png.data[4 * i + 3] = 255;
  }
  rows.forEach((row, r) => {
    const [b, c, h, w] = row.shape;
    const plane = h * w;
    for (let k = 0; k < b; k++) {
      const x0 = (pad + k * (cellW + pad)) * scale;
      const y0 = (pad + r * (cellH + pad)) * scale;
      for (let y = 0; y < h * scale; y++) {
        for (let x = 0; x < w * scale; x++) {
          const src = Math.floor(y / scale) * w + Math.floor(x / scale);
          const base = k * c * plane + src;
          const dst = 4 * ((y0 + y) * width + x0 + x);
          for (let ch = 0; ch < 3; ch++) png.data[dst + ch] = toByte(row.images[base + (c === 3 ? ch * plane : 0)]!);
        }
      }
    }
  });
  return { png: PNG.sync.write(png), width, height };
}

/** Writes the grid to `path` (creating its folder) and returns the picture's size. */
export function writeImageGrid(path: string, rows: readonly ImageRow[], options: GridOptions = {}): { width: number; height: number } {
  const { png, width, height } = encodeImageGrid(rows, options);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, png);
  return { width, height };
}
