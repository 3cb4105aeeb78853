// The GGL attacks by name: `ggl` (Adam on z, restarts), `ggl-cmaes` (CMA-ES on z), and their
// adaptive twins that replay the known defense on the trial gradients (ggl.ts). Labels as
// Inverting Gradients takes them: known, or recovered from the update.
import { Rng, randn } from '../common/index.js';
import { createAdam, learningRate, type Schedule } from '../optim/index.js';
import { cmaes } from './cmaes.js';
import { adaptiveSpec, GglProblem, type GglSpec } from './ggl.js';
import { knownOrRecoveredLabels } from './labels.js';
import { INVERTING_GRADIENTS } from './optimization.js';
import { type Need, requireThreat, type ThreatModel } from './threat.js';
import type { Attack, AttackOptions, AttackResult } from './types.js';

export interface GglSearch {
  kind: 'adam' | 'cmaes';
  /** Adam steps, or CMA-ES generations, per restart. */
  iterations: number;
  restarts: number;
  /** Adam's step size, or CMA-ES's initial sigma. */
  lr: number;
  schedule?: Schedule;
  /** CMA-ES population (default 4 + floor(3 ln d)). */
  population?: number;
}

/** Adam at lr 0.05 with step decay, 4 restarts of 400 steps; CMA-ES from the prior's centre with sigma 1, 200 generations. */
export const GGL_SEARCHES: Record<'adam' | 'cmaes', GglSearch> = {
  adam: { kind: 'adam', iterations: 400, restarts: 4, lr: 0.05, schedule: { kind: 'step' } },
  cmaes: { kind: 'cmaes', iterations: 200, restarts: 1, lr: 1 },
};

export const GGL_LATENT_WEIGHT = 0.01;

export interface SearchResult {
  z: Float32Array;
  match: number;
  perRestart: number[];
  evaluations: number;
}

/** Adam on z from `restarts` draws of N(0, I); the restart with the lowest matching term wins. */
export async function adamSearch(p: GglProblem, s: GglSearch, seed: number, onProgress?: (done: number, total: number) => void): Promise<SearchResult> {
  const n = p.shape[0] * p.latent;
  let best: SearchResult = { z: new Float32Array(n), match: Infinity, perRestart: [], evaluations: 0 };
  const adam = createAdam({ lr: s.lr });
  for (let r = 0; r < s.restarts; r++) {
    const z = { name: 'z', shape: [n], data: randn(n, new Rng((seed * 1_000_003 + r * 7919) >>> 0)) };
    let state = adam.init([z]);
    let top = { match: Infinity, z: Float32Array.from(z.data) };
    for (let t = 0; t < s.iterations; t++) {
      const v = await p.valueAndGrad(z.data);
      if (v.match < top.match) top = { match: v.match, z: Float32Array.from(z.data) };
      state = adam.step([z], [{ ...z, data: v.gz }], state, learningRate(s.lr, s.schedule ?? { kind: 'constant' }, t, s.iterations));
      onProgress?.(r * s.iterations + t + 1, s.restarts * s.iterations);
    }
    const end = await p.value(z.data);
    if (end.match < top.match) top = { match: end.match, z: Float32Array.from(z.data) };
    best.perRestart.push(top.match);
    best.evaluations += s.iterations + 1;
    if (top.match < best.match) best = { ...best, z: top.z, match: top.match };
  }
  return best;
}

/** CMA-ES on z (values only), from the prior's centre. */
export async function cmaesSearch(p: GglProblem, s: GglSearch, seed: number, onProgress?: (done: number, total: number) => void): Promise<SearchResult> {
  const n = p.shape[0] * p.latent;
  let best: SearchResult = { z: new Float32Array(n), match: Infinity, perRestart: [], evaluations: 0 };
  for (let r = 0; r < s.restarts; r++) {
    const r0 = await cmaes(async (xs) => Promise.all(xs.map(async (x) => (await p.value(Float32Array.from(x))).loss)), {
      mean: new Float64Array(n),
      sigma: s.lr,
      generations: s.iterations,
      population: s.population,
      seed: seed * 31 + r,
      onGeneration: (g) => onProgress?.(r * s.iterations + g, s.restarts * s.iterations),
    });
    const z = Float32Array.from(r0.best);
    const { match } = await p.value(z);
    best.perRestart.push(match);
    best.evaluations += r0.evaluations;
    if (match < best.match) best = { ...best, z, match };
  }
  return best;
}

export function gglAttack(kind: 'adam' | 'cmaes', adaptive: boolean): Attack {
  const name = `ggl${kind === 'cmaes' ? '-cmaes' : ''}${adaptive ? '-adaptive' : ''}`;
  const needs: Need[] = adaptive ? ['batchSize', 'positions'] : ['batchSize'];
  const search = kind === 'adam' ? 'Adam on z with restarts' : 'CMA-ES on z (objective values only)';
  return {
    name,
    summary: `Generative Gradient Leakage: cosine matching through a generative prior (--prior), ${search}${adaptive ? '; replays the known defense on the trial gradients (sent positions only, DP clipping)' : ''}`,
    requires: needs,
    async run(threat: ThreatModel, o: AttackOptions): Promise<AttackResult> {
      requireThreat(name, needs, threat);
      if (!o.prior) throw new Error(`attack ${name} needs a generative prior (dgp attack --prior FILE, made by dgp train-prior)`);
      const batch = threat.batchSize!;
      const notes: string[] = [];
      const labels = knownOrRecoveredLabels(threat, INVERTING_GRADIENTS.labelStrategy!(batch), o.seed, notes);
      const spec: GglSpec = { objective: 'cosine', maskAware: false, latentWeight: GGL_LATENT_WEIGHT, ...(adaptive ? adaptiveSpec(threat, o.knownDefense) : {}) };
      if (adaptive) notes.push(`replays: ${spec.maskAware ? 'sent positions only' : 'dense update'}${spec.clip !== undefined ? `, clip to ${spec.clip} with L2 matching` : ''}`);
      const s = { ...GGL_SEARCHES[kind], ...(o.iterations !== undefined ? { iterations: o.iterations } : {}), ...(o.restarts !== undefined ? { restarts: o.restarts } : {}) };
      const problem = new GglProblem(threat, o.prior, spec, labels);
      try {
        const r = await (kind === 'adam' ? adamSearch : cmaesSearch)(problem, s, o.seed, o.onProgress);
        return { attack: name, images: await problem.images(r.z), shape: problem.shape, labels, objective: r.match, iterations: s.iterations, perRestart: r.perRestart, notes };
      } finally {
        problem.release();
      }
    },
  };
}

export const GGL_ATTACKS: readonly Attack[] = [gglAttack('adam', false), gglAttack('adam', true), gglAttack('cmaes', false), gglAttack('cmaes', true)];
