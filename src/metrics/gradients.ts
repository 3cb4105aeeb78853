// Relative gradient distance `||g - s|| / ||g||`, the quantity of the DGP paper's Proposition 1:
// how far what a client shared (s, densified: zeros where nothing was sent) is from its true
// gradient g. Norms are taken over all tensors together, in float64.
import type { NamedTensor } from '../common/index.js';

export type GradientTensors = readonly (ArrayLike<number> | NamedTensor)[];

function dataOf(t: ArrayLike<number> | NamedTensor): ArrayLike<number> {
  return 'data' in t && 'shape' in t ? t.data : t;
}

/**
 * 0 when s equals g. If g is all zeros the ratio is undefined: 0 is returned when s is zero
 * too, +Infinity otherwise.
 */
export function relativeGradientDistance(trueGradient: GradientTensors, shared: GradientTensors): number {
  if (trueGradient.length !== shared.length) {
    throw new Error(`relativeGradientDistance: ${trueGradient.length} true tensors vs ${shared.length} shared`);
  }
  let diff = 0;
  let norm = 0;
  for (let t = 0; t < trueGradient.length; t++) {
    const g = dataOf(trueGradient[t]!);
    const s = dataOf(shared[t]!);
    if (g.length !== s.length) {
      throw new Error(`relativeGradientDistance: tensor ${t} has ${g.length} true entries vs ${s.length} shared`);
    }
    for (let i = 0; i < g.length; i++) {
      const d = g[i]! - s[i]!;
      diff += d * d;
      norm += g[i]! * g[i]!;
    }
  }
  if (norm === 0) return diff === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.sqrt(diff) / Math.sqrt(norm);
}
