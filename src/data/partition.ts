// Splitting a training set over federated clients: IID, and label-skewed non-IID by a Dirichlet
// draw per class, as NIID-Bench (Li et al., 2022) and FedML do it. Both return, per client, the
// ascending indices of its samples; the lists are disjoint and together cover every sample.

import type { Rng } from '../common/index.js';

function checkClients(n: number, clients: number): void {
  if (!Number.isInteger(clients) || clients < 1) throw new Error(`partition: clients must be a positive integer, got ${clients}`);
  if (clients > n) throw new Error(`partition: ${clients} clients but only ${n} samples`);
}

function sorted(list: ArrayLike<number>): Int32Array {
  return Int32Array.from(list).sort();
}

/** A random permutation cut into `clients` shards whose sizes differ by at most one. */
export function partitionIid(n: number, clients: number, rng: Rng): Int32Array[] {
  checkClients(n, clients);
  const perm = rng.permutation(n);
  const base = Math.floor(n / clients);
  const extra = n % clients;
  const out: Int32Array[] = [];
  for (let c = 0, at = 0; c < clients; c++) {
    const size = base + (c < extra ? 1 : 0);
    out.push(sorted(perm.subarray(at, at + size)));
    at += size;
  }
  return out;
}

export interface DirichletOptions {
  /** Fewest samples a client may hold (default 1: no client is left empty). */
  minSize?: number;
  /**
   * NIID-Bench's balancing rule: a client already holding N/clients samples gets no share of the
   * classes still to be dealt. Default true, as in that code.
   */
  capAtEqualShare?: boolean;
  /** Whole redraws allowed before the repair step (default 100). */
  maxTries?: number;
}

/**
 * For every class, its samples are shuffled and dealt to clients in proportions drawn from
 * Dirichlet(alpha, ..., alpha): small alpha gives each client a few dominant classes, large alpha
 * approaches IID. As in NIID-Bench, the whole draw is repeated until every client holds at least
 * minSize samples; if maxTries draws all fail (tiny data sets, many clients, very small alpha),
 * samples are moved one at a time from the largest client to each short one, so the call always
 * returns a valid partition. Both steps draw only from rng, so the result is reproducible.
 */
export function partitionDirichlet(
  labels: ArrayLike<number>,
  clients: number,
  alpha: number,
  rng: Rng,
  opts: DirichletOptions = {},
): Int32Array[] {
  const n = labels.length;
  const minSize = opts.minSize ?? 1;
  const cap = opts.capAtEqualShare ?? true;
  const maxTries = opts.maxTries ?? 100;
  checkClients(n, clients);
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`partitionDirichlet: alpha must be positive and finite, got ${alpha}`);
  if (!Number.isInteger(minSize) || minSize < 0) throw new Error(`partitionDirichlet: bad minSize ${minSize}`);
  if (minSize * clients > n) {
    throw new Error(`partitionDirichlet: ${clients} clients x minSize ${minSize} exceeds the ${n} samples`);
  }
  const byClass = groupByClass(labels);
  let parts: number[][] = [];
  for (let t = 0; t < Math.max(1, maxTries); t++) {
    parts = drawOnce(byClass, n, clients, alpha, cap, rng);
    if (parts.every((p) => p.length >= minSize)) return parts.map(sorted);
  }
  repair(parts, minSize, rng);
  return parts.map(sorted);
}

function groupByClass(labels: ArrayLike<number>): Int32Array[] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0) throw new Error(`partitionDirichlet: label ${y} at index ${i} is not a class index`);
    let g = groups.get(y);
    if (!g) groups.set(y, (g = []));
    g.push(i);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => Int32Array.from(groups.get(k)!));
}

function drawOnce(byClass: Int32Array[], n: number, clients: number, alpha: number, cap: boolean, rng: Rng): number[][] {
  const parts: number[][] = Array.from({ length: clients }, () => []);
  const share = n / clients;
  for (const members of byClass) {
    const idx = members.slice();
    rng.shuffle(idx);
    const p = dirichlet(alpha, clients, rng);
    if (cap) {
      const masked = p.map((v, j) => (parts[j]!.length < share ? v : 0));
      const total = masked.reduce((a, b) => a + b, 0);
      // Every client at its share already (only possible at the very end): deal unmasked.
      if (total > 0) for (let j = 0; j < clients; j++) p[j] = masked[j]! / total;
    }
    // Cut points floor(cumsum(p) * len), the last client taking the rest, as in NIID-Bench.
    let cum = 0;
    let from = 0;
    for (let j = 0; j < clients; j++) {
      cum += p[j]!;
      const to = j === clients - 1 ? idx.length : Math.min(idx.length, Math.floor(cum * idx.length));
      for (let i = from; i < to; i++) parts[j]!.push(idx[i]!);
      from = Math.max(from, to);
    }
  }
  return parts;
}

/** Dirichlet(alpha, ..., alpha) over k outcomes, by normalised Gamma(alpha) draws. */
export function dirichlet(alpha: number, k: number, rng: Rng): number[] {
  const g = Array.from({ length: k }, () => rng.gamma(alpha));
  const total = g.reduce((a, b) => a + b, 0);
  if (total > 0 && Number.isFinite(total)) return g.map((v) => v / total);
  // Every Gamma draw underflowed to 0 (alpha near 0): the limit is all mass on one outcome.
  const p = new Array<number>(k).fill(0);
  p[rng.int(k)] = 1;
  return p;
}

function repair(parts: number[][], minSize: number, rng: Rng): void {
  for (const short of parts) {
    while (short.length < minSize) {
      let donor = parts[0]!;
      for (const p of parts) if (p.length > donor.length) donor = p;
      const at = rng.int(donor.length);
      short.push(donor[at]!);
      donor[at] = donor[donor.length - 1]!;
      donor.pop();
    }
  }
}

/** Per-class counts of the samples at `indices`, e.g. to describe a client's label skew. */
export function labelHistogram(labels: ArrayLike<number>, indices: ArrayLike<number>, numClasses = 10): Int32Array {
  const h = new Int32Array(numClasses);
  for (let i = 0; i < indices.length; i++) h[labels[indices[i]!]!]!++;
  return h;
}
