// The analysis step: the only place that reads the ground truth. It scores a reconstruction with
// src/metrics (de-normalise, clamp, optimal assignment, PSNR, SSIM, CW-SSIM, label accuracy) and
// records the setting next to the numbers: model round, defense, what the defense removed.
import { densify } from '../common/index.js';
import { denormalize, mseCostMatrix, relativeGradientDistance, scoreReconstruction, type ReconstructionScore } from '../metrics/index.js';
import type { AttackCase } from './case.js';
import type { AttackResult } from './types.js';

export interface AttackRecord {
  attack: string;
  defense: string;
  model: string;
  /** Training rounds of the attacked model (0: at initialisation). */
  round: number;
  batch: number;
  /** ||g - shared|| / ||g|| of the update that was attacked. */
  relGradDistance: number;
  keptFraction: number;
  psnr: number;
  psnrPerImage: number[];
  /** Classic Gaussian-window SSIM. */
  ssim: number;
  /** breaching's CW-SSIM (what breaching and the DGP code print as "SSIM"). */
  cwSsim: number;
  /** LPIPS per image (matched order), when weights were given. */
  lpipsPerImage?: number[];
  /** Multiset overlap of recovered and true labels; absent when the attack recovers none. */
  labelAccuracy?: number;
  objective: number;
  iterations: number;
  seconds: number;
  notes: string[];
}

export function scoreAttack(c: AttackCase, r: AttackResult, seconds: number): { record: AttackRecord; score: ReconstructionScore } {
  const { truth, threat } = c;
  if (r.shape.join() !== truth.shape.join()) {
    throw new Error(`score: the attack returned images of shape [${r.shape}] for a batch of [${truth.shape}]`);
  }
  // Against an aggregate the target is any of its images: each reconstruction meets its best match.
  const bestMatch = truth.target === 'any';
  const score = scoreReconstruction({
    truth: bestMatch ? bestMatches(truth.x, r.images, truth.shape, threat.data) : truth.x,
    recon: r.images,
    shape: truth.shape,
    ...(bestMatch ? { match: 'none' as const } : {}),
    mean: threat.data.mean,
    std: threat.data.std,
    trueLabels: truth.labels,
    recLabels: r.labels,
    // The standard 11x11 window; images smaller than that (test problems) use the largest odd one that fits.
    ssim: { windowSize: Math.min(11, oddAtMost(Math.min(truth.shape[2], truth.shape[3]))) },
  });
  const record: AttackRecord = {
    attack: r.attack,
    defense: threat.defense,
    model: threat.model.name,
    round: threat.round,
    batch: truth.shape[0],
    relGradDistance: relativeGradientDistance(truth.gradient, densify(threat.update)),
    keptFraction: truth.defense.keptFraction,
    psnr: score.psnrMean,
    psnrPerImage: score.psnr,
    ssim: score.ssim,
    cwSsim: score.cwSsim,
    objective: r.objective,
    iterations: r.iterations,
    seconds,
    notes: r.notes ?? [],
  };
  if (score.labelAccuracy !== undefined) record.labelAccuracy = score.labelAccuracy;
  return { record, score };
}

/**
 * The ground-truth images reordered so that position j holds the one closest (pixel MSE, after
 * de-normalising and clamping) to reconstruction j; an image may be the best match of several.
 */
function bestMatches(truth: Float32Array, recon: Float32Array, shape: [number, number, number, number], norm: { mean: number[]; std: number[] }): Float32Array {
  const cost = mseCostMatrix(denormalize(truth, shape, norm), denormalize(recon, shape, norm), shape);
  const size = shape[1] * shape[2] * shape[3];
  const out = new Float32Array(truth.length);
  for (let j = 0; j < shape[0]; j++) {
    let best = 0;
    for (let i = 1; i < shape[0]; i++) if (cost[i]![j]! < cost[best]![j]!) best = i;
    out.set(truth.subarray(best * size, (best + 1) * size), j * size);
  }
  return out;
}

function oddAtMost(n: number): number {
  return n % 2 === 1 ? n : n - 1;
}
