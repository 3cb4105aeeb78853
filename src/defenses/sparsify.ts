// The sparsifying baselines DGP is compared with at equal density: Top-k keeps the largest
// entries (the ones an inversion attack profits from most), random-k keeps a seeded uniform draw.
import { z } from 'zod';
import { sparseUpdate } from '../common/index.js';
import { perTensor, perTensorBand, type RankBand } from './compose.js';
import { parseOptions } from '../common/index.js';
import { assertFinite, gather } from './select.js';
import type { Defense } from './types.js';

const fraction = z.number().gt(0).max(1).default(0.2);
export const topkSchema = z.object({ fraction });
export const randomkSchema = z.object({ fraction, rescale: z.boolean().default(false) });

export type TopkOptionsInput = z.input<typeof topkSchema>;
export type RandomkOptionsInput = z.input<typeof randomkSchema>;

/** k = round(fraction n), at least 1 and at most n. */
export function keepCount(n: number, fraction: number): number {
  return n === 0 ? 0 : Math.min(n, Math.max(1, Math.round(fraction * n)));
}

/** Per tensor, the k largest |g| (ties: lower index first), k = keepCount(n, fraction). */
export function topk(options: TopkOptionsInput = {}): Defense<null> & RankBand {
  const o = parseOptions(topkSchema, options, 'topk');
  return perTensorBand('topk', (n) => [0, keepCount(n, o.fraction)]);
}

/**
 * Per tensor, k positions drawn uniformly without replacement from the rng. With `rescale` the
 * values are multiplied by n/k, which makes the update unbiased; without it (the default, meant
 * for use with error feedback) the values are sent as they are.
 */
export function randomk(options: RandomkOptionsInput = {}): Defense<null> {
  const o = parseOptions(randomkSchema, options, 'randomk');
  return perTensor('randomk', (t, rng) => {
    assertFinite(t.data, t.name);
    const n = t.data.length;
    const k = keepCount(n, o.fraction);
    // Selection sampling (Knuth's algorithm S): exactly k positions, already in increasing order.
    const idx = new Uint32Array(k);
    let m = 0;
    for (let i = 0; i < n && m < k; i++) {
      if ((n - i) * rng.uniform() < k - m) idx[m++] = i;
    }
    const values = gather(t.data, idx);
    if (o.rescale) for (let j = 0; j < k; j++) values[j] *= n / k;
    return sparseUpdate(t.name, t.shape, idx, values);
  });
}
