// Models: a registry by name, parameter initialisation and (de)serialisation.
import { convnet, type ConvnetHead, lenet, mlp } from './simple.js';
import type { Model } from './model.js';
import { resnet18 } from './resnet.js';
import { precode, type PrecodeOptions } from './precode.js';

export * from './model.js';
export { mlp, lenet, convnet, type ConvnetHead } from './simple.js';
export { resnet18 } from './resnet.js';
export { precode, type PrecodeOptions } from './precode.js';
export { dcganDiscriminator, dcganGenerator, type Discriminator, type Generator, type GeneratorOptions } from './generator.js';
export * from './safetensors.js';
export { generate, type GenerativePrior, loadPrior, PRIOR_FORMAT, priorMetadata, type PriorMetadata, savePrior } from './prior-file.js';

/** `convnet-flat` is the ConvNet with its last feature map flattened into the linear layer instead of pooled. */
export const MODEL_NAMES = ['mlp', 'lenet', 'convnet', 'convnet-flat', 'resnet18'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ModelOptions {
  inputShape: [number, number, number];
  /** Channel multiplier for convnet (integer) and resnet18 (e.g. 0.25 for a narrow one). */
  width?: number;
  /** LeNet only: DLG's uniform(-0.5, 0.5) initialisation (default), PyTorch's default, or Glorot's. */
  init?: 'dlg' | 'torch' | 'xavier';
  /** Wrap the model in PRECODE's variational bottleneck (precode.ts). */
  precode?: PrecodeOptions;
}

export function createModel(name: string, opts: ModelOptions): Model {
  const base = baseModel(name, opts);
  return opts.precode ? precode(base, opts.precode) : base;
}

function baseModel(name: string, opts: ModelOptions): Model {
  switch (name) {
    case 'mlp':
      return mlp({ inputShape: opts.inputShape });
    case 'lenet':
      return lenet({ inputShape: opts.inputShape, init: opts.init });
    case 'convnet':
      return convnet({ inputShape: opts.inputShape, width: opts.width });
    case 'convnet-flat':
      return convnet({ inputShape: opts.inputShape, width: opts.width, head: 'flatten' });
    case 'resnet18':
      return resnet18({ inputShape: opts.inputShape, width: opts.width });
    default:
      throw new Error(`unknown model '${name}' (choose one of ${MODEL_NAMES.join(', ')})`);
  }
}
export { ALEXNET_CONVS, alexnetFeatureSpecs, alexnetTaps } from './alexnet.js';
