// Error feedback's corrected gradient c = g + e, tensor by tensor, with the sums of squares the
// reports need taken while adding: sum g^2 as compose.ts's addResidual takes it, sum c^2 as
// report.ts's sumSquares does (same running sums, same order), so every figure is bit for bit what
// the whole-gradient path gives. Ranking c right after it is written (select.ts) finds it in the
// cache: the largest ResNet-18 tensor is 9.4 MB, the L3 cache of these machines 32 MB.
import { magnitudeRange } from './select.js';

export interface CorrectedBand {
  /** Positions of the ranks [from, to) of |c|, increasing. */
  indices: Uint32Array;
  /** c = g + e, a new buffer. */
  corrected: Float32Array;
  gradSquares: number;
  correctedSquares: number;
}

/** c = g + e and the ranks [from, to) of |c|; throws naming the tensor at a non-finite c. */
export function correctedRange(g: Float32Array, e: Float32Array, name: string, from: number, to: number): CorrectedBand {
  if (e.length !== g.length) throw new Error(`error feedback: tensor "${name}" has ${g.length} entries, residual ${e.length}`);
  const corrected = new Float32Array(g.length);
  const sums = new Float64Array(2);
  addWithSquares(g, e, corrected, sums);
  return { indices: magnitudeRange(corrected, name, from, to), corrected, gradSquares: sums[0]!, correctedSquares: sums[1]! };
}

/** c = g + e; sums[0] = sum g^2 (running sums over even and odd positions), sums[1] = sum c^2 (four, by position mod 4, the tail in the first). */
function addWithSquares(g: Float32Array, e: Float32Array, c: Float32Array, sums: Float64Array): void {
  const n = g.length;
  let ga = 0;
  let gb = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const m4 = n & ~3;
  let i = 0;
  for (; i < m4; i += 4) {
    const g0 = g[i]!;
    const g1 = g[i + 1]!;
    const g2 = g[i + 2]!;
    const g3 = g[i + 3]!;
    c[i] = g0 + e[i]!;
    c[i + 1] = g1 + e[i + 1]!;
    c[i + 2] = g2 + e[i + 2]!;
    c[i + 3] = g3 + e[i + 3]!;
    ga += g0 * g0;
    gb += g1 * g1;
    ga += g2 * g2;
    gb += g3 * g3;
    const x0 = c[i]!;
    const x1 = c[i + 1]!;
    const x2 = c[i + 2]!;
    const x3 = c[i + 3]!;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; i < n; i++) {
    const gi = g[i]!;
    c[i] = gi + e[i]!;
    if (i & 1) gb += gi * gi;
    else ga += gi * gi;
    s0 += c[i]! * c[i]!;
  }
  sums[0] = ga + gb;
  sums[1] = s0 + s1 + s2 + s3;
}
