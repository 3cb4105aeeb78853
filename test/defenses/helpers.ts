// Shared by the defense tests: random tensors rich in ties, and the sort-based reference ranking
// that the linear-time selection must reproduce exactly.
import { Rng } from '../../src/common/rng.js';
import type { TensorList } from '../../src/common/tensors.js';

/** Values drawn from one of several regimes, so that ties, zeros and signed zeros are common. */
export function randomTensorData(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  const regime = rng.int(5);
  for (let i = 0; i < n; i++) {
    if (regime === 0) a[i] = rng.normal();
    else if (regime === 1) a[i] = rng.int(7) - 3; // many ties, +x and -x tie on |x|
    else if (regime === 2) a[i] = 0;
    else if (regime === 3) a[i] = rng.uniform() < 0.5 ? -0 : 0.5;
    else a[i] = rng.uniform() < 0.3 ? rng.normal() * 1e-3 : rng.int(3) * 0.25;
  }
  return a;
}

/** Positions of the ranks [from, to) of a stable sort by |x| descending, then index, increasing. */
export function referenceRange(data: ArrayLike<number>, from: number, to: number): number[] {
  const order = Array.from({ length: data.length }, (_, i) => i);
  order.sort((i, j) => Math.abs(data[j]!) - Math.abs(data[i]!) || i - j);
  return order.slice(from, to).sort((a, b) => a - b);
}

export function randomGrad(rng: Rng, shapes: number[][]): TensorList {
  return shapes.map((shape, t) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { name: `t${t}`, shape, data: randomTensorData(rng, n) };
  });
}

/** A gradient to apply round after round, with entries of different sizes: +-1, +-1/2, ... +-1/n. */
export function constantGradient(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? -1 : 1) / (1 + i));
}
