// Drives a matching problem to a reconstruction: seeded random starts, L-BFGS or Adam, restarts
// kept or merged. Restarts run in lock-step so that a consensus across them (GradInversion's group
// consistency) is available at every step; without it they are simply independent runs.
import { randn, Rng } from '../common/index.js';
import { learningRate, type Schedule } from '../optim/index.js';
import { adamHyper } from './adam.js';
import { lbfgs, type LbfgsOptions } from './lbfgs.js';
import { adamState, type AdamState, type Candidate, type MatchingProblem } from './matching.js';

export interface OptimizeOptions {
  optimizer: 'lbfgs' | 'adam';
  /** Iterations per restart (L-BFGS iterations, or Adam steps). */
  iterations: number;
  restarts: number;
  seed: number;
  /** Adam's step size, or L-BFGS's initial line-search step. */
  lr: number;
  schedule?: Schedule;
  lbfgs?: Partial<Omit<LbfgsOptions, 'maxIter' | 'lr' | 'onIter'>>;
  /** With a group term: the fraction of the run after which the consensus pull starts. */
  groupStart?: number;
  /** The fixed labels ([B, classes] soft or one-hot) when the problem does not optimise them. */
  fixedLabels?: Float32Array;
  onProgress?: (done: number, total: number) => void;
  /** Called every `traceEvery` Adam steps with the objective of each restart (for logs). */
  onTrace?: (t: number, perRestart: { loss: number; match: number }[]) => void;
  traceEvery?: number;
  /** Adam only: where a long run keeps its state, so an interrupted run resumes at its last snapshot. */
  snapshots?: SnapshotStore;
}

/** Everything an Adam run needs to continue exactly where it stopped. */
export interface AdamSnapshot {
  /** Steps done. */
  t: number;
  iterations: number;
  restarts: number;
  states: AdamState[];
  /** Per restart: the lowest objective seen and the iterate that had it. */
  best: { loss: number; x: Float32Array; labels: Float32Array }[];
}

export interface SnapshotStore {
  /** Steps between snapshots. */
  every: number;
  load(): AdamSnapshot | undefined;
  save(s: AdamSnapshot): void;
}

export interface OptimizeResult {
  x: Float32Array;
  /** Label logits (joint) or the fixed labels. */
  labels: Float32Array;
  /** Matching term of the returned candidate (lower is better; Infinity when it diverged). */
  match: number;
  /** Matching term reached by each restart. */
  perRestart: number[];
  iterations: number;
  evaluations: number;
}

export { randn };

/** Restart r starts from its own stream, so adding restarts never changes the earlier ones. */
function initial(problem: MatchingProblem, o: OptimizeOptions, r: number): Candidate {
  const rng = new Rng((o.seed * 1_000_003 + r * 7919) >>> 0);
  const [b, c, h, w] = problem.shape;
  const x = randn(b * c * h * w, rng);
  if (problem.spec.labelMode === 'fixed') {
    if (!o.fixedLabels) throw new Error('optimize: a problem with fixed labels needs fixedLabels');
    return { x, labels: o.fixedLabels };
  }
  return { x, labels: randn(b * problem.classes, rng) };
}

const finiteOr = (v: number) => (Number.isFinite(v) ? v : Infinity);

export async function optimize(problem: MatchingProblem, o: OptimizeOptions): Promise<OptimizeResult> {
  if (!(o.iterations >= 1) || !(o.restarts >= 1)) throw new Error(`optimize: iterations (${o.iterations}) and restarts (${o.restarts}) must be at least 1`);
  return o.optimizer === 'lbfgs' ? runLbfgs(problem, o) : runAdam(problem, o);
}

async function runLbfgs(problem: MatchingProblem, o: OptimizeOptions): Promise<OptimizeResult> {
  if ((problem.spec.group ?? 0) > 0) throw new Error('optimize: group consistency needs Adam (restarts in lock-step)');
  const joint = problem.spec.labelMode === 'joint';
  const total = o.iterations * o.restarts;
  let best: OptimizeResult | undefined;
  const perRestart: number[] = [];
  let evaluations = 0;
  for (let r = 0; r < o.restarts; r++) {
    const start = initial(problem, o, r);
    const nx = start.x.length;
    // Images and label logits are one vector for L-BFGS, as torch's LBFGS sees [dummy_data, dummy_label].
    const pack = (a: Float32Array, b?: Float32Array) => {
      if (!joint) return a;
      const v = new Float32Array(nx + b!.length);
      v.set(a);
      v.set(b!, nx);
      return v;
    };
    const unpack = (v: Float32Array): Candidate => ({ x: v.subarray(0, nx), labels: joint ? v.subarray(nx) : start.labels });
    const res = await lbfgs(
      async (v) => {
        const e = await problem.valueAndGrad(unpack(v));
        return { loss: e.loss, grad: pack(e.gx, e.gl) };
      },
      pack(start.x, start.labels),
      // Tolerances far below torch's defaults: a gradient that carries little (a confident model)
      // gives tiny objectives, and DLG runs its full budget as torch's 300 x 20 iterations do.
      { tolChange: 1e-14, tolGrad: 0, ...o.lbfgs, maxIter: o.iterations, lr: o.lr, onIter: (i) => o.onProgress?.(r * o.iterations + i, total) },
    );
    evaluations += res.evaluations;
    const end = unpack(res.x);
    const match = finiteOr((await problem.valueAndGrad(end)).match);
    perRestart.push(match);
    o.onProgress?.((r + 1) * o.iterations, total);
    if (!best || match < best.match) best = { x: end.x.slice(), labels: end.labels.slice(), match, perRestart, iterations: res.iterations, evaluations: 0 };
  }
  return { ...best!, perRestart, evaluations };
}

