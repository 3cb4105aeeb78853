import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussianWindow, ssim, ssimPerImage, ssimPlane } from '../../src/metrics/index.js';
import { referenceJson } from '../helpers/reference.js';
import { pattern, perturb } from './patterns.js';

test('SSIM of identical images is 1', () => {
  const shape = [2, 3, 16, 16] as const;
  const a = pattern(shape, 0.1);
  for (const v of ssimPerImage(a, a, shape)) assert.ok(Math.abs(v - 1) < 1e-12);
});

test('SSIM of an inverted 11x11 image equals a direct single-window computation', () => {
  // One window position: SSIM is the weighted-statistics formula evaluated once, computed here
  // straight from the 2-D Gaussian weights rather than by separable filtering.
  const n = 11;
  const x = Array.from({ length: n * n }, (_, i) => 0.5 + 0.4 * Math.sin(0.9 * i) * Math.cos(0.13 * i));
  const y = x.map((v) => 1 - v);
  const g = Array.from({ length: n }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const gs = g.reduce((s, v) => s + v, 0);
  let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const w = (g[r]! * g[c]!) / (gs * gs);
    const u = x[r * n + c]!, v = y[r * n + c]!;
    mx += w * u; my += w * v; sxx += w * u * u; syy += w * v * v; sxy += w * u * v;
  }
  const vx = sxx - mx * mx, vy = syy - my * my, cxy = sxy - mx * my;
  const c1 = 0.01 ** 2, c2 = 0.03 ** 2;
  const expected = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  const got = ssimPlane(x, y, n, n);
  assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
  assert.ok(got < -0.5, `an inverted image scores well below 0, got ${got}`);
});

interface SsimCase {
  shape: [number, number, number, number];
  pixelSum: number;
  ssim: number[];
}
const skimage = referenceJson<{ ssim: SsimCase[] }>('metrics.json').ssim;

const sum = (...xs: Float32Array[]) => xs.reduce((s, x) => x.reduce((t, v) => t + v, s), 0);

test('SSIM matches skimage (gaussian_weights, sigma 1.5, no sample covariance, data_range 1)', () => {
  // Reference values: fixtures/reference/metrics_ref.py (skimage 0.19 structural_similarity, channel mean).
  assert.equal(skimage.length, 3);
  for (const { shape, pixelSum, ssim: expected } of skimage) {
    const a = pattern(shape, 0.3);
    const b = perturb(a);
    assert.ok(Math.abs(sum(a, b) - pixelSum) < 1e-9, `${shape}: not the images the reference was computed on`);
    const got = ssimPerImage(a, b, shape);
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12, `${shape}: ${v} vs skimage ${expected[i]}`));
  }
  const { shape, ssim: expected } = skimage[0]!;
  const a = pattern(shape, 0.3);
  assert.ok(Math.abs(ssim(a, perturb(a), shape) - (expected[0]! + expected[1]!) / 2) < 1e-12);
});

test('SSIM rejects images smaller than the window and even window sizes', () => {
  assert.throws(() => ssimPlane([0, 1, 2, 3], [0, 1, 2, 3], 2, 2), /smaller than the 11x11 window/);
  assert.throws(() => gaussianWindow(10, 1.5), /positive odd integer/);
  const w = gaussianWindow(11, 1.5);
  assert.ok(Math.abs(w.reduce((s, v) => s + v, 0) - 1) < 1e-15);
});
