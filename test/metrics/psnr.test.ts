import { test } from 'node:test';
import assert from 'node:assert/strict';
import { denormalize, msePerImage, psnr, psnrPerImage, summarizePsnr } from '../../src/metrics/index.js';

test('PSNR of a known MSE: 0.01 gives 20 dB, 0.001 gives 30 dB', () => {
  const shape = [2, 3, 4, 4] as const;
  const a = new Float32Array(96);
  const b = new Float32Array(96);
  for (let i = 0; i < 48; i++) b[i] = 0.1; // image 0: every pixel off by 0.1 -> MSE 0.01
  for (let i = 48; i < 96; i++) b[i] = i % 2 === 0 ? Math.sqrt(0.002) : 0; // image 1: MSE 0.001
  const mse = msePerImage(a, b, shape);
  assert.ok(Math.abs(mse[0]! - 0.01) < 1e-8);
  assert.ok(Math.abs(mse[1]! - 0.001) < 1e-8);
  const per = psnrPerImage(a, b, shape);
  assert.ok(Math.abs(per[0]! - 20) < 1e-5);
  assert.ok(Math.abs(per[1]! - 30) < 1e-5);
  assert.ok(Math.abs(psnr(a, b, shape) - 25) < 1e-5);
});

test('identical images: +Infinity per image, and the mean follows breaching (Infinity)', () => {
  const shape = [2, 1, 2, 2] as const;
  const a = new Float32Array([0, 0.5, 1, 0.25, 0, 0, 0, 0]);
  const b = new Float32Array([0, 0.5, 1, 0.25, 0.1, 0.1, 0.1, 0.1]);
  const per = psnrPerImage(a, b, shape);
  assert.equal(per[0], Number.POSITIVE_INFINITY);
  assert.ok(Math.abs(per[1]! - 20) < 1e-5);
  assert.deepEqual(summarizePsnr(per), { mean: Number.POSITIVE_INFINITY, max: Number.POSITIVE_INFINITY });
  assert.ok(Number.isNaN(summarizePsnr([20, Number.NaN]).mean));
  // breaching checks for exact images before non-finite ones
  assert.equal(summarizePsnr([Number.NaN, Number.POSITIVE_INFINITY]).mean, Number.POSITIVE_INFINITY);
});

test('denormalize applies per-channel mean and std and clamps to [0, 1]', () => {
  const shape = [1, 2, 1, 2] as const;
  const x = new Float32Array([0, 10, 1, -10]);
  const out = denormalize(x, shape, { mean: [0.5, 0.2], std: [0.25, 0.1] });
  assert.deepEqual([...out].map((v) => Math.round(v * 1e6) / 1e6), [0.5, 1, 0.3, 0]);
  assert.throws(() => denormalize(x, shape, { mean: [0, 0, 0], std: [1] }), /normalization\.mean: 3 values for 2 channels/);
  assert.throws(() => denormalize(new Float32Array(3), shape), /3 values do not fill shape/);
});
