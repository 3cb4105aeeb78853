// The figures every defense reports, computed the same way for all of them from the raw gradient
// and what is actually sent, so a wrapper (error feedback, a chain) can recompute them against
// its own input instead of trusting an inner defense that saw a different gradient.
import type { TensorList, ClientUpdate } from '../common/index.js';
import type { DefenseReport } from './types.js';

/** `gradSquares`, when a caller has them already, are the per-tensor ||g_t||^2, saving a pass. */
export function measure(grad: TensorList, update: ClientUpdate, extra: Record<string, number> = {}, gradSquares?: readonly number[]): DefenseReport {
  if (grad.length !== update.length) throw new Error(`update has ${update.length} tensors for a gradient of ${grad.length}`);
  let g2 = 0;
  let d2 = 0;
  let total = 0;
  let sent = 0;
  for (let t = 0; t < grad.length; t++) {
    const g = grad[t]!.data;
    const u = update[t]!;
    total += g.length;
    sent += u.values.length;
    const tg2 = gradSquares?.[t] ?? sumSquares(g);
    g2 += tg2;
    const v = u.values;
    if (u.kind === 'dense') {
      let a = 0;
      let b = 0;
      const m = g.length & ~1;
      for (let i = 0; i < m; i += 2) {
        const d0 = g[i]! - v[i]!;
        const d1 = g[i + 1]! - v[i + 1]!;
        a += d0 * d0;
        b += d1 * d1;
      }
      if (m < g.length) a += (g[m]! - v[m]!) ** 2;
      d2 += a + b;
    } else {
      // Entries not sent contribute g^2; sent ones contribute (g - v)^2 instead.
      let td2 = tg2;
      const idx = u.indices;
      for (let j = 0; j < idx.length; j++) {
        const x = g[idx[j]!]!;
        const d = x - v[j]!;
        td2 += d * d - x * x;
      }
      d2 += Math.max(0, td2);
    }
  }
  const relGradDistance = g2 > 0 ? Math.sqrt(d2 / g2) : d2 > 0 ? Infinity : 0;
  return {
    keptFraction: total > 0 ? sent / total : 0,
    relGradDistance,
    gradNorm: Math.sqrt(g2),
    gradDistance: Math.sqrt(d2),
    sentEntries: sent,
    totalEntries: total,
    extra,
  };
}

/** Sum of squares in float64 with four running sums: no single long chain of dependent adds. */
export function sumSquares(x: Float32Array): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const m = x.length & ~3;
  for (let i = 0; i < m; i += 4) {
    a += x[i]! * x[i]!;
    b += x[i + 1]! * x[i + 1]!;
    c += x[i + 2]! * x[i + 2]!;
    d += x[i + 3]! * x[i + 3]!;
  }
  for (let i = m; i < x.length; i++) a += x[i]! * x[i]!;
  return a + b + c + d;
}
