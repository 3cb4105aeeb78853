// One experiment = one attack against one defense on N images of a data set, in batches of B, with
// the model at a given round. Shared by `dgp attack` and `dgp privacy-table`: the case builder
// makes the threat models, the attack sees only those, the scorer alone reads the ground truth.
import type { DatasetSplits } from '../data/index.js';
import { createDefense, type Defense } from '../defenses/index.js';
import type { GenerativePrior, Model } from '../models/index.js';
import { ADGP } from '../defenses/index.js';
import { type AttackCase, type BatchNormMode, buildCase, type ModelState } from './case.js';
import { buildRoundCases } from './round.js';
import { type AttackRecord, scoreAttack } from './evaluate.js';
import { imprintServer } from './imprint.js';
import { createAttack } from './registry.js';
import type { Attack } from './types.js';
import type { SnapshotStore } from './optimize.js';
import type { CaseStore } from './resume.js';
import { isLpipsBackend, LPIPS_NO_WEIGHTS, lpipsWith, type LpipsBackend, type LpipsNotComputed } from '../metrics/index.js';

export interface ExperimentSpec {
  /** A built-in attack by name (ATTACK_NAMES), or an Attack object of your own. */
  attack: string | Attack;
  /** A built-in defense by name (with defenseOptions), or a Defense object of your own (init/apply; defenseOptions are then only recorded). */
  defense: string | Defense;
  defenseOptions?: Record<string, unknown>;
  /** A built-in model (createModel) or one of your own written against the Model interface. */
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
  /** GGL's generative prior (the ggl attacks need one). */
  prior?: GenerativePrior;
  /** Robbing the Fed's imprint bins. */
  bins?: number;
  /** LPIPS: an open backend scores every reconstruction; otherwise the records say why not. */
  lpips?: LpipsBackend | LpipsNotComputed;
  /**
   * `defense: 'adgp'` (or 'none'): the images go to the clients of rounds, `clients` to a round
   * and `batch` each, and the server sees either each client's upload ('client') or, under secure
   * aggregation, only the mean of the round's uploads ('aggregate', entries clipped to `clip`).
   */
  round?: { clients: number; view: 'client' | 'aggregate'; clip: number };
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
  /** ADGP rounds: clients per round and what the server saw (each upload, or the aggregate of all). */
  clients?: number;
  view?: 'client' | 'aggregate';
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
  const attack = typeof spec.attack === 'string' ? createAttack(spec.attack) : spec.attack;
  const defenseOptions = spec.defenseOptions ?? {};
  const own = typeof spec.defense === 'string' ? undefined : spec.defense;
  const round = spec.round;
  // Checked once up front, so a bad name or option fails before any case is built (a round of
  // ADGP clients makes its own defenses, in buildRoundCases).
  const defense = own ?? (round ? null : createDefense(spec.defense as string, defenseOptions));
  const server = attack.name === 'rtf' ? imprintServer({ bins: spec.bins ?? 64 }) : undefined;
  const knows = { batchSize: true, labels: spec.knowLabels ?? false, positions: true };
  if (spec.defense === ADGP && !round) throw new Error('experiment: ADGP is attacked in rounds of several clients (give round: { clients, view, clip })');
  if (round && spec.defense !== ADGP && spec.defense !== 'none') throw new Error(`experiment: rounds of several clients are for adgp or none, not ${spec.defense}`);
  const perGroup = batch * (round?.clients ?? 1);
  if (images % perGroup !== 0) throw new Error(`experiment: --images (${images}) must be a multiple of ${round ? `clients x batch (${round.clients} x ${batch})` : `--batch (${batch})`}`);
  const groups = images / perGroup;
  const cases = round?.view === 'client' ? images / batch : groups;
  /** The cases of group k: one client's batch, or one ADGP round's uploads or aggregate. */
  const casesOf = async (k: number): Promise<AttackCase[]> => {
    const at = first + k * perGroup;
    const seed = spec.seed * 7919 + k;
    if (!round) {
      const indices = Array.from({ length: batch }, (_, i) => at + i);
      return [await buildCase({ model: spec.model, state: spec.state, data: test, indices, defense: defense!, seed, knows, server, batchNorm: spec.batchNorm })];
    }
    const batches = Array.from({ length: round.clients }, (_, c) => Array.from({ length: batch }, (_, i) => at + c * batch + i));
    const rc = await buildRoundCases({ model: spec.model, state: spec.state, data: test, batches, adgp: spec.defense === ADGP ? defenseOptions : null, clip: round.clip, seed, knows });
    return round.view === 'aggregate' ? [rc.aggregate] : rc.perClient;
  };
  const records: AttackRecord[] = [];
  const truths: Float32Array[] = [];
  const recons: Float32Array[] = [];
  const t0 = performance.now();
  // Case n of the experiment is kept in the store once scored, so a rerun reads it back instead of attacking it again.
  const perCase = round?.view === 'client' ? round.clients : 1;
  for (let k = 0; k < groups; k++) {
    const stored = Array.from({ length: perCase }, (_, j) => spec.store?.load(records.length + j));
    const built = stored.every((c) => c) ? null : await casesOf(k);
    for (let j = 0; j < perCase; j++) {
      const n = records.length;
      const kept = stored[j];
      if (kept) {
        records.push(kept.record);
        truths.push(kept.truth);
        recons.push(kept.recon);
        continue;
      }
      const c = built![j]!;
      const seed = spec.seed * 7919 + n;
      const started = performance.now();
      const result = await attack.run(c.threat, {
        seed,
        iterations: spec.iterations,
        restarts: spec.restarts,
        tv: spec.tv,
        onProgress: spec.onProgress && ((done, total) => spec.onProgress!({ case: n, cases, done, total })),
        onTrace: spec.onTrace && ((t, v) => spec.onTrace!(n, t, v)),
        traceEvery: spec.traceEvery,
        snapshots: spec.snapshots?.(n),
        prior: spec.prior,
        knownDefense: { name: typeof spec.defense === 'string' ? spec.defense : spec.defense.name, options: defenseOptions },
      });
      const { record, score } = scoreAttack(c, result, (performance.now() - started) / 1000);
      if (spec.lpips && isLpipsBackend(spec.lpips)) {
        const r = await lpipsWith(spec.lpips, score.images.truth, score.images.recon, c.truth.shape);
        if (r.computed) record.lpipsPerImage = r.perImage;
      }
      records.push(record);
      truths.push(score.images.truth);
      recons.push(score.images.recon);
      spec.store?.save(n, { record, truth: score.images.truth, recon: score.images.recon });
    }
  }
  const per = records.flatMap((r) => r.psnrPerImage);
  const labelled = records.filter((r) => r.labelAccuracy !== undefined);
  const summary: ExperimentSummary = {
    attack: attack.name,
    defense: own ? own.name : (spec.defense as string),
    defenseOptions,
    model: spec.model.name,
    round: spec.state.round,
    images,
    batch,
    ...(round ? { clients: round.clients, view: round.view } : {}),
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
