// Quantizing baselines: every entry is sent, at lower precision. QSGD is unbiased by stochastic
// rounding; scaled sign is biased and is meant to run with error feedback (EF-signSGD).
import { z } from 'zod';
import { denseUpdate } from '../common/index.js';
import { perTensor } from './compose.js';
import { parseOptions } from '../common/index.js';
import { assertFinite } from './select.js';
import type { Defense } from './types.js';

export const qsgdSchema = z.object({ levels: z.number().int().min(1).max(1 << 16).default(16) });
export type QsgdOptionsInput = z.input<typeof qsgdSchema>;

/**
 * QSGD (Alistarh et al. 2017) per tensor with s levels: v_i -> ||v|| sign(v_i) l_i / s, where l_i
 * is |v_i| s / ||v|| rounded down or up at random so that E[l_i] = |v_i| s / ||v||.
 */
export function qsgd(options: QsgdOptionsInput = {}): Defense<null> {
  const { levels: s } = parseOptions(qsgdSchema, options, 'qsgd');
  return perTensor('qsgd', (t, rng) => {
    assertFinite(t.data, t.name);
    const x = t.data;
    let sq = 0;
    for (let i = 0; i < x.length; i++) sq += x[i]! * x[i]!;
    const norm = Math.sqrt(sq);
    const out = new Float32Array(x.length);
    const q = new Int32Array(x.length);
    if (norm > 0) {
      for (let i = 0; i < x.length; i++) {
        const r = (Math.abs(x[i]!) / norm) * s;
        const lower = Math.floor(r);
        const level = rng.uniform() < r - lower ? lower + 1 : lower;
        q[i] = Math.sign(x[i]!) * level;
        out[i] = (q[i]! * norm) / s;
      }
    }
    // The integers go beside the values, so the codec can send log2(2s + 1) bits per entry.
    return { ...denseUpdate(t.name, t.shape, out), levels: { scale: norm, s, q } };
  });
}

/** Per tensor mean|g| * sign(g) (sign(0) = 0), as in EF-signSGD (Karimireddy et al. 2019). */
export function scaledSign(): Defense<null> {
  return perTensor('signsgd', (t) => {
    assertFinite(t.data, t.name);
    const x = t.data;
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]!);
    const scale = x.length > 0 ? sum / x.length : 0;
    const out = new Float32Array(x.length);
    const q = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      q[i] = x[i]! > 0 ? 1 : x[i]! < 0 ? -1 : 0;
      out[i] = q[i]! * scale;
    }
    return { ...denseUpdate(t.name, t.shape, out), levels: { scale, s: 1, q } };
  });
}
