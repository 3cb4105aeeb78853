// Scoring one attack's output against the batch it tried to recover, the way breaching's
// `report` does: de-normalise and clamp both batches, match each ground-truth image with one
// reconstruction (optimal assignment), then compute every metric in that order.
import { linearSumAssignment, type CostMatrix } from './assignment.js';
import { cwSsimPerImage, type CwSsimOptions } from './cwssim.js';
import { checkImages, denormalize, reorderImages, imageAt, type ImageShape } from './images.js';
import { labelAccuracy } from './labels.js';
import {
  isLpipsBackend,
  lpipsDistance,
  lpipsFeatures,
  openLpips,
  type LpipsOptions,
  type LpipsResult,
} from './lpips.js';
import { msePerImage, psnrFromMse, summarizePsnr } from './psnr.js';
import { ssimPerImage, type SsimOptions } from './ssim.js';

export interface ScoreInput {
  /** Ground truth, in the network's (normalised) input space, NCHW. */
  truth: Float32Array;
  /** The attack's reconstruction, same space and shape. */
  recon: Float32Array;
  shape: ImageShape;
  /** Data set statistics; without them the images are taken as already in [0, 1]. */
  mean?: readonly number[];
  std?: readonly number[];
  trueLabels?: ArrayLike<number>;
  recLabels?: ArrayLike<number>;
  /**
   * How reconstructions are matched to ground truth: 'mse' (default) minimises the summed pixel
   * MSE, 'none' keeps the given order, or a cost matrix `cost[truth i][recon j]` (to minimise).
   */
  match?: 'mse' | 'none' | CostMatrix;
  ssim?: SsimOptions;
  cwSsim?: CwSsimOptions;
}

export interface ReconstructionScore {
  /** `assignment[i]` is the reconstruction matched to ground-truth image i. */
  assignment: number[];
  mse: number[];
  /** Per ground-truth image, in dB (+Infinity where reproduced exactly). */
  psnr: number[];
  /** breaching's mean: +Infinity if any image is exact, NaN if any is not finite. */
  psnrMean: number;
  psnrMax: number;
  /** Classic Gaussian-window SSIM, mean over images. */
  ssim: number;
  ssimPerImage: number[];
  /** breaching's CW-SSIM (what breaching and the DGP code print as "SSIM"), mean over images. */
  cwSsim: number;
  cwSsimMax: number;
  cwSsimPerImage: number[];
  labelAccuracy?: number;
  /** The scored images: de-normalised, clamped, reconstructions in assigned order. */
  images: { truth: Float32Array; recon: Float32Array };
}

/** Cost matrix of pixel MSE between every ground-truth image (rows) and reconstruction. */
export function mseCostMatrix(truth: Float32Array, recon: Float32Array, shape: ImageShape): number[][] {
  const one: ImageShape = [1, shape[1], shape[2], shape[3]];
  return Array.from({ length: shape[0] }, (_, i) =>
    Array.from({ length: shape[0] }, (_, j) => msePerImage(imageAt(truth, shape, i), imageAt(recon, shape, j), one)[0]!),
  );
}

/**
 * Best matching of reconstructions to ground truth for a square cost matrix. Non-finite costs
 * (a reconstruction full of NaN) are treated as worse than any finite one rather than failing.
 */
export function matchImages(cost: CostMatrix): number[] {
  let worst = 0;
  for (const row of cost) for (const v of row) if (Number.isFinite(v) && Math.abs(v) > worst) worst = Math.abs(v);
  const safe = cost.map((row) => row.map((v) => (Number.isFinite(v) ? v : 2 * worst + 1)));
  const { cols } = linearSumAssignment(safe);
  return cols;
}

export function scoreReconstruction(input: ScoreInput): ReconstructionScore {
  const { shape } = input;
  checkImages(input.truth, shape, 'score: truth');
  checkImages(input.recon, shape, 'score: recon');
  const norm = { mean: input.mean ?? [0], std: input.std ?? [1] };
  const truth = denormalize(input.truth, shape, norm);
  const reconRaw = denormalize(input.recon, shape, norm);
  const match = input.match ?? 'mse';
  let assignment: number[];
  if (match === 'none') {
    assignment = Array.from({ length: shape[0] }, (_, i) => i);
  } else {
    const cost = match === 'mse' ? mseCostMatrix(truth, reconRaw, shape) : match;
    if (cost.length !== shape[0] || cost.some((r) => r.length !== shape[0])) {
      throw new Error(`score: match cost matrix must be ${shape[0]}x${shape[0]}`);
    }
    assignment = matchImages(cost);
  }
  const recon = reorderImages(reconRaw, shape, assignment);
  const mse = msePerImage(truth, recon, shape);
  const psnr = mse.map((m) => psnrFromMse(m));
  const { mean: psnrMean, max: psnrMax } = summarizePsnr(psnr);
  const ssimPer = ssimPerImage(truth, recon, shape, input.ssim);
  const cwPer = cwSsimPerImage(recon, truth, shape, input.cwSsim);
  const score: ReconstructionScore = {
    assignment,
    mse,
    psnr,
    psnrMean,
    psnrMax,
    ssim: meanOf(ssimPer),
    ssimPerImage: ssimPer,
    cwSsim: meanOf(cwPer),
    cwSsimMax: Math.max(...cwPer),
    cwSsimPerImage: cwPer,
    images: { truth, recon },
  };
  if (input.recLabels !== undefined && input.trueLabels !== undefined) {
    score.labelAccuracy = labelAccuracy(input.trueLabels, input.recLabels);
  }
  return score;
}

function meanOf(v: readonly number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/**
 * `scoreReconstruction` plus LPIPS. When a backend can be opened, and no `match` was given, the
 * matching uses LPIPS distances between all pairs, as breaching's `compute_batch_order` does;
 * otherwise pixel MSE, and `lpips` says why it was not computed.
 */
export async function scoreWithLpips(
  input: ScoreInput & { lpips: LpipsOptions },
): Promise<ReconstructionScore & { lpips: LpipsResult }> {
  const opened = await openLpips(input.lpips);
  if (!isLpipsBackend(opened)) return { ...scoreReconstruction(input), lpips: opened };
  const norm = { mean: input.mean ?? [0], std: input.std ?? [1] };
  const truth = denormalize(input.truth, input.shape, norm);
  const recon = denormalize(input.recon, input.shape, norm);
  const ft = await lpipsFeatures(opened, truth, input.shape);
  const fr = await lpipsFeatures(opened, recon, input.shape);
  const dist = ft.map((a) => fr.map((b) => lpipsDistance(a, b, opened.linearWeights)));
  const score = scoreReconstruction({ ...input, match: input.match ?? dist });
  const perImage = score.assignment.map((j, i) => dist[i]![j]!);
  const lp: LpipsResult = { computed: true, perImage, mean: meanOf(perImage) };
  return { ...score, lpips: opened.net === undefined ? lp : { ...lp, net: opened.net } };
}
