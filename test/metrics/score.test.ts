import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reorderImages, scoreReconstruction } from '../../src/metrics/index.js';
import { referenceJson } from '../helpers/reference.js';
import { pattern } from './patterns.js';

const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.247, 0.2435, 0.2616];

function normalize(x: Float32Array, c: number, plane: number): Float32Array {
  return x.map((v, i) => (v - MEAN[Math.floor(i / plane) % c]!) / STD[Math.floor(i / plane) % c]!);
}

test('a shuffled exact reconstruction is matched back and scores perfectly', () => {
  const shape = [4, 3, 16, 16] as const;
  const plane = 256;
  const images = new Float32Array(4 * 3 * plane);
  for (let b = 0; b < 4; b++) images.set(pattern([3, 16, 16], 0.9 * b), b * 3 * plane);
  const truth = normalize(images, 3, plane);
  const perm = [2, 0, 3, 1];
  const recon = reorderImages(truth, shape, perm);
  const s = scoreReconstruction({ truth, recon, shape, mean: MEAN, std: STD, trueLabels: [0, 1, 2, 3], recLabels: [2, 0, 3, 1] });
  // truth i is recon j where perm[j] = i
  assert.deepEqual(s.assignment, [1, 3, 0, 2]);
  for (const m of s.mse) assert.ok(m < 1e-12);
  assert.equal(s.psnrMean, Infinity);
  assert.ok(s.ssim > 1 - 1e-9 && s.cwSsim > 1 - 1e-9);
  assert.equal(s.labelAccuracy, 1);
  assert.deepEqual([...s.images.recon].slice(0, 5), [...s.images.truth].slice(0, 5));
});

test('scores are per ground-truth image in the assigned order', () => {
  const shape = [2, 1, 12, 12] as const;
  const a = pattern([1, 1, 12, 12], 0.1);
  const b = pattern([1, 1, 12, 12], 2.5);
  const truth = new Float32Array(288);
  truth.set(a, 0);
  truth.set(b, 144);
  // reconstruction lists b (off by 0.1, MSE 0.01) first, then a (off by 0.01, MSE 1e-4)
  const recon = new Float32Array(288);
  recon.set(b.map((v) => v + (v > 0.5 ? -0.1 : 0.1)), 0);
  recon.set(a.map((v) => v + (v > 0.5 ? -0.01 : 0.01)), 144);
  const s = scoreReconstruction({ truth, recon, shape });
  assert.deepEqual(s.assignment, [1, 0]);
  assert.ok(Math.abs(s.psnr[0]! - 40) < 1e-4, `${s.psnr[0]}`);
  assert.ok(Math.abs(s.psnr[1]! - 20) < 1e-4, `${s.psnr[1]}`);
  assert.ok(Math.abs(s.psnrMean - 30) < 1e-4);
  assert.ok(Math.abs(s.psnrMax - 40) < 1e-4);
  // skimage's SSIM of the same pairs (fixtures/reference/metrics_ref.py); the pixels are checked to be the ones it used.
  const ref = referenceJson<{ ssimScore: { pixelSum: number; ssim: number[] } }>('metrics.json').ssimScore;
  assert.ok(Math.abs([...truth, ...recon].reduce((t, v) => t + v, 0) - ref.pixelSum) < 1e-9);
  s.ssimPerImage.forEach((v, i) => assert.ok(Math.abs(v - ref.ssim[i]!) < 1e-12, `image ${i}: SSIM ${v} vs skimage ${ref.ssim[i]}`));
  const cw = referenceJson<{ score: { cwSsim: number[] } }>('cwssim.json').score.cwSsim;
  s.cwSsimPerImage.forEach((v, i) => assert.ok(Math.abs(v - cw[i]!) < 1e-12, `image ${i}: CW-SSIM ${v} vs reference ${cw[i]}`));
  assert.equal(s.labelAccuracy, undefined);
  // without matching, the pairs are scored as given
  const unmatched = scoreReconstruction({ truth, recon, shape, match: 'none' });
  assert.deepEqual(unmatched.assignment, [0, 1]);
  assert.ok(unmatched.psnrMean < s.psnrMean);
});

test('a reconstruction that diverged to NaN is scored, not thrown', () => {
  const shape = [2, 1, 12, 12] as const;
  const truth = new Float32Array(288).fill(0.5);
  const recon = new Float32Array(288).fill(0.4);
  recon.fill(Number.NaN, 0, 144);
  const s = scoreReconstruction({ truth, recon, shape });
  assert.deepEqual(s.assignment, [1, 0]);
  assert.ok(Math.abs(s.psnr[0]! - 20) < 1e-4);
  assert.ok(Number.isNaN(s.psnr[1]!));
  assert.ok(Number.isNaN(s.psnrMean));
  assert.throws(() => scoreReconstruction({ truth, recon, shape, match: [[0]] }), /must be 2x2/);
});
