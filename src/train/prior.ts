// Training GGL's generative prior: a DCGAN (src/models/generator.ts) on a data set's training
// images with the non-saturating GAN loss (Goodfellow et al. 2014) and Adam at lr 2e-4, beta1 0.5
// (the DCGAN paper's settings). One discriminator step, then one generator step, per batch; each
// is one compiled call (loss and gradients), the Adam updates run on the plain tensors.
import { randn, Rng, type TensorList } from '../common/index.js';
import { add, compile, grad, mean, mul, sum, type Sym } from '../core/index.js';
import { type Dataset, getBatch } from '../data/index.js';
import { bindParams, dcganDiscriminator, dcganGenerator, type GenerativePrior, initParams, softplus } from '../models/index.js';
import { createAdam } from '../optim/index.js';

export interface PriorOptions {
  steps: number;
  batchSize?: number;
  latent?: number;
  width?: number;
  lr?: number;
  /** Weight gamma of the R1 penalty (gamma / 2) E||grad_x D(x)||^2 on real images (Mescheder et al. 2018); 0: none. */
  r1?: number;
  seed?: number;
  onStep?: (step: number, lossD: number, lossG: number) => void;
}

export interface TrainedPrior extends GenerativePrior {
  history: { step: number; lossD: number; lossG: number }[];
}

export async function trainPrior(data: Dataset, o: PriorOptions): Promise<TrainedPrior> {
  if (data.height !== data.width) throw new Error(`train-prior: images of ${data.height}x${data.width} are not square`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`train-prior: steps ${o.steps} must be a positive integer`);
  const shape = { channels: data.channels, size: data.height, latent: o.latent, width: o.width };
  const gen = dcganGenerator(shape);
  const disc = dcganDiscriminator(shape);
  const seed = o.seed ?? 0;
  const gp = initParams(gen.params, seed);
  const dp = initParams(disc.params, seed + 1);
  const ng = gen.params.length;
  const b = o.batchSize ?? 64;
  const r1 = o.r1 ?? 10;
  const split = (rest: Sym[]) => ({ g: bindParams(gen.params, rest.slice(0, ng)), d: bindParams(disc.params, rest.slice(ng)) });
  // The logistic loss on logits: log(1 + e^-s) for real images, log(1 + e^s) for generated ones.
  const realLoss = (s: Sym) => mean(softplus(mul(s, -1)));
  const dStep = compile(
    (x: Sym, z: Sym, ...rest: Sym[]) => {
      const { g, d } = split(rest);
      const real = disc.score(d, x);
      const l = add(realLoss(real), mean(softplus(disc.score(d, gen.generate(g, z)))));
      // Without batch norm the discriminator otherwise wins within a few hundred steps (its loss near 0, the generator's past 6).
      const [gx] = grad(sum(real), [x]);
      const total = r1 > 0 ? add(l, mul(sum(mul(gx!, gx!)), r1 / 2 / b)) : l;
      return [l, ...grad(total, rest.slice(ng))];
    },
    { name: `${gen.name}.discriminatorStep` },
  );
  const gStep = compile(
    (z: Sym, ...rest: Sym[]) => {
      const { g, d } = split(rest);
      const l = realLoss(disc.score(d, gen.generate(g, z)));
      return [l, ...grad(l, rest.slice(0, ng))];
    },
    { name: `${gen.name}.generatorStep` },
  );
  const adam = { lr: o.lr ?? 2e-4, beta1: 0.5 };
  const optG = createAdam(adam);
  const optD = createAdam(adam);
  let sG = optG.init(gp);
  let sD = optD.init(dp);
  const rng = new Rng(seed ^ 0x6a1);
  const inputs = (l: TensorList) => l.map((t) => ({ data: t.data, shape: t.shape }));
  const asGrads = (l: TensorList, out: Float32Array[]) => l.map((t, i) => ({ ...t, data: out[1 + i]! }));
  const history: TrainedPrior['history'] = [];
  const zShape = [b, gen.latent];
  for (let step = 0; step < o.steps; step++) {
    const batch = getBatch(data, Array.from({ length: b }, () => rng.int(data.count)), { normalize: false });
    const outD = await dStep.run([{ data: batch.x, shape: batch.shape }, { data: randn(b * gen.latent, rng), shape: zShape }, ...inputs(gp), ...inputs(dp)]);
    sD = optD.step(dp, asGrads(dp, outD), sD);
    const outG = await gStep.run([{ data: randn(b * gen.latent, rng), shape: zShape }, ...inputs(gp), ...inputs(dp)]);
    sG = optG.step(gp, asGrads(gp, outG), sG);
    const e = { step: step + 1, lossD: outD[0]![0]!, lossG: outG[0]![0]! };
    if (!Number.isFinite(e.lossD) || !Number.isFinite(e.lossG)) throw new Error(`train-prior: the GAN diverged at step ${e.step} (losses ${e.lossD}, ${e.lossG}); lower --lr`);
    history.push(e);
    o.onStep?.(e.step, e.lossD, e.lossG);
  }
  dStep.release();
  gStep.release();
  return { generator: gen, params: gp, history };
}
