// GGL, Generative Gradient Leakage (Li et al., CVPR 2022): search the latent space of a generative
// prior G for z whose image G(z) gives the victim model a gradient like the observed update. The
// image is never free: every candidate is something the prior can draw, which is what lets the
// attack through defenses that destroy most of the gradient. Two searches: Adam on z (gradients
// through the victim's parameter gradient and the generator, one compiled call per step), and
// CMA-ES (cmaes.ts) on the objective's value alone, as the paper runs it. The adaptive variant
// replays the known defense on every trial gradient: sparsification (DGP, Top-k) by matching only
// the sent positions, DP clipping by clipping the trial gradient to the known bound and matching
// in L2 (under Gaussian noise, the negative log-likelihood of the observation); cosine matching is
// blind to the whole-update clip, which only rescales.
import type { TensorList } from '../common/index.js';
import { add, compile, type Compiled, div, grad, type Input, maximum, mean, mul, sqrt, sub, sum, type Sym } from '../core/index.js';
import { bindParams, type GenerativePrior, generate } from '../models/index.js';
import { oneHot } from './labels.js';
import { cosineMatching, forwardAndGradients, l2Matching } from './objectives.js';
import { imageShape, isSparse, observedGradient, requireThreat, sentMasks, type ThreatModel } from './threat.js';
import type { AttackOptions } from './types.js';

export interface GglSpec {
  objective: 'cosine' | 'l2';
  /** Trial gradients clipped to this L2 norm (the whole update together), as DP's clip does. */
  clip?: number;
  /** Match only the sent coordinates. */
  maskAware: boolean;
  /** Weight of (mean(z^2) - 1)^2, which keeps z near the shell where N(0, I) puts its mass. */
  latentWeight: number;
}

