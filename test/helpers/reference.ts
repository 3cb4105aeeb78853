// Loads the PyTorch reference tensors (fixtures/reference, copied from ../shared/reference).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { oneHotLabels } from '../../src/train/evaluate.js';

const dir = fileURLToPath(new URL('../../fixtures/reference/', import.meta.url));

export interface RefTensor {
  shape: number[];
  data: Float32Array;
}

/** A `NAME.json` + `NAME.bin` pair of fixtures/reference (the format of io_util.py). */
export function loadReference(base: string): Map<string, RefTensor> {
  const manifest = JSON.parse(readFileSync(dir + base + '.json', 'utf8')) as Record<string, { shape: number[]; offset: number }>;
  const buf = readFileSync(dir + base + '.bin');
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const out = new Map<string, RefTensor>();
  for (const [name, { shape, offset }] of Object.entries(manifest)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(name, { shape, data: all.slice(offset, offset + n) });
  }
  return out;
}

let cache: { tensors: Map<string, RefTensor>; ref: Map<string, RefTensor> } | undefined;

export function reference() {
  cache ??= { tensors: loadReference('tensors'), ref: loadReference('ref') };
  return cache;
}

export function get(map: Map<string, RefTensor>, name: string): RefTensor {
  const t = map.get(name);
  if (!t) throw new Error(`reference tensor ${name} missing`);
  return t;
}

/** A JSON file of fixtures/reference. */
export function referenceJson<T>(name: string): T {
  return JSON.parse(readFileSync(dir + name, 'utf8')) as T;
}

export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

export function oneHot(labels: ArrayLike<number>, classes = 10): Float32Array {
  return oneHotLabels(labels, classes);
}
