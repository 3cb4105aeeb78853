// The gradient-matching problem every optimisation attack solves: find inputs (and, for DLG, soft
// labels) whose parameter gradient matches what the client sent, plus image priors. DLG, Inverting
// Gradients and GradInversion are settings of this one problem (optimization.ts). The model's
// weights, the observed gradient and the masks are inputs of one compiled function, so the whole
// step (objective, its gradient, the Adam update) is one call.
import type { TensorList } from '../common/index.js';
import {
  add,
  compile,
  type Compiled,
  grad,
  type Input,
  maximum,
  minimum,
  mul,
  softmax,
  type Sym,
  totalVariation,
} from '../core/index.js';
import { bindParams, type Model } from '../models/index.js';
import { ADAM_HYPER, adamUpdate, type AdamOptions } from './adam.js';
import { bnPrior, cosineMatching, forwardAndGradients, l2Matching, squaredDistance } from './objectives.js';
import { imageShape, observedGradient, requireThreat, sentMasks, type ThreatModel } from './threat.js';

export interface MatchingSpec {
  /** DLG's squared L2 distance or Inverting Gradients' 1 - cosine over all tensors together. */
  objective: 'l2' | 'cosine';
  /** Compare only the coordinates the client sent (needs their positions). */
  maskAware: boolean;
  /** 'joint': optimise label logits with the images, labels = softmax (DLG); 'fixed': labels given. */
  labelMode: 'joint' | 'fixed';
  /** Weights of the image priors; zero leaves the term out of the graph. */
  tv?: number;
  imageL2?: number;
  /** Batch-norm statistics prior (GradInversion; needs running statistics). */
  bn?: number;
  /** Pull towards a consensus image given at each step (GradInversion's group consistency). */
  group?: number;
  /** Adam variant and projection of the images onto the valid pixel range after each step. */
  adam?: AdamOptions & { boxed?: boolean };
}

export interface Candidate {
  x: Float32Array;
  /** Label logits (joint) or the fixed soft labels, [B, classes]. */
  labels: Float32Array;
}

export interface AdamState extends Candidate {
  mx: Float32Array;
  vx: Float32Array;
  ml: Float32Array;
  vl: Float32Array;
}

export interface StepValue {
  /** The whole objective, priors included. */
  loss: number;
  /** The gradient-matching term alone (what restarts are ranked by). */
  match: number;
}

/** The constant inputs of the traced step, by role. */
interface TracedConsts {
  params: Sym[];
  target: Sym[];
  masks?: Sym[];
  running: Record<string, Sym>;
}

interface CompiledSteps {
  valueFn: Compiled;
  adamFn: Compiled;
}

/** Compiled steps depend on the model, the spec and the threat's fixed settings, not on its tensors: shared by every case. */
const compiledCache = new WeakMap<ThreatModel['model'], Map<string, CompiledSteps>>();

/**
 * The traced objective of a matching problem: the candidate's parameter gradient (through batch
 * norm in training mode, or in evaluation mode on the running statistics) against the target,
 * plus the priors. `rest` holds the constants in MatchingProblem's order: parameters, target
 * gradient, masks, running statistics.
 */
export function matchingObjective(model: Model, spec: MatchingSpec, training: boolean, nMasks: number) {
  const np = model.params.length;
  const split = (rest: Sym[]): TracedConsts => ({
    params: rest.slice(0, np),
    target: rest.slice(np, 2 * np),
    masks: nMasks ? rest.slice(2 * np, 2 * np + nMasks) : undefined,
    running: bindParams(model.buffers, rest.slice(2 * np + nMasks)),
  });
  const evalBn = !training && model.buffers.length > 0;
  return (x: Sym, lab: Sym, consensus: Sym, rest: Sym[]) => {
    const c = split(rest);
    const labels = spec.labelMode === 'joint' ? softmax(lab) : lab;
    const { grads, bnStats } = forwardAndGradients(model, c.params, x, labels, training, evalBn ? c.running : undefined, (spec.bn ?? 0) > 0);
    const match = spec.objective === 'l2' ? l2Matching(grads, c.target, c.masks) : cosineMatching(grads, c.target, c.masks);
    let total = match;
    if (spec.tv) total = add(total, mul(totalVariation(x), spec.tv));
    if (spec.imageL2) total = add(total, mul(squaredDistance(x), spec.imageL2));
    if (spec.bn) total = add(total, mul(bnPrior(bnStats, c.running), spec.bn));
    if (spec.group) total = add(total, mul(squaredDistance(x, consensus), spec.group));
    return { total, match };
  };
}

