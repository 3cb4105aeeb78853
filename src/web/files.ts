// The browser client's data: the bundled MNIST shard (IDX files the page fetches), or image files
// the user picks (a folder with one subfolder per class), decoded by the browser into the same
// planes an image folder gives under Node. Nothing here leaves the page.
import { CIFAR10_CLASSES, type Dataset, type DatasetName, makeDataset, MNIST_CLASSES, mnistFromIdx, rgbaToPlanes } from '../data/index.js';

const SHAPES: Record<DatasetName, { channels: number; height: number; width: number }> = {
  mnist: { channels: 1, height: 28, width: 28 },
  cifar10: { channels: 3, height: 32, width: 32 },
};

export async function fetchShard(base: URL): Promise<Dataset> {
  const get = async (name: string) => {
    const r = await fetch(new URL(name, base));
    if (!r.ok) throw new Error(`${name}: ${r.status} ${r.statusText}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  const [images, labels] = await Promise.all([get('train-images-idx3-ubyte'), get('train-labels-idx1-ubyte')]);
  return mnistFromIdx(images, labels, 'the bundled MNIST shard', 'the bundled MNIST shard (labels)');
}

/** The class a picked file belongs to: the name of the folder it is in (a class name or index). */
function classOf(file: File, classes: readonly string[]): number {
  const parts = (file.webkitRelativePath || file.name).split('/');
  const folder = parts.length >= 2 ? parts[parts.length - 2]! : '';
  const byName = classes.indexOf(folder);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(folder) && Number(folder) < classes.length) return Number(folder);
  throw new Error(`${file.webkitRelativePath || file.name}: the folder "${folder}" is not a class (${classes.join(', ')}, or 0..${classes.length - 1})`);
}

/** Decodes the picked PNG/JPEG files for a run on `dataset`, in class then path order. */
export async function decodeFiles(files: readonly File[], dataset: DatasetName): Promise<Dataset> {
  const { channels, height, width } = SHAPES[dataset];
  const classes = dataset === 'mnist' ? MNIST_CLASSES : CIFAR10_CLASSES;
  const images = files.filter((f) => /\.(png|jpe?g)$/i.test(f.name));
  if (images.length === 0) throw new Error('no .png or .jpg files among those picked');
  const labelled = images.map((f) => ({ f, label: classOf(f, classes), path: f.webkitRelativePath || f.name }));
  labelled.sort((a, b) => a.label - b.label || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const plane = height * width;
  const out = new Float32Array(labelled.length * channels * plane);
  const labels = new Uint8Array(labelled.length);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  for (const [i, { f, label, path }] of labelled.entries()) {
    const bitmap = await createImageBitmap(f, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    if (bitmap.width !== width || bitmap.height !== height) throw new Error(`${path}: ${bitmap.width}x${bitmap.height} pixels; ${dataset} images are ${width}x${height}`);
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    rgbaToPlanes(ctx.getImageData(0, 0, width, height).data, channels, plane, out, i * channels * plane);
    labels[i] = label;
  }
  return makeDataset(dataset, out, labels, { channels, height, width }, `${labelled.length} files picked in the page`);
}
