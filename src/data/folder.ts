// A folder of images, one subfolder per class (the torchvision ImageFolder layout): what a client
// that brings its own data points at. PNG (pngjs) and JPEG (jpeg-js) files are decoded; a
// subfolder is a class by its name (the data set's class names, e.g. "cat", or the class index,
// e.g. "3"). Images are not resized: they must have the run's data set's size, and one-channel
// data sets take grey images (a colour image is converted with the ITU-R BT.601 luma weights).
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readBytes } from './bytes.js';
import { rgbaToPlanes } from './pixels.js';
import { CIFAR10_CLASSES, type Dataset, type DatasetName, makeDataset, MNIST_CLASSES } from './types.js';

const SHAPES: Record<DatasetName, { channels: number; height: number; width: number }> = {
  mnist: { channels: 1, height: 28, width: 28 },
  cifar10: { channels: 3, height: 32, width: 32 },
};
const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** The class index a subfolder stands for, or null. */
function classOf(name: string, classNames: readonly string[]): number | null {
  const byName = classNames.indexOf(name);
  if (byName >= 0) return byName;
  return /^\d+$/.test(name) && Number(name) < classNames.length ? Number(name) : null;
}

/** RGBA pixels of a PNG or JPEG file, with its size. */
function decodeImage(file: string): { width: number; height: number; rgba: Uint8Array } {
  const bytes = readBytes(file);
  try {
    if (/\.png$/i.test(file)) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 4, maxMemoryUsageInMB: 64 });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new Error(`${file}: not a readable ${extname(file).slice(1).toUpperCase()} image (${(e as Error).message})`);
  }
}

/** Reads DIR/<class>/<image> for a data set's image size and classes, in class then file-name order. */
export function loadImageFolder(dir: string, dataset: DatasetName): Dataset {
  const shape = SHAPES[dataset];
  const classNames = dataset === 'mnist' ? MNIST_CLASSES : CIFAR10_CLASSES;
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    throw new Error(`image folder ${dir}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const classes: { index: number; files: string[] }[] = [];
  for (const name of entries) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    const index = classOf(name, classNames);
    if (index === null) throw new Error(`image folder ${dir}: subfolder "${name}" is not a class of ${dataset} (${classNames.join(', ')}, or 0..${classNames.length - 1})`);
    const files = readdirSync(path).filter((f) => !f.startsWith('.')).sort();
    const odd = files.find((f) => !IMAGE_FILE.test(f));
    if (odd) throw new Error(`image folder ${dir}: ${join(name, odd)} is not a .png, .jpg or .jpeg file`);
    classes.push({ index, files: files.map((f) => join(path, f)) });
  }
  classes.sort((a, b) => a.index - b.index);
  if (classes.some((c, i) => i > 0 && c.index === classes[i - 1]!.index)) throw new Error(`image folder ${dir}: two subfolders name the same class`);
  const count = classes.reduce((s, c) => s + c.files.length, 0);
  if (count === 0) throw new Error(`image folder ${dir}: no images (expected one subfolder per class, e.g. ${dir}/${classNames[0]}/0001.png)`);
  const { channels, height, width } = shape;
  const plane = height * width;
  const images = new Float32Array(count * channels * plane);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const c of classes) {
    for (const file of c.files) {
      const img = decodeImage(file);
      if (img.width !== width || img.height !== height) throw new Error(`${file}: ${img.width}x${img.height} pixels; ${dataset} images are ${width}x${height} (this loader does not resize)`);
      rgbaToPlanes(img.rgba, channels, plane, images, n * channels * plane);
      labels[n++] = c.index;
    }
  }
  return makeDataset(dataset, images, labels, shape, `image folder ${dir}`);
}

/** Writes images of a data set as DIR/<class name>/<NNNNN>.png (for demos and tests). */
export function writeImageFolder(dir: string, data: Dataset, indices: ArrayLike<number>, write: (path: string, bytes: Uint8Array) => void): void {
  const { channels, height, width } = data;
  const plane = height * width;
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    const png = new PNG({ width, height, colorType: channels === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
    const base = i * channels * plane;
    for (let p = 0; p < plane; p++) {
      const v = (c: number) => Math.round(data.images[base + (channels === 1 ? 0 : c * plane) + p]! * 255);
      png.data[4 * p] = v(0);
      png.data[4 * p + 1] = v(1);
      png.data[4 * p + 2] = v(2);
      png.data[4 * p + 3] = 255;
    }
    const name = data.classNames[data.labels[i]!]!;
    write(join(dir, name, `${String(j).padStart(5, '0')}.png`), PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 }));
  }
}
