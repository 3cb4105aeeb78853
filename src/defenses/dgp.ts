// Dual Gradient Pruning (Xue et al., AAAI 2024), per parameter tensor: rank the entries by |g|,
// drop the largest pTop of them (they carry most of what an inversion attack needs) and the
// smallest ones (they carry little of the update), send the band in between.
import { z } from 'zod';
import type { NamedTensor } from '../common/index.js';
import { perTensorBand, type RankBand } from './compose.js';
import { parseOptions } from '../common/index.js';
import { magnitudeRange } from './select.js';
import type { Defense } from './types.js';

export const dgpOptionsShape = {
  /** Fraction of each tensor's largest-|g| entries that is never sent. */
  pTop: z.number().min(0).lt(1).default(0.05),
  /** Fraction of each tensor sent: the band right below the dropped top. */
  pKeep: z.number().gt(0).max(1).default(0.2),
  /** A one-entry tensor cannot be split into top and band: 'send' it whole or 'drop' it. */
  tinyTensor: z.enum(['send', 'drop']).default('send'),
};
export const dgpSchema = z.object(dgpOptionsShape);

export type DgpOptions = z.infer<typeof dgpSchema>;
export type DgpOptionsInput = z.input<typeof dgpSchema>;

export function parseDgpOptions(input: unknown, what = 'dgp'): DgpOptions {
  return parseOptions(dgpSchema, input, what, (o) =>
    o.pTop + o.pKeep > 1 ? `pTop + pKeep must be at most 1 (got ${o.pTop} + ${o.pKeep})` : null,
  );
}

/**
 * How many of n entries DGP drops from the top and keeps below them.
 * drop = round(pTop n) and keep = round(pKeep n), then, so that rounding never changes what
 * DGP is on a small tensor:
 * - n >= 2 and pTop > 0: at least 1 entry is dropped from the top and at most n - 1, so a small
 *   bias is never sent as plain Top-k (a 10-entry bias: drop 1, keep 2);
 * - n >= 2: at least 1 entry is kept, and no more than remain below the dropped ones;
 * - n = 1: nothing to rank against; tinyTensor 'send' keeps the entry, 'drop' sends nothing
 *   (with error feedback its value waits in the residual for ever).
 */
export function dgpCounts(n: number, o: Pick<DgpOptions, 'pTop' | 'pKeep' | 'tinyTensor'>): { drop: number; keep: number } {
  if (n === 0) return { drop: 0, keep: 0 };
  if (n === 1) return o.tinyTensor === 'send' ? { drop: 0, keep: 1 } : { drop: 1, keep: 0 };
  const drop = o.pTop > 0 ? Math.min(n - 1, Math.max(1, Math.round(o.pTop * n))) : 0;
  const keep = Math.min(n - drop, Math.max(1, Math.round(o.pKeep * n)));
  return { drop, keep };
}

/** The positions DGP sends for one tensor, increasing. Ties: larger |g| first, then lower index. */
export function dgpBand(t: NamedTensor, o: DgpOptions): Uint32Array {
  const { drop, keep } = dgpCounts(t.data.length, o);
  return magnitudeRange(t.data, t.name, drop, drop + keep);
}

/** The positions DGP drops from the top and the band it sends. */
export function dgpSplit(t: NamedTensor, o: DgpOptions): { top: Uint32Array; band: Uint32Array } {
  const { drop, keep } = dgpCounts(t.data.length, o);
  return { top: magnitudeRange(t.data, t.name, 0, drop), band: magnitudeRange(t.data, t.name, drop, drop + keep) };
}

/** DGP without error feedback; createDefense('dgp') wraps it in error feedback by default. */
export function dgp(options: DgpOptionsInput = {}): Defense<null> & RankBand {
  const o = parseDgpOptions(options);
  return perTensorBand('dgp', (n) => {
    const { drop, keep } = dgpCounts(n, o);
    return [drop, drop + keep];
  });
}
