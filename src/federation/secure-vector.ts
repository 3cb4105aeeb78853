// Secure aggregation in the federated round: the one vector a client masks, and the round's
// aggregate as the server reads it back from the sum of those vectors, which is all it gets.
//
//   [ update values x w | buffers x w x clip / BUFFER_RANGE | tail ]
//
// - update values: per parameter tensor in layout order, the values at ADGP's common positions
//   (increasing, as the commit lists them) or, for a dense update, every value;
// - buffers: the batch-norm running statistics after the client's step (data statistics too, so
//   they are summed securely as well), dense, scaled from [-BUFFER_RANGE, BUFFER_RANGE];
// - tail: w, w x loss and the figures of the defense's report the round record shows, each scaled
//   from its own range, then the share of this client's entries that were clipped.
// w = examples / fullBatch, the client's examples over those of a full round's work (batch size x
// local steps), so sum(w x) / sum(w) is the examples-weighted mean of plain aggregation, exactly;
// with equal batches (CL-SGD's, always) w = 1 and the input is the update itself.
// Every entry is clipped to [-clip, clip] by src/secagg before it is quantised; a scaled part
// of range R is therefore clipped at R, and its error bound is the update's times R / clip.
import { type TensorList, denseUpdate, sparseUpdate, type ClientUpdate, type UpdateTensor } from '../common/index.js';
import type { SecureSum } from '../secagg/index.js';
import type { ModelLayout } from './replica.js';
import type { SharedPositions } from './wire.js';

/** Batch-norm running statistics are clipped to [-BUFFER_RANGE, BUFFER_RANGE]. */
export const BUFFER_RANGE = 1024;

/** The tail's entries and the range each is scaled from into [-clip, clip]. */
const TAIL = [
  ['weight', 1],
  ['weightedLoss', 1024],
  ['distanceCount', 1],
  ['distance', 1024],
  ['keptCount', 1],
  ['kept', 1],
  ['clipped', 1],
] as const;
type TailKey = (typeof TAIL)[number][0];

/** What one client puts into the sum. */
export interface SecureInput {
  /** The defended update, one entry per parameter: sparse at exactly the common positions, or dense. */
  update: ClientUpdate;
  buffers: TensorList;
  examples: number;
  loss: number;
  report: Record<string, number>;
}

/** The round's aggregate and figures, from the sum alone. */
export interface SecureAggregate {
  /** The broadcast tensors: per parameter the weighted mean (at the common set, or dense), then the mean buffers. */
  tensors: ClientUpdate;
  /** Clients in the sum, and the sum of their weights w. */
  contributors: readonly number[];
  weight: number;
  trainLoss: number;
  relGradDistance: number | null;
  keptFraction: number | null;
  /** Mean over the contributors of the share of their entries beyond the clip (clipped before masking). */
  clippedFraction: number;
  /** Per entry of the parameters' mean, the bound on its quantisation error (buffers: x BUFFER_RANGE / clip). */
  meanErrorBound: number;
}

/** Length of every client's vector in a round: the update's values, the buffers, the tail. */
export function secureLength(layout: ModelLayout, shared?: SharedPositions): number {
  return updateLength(layout, shared) + layout.buffers.reduce((n, b) => n + size(b.shape), 0) + TAIL.length;
}

/**
 * The vector a client masks. Refuses an update that secure aggregation cannot sum: a sparse
 * tensor whose positions are not the round's common set (every client's must be the same).
 */
export function secureInput(layout: ModelLayout, input: SecureInput, fullBatch: number, clip: number, shared?: SharedPositions): Float32Array {
  const w = input.examples / fullBatch;
  if (!(w > 0 && w <= 1)) throw new Error(`secure aggregation: ${input.examples} examples this round, more than the full batch of ${fullBatch}`);
  const out = new Float32Array(secureLength(layout, shared));
  let at = 0;
  layout.params.forEach((p, i) => {
    const values = valuesAt(input.update[i], p.name, size(p.shape), shared?.[p.name]);
    for (let j = 0; j < values.length; j++) out[at++] = w * values[j]!;
  });
  const bufferScale = (w * clip) / BUFFER_RANGE;
  for (const b of input.buffers) for (let j = 0; j < b.data.length; j++) out[at++] = bufferScale * b.data[j]!;
  let clipped = 0;
  for (let j = 0; j < at; j++) if (Math.abs(out[j]!) > clip) clipped++;
  const distance = input.report['relGradDistance'];
  const kept = input.report['keptFraction'];
  const tail: Record<TailKey, number> = {
    weight: w,
    weightedLoss: w * input.loss,
    distanceCount: distance === undefined ? 0 : 1,
    distance: distance ?? 0,
    keptCount: kept === undefined ? 0 : 1,
    kept: kept ?? 0,
    clipped: at > 0 ? clipped / at : 0,
  };
  for (const [key, range] of TAIL) out[at++] = (tail[key] * clip) / range;
  return out;
}

