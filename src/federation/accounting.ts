// What a DP run promises, in (epsilon, delta). Each client clips its own update and adds the
// noise itself, so the server, the adversary this toolkit measures, sees every noisy update it
// receives: against it there is no amplification by sampling (it chose the clients), and each
// round a client takes part is one Gaussian mechanism on that client's whole update (sensitivity:
// the clip bound, noise std: noiseMultiplier x clip). Client-level, add/remove adjacency.
import { dpSgdEpsilon } from '../defenses/index.js';
import type { HistoryEntry } from './checkpoint.js';
import type { FederatedSpec } from './spec.js';

export interface ClientLevelPrivacy {
  /** Per client, against the server; the worst client (the one that trained most). */
  epsilon: number;
  delta: number;
  noiseMultiplier: number;
  /** Rounds the most frequent participant trained in (sampled and not dropped). */
  rounds: number;
  note: string;
}

/** The guarantee of a Gaussian DP run, or null for any other defense (Laplace: not accounted here). */
export function clientLevelPrivacy(spec: FederatedSpec, history: readonly HistoryEntry[], delta = 1e-5): ClientLevelPrivacy | null {
  const { name, options } = spec.defense;
  if (name !== 'dp' || (options['mechanism'] ?? 'gaussian') !== 'gaussian') return null;
  const z = (options['noiseMultiplier'] as number | undefined) ?? 1;
  const trained = new Array<number>(spec.clients).fill(0);
  for (const e of history) {
    // A failed round released nothing; under secure aggregation the sum holds exactly its contributors (a client recovered after masking among them).
    if (e.failed !== undefined) continue;
    const inRound = e.secure ? e.secure.contributors : e.sampled.filter((c) => !e.dropped.some((d) => d.client === c && d.phase !== 'broadcast'));
    for (const c of inRound) trained[c]!++;
  }
  const rounds = Math.max(...trained);
  const { epsilon } = dpSgdEpsilon({ q: 1, noiseMultiplier: z, steps: rounds, delta });
  return { epsilon, delta, noiseMultiplier: z, rounds, note: 'client-level, against the server that receives each noisy update (no amplification by sampling); RDP accountant' };
}
