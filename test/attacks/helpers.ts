// Small models and data sets on which an attack's answer is known, so tests run in seconds.
import { Rng } from '../../src/common/rng.js';
import { batchNorm, conv2dBias, flatten, linear, relu } from '../../src/core/index.js';
import { type Dataset, loadDataset } from '../../src/data/index.js';
import { bnSpecs, convSpecs, linearSpecs, type Model } from '../../src/models/index.js';

/** A single dense layer: its input is exactly a weight-gradient row over the bias gradient. */
export function linearModel(inputShape: [number, number, number] = [1, 4, 4], classes = 10): Model {
  const d = inputShape[0] * inputShape[1] * inputShape[2];
  return {
    name: 'linear',
    inputShape,
    numClasses: classes,
    params: linearSpecs('fc', d, classes),
    buffers: [],
    forward(p, x) {
      const f = flatten(x);
      return { logits: linear(f, p['fc.weight']!, p['fc.bias']), bnStats: [], features: f };
    },
  };
}

/** conv 3x3 -> batch norm -> ReLU -> dense: a small BN model whose last layer still sees every feature. */
export function bnModel(inputShape: [number, number, number] = [1, 6, 6], channels = 4, classes = 10): Model {
  const features = channels * inputShape[1] * inputShape[2];
  const bn = bnSpecs('bn', channels);
  return {
    name: 'bnnet',
    inputShape,
    numClasses: classes,
    params: [...convSpecs('conv', inputShape[0], channels, 3), ...bn.params, ...linearSpecs('fc', features, classes)],
    buffers: bn.buffers,
    forward(p, x, { training, buffers }) {
      const y = conv2dBias(x, p['conv.weight']!, p['conv.bias'], { padding: 1 });
      const r = batchNorm(y, p['bn.weight']!, p['bn.bias']!, { training, runningMean: buffers?.['bn.running_mean'], runningVar: buffers?.['bn.running_var'] });
      const bnStats = r.batchMean && r.batchVar ? [{ layer: 'bn', mean: r.batchMean, variance: r.batchVar, count: y.size / channels }] : [];
      const f = flatten(relu(r.y));
      return { logits: linear(f, p['fc.weight']!, p['fc.bias']), bnStats, features: f };
    },
  };
}

/** Images uniform in [0, 1] with the given labels, normalised with mean 0.5 and std 0.25. */
export function syntheticDataset(labels: number[], shape: [number, number, number], seed = 0): Dataset {
  const rng = new Rng(seed);
  const [c, h, w] = shape;
  const images = Float32Array.from({ length: labels.length * c * h * w }, () => rng.uniform());
  return {
    name: 'cifar10',
    images,
    labels: Uint8Array.from(labels),
    count: labels.length,
    channels: c,
    height: h,
    width: w,
    numClasses: 10,
    mean: new Array<number>(c).fill(0.5),
    std: new Array<number>(c).fill(0.25),
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    source: 'synthetic',
  };
}

export const CIFAR_DIR = new URL('../../fixtures/cifar10/', import.meta.url).pathname;

let cifar: Promise<Awaited<ReturnType<typeof loadDataset>>> | undefined;
export function cifar10() {
  cifar ??= loadDataset('cifar10', { dataDir: CIFAR_DIR });
  return cifar;
}
