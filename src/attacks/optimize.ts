// Drives a matching problem to a reconstruction: seeded random starts, L-BFGS or Adam, restarts
// kept or merged. Restarts run in lock-step so that a consensus across them (GradInversion's group
// consistency) is available at every step; without it they are simply independent runs.
import { Rng } from '../common/index.js';
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

export function randn(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

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

async function runAdam(problem: MatchingProblem, o: OptimizeOptions): Promise<OptimizeResult> {
  const T = o.iterations;
  const schedule = o.schedule ?? { kind: 'constant' };
  const group = (problem.spec.group ?? 0) > 0;
  const groupFrom = Math.floor((o.groupStart ?? 0) * T);
  let states: AdamState[] = Array.from({ length: o.restarts }, (_, r) => adamState(initial(problem, o, r)));
  for (let t = 0; t < T; t++) {
    const hyper = adamHyper(learningRate(o.lr, schedule, t, T), t + 1, problem.spec.adam);
    const consensus = group && t >= groupFrom ? meanOf(states.map((s) => s.x)) : undefined;
    const next: AdamState[] = [];
    for (const s of states) next.push((await problem.adamStep(s, hyper, consensus)).state);
    states = next;
    o.onProgress?.((t + 1) * o.restarts, T * o.restarts);
  }
  const perRestart: number[] = [];
  for (const s of states) perRestart.push(finiteOr((await problem.valueAndGrad(s)).match));
  const evaluations = T * o.restarts + states.length;
  if (group) {
    // The group's answer is its consensus, scored like any candidate.
    const x = meanOf(states.map((s) => s.x));
    const labels = states[0]!.labels;
    const match = finiteOr((await problem.valueAndGrad({ x, labels })).match);
    return { x, labels, match, perRestart, iterations: T, evaluations: evaluations + 1 };
  }
  let k = 0;
  perRestart.forEach((m, i) => (m < perRestart[k]! ? (k = i) : 0));
  return { x: states[k]!.x, labels: states[k]!.labels, match: perRestart[k]!, perRestart, iterations: T, evaluations };
}

function meanOf(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs[0]!.length);
  for (const x of xs) for (let i = 0; i < out.length; i++) out[i] += x[i]! / xs.length;
  return out;
}
