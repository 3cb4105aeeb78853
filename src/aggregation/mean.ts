// The server's side of a round: the (weighted) mean of the client updates, each accumulated
// straight into one dense buffer per tensor, so a sparse update costs only its own positions.
import { sizeOf, type TensorList, addInto, checkUpdate, sparseUpdate, type ClientUpdate, type TensorLayout } from '../common/index.js';

export interface MeanOptions {
  /** One weight per client (e.g. its sample count); normalised to sum 1. Default: equal. */
  weights?: readonly number[];
}

/**
 * sum_c w_c u_c / sum_c w_c per tensor. A position a client did not send counts as 0 for that
 * client (the mean is over all clients, as in the paper's code). Accumulates in float32.
 */
export function meanUpdates(layout: readonly TensorLayout[], updates: readonly ClientUpdate[], options: MeanOptions = {}): TensorList {
  if (updates.length === 0) throw new Error('meanUpdates: no client updates');
  const weights = normalisedWeights(updates.length, options.weights);
  updates.forEach((u, c) => {
    try {
      checkUpdate(u, layout);
    } catch (e) {
      throw new Error(`meanUpdates: client ${c}: ${(e as Error).message}`);
    }
  });
  return layout.map((t, i) => {
    const data = new Float32Array(sizeOf(t.shape));
    updates.forEach((u, c) => addInto(data, u[i]!, weights[c]!));
    return { name: t.name, shape: [...t.shape], data };
  });
}

function normalisedWeights(count: number, weights: readonly number[] | undefined): number[] {
  if (!weights) return new Array<number>(count).fill(1 / count);
  if (weights.length !== count) throw new Error(`meanUpdates: ${weights.length} weights for ${count} clients`);
  weights.forEach((w, c) => {
    if (!(Number.isFinite(w) && w >= 0)) throw new Error(`meanUpdates: weight of client ${c} is ${w}; weights must be finite and >= 0`);
  });
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('meanUpdates: weights sum to 0');
  return weights.map((w) => w / total);
}

/** Per tensor, the increasing union of the positions the clients sent (every position for a dense update). */
export function supportUnion(layout: readonly TensorLayout[], updates: readonly ClientUpdate[]): Uint32Array[] {
  return layout.map((t, i) => {
    const n = sizeOf(t.shape);
    const mark = new Uint8Array(n);
    let count = 0;
    for (const u of updates) {
      const ut = u[i]!;
      if (ut.kind === 'dense') return Uint32Array.from({ length: n }, (_, j) => j);
      for (const p of ut.indices) {
        if (p < n && mark[p] === 0) {
          mark[p] = 1;
          count++;
        }
      }
    }
    const out = new Uint32Array(count);
    let m = 0;
    for (let p = 0; p < n; p++) if (mark[p]) out[m++] = p;
    return out;
  });
}

/** The aggregate as a sparse update over a support (what the server sends down under DGP). */
export function restrictToSupport(tensors: TensorList, support: readonly Uint32Array[]): ClientUpdate {
  return tensors.map((t, i) => {
    const idx = support[i]!;
    const values = new Float32Array(idx.length);
    for (let j = 0; j < idx.length; j++) values[j] = t.data[idx[j]!]!;
    return sparseUpdate(t.name, t.shape, idx.slice(), values);
  });
}
