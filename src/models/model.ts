// What a model is: a parameter layout with PyTorch-style initialisers and a forward function over
// symbolic tensors. Parameters themselves are plain named Float32Arrays (a TensorList).
import { Rng, type NamedTensor, type TensorList } from '../common/index.js';
import { abs, add, crossEntropy, exp, log, mul, relu, type Sym } from '../core/index.js';

export type Init =
  | { kind: 'uniform'; bound: number }
  | { kind: 'const'; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
}

/** Per batch-norm layer, the batch statistics computed in a training-mode forward pass. */
export interface BnStat {
  layer: string;
  mean: Sym;
  variance: Sym;
  /** Elements per channel the statistics were computed over (for the unbiased running variance). */
  count: number;
}

export interface ForwardOptions {
  training: boolean;
  /** Running statistics by name (`<layer>.running_mean`, `<layer>.running_var`), for evaluation mode. */
  buffers?: Record<string, Sym>;
  /**
   * Report the batch statistics of every batch-norm input in evaluation mode too (they are not used
   * there, but GradInversion's prior compares them with the running ones, as DeepInversion's hooks do).
   */
  batchStats?: boolean;
  /** A stochastic model's standard-normal draw for this pass ([batch, ...] as `Model.noise` says); none: its deterministic mode. */
  noise?: Sym;
}

export interface ForwardResult {
  logits: Sym;
  /** Filled by models with batch norm in training mode, and in evaluation mode when `batchStats` is asked for. */
  bnStats: BnStat[];
  /** The representation that feeds the last linear layer (used by Soteria and some attacks). */
  features?: Sym;
  /** A term the model adds to the training loss (PRECODE's weighted KL divergence). */
  extraLoss?: Sym;
}

export interface Model {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  params: ParamSpec[];
  /** Non-trained state: batch-norm running statistics. */
  buffers: ParamSpec[];
  /** Stochastic models (PRECODE) draw standard normals of this shape per training step. */
  noise?: { shape(batch: number): number[] };
  forward(p: Record<string, Sym>, x: Sym, opts: ForwardOptions): ForwardResult;
}

/** What a model trains on: cross-entropy against the target rows plus its own extra term. */
export function trainingLoss(r: ForwardResult, target: Sym): Sym {
  const ce = crossEntropy(r.logits, target);
  return r.extraLoss ? add(ce, r.extraLoss) : ce;
}

/** Bound of PyTorch's default Conv2d/Linear initialisation, kaiming_uniform(a = sqrt 5) = 1/sqrt(fan_in). */
export function fanInBound(fanIn: number): Init {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}

export function initParams(specs: ParamSpec[], seed: number): TensorList {
  const rng = new Rng(seed);
  return specs.map((s) => initOne(s, rng));
}

function initOne(s: ParamSpec, rng: Rng): NamedTensor {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (s.init.kind === 'const') data.fill(s.init.value);
  else for (let i = 0; i < n; i++) data[i] = (rng.uniform() * 2 - 1) * s.init.bound;
  return { name: s.name, shape: [...s.shape], data };
}

/** Name -> symbolic tensor, for a forward function. */
export function bindParams(specs: { name: string }[], syms: Sym[]): Record<string, Sym> {
  const out: Record<string, Sym> = {};
  specs.forEach((s, i) => (out[s.name] = syms[i]!));
  return out;
}

/** Conv weight [out, in, k, k] and bias [out] with PyTorch's default init. */
export function convSpecs(name: string, cin: number, cout: number, k: number, bias = true): ParamSpec[] {
  const init = fanInBound(cin * k * k);
  const specs: ParamSpec[] = [{ name: `${name}.weight`, shape: [cout, cin, k, k], init }];
  if (bias) specs.push({ name: `${name}.bias`, shape: [cout], init });
  return specs;
}

export function linearSpecs(name: string, fin: number, fout: number): ParamSpec[] {
  const init = fanInBound(fin);
  return [
    { name: `${name}.weight`, shape: [fout, fin], init },
    { name: `${name}.bias`, shape: [fout], init },
  ];
}

export function bnSpecs(name: string, c: number): { params: ParamSpec[]; buffers: ParamSpec[] } {
  return {
    params: [
      { name: `${name}.weight`, shape: [c], init: { kind: 'const', value: 1 } },
      { name: `${name}.bias`, shape: [c], init: { kind: 'const', value: 0 } },
    ],
    buffers: [
      { name: `${name}.running_mean`, shape: [c], init: { kind: 'const', value: 0 } },
      { name: `${name}.running_var`, shape: [c], init: { kind: 'const', value: 1 } },
    ],
  };
}

/** softplus(x) = log(1 + e^x), computed as relu(x) + log(1 + e^-|x|) so it never overflows. */
export function softplus(x: Sym): Sym {
  return add(relu(x), log(add(exp(mul(abs(x), -1)), 1)));
}