/**
 * Adam (or signed Adam) on every restart in lock-step. Each restart returns the iterate with the
 * lowest objective it passed through, as breaching keeps its best candidate (with a step schedule
 * the last iterate is usually that one, but signed steps can overshoot a good image); restarts are
 * ranked by the matching term of those iterates. A group (GradInversion) answers with the
 * consensus of the last iterates instead.
 */
async function runAdam(problem: MatchingProblem, o: OptimizeOptions): Promise<OptimizeResult> {
  const T = o.iterations;
  const schedule = o.schedule ?? { kind: 'constant' };
  const group = (problem.spec.group ?? 0) > 0;
  const groupFrom = Math.floor((o.groupStart ?? 0) * T);
  const resumed = o.snapshots?.load();
  if (resumed && (resumed.iterations !== T || resumed.restarts !== o.restarts)) {
    throw new Error(`optimize: the snapshot is of a run with ${resumed.iterations} iterations x ${resumed.restarts} restarts, not ${T} x ${o.restarts}`);
  }
  let states: AdamState[] = resumed?.states ?? Array.from({ length: o.restarts }, (_, r) => adamState(initial(problem, o, r)));
  const best = resumed?.best ?? states.map((s) => ({ loss: Infinity, x: s.x, labels: s.labels }));
  for (let t = resumed?.t ?? 0; t < T; t++) {
    const hyper = adamHyper(learningRate(o.lr, schedule, t, T), t + 1, problem.spec.adam);
    const consensus = group && t >= groupFrom ? meanOf(states.map((s) => s.x)) : undefined;
    const next: AdamState[] = [];
    const values: { loss: number; match: number }[] = [];
    for (const [r, s] of states.entries()) {
      const step = await problem.adamStep(s, hyper, consensus);
      // The objective is that of the step's input, s.x (the step returns fresh arrays, so no copy is needed).
      if (step.loss < best[r]!.loss) best[r] = { loss: step.loss, x: s.x, labels: s.labels };
      values.push({ loss: step.loss, match: step.match });
      next.push(step.state);
    }
    states = next;
    o.onProgress?.((t + 1) * o.restarts, T * o.restarts);
    if (o.onTrace && (t % (o.traceEvery ?? 100) === 0 || t === T - 1)) o.onTrace(t, values);
    if (o.snapshots && (t + 1) % o.snapshots.every === 0 && t + 1 < T) o.snapshots.save({ t: t + 1, iterations: T, restarts: o.restarts, states, best });
  }
  const evaluations = T * o.restarts + states.length;
  if (group) {
    const perRestart: number[] = [];
    for (const s of states) perRestart.push(finiteOr((await problem.valueAndGrad(s)).match));
    // The group's answer is its consensus, scored like any candidate.
    const x = meanOf(states.map((s) => s.x));
    const labels = states[0]!.labels;
    const match = finiteOr((await problem.valueAndGrad({ x, labels })).match);
    return { x, labels, match, perRestart, iterations: T, evaluations: evaluations + 1 };
  }
  // The final iterate has not been evaluated yet: it may be the best one.
  const candidates: Candidate[] = [];
  for (const [r, s] of states.entries()) {
    const last = await problem.valueAndGrad(s);
    candidates.push(last.loss <= best[r]!.loss ? { x: s.x, labels: s.labels } : { x: best[r]!.x, labels: best[r]!.labels });
  }
  const perRestart: number[] = [];
  for (const c of candidates) perRestart.push(finiteOr((await problem.valueAndGrad(c)).match));
  let k = 0;
  perRestart.forEach((m, i) => (m < perRestart[k]! ? (k = i) : 0));
  return { x: candidates[k]!.x, labels: candidates[k]!.labels, match: perRestart[k]!, perRestart, iterations: T, evaluations: evaluations + states.length };
}

function meanOf(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs[0]!.length);
  for (const x of xs) for (let i = 0; i < out.length; i++) out[i] += x[i]! / xs.length;
  return out;
}
