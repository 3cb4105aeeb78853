// What a GGL reconstruction has to beat on the same images: the data set's mean image, and random
// draws G(z) of the prior itself (a GGL answer that ignores the gradient would score like those).
//   node --import tsx scripts/ggl-baselines.ts PRIOR.safetensors [mnist|cifar10] [FIRST] [COUNT] [DATA_DIR]
import { randn, Rng } from '../src/common/index.js';
import { loadDataset } from '../src/data/index.js';
import { psnr, ssim } from '../src/metrics/index.js';
import { generate, loadPrior } from '../src/models/index.js';

const [file, dataset = 'mnist', first = '0', count = '8', dataDir] = process.argv.slice(2);
if (!file) throw new Error('usage: scripts/ggl-baselines.ts PRIOR.safetensors [mnist|cifar10] [FIRST] [COUNT] [DATA_DIR]');
const prior = loadPrior(file);
const test = (await loadDataset(dataset as 'mnist' | 'cifar10', dataDir ? { dataDir } : {})).test;
const [c, h, w] = [test.channels, test.height, test.width];
const size = c * h * w;
const shape = [1, c, h, w] as const;
const meanImage = new Float32Array(size);
for (let i = 0; i < test.count; i++) for (let j = 0; j < size; j++) meanImage[j] += test.images[i * size + j]! / test.count;
const draws = 16;
const random = await generate(prior, randn(draws * prior.generator.latent, new Rng(12345)));
let [mp, ms, rp, rs] = [0, 0, 0, 0];
const n = Number(count);
for (let k = Number(first); k < Number(first) + n; k++) {
  const truth = test.images.subarray(k * size, (k + 1) * size);
  mp += psnr(truth, meanImage, shape) / n;
  ms += ssim(truth, meanImage, shape) / n;
  for (let d = 0; d < draws; d++) {
    const g = random.subarray(d * size, (d + 1) * size);
    rp += psnr(truth, g, shape) / (n * draws);
    rs += ssim(truth, g, shape) / (n * draws);
  }
}
console.log(`${dataset} test images ${first}-${Number(first) + n - 1}: the data mean image PSNR ${mp.toFixed(2)} dB, SSIM ${ms.toFixed(3)}; ${draws} random draws G(z) of ${file}: PSNR ${rp.toFixed(2)} dB, SSIM ${rs.toFixed(3)}`);
