// A generative prior (GGL's generator and its trained weights) as a safetensors file: the weights
// as tensors, the architecture in the metadata, so `loadPrior` rebuilds the same generator.
import type { TensorList } from '../common/index.js';
import { compile, type Compiled } from '../core/index.js';
import { dcganGenerator, type Generator, type GeneratorOptions } from './generator.js';
import { loadSafetensors, matchLayout, saveSafetensors } from './safetensors.js';

export const PRIOR_FORMAT = 'dgp-prior/1';

export interface GenerativePrior {
  generator: Generator;
  params: TensorList;
}

/** The architecture of a prior, as its metadata records it. */
export interface PriorMetadata extends Required<GeneratorOptions> {
  kind: 'dcgan';
}

export function priorMetadata(g: Generator): PriorMetadata {
  const [channels, size] = g.imageShape;
  return { kind: 'dcgan', latent: g.latent, channels, size, width: g.width };
}

/** Saves the generator's weights with its architecture and any extra (string) metadata, e.g. the training run. */
export function savePrior(path: string, prior: GenerativePrior, extra: Record<string, string> = {}): void {
  const m = priorMetadata(prior.generator);
  saveSafetensors(path, prior.params, { ...extra, format: PRIOR_FORMAT, kind: m.kind, latent: String(m.latent), channels: String(m.channels), size: String(m.size), width: String(m.width) });
}

export function loadPrior(path: string): GenerativePrior & { metadata: Record<string, string> } {
  const { tensors, metadata } = loadSafetensors(path);
  if (metadata.format !== PRIOR_FORMAT) throw new Error(`${path}: not a generative prior (metadata format ${JSON.stringify(metadata.format)}, expected ${PRIOR_FORMAT}; make one with dgp train-prior)`);
  const num = (key: string): number => {
    const v = Number(metadata[key]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${path}: metadata ${key} ${JSON.stringify(metadata[key])} is not a positive integer`);
    return v;
  };
  if (metadata.kind !== 'dcgan') throw new Error(`${path}: prior kind ${JSON.stringify(metadata.kind)} is not dcgan`);
  const generator = dcganGenerator({ latent: num('latent'), channels: num('channels'), size: num('size'), width: num('width') });
  return { generator, params: matchLayout(tensors, generator.params, path), metadata };
}

const samplers = new WeakMap<Generator, Compiled>();

/** G(z) for a batch of latents z ([B * latent] values): [B, C, H, W] pixels in [0, 1]. */
export async function generate(prior: GenerativePrior, z: Float32Array): Promise<Float32Array> {
  const g = prior.generator;
  if (z.length % g.latent !== 0) throw new Error(`generate: ${z.length} latent values are not a multiple of the latent size ${g.latent}`);
  let fn = samplers.get(g);
  if (!fn) {
    fn = compile((zs, ...p) => g.generate(Object.fromEntries(g.params.map((s, i) => [s.name, p[i]!])), zs), { name: `${g.name}.generate` });
    samplers.set(g, fn);
  }
  const [out] = await fn.run([{ data: z, shape: [z.length / g.latent, g.latent] }, ...prior.params.map((t) => ({ data: t.data, shape: t.shape }))]);
  return out!;
}
