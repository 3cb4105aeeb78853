// One experiment = one attack against one defense on N images of a data set, in batches of B, with
// the model at a given round. Shared by `dgp attack` and `dgp privacy-table`: the case builder
// makes the threat models, the attack sees only those, the scorer alone reads the ground truth.
import type { DatasetSplits } from '../data/index.js';
import { createDefense } from '../defenses/registry.js';
import type { Model } from '../models/index.js';
import { type BatchNormMode, buildCase, type ModelState } from './case.js';
import { type AttackRecord, scoreAttack } from './evaluate.js';
import { imprintServer } from './imprint.js';
import { createAttack } from './registry.js';
import type { SnapshotStore } from './optimize.js';
import type { CaseStore } from './resume.js';
import { isLpipsBackend, LPIPS_NO_WEIGHTS, lpipsWith, type LpipsBackend, type LpipsNotComputed } from '../metrics/index.js';

export interface ExperimentSpec {
  attack: string;
  defense: string;
  defenseOptions?: Record<string, unknown>;
  model: Model;
  /** The attacked model's parameters at its round (see modelAtRound). */
  state: ModelState;
  data: DatasetSplits;
  /** Attacked images: test-set indices first, first + 1, ... (never used for training rounds). */
  images: number;
  first?: number;
  batch: number;
  seed: number;
  iterations?: number;
  restarts?: number;
  /** Total-variation weight instead of the attack's default for the model. */
  tv?: number;
  /** Whether the attacker knows the labels (default: no; DLG optimises them, the others recover them). */
  knowLabels?: boolean;
  /** Robbing the Fed's imprint bins. */
  bins?: number;
  /** LPIPS: an open backend scores every reconstruction; otherwise the records say why not. */
  lpips?: LpipsBackend | LpipsNotComputed;
  /** Iterations done and due in the current case (cases are attacked one after another). */
  onProgress?: (p: { case: number; cases: number; done: number; total: number }) => void;
  /** How the client runs batch norm (case.ts; default 'eval', on the running statistics the server sends). */
  batchNorm?: BatchNormMode;
  /** Finished cases kept and read back (a resumed experiment skips them), and per case the optimiser's snapshots. */
  store?: CaseStore;
  snapshots?: (k: number) => SnapshotStore;
  /** The objective of each restart every `traceEvery` steps of case k. */
  onTrace?: (k: number, t: number, perRestart: { loss: number; match: number }[]) => void;
  traceEvery?: number;
}

export interface ExperimentResult {
  records: AttackRecord[];
  summary: ExperimentSummary;
  /** De-normalised, clamped images for a grid: ground truth and matched reconstructions, all batches. */
  truth: Float32Array;
  recon: Float32Array;
  shape: [number, number, number, number];
}

export interface ExperimentSummary {
  attack: string;
  defense: string;
  defenseOptions: Record<string, unknown>;
  model: string;
  round: number;
  images: number;
  batch: number;
  /** Means over images (PSNR: of the per-image values, +Infinity if any image is exact). */
  psnr: number;
  /** Images reconstructed to at least 30 dB: a mean PSNR hides a few exact images among failures. */
  recovered: number;
  ssim: number;
  cwSsim: number;
  labelAccuracy?: number;
  /** Mean over the attacked updates. */
  relGradDistance: number;
  keptFraction: number;
  /** Mean LPIPS over images, or why it was not computed. */
  lpips: number | string;
  seconds: number;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

export async function runExperiment(spec: ExperimentSpec): Promise<ExperimentResult> {
  const { batch, images } = spec;
  if (!(batch >= 1) || images % batch !== 0) throw new Error(`experiment: --images (${images}) must be a positive multiple of --batch (${batch})`);
  const test = spec.data.test;
  const first = spec.first ?? 0;
  if (first + images > test.count) throw new Error(`experiment: ${images} images from ${first} exceed the ${test.count} test images of ${test.name}`);
  const attack = createAttack(spec.attack);
  const defenseOptions = spec.defenseOptions ?? {};
  const server = attack.name === 'rtf' ? imprintServer({ bins: spec.bins ?? 64 }) : undefined;
  const cases = images / batch;
  const records: AttackRecord[] = [];
  const truths: Float32Array[] = [];
  const recons: Float32Array[] = [];
  const t0 = performance.now();
  for (let k = 0; k < cases; k++) {
    const stored = spec.store?.load(k);
    if (stored) {
      records.push(stored.record);
      truths.push(stored.truth);
      recons.push(stored.recon);
      continue;
    }
    const indices = Array.from({ length: batch }, (_, i) => first + k * batch + i);
    const seed = spec.seed * 7919 + k;
    const c = await buildCase({
      model: spec.model,
      state: spec.state,
      data: test,
      indices,
      defense: createDefense(spec.defense, defenseOptions),
      seed,
      knows: { batchSize: true, labels: spec.knowLabels ?? false, positions: true },
      server,
      batchNorm: spec.batchNorm,
    });
    const started = performance.now();
    const result = await attack.run(c.threat, {
      seed,
      iterations: spec.iterations,
      restarts: spec.restarts,
      tv: spec.tv,
      onProgress: spec.onProgress && ((done, total) => spec.onProgress!({ case: k, cases, done, total })),
      onTrace: spec.onTrace && ((t, v) => spec.onTrace!(k, t, v)),
      traceEvery: spec.traceEvery,
      snapshots: spec.snapshots?.(k),
    });
    const { record, score } = scoreAttack(c, result, (performance.now() - started) / 1000);
    if (spec.lpips && isLpipsBackend(spec.lpips)) {
      const r = await lpipsWith(spec.lpips, score.images.truth, score.images.recon, [batch, test.channels, test.height, test.width]);
      if (r.computed) record.lpipsPerImage = r.perImage;
    }
    records.push(record);
    truths.push(score.images.truth);
    recons.push(score.images.recon);
    spec.store?.save(k, { record, truth: score.images.truth, recon: score.images.recon });
  }
  const per = records.flatMap((r) => r.psnrPerImage);
  const labelled = records.filter((r) => r.labelAccuracy !== undefined);
  const summary: ExperimentSummary = {
    attack: attack.name,
    defense: spec.defense,
    defenseOptions,
    model: spec.model.name,
    round: spec.state.round,
    images,
    batch,
    psnr: mean(per),
    recovered: per.filter((p) => p >= 30).length,
    ssim: mean(records.map((r) => r.ssim)),
    cwSsim: mean(records.map((r) => r.cwSsim)),
    relGradDistance: mean(records.map((r) => r.relGradDistance)),
    keptFraction: mean(records.map((r) => r.keptFraction)),
    lpips: records.every((r) => r.lpipsPerImage) ? mean(records.flatMap((r) => r.lpipsPerImage!)) : lpipsReason(spec.lpips),
    seconds: (performance.now() - t0) / 1000,
  };
  if (labelled.length) summary.labelAccuracy = mean(labelled.map((r) => r.labelAccuracy!));
  return { records, summary, truth: concat(truths), recon: concat(recons), shape: [images, test.channels, test.height, test.width] };
}

function lpipsReason(l: ExperimentSpec['lpips']): string {
  return l && !isLpipsBackend(l) ? l.reason : LPIPS_NO_WEIGHTS.reason;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
