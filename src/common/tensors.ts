// Plain tensors shared by every layer of the toolkit. The defenses, the codec and the metrics use
// only these types, so they serve any engine that can hand over a Float32Array and a shape.

/** One named tensor: a flat row-major Float32Array and its shape. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A model's parameters or gradients: an ordered list of named tensors. */
export type TensorList = NamedTensor[];

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Deep copy (new buffers). */
export function cloneTensors(list: TensorList): TensorList {
  return list.map((t) => ({ name: t.name, shape: [...t.shape], data: new Float32Array(t.data) }));
}

/** Tensors of the same names and shapes, filled with zeros. */
export function zerosLike(list: TensorList): TensorList {
  return list.map((t) => ({ name: t.name, shape: [...t.shape], data: new Float32Array(t.data.length) }));
}

export function totalSize(list: TensorList): number {
  let n = 0;
  for (const t of list) n += t.data.length;
  return n;
}

/** Throws unless b has exactly the names and shapes of a, in order. */
export function assertSameLayout(a: TensorList, b: TensorList, what = 'tensor lists'): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} tensors vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.shape.join('x') !== y.shape.join('x')) {
      throw new Error(`${what}: tensor ${i} is ${x.name}[${x.shape}] vs ${y.name}[${y.shape}]`);
    }
  }
}
