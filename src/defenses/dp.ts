// Differential privacy for one client's update, as composition: clip the whole update's norm to
// C, then add noise of scale z*C to every entry. Gaussian noise pairs with L2 clipping (and the
// RDP accountant in rdp.ts); Laplace noise pairs with L1 clipping, its sensitivity.
import { z } from 'zod';
import { type Rng, denseUpdate } from '../common/index.js';
import { chain, named } from './compose.js';
import { parseOptions } from '../common/index.js';
import { measure } from './report.js';
import { assertFinite } from './select.js';
import type { Defense } from './types.js';

export const dpSchema = z.object({
  mechanism: z.enum(['gaussian', 'laplace']).default('gaussian'),
  /** C: the bound on the update's norm (L2 for gaussian, L1 for laplace). */
  clip: z.number().positive().default(1),
  /** z: noise scale over C (the std for gaussian, the Laplace scale b for laplace). */
  noiseMultiplier: z.number().min(0).default(1),
});
export type DpOptionsInput = z.input<typeof dpSchema>;

/** Scales the whole update (all tensors together) so its norm is at most `bound`. */
export function clipByNorm(bound: number, norm: 'l2' | 'l1' = 'l2'): Defense<null> {
  return {
    name: `clip(${norm})`,
    init: () => null,
    apply(grad) {
      let total = 0;
      for (const t of grad) {
        assertFinite(t.data, t.name);
        for (let i = 0; i < t.data.length; i++) total += norm === 'l2' ? t.data[i]! * t.data[i]! : Math.abs(t.data[i]!);
      }
      const size = norm === 'l2' ? Math.sqrt(total) : total;
      const scale = size > bound ? bound / size : 1;
      const update = grad.map((t) => {
        const v = new Float32Array(t.data.length);
        for (let i = 0; i < v.length; i++) v[i] = t.data[i]! * scale;
        return denseUpdate(t.name, t.shape, v);
      });
      return { update, state: null, report: measure(grad, update, { preClipNorm: size, clipScale: scale }) };
    },
  };
}

/** Adds independent noise of the given scale to every entry (the std for gaussian, b for laplace). */
export function addNoise(mechanism: 'gaussian' | 'laplace', scale: number): Defense<null> {
  const draw = mechanism === 'gaussian' ? (rng: Rng) => rng.normal() : laplace;
  return {
    name: mechanism,
    init: () => null,
    apply(grad, _state, rng) {
      const update = grad.map((t) => {
        const v = new Float32Array(t.data.length);
        for (let i = 0; i < v.length; i++) v[i] = t.data[i]! + scale * draw(rng);
        return denseUpdate(t.name, t.shape, v);
      });
      return { update, state: null, report: measure(grad, update, { noiseScale: scale }) };
    },
  };
}

/** A standard Laplace draw (b = 1) by inverting the CDF. */
function laplace(rng: Rng): number {
  for (;;) {
    const u = rng.uniform() - 0.5;
    const tail = 1 - 2 * Math.abs(u);
    if (tail > 0) return -Math.sign(u) * Math.log(tail);
  }
}

export function dp(options: DpOptionsInput = {}): Defense<unknown[]> {
  const o = parseOptions(dpSchema, options, 'dp');
  const norm = o.mechanism === 'gaussian' ? 'l2' : 'l1';
  return named(`dp(${o.mechanism})`, chain(clipByNorm(o.clip, norm), addNoise(o.mechanism, o.noiseMultiplier * o.clip)));
}
