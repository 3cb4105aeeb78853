// `dgp train-prior`: trains GGL's generative prior (a small DCGAN, src/train/prior.ts) on a data
// set's training images and saves the generator as safetensors with its architecture and the run
// in the metadata, plus a grid of samples next to it (FILE.png).
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import { randn, Rng } from '../common/index.js';
import { generate, savePrior } from '../models/index.js';
import { type ImageRow, ProgressBar, writeImageGrid } from '../report/index.js';
import { trainPrior } from '../train/index.js';
import { type Command, int, num } from './args.js';
import { dataOptions, dataShape, openDataset } from './data.js';

const schema = z.object({
  dataset: z.enum(['mnist', 'cifar10']).default('mnist'),
  ...dataShape,
  steps: int().positive().default(2000),
  batchSize: int().positive().default(64),
  latent: int().positive().default(64),
  width: int().positive().default(32),
  lr: num().positive().default(2e-4),
  r1: num().min(0).default(10),
  seed: int().default(0),
  samples: int().min(0).default(32),
  out: z.string().refine((s) => s.endsWith('.safetensors'), { message: 'must name a .safetensors file' }),
});

export const trainPriorCommand: Command<typeof schema> = {
  name: 'train-prior',
  summary: "train GGL's generative prior (a DCGAN) on a data set's training images",
  usage: 'dgp train-prior --dataset mnist --steps 2000 --batch-size 64 --out priors/mnist.safetensors',
  options: {
    dataset: { type: 'string', description: 'mnist | cifar10', default: 'mnist' },
    ...dataOptions,
    steps: { type: 'string', description: 'training steps (one discriminator and one generator update each)', default: '2000' },
    'batch-size': { type: 'string', description: 'real and generated images per step', default: '64' },
    latent: { type: 'string', description: 'latent size', default: '64' },
    width: { type: 'string', description: 'base channel width w of generator and discriminator', default: '32' },
    lr: { type: 'string', description: 'Adam learning rate (beta1 0.5)', default: '2e-4' },
    r1: { type: 'string', description: 'weight gamma of the R1 gradient penalty on real images (0: none; without it the discriminator wins early)', default: '10' },
    seed: { type: 'string', description: 'seed of the weights, batches and latents', default: '0' },
    samples: { type: 'string', description: 'samples in the grid written next to the prior (FILE.png); 0: none', default: '32' },
    out: { type: 'string', description: 'the prior file to write (.safetensors)' },
  },
  schema,
  async run(o) {
    const { data, source } = await openDataset('train-prior', o.dataset, o);
    mkdirSync(dirname(o.out), { recursive: true });
    const bar = new ProgressBar({ total: o.steps, unit: 'steps', label: `prior on ${o.dataset}` });
    const t0 = Date.now();
    const prior = await trainPrior(data.train, {
      steps: o.steps,
      batchSize: o.batchSize,
      latent: o.latent,
      width: o.width,
      lr: o.lr,
      r1: o.r1,
      seed: o.seed,
      onStep: (s, d, g) => bar.update(s, `D ${d.toFixed(3)} G ${g.toFixed(3)}`),
    });
    bar.finish();
    const last = prior.history.at(-1)!;
    savePrior(o.out, prior, {
      dataset: o.dataset,
      dataDir: source.dir ?? '',
      trainImages: String(source.train),
      steps: String(o.steps),
      batchSize: String(o.batchSize),
      lr: String(o.lr),
      r1: String(o.r1),
      seed: String(o.seed),
      finalLossD: String(last.lossD),
      finalLossG: String(last.lossG),
    });
    console.log(`wrote ${o.out} (${o.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s; final losses D ${last.lossD.toFixed(3)}, G ${last.lossG.toFixed(3)})`);
    if (o.samples > 0) {
      const images = await generate(prior, randn(o.samples * prior.generator.latent, new Rng(o.seed + 7)));
      const grid = o.out.replace(/\.safetensors$/, '.png');
      writeImageGrid(grid, sampleRows(images, o.samples, prior.generator.imageShape), { scale: 2, pad: 1 });
      console.log(`wrote ${grid} (${o.samples} samples)`);
    }
  },
};

/** Rows of up to 8 images each, for a grid that is not one long strip. */
export function sampleRows(images: Float32Array, count: number, shape: readonly [number, number, number]): ImageRow[] {
  const per = shape[0] * shape[1] * shape[2];
  const rows: ImageRow[] = [];
  for (let i = 0; i < count; i += 8) {
    const n = Math.min(8, count - i);
    rows.push({ images: images.subarray(i * per, (i + n) * per), shape: [n, ...shape] });
  }
  return rows;
}