function compiledSteps(threat: ThreatModel, spec: MatchingSpec, nMasks: number): CompiledSteps {
  const { model, training, data } = threat;
  const key = JSON.stringify({ spec, training, mean: data.mean, std: data.std, nMasks });
  let perModel = compiledCache.get(model);
  if (!perModel) compiledCache.set(model, (perModel = new Map()));
  const hit = perModel.get(key);
  if (hit) return hit;
  const objective = matchingObjective(model, spec, training, nMasks);
  const joint = spec.labelMode === 'joint';
  const valueFn = compile(
    (x: Sym, lab: Sym, consensus: Sym, ...rest: Sym[]) => {
      const { total, match } = objective(x, lab, consensus, rest);
      return [total, match, ...grad(total, joint ? [x, lab] : [x])];
    },
    { name: `${model.name}.${spec.objective}Matching` },
  );
  const adamFn = compile(
    (x: Sym, lab: Sym, consensus: Sym, mx: Sym, vx: Sym, ml: Sym, vl: Sym, hyper: Sym, ...rest: Sym[]) => {
      const { total, match } = objective(x, lab, consensus, rest);
      const [gx, gl] = grad(total, joint ? [x, lab] : [x]);
      let [x1, mx1, vx1] = adamUpdate(x, gx!, mx, vx, hyper, spec.adam);
      if (spec.adam?.boxed) x1 = box(x1, data.mean, data.std);
      const [l1, ml1, vl1] = joint ? adamUpdate(lab, gl!, ml, vl, hyper, { ...spec.adam, signed: false }) : [lab, ml, vl];
      return [total, match, x1, mx1, vx1, l1, ml1, vl1];
    },
    { name: `${model.name}.${spec.objective}MatchingAdam` },
  );
  const pair = { valueFn, adamFn };
  perModel.set(key, pair);
  return pair;
}

/** Projects NCHW images onto those whose de-normalised pixels lie in [0, 1]. */
function box(x: Sym, mean: number[], std: number[]): Sym {
  const c = x.shape[1]!;
  const per = (f: (m: number, s: number) => number) =>
    x.graph.constant(Float64Array.from({ length: c }, (_, i) => f(mean[i % mean.length]!, std[i % std.length]!)), [1, c, 1, 1]);
  return minimum(maximum(x, per((m, s) => -m / s)), per((m, s) => (1 - m) / s));
}

/** One attack's matching problem against one threat model, at a fixed batch size. */
export class MatchingProblem {
  readonly shape: [number, number, number, number];
  readonly classes: number;
  private readonly consts: Input[];
  private readonly valueFn: Compiled;
  private readonly adamFn: Compiled;

  constructor(
    readonly threat: ThreatModel,
    readonly spec: MatchingSpec,
    batch: number,
  ) {
    if (spec.maskAware) requireThreat(`${spec.objective} matching (mask-aware)`, ['positions'], threat);
    if ((spec.bn ?? 0) > 0) requireThreat('the batch-norm prior', ['bnBuffers'], threat);
    this.shape = imageShape(threat, batch);
    this.classes = threat.data.numClasses;
    const masks = spec.maskAware ? sentMasks(threat) : [];
    // The running statistics: for the BN prior, and as the normalisation itself in evaluation mode.
    const evalBn = !threat.training && threat.model.buffers.length > 0;
    if (evalBn) requireThreat('gradient matching through evaluation-mode batch norm', ['bnBuffers'], threat);
    const running = (spec.bn ?? 0) > 0 || evalBn ? threat.buffers! : [];
    const asInputs = (l: TensorList) => l.map((t) => ({ data: t.data, shape: t.shape }));
    this.consts = [...asInputs(threat.params), ...asInputs(observedGradient(threat)), ...asInputs(masks), ...asInputs(running)];
    ({ valueFn: this.valueFn, adamFn: this.adamFn } = compiledSteps(threat, spec, masks.length));
  }

  private imageInput(data: Float32Array): Input {
    return { data, shape: this.shape };
  }

  private labelInput(data: Float32Array): Input {
    return { data, shape: [this.shape[0], this.classes] };
  }

  /** Objective and its gradient with respect to the images (and label logits when joint). */
  async valueAndGrad(c: Candidate, consensus?: Float32Array): Promise<StepValue & { gx: Float32Array; gl?: Float32Array }> {
    const out = await this.valueFn.run([this.imageInput(c.x), this.labelInput(c.labels), this.imageInput(consensus ?? c.x), ...this.consts]);
    return { loss: out[0]![0]!, match: out[1]![0]!, gx: out[2]!, gl: out[3] };
  }

  /** One Adam step; `consensus` defaults to the candidate itself (no group pull). */
  async adamStep(s: AdamState, hyper: Float32Array, consensus?: Float32Array): Promise<StepValue & { state: AdamState }> {
    const out = await this.adamFn.run([
      this.imageInput(s.x),
      this.labelInput(s.labels),
      this.imageInput(consensus ?? s.x),
      this.imageInput(s.mx),
      this.imageInput(s.vx),
      this.labelInput(s.ml),
      this.labelInput(s.vl),
      { data: hyper, shape: [ADAM_HYPER] },
      ...this.consts,
    ]);
    const [loss, match, x, mx, vx, labels, ml, vl] = out as [Float32Array, Float32Array, ...Float32Array[]];
    return { loss: loss[0]!, match: match[0]!, state: { x: x!, mx: mx!, vx: vx!, labels: labels!, ml: ml!, vl: vl! } };
  }
}

/** Fresh Adam moments around a candidate. */
export function adamState(c: Candidate): AdamState {
  return { ...c, mx: new Float32Array(c.x.length), vx: new Float32Array(c.x.length), ml: new Float32Array(c.labels.length), vl: new Float32Array(c.labels.length) };
}
