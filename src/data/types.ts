// The shape every loader returns, and the per-channel statistics used to normalise images.

export type DatasetName = 'mnist' | 'cifar10';

export interface Dataset {
  name: DatasetName;
  /** N*C*H*W, NCHW, raw pixel values scaled to [0, 1] (not normalised). */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  numClasses: 10;
  /** Per-channel mean and std of the full training set, for normalize()/denormalize(). */
  mean: number[];
  std: number[];
  classNames: readonly string[];
  /** Where the data came from (file or folder and format), for reports. */
  source: string;
}

export interface DatasetSplits {
  train: Dataset;
  test: Dataset;
}

// The constants are those of breaching (config/case/data/*.yaml) and invertinggradients
// (inversefed/consts.py), which the metrics must match to give comparable PSNR/SSIM after
// de-normalisation. They round to the usual published values (MNIST 0.1307/0.3081, CIFAR-10 std
// 0.2470/0.2435/0.2616); note their CIFAR-10 blue mean is 0.44677, where torchvision-style
// recipes quote 0.4465.
export const MNIST_STATS = {
  mean: [0.13066373765468597],
  std: [0.30810782313346863],
} as const;

export const CIFAR10_STATS = {
  mean: [0.4914672374725342, 0.4822617471218109, 0.4467701315879822],
  std: [0.24703224003314972, 0.24348513782024384, 0.26158785820007324],
} as const;

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

/** Builds a Dataset, checking that buffer sizes agree with the declared shape. */
export function makeDataset(
  name: DatasetName,
  images: Float32Array,
  labels: Uint8Array,
  shape: { channels: number; height: number; width: number },
  source: string,
): Dataset {
  const { channels, height, width } = shape;
  const count = labels.length;
  if (images.length !== count * channels * height * width) {
    throw new Error(
      `${source}: ${images.length} pixel values for ${count} labels of shape ${channels}x${height}x${width}`,
    );
  }
  const stats = name === 'mnist' ? MNIST_STATS : CIFAR10_STATS;
  return {
    name,
    images,
    labels,
    count,
    channels,
    height,
    width,
    numClasses: 10,
    mean: [...stats.mean],
    std: [...stats.std],
    classNames: name === 'mnist' ? MNIST_CLASSES : CIFAR10_CLASSES,
    source,
  };
}

/** Throws naming the file and the first label that is not a class index. */
export function checkLabels(labels: Uint8Array, numClasses: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= numClasses) {
      throw new Error(`${file}: label ${labels[i]} at index ${i} is out of range 0..${numClasses - 1}`);
    }
  }
}