/** The defense replayed on the trial gradients, from what the attacker knows of it. */
export function adaptiveSpec(threat: ThreatModel, known: AttackOptions['knownDefense']): Pick<GglSpec, 'objective' | 'clip' | 'maskAware'> {
  const maskAware = isSparse(threat);
  const name = known?.name ?? threat.defense;
  if (/^dp\b|^dp\(/.test(name)) {
    const mech = known?.options?.mechanism ?? 'gaussian';
    if (mech !== 'gaussian') throw new Error(`ggl-adaptive: replays DP's L2 clipping (gaussian); the ${String(mech)} mechanism clips in L1, which it does not replay`);
    const clip = Number(known?.options?.clip ?? 1);
    if (!(clip > 0)) throw new Error(`ggl-adaptive: DP clip ${String(known?.options?.clip)} is not a positive number`);
    return { objective: 'l2', clip, maskAware };
  }
  return { objective: 'cosine', maskAware };
}

/** Scales the tensors together so that their joint L2 norm is at most `bound`. */
function clipAll(g: Sym[], bound: number): Sym[] {
  let sq: Sym | undefined;
  for (const t of g) sq = sq ? add(sq, sum(mul(t, t))) : sum(mul(t, t));
  const scale = div(bound, maximum(sqrt(add(sq!, 1e-30)), bound));
  return g.map((t) => mul(t, scale));
}

/** The objective over a latent batch z, with the gradient w.r.t. z, against one threat model. */
export class GglProblem {
  readonly shape: [number, number, number, number];
  readonly latent: number;
  /** The one-hot labels, then the constants in the traced order (victim parameters, target, masks, running statistics, generator). */
  private readonly fixed: Input[];
  private readonly fns: { withGrad: Compiled; valueOnly: Compiled };

  constructor(
    readonly threat: ThreatModel,
    readonly prior: GenerativePrior,
    readonly spec: GglSpec,
    labels: Int32Array,
  ) {
    const batch = labels.length;
    this.shape = imageShape(threat, batch);
    const g = prior.generator;
    if (g.imageShape.join('x') !== this.shape.slice(1).join('x')) {
      throw new Error(`ggl: the prior generates [${g.imageShape}] images, the attacked model takes [${this.shape.slice(1)}]: train a prior on this data set (dgp train-prior)`);
    }
    this.latent = g.latent;
    const { model, training, data } = threat;
    const evalBn = !training && model.buffers.length > 0;
    if (evalBn) requireThreat('ggl through evaluation-mode batch norm', ['bnBuffers'], threat);
    if (spec.maskAware) requireThreat('ggl (mask-aware)', ['positions'], threat);
    const masks = spec.maskAware ? sentMasks(threat) : [];
    const running = evalBn ? threat.buffers! : [];
    const asInputs = (l: TensorList) => l.map((t) => ({ data: t.data, shape: t.shape }));
    const labelInput = { data: oneHot(labels, data.numClasses), shape: [batch, data.numClasses] };
    this.fixed = [labelInput, ...asInputs(threat.params), ...asInputs(observedGradient(threat)), ...asInputs(masks), ...asInputs(running), ...asInputs(prior.params)];
    const np = model.params.length;
    const nm = masks.length;
    const nb = running.length;
    const c = this.shape[1];
    const perChannel = (v: number[]) => Float64Array.from({ length: c }, (_, i) => v[i % v.length]!);
    const objective = (z: Sym, lab: Sym, rest: Sym[]) => {
      const params = rest.slice(0, np);
      const target = rest.slice(np, 2 * np);
      const m = nm ? rest.slice(2 * np, 2 * np + nm) : undefined;
      const buffers = evalBn ? bindParams(model.buffers, rest.slice(2 * np + nm, 2 * np + nm + nb)) : undefined;
      const pixels = g.generate(bindParams(g.params, rest.slice(2 * np + nm + nb)), z);
      const x = div(sub(pixels, z.graph.constant(perChannel(data.mean), [1, c, 1, 1])), z.graph.constant(perChannel(data.std), [1, c, 1, 1]));
      let { grads } = forwardAndGradients(model, params, x, lab, training, buffers);
      if (spec.clip !== undefined) grads = clipAll(grads, spec.clip);
      const match = spec.objective === 'l2' ? l2Matching(grads, target, m) : cosineMatching(grads, target, m);
      const shell = sub(mean(mul(z, z)), 1);
      return { match, total: spec.latentWeight > 0 ? add(match, mul(mul(shell, shell), spec.latentWeight)) : match };
    };
    const traced = (withGrad: boolean) =>
      compile(
        (z: Sym, lab: Sym, ...rest: Sym[]) => {
          const { total, match } = objective(z, lab, rest);
          return withGrad ? [total, match, ...grad(total, [z])] : [total, match];
        },
        { name: `${model.name}.ggl.${spec.objective}${withGrad ? '' : '.value'}` },
      );
    this.fns = { withGrad: traced(true), valueOnly: traced(false) };
  }

  private zInput(z: Float32Array): Input {
    return { data: z, shape: [this.shape[0], this.latent] };
  }

  async valueAndGrad(z: Float32Array): Promise<{ loss: number; match: number; gz: Float32Array }> {
    const out = await this.fns.withGrad.run([this.zInput(z), ...this.fixed]);
    return { loss: out[0]![0]!, match: out[1]![0]!, gz: out[2]! };
  }

  async value(z: Float32Array): Promise<{ loss: number; match: number }> {
    const out = await this.fns.valueOnly.run([this.zInput(z), ...this.fixed]);
    return { loss: out[0]![0]!, match: out[1]![0]! };
  }

  /** The model-space (normalised) images of z, as the other attacks return them. */
  async images(z: Float32Array): Promise<Float32Array> {
    const pixels = await generate(this.prior, z);
    const { mean: m, std: s } = this.threat.data;
    const plane = this.shape[2] * this.shape[3];
    const c = this.shape[1];
    return pixels.map((p, i) => {
      const ch = Math.floor(i / plane) % c;
      return (p - m[ch % m.length]!) / s[ch % s.length]!;
    });
  }

  release(): void {
    this.fns.withGrad.release();
    this.fns.valueOnly.release();
  }
}
