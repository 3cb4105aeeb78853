// What a client sends for one round: per tensor either every value (dense) or the values at a set
// of positions (sparse). Defenses produce these, the codec puts them on the wire, aggregation
// averages them; all three agree on this one type so none of them needs to know the others.
import { sizeOf, type NamedTensor, type TensorList } from './tensors.js';

/** The name and shape of a tensor, without its values. */
export interface TensorLayout {
  name: string;
  shape: number[];
}

/**
 * A quantiser's exact form of its values (QSGD, scaled sign): values[j] = fround(q[j] * scale / s)
 * with integer q[j] in [-s, s], so the codec can send about log2(2s + 1) bits per entry.
 */
export interface Levels {
  scale: number;
  s: number;
  q: Int32Array;
}

export interface DenseUpdate {
  name: string;
  shape: number[];
  kind: 'dense';
  values: Float32Array;
  levels?: Levels;
}

export interface SparseUpdate {
  name: string;
  shape: number[];
  kind: 'sparse';
  /** Flat row-major positions, strictly increasing. */
  indices: Uint32Array;
  /** values[j] belongs at indices[j]. */
  values: Float32Array;
  levels?: Levels;
}

export type UpdateTensor = DenseUpdate | SparseUpdate;

/** One client's message for one round: one entry per tensor, in the model's order. */
export type ClientUpdate = UpdateTensor[];

export function layoutOf(list: readonly { name: string; shape: readonly number[] }[]): TensorLayout[] {
  return list.map((t) => ({ name: t.name, shape: [...t.shape] }));
}

export function denseUpdate(name: string, shape: readonly number[], values: Float32Array): DenseUpdate {
  return { name, shape: [...shape], kind: 'dense', values };
}

export function sparseUpdate(
  name: string,
  shape: readonly number[],
  indices: Uint32Array,
  values: Float32Array,
): SparseUpdate {
  return { name, shape: [...shape], kind: 'sparse', indices, values };
}

/** Adds scale * u into target (a dense buffer of u's size). */
export function addInto(target: Float32Array, u: UpdateTensor, scale = 1): void {
  const v = u.values;
  if (u.kind === 'dense') {
    for (let i = 0; i < v.length; i++) target[i] += scale * v[i]!;
  } else {
    const idx = u.indices;
    for (let j = 0; j < idx.length; j++) target[idx[j]!] += scale * v[j]!;
  }
}

/** The full tensor an update stands for (zeros where a sparse update sends nothing); a new buffer. */
export function densifyTensor(u: UpdateTensor): NamedTensor {
  const data = new Float32Array(sizeOf(u.shape));
  if (u.kind === 'dense') data.set(u.values);
  else addInto(data, u);
  return { name: u.name, shape: [...u.shape], data };
}

export function densify(update: ClientUpdate): TensorList {
  return update.map(densifyTensor);
}

/** How many positions an update carries (every entry for a dense tensor). */
export function sentEntries(update: ClientUpdate): number {
  let n = 0;
  for (const u of update) n += u.values.length;
  return n;
}

/** How many carried values are nonzero. */
export function countNonzeros(update: ClientUpdate): number {
  let n = 0;
  for (const u of update) {
    for (let i = 0; i < u.values.length; i++) if (u.values[i] !== 0) n++;
  }
  return n;
}

/**
 * Throws unless u is well formed: value count matching the shape (dense) or the positions
 * (sparse), positions strictly increasing and inside the tensor, and, when given, the expected
 * name and shape.
 */
export function checkUpdateTensor(u: UpdateTensor, expected?: TensorLayout): void {
  const n = sizeOf(u.shape);
  if (expected && (expected.name !== u.name || expected.shape.join('x') !== u.shape.join('x'))) {
    throw new Error(`update tensor ${u.name}[${u.shape}] where ${expected.name}[${expected.shape}] was expected`);
  }
  if (u.kind === 'dense') {
    if (u.values.length !== n) throw new Error(`dense update ${u.name}: ${u.values.length} values for ${n} entries`);
    return;
  }
  const idx = u.indices;
  if (idx.length !== u.values.length) {
    throw new Error(`sparse update ${u.name}: ${idx.length} positions but ${u.values.length} values`);
  }
  checkPositions(u.name, idx, n);
}

/** Throws unless the positions are strictly increasing and below n. */
export function checkPositions(name: string, idx: Uint32Array, n: number): void {
  let prev = -1;
  for (let j = 0; j < idx.length; j++) {
    const p = idx[j]!;
    if (p <= prev) throw new Error(`sparse update ${name}: position ${p} at slot ${j} does not increase (after ${prev})`);
    prev = p;
  }
  if (prev >= n) throw new Error(`sparse update ${name}: position ${prev} outside ${n} entries`);
}

export function checkUpdate(update: ClientUpdate, layout?: readonly TensorLayout[]): void {
  if (layout && layout.length !== update.length) {
    throw new Error(`update has ${update.length} tensors where ${layout.length} were expected`);
  }
  update.forEach((u, i) => checkUpdateTensor(u, layout?.[i]));
}