/**
 * The aggregate from the secure sum: the weighted mean of the clients' updates and buffers, and
 * the round's figures. It is given the sum and nothing else: no client's vector is in reach.
 */
export function aggregateOfSum(layout: ModelLayout, secure: SecureSum, clip: number, shared?: SharedPositions): SecureAggregate {
  const { sum, contributors } = secure;
  const expected = secureLength(layout, shared);
  if (sum.length !== expected) throw new Error(`secure aggregation: a sum of ${sum.length} entries where the round's vector has ${expected}`);
  const tailAt = expected - TAIL.length;
  const total = (key: TailKey) => {
    const k = TAIL.findIndex(([name]) => name === key);
    return (sum[tailAt + k]! * TAIL[k]![1]) / clip;
  };
  const weight = total('weight');
  if (!(weight > 0)) throw new Error(`secure aggregation: the contributors' weights sum to ${weight}`);
  let at = 0;
  const params: UpdateTensor[] = layout.params.map((p) => {
    const positions = shared?.[p.name];
    const values = new Float32Array(positions ? positions.length : size(p.shape));
    for (let j = 0; j < values.length; j++) values[j] = sum[at++]! / weight;
    return positions ? sparseUpdate(p.name, p.shape, positions.slice(), values) : denseUpdate(p.name, p.shape, values);
  });
  const bufferScale = BUFFER_RANGE / clip / weight;
  const buffers = layout.buffers.map((b) => {
    const data = new Float32Array(size(b.shape));
    for (let j = 0; j < data.length; j++) data[j] = sum[at++]! * bufferScale;
    return denseUpdate(b.name, b.shape, data);
  });
  const counted = (countKey: TailKey, valueKey: TailKey) => {
    const n = Math.round(total(countKey));
    return n > 0 ? total(valueKey) / n : null;
  };
  return {
    tensors: [...params, ...buffers],
    contributors,
    weight,
    trainLoss: total('weightedLoss') / weight,
    relGradDistance: counted('distanceCount', 'distance'),
    keptFraction: counted('keptCount', 'kept'),
    clippedFraction: total('clipped') / contributors.length,
    meanErrorBound: secure.errorBound / weight,
  };
}

function updateLength(layout: ModelLayout, shared?: SharedPositions): number {
  return layout.params.reduce((n, p) => n + (shared?.[p.name]?.length ?? size(p.shape)), 0);
}

/**
 * A tensor's values at the common positions (or all of them), checked to be exactly those. A
 * quantiser's values (QSGD, scaled sign) are summed as the floats they stand for.
 */
function valuesAt(t: UpdateTensor | undefined, name: string, n: number, positions?: Uint32Array): Float32Array {
  if (!t || t.name !== name) throw new Error(`secure aggregation: the update has no tensor "${name}" in its place`);
  if (t.kind === 'dense') {
    if (t.values.length !== n) throw new Error(`secure aggregation: "${name}" has ${t.values.length} values, its shape ${n}`);
    if (!positions) return t.values;
    const out = new Float32Array(positions.length);
    for (let j = 0; j < positions.length; j++) out[j] = t.values[positions[j]!]!;
    return out;
  }
  if (!positions || positions.length !== t.indices.length || positions.some((p, j) => p !== t.indices[j])) {
    throw new Error(
      `secure aggregation sums every client's values position by position, but "${name}" is a sparse update at positions of this client's own choosing` +
        ' (plain DGP, Top-k, random-k); use ADGP (values at one common set) or a dense defense',
    );
  }
  return t.values;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
