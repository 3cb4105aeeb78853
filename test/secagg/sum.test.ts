import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateSecurely, dequantiseSum, fixedPoint, quantise, SecAggError, seededRandom, sumErrorBound } from '../../src/secagg/index.js';
import { clippedSum, maxAbsDiff, randomInputs, range } from './helpers.js';

test('the unmasked sum equals the plain sum within the stated bound (several n, L, clip)', async () => {
  const cases = [
    { n: 2, L: 1, clip: 1, spread: 0.3 },
    { n: 3, L: 257, clip: 0.05, spread: 0.01 },
    { n: 7, L: 1000, clip: 4, spread: 1 },
    { n: 12, L: 333, clip: 100, spread: 30 },
  ];
  for (const [k, c] of cases.entries()) {
    const ids = range(c.n);
    const inputs = randomInputs(ids, c.L, c.spread, 10 + k);
    const r = await aggregateSecurely(inputs, { threshold: Math.max(2, Math.ceil((2 * c.n) / 3)), clip: c.clip, random: seededRandom(k) });
    assert.deepEqual(r.contributors, ids);
    assert.equal(r.sum.length, c.L);
    assert.equal(r.errorBound, sumErrorBound(fixedPoint(c.clip, c.n), c.n));
    const err = maxAbsDiff(r.sum, clippedSum(inputs, ids, c.clip));
    assert.ok(err <= r.errorBound, `case ${k}: error ${err} above the bound ${r.errorBound}`);
    // The bound is about n^2 clip / 2^32: small enough to matter, so the check above could fail.
    assert.ok(r.errorBound < (c.n * c.n * c.clip) / 2 ** 31, `case ${k}: bound ${r.errorBound}`);
  }
});

test('entries beyond the clip are clipped to +-clip, and n clients all at +-clip do not wrap', async () => {
  const ids = range(5);
  const clip = 0.5;
  const inputs = new Map(ids.map((id) => [id, Float32Array.of(3, -7, 0.25, clip, -clip, 1e30)]));
  const r = await aggregateSecurely(inputs, { threshold: 3, clip, random: seededRandom(3) });
  const expected = [2.5, -2.5, 1.25, 2.5, -2.5, 2.5];
  assert.ok(maxAbsDiff(r.sum, expected) <= r.errorBound, `${[...r.sum]} vs ${expected}`);
  // Without the clip the plain sum is far away: the clip is really applied.
  assert.ok(Math.abs(r.sum[0]! - 15) > 1);
});

test('any subset of client ids (sparse, up to 2^32 - 1) takes part', async () => {
  const ids = [3, 17, 18, 250, 4_000_000_000];
  const inputs = randomInputs(ids, 64, 0.2, 5);
  const r = await aggregateSecurely(inputs, { round: 41, threshold: 3, clip: 1, random: seededRandom(9) });
  assert.deepEqual(r.contributors, ids);
  assert.ok(maxAbsDiff(r.sum, clippedSum(inputs, ids, 1)) <= r.errorBound);
});

test('fixed point: scale, wrap-around, de-quantisation and the bound', () => {
  const fp = fixedPoint(2, 10);
  assert.equal(fp.scale, Math.floor(0x7fffffff / 10) / 2);
  const q = quantise(Float32Array.of(-2, -1e-9, 0, 1.5, 2, 9), fp);
  assert.equal(q[0], 2 ** 32 - Math.floor(0x7fffffff / 10)); // -B mod 2^32
  assert.equal(q[2], 0);
  assert.equal(q[4], q[5]); // 9 is clipped to 2
  // Ten clients all at +clip sum to 10 * B <= 2^31 - 1: read back as +20, not wrapped negative.
  const sum = new Uint32Array(1);
  for (let i = 0; i < 10; i++) sum[0] = sum[0]! + q[4]!;
  assert.ok(Math.abs(dequantiseSum(sum, fp)[0]! - 20) <= sumErrorBound(fp, 10));
  assert.throws(() => quantise(Float32Array.of(0, NaN), fp), (e: Error) => e instanceof SecAggError && /entry 1 is NaN/.test(e.message));
  assert.throws(() => quantise(Float32Array.of(Infinity), fp), SecAggError);
  assert.throws(() => fixedPoint(0, 3), /clip must be a finite number > 0/);
  assert.throws(() => fixedPoint(1, 256), /clients must be an integer in \[1, 255\]/);
});

test('bad options are refused with the option named', async () => {
  const inputs = randomInputs(range(3), 4, 1, 1);
  const bad = async (o: object, re: RegExp) =>
    assert.rejects(aggregateSecurely(inputs, { threshold: 2, clip: 1, ...o }), (e: Error) => e instanceof SecAggError && e.code === 'options' && re.test(e.message));
  await bad({ threshold: 1 }, /threshold must be an integer in \[2, 255\]/);
  await bad({ clip: -1 }, /clip must be a finite number > 0/);
  await bad({ round: -3 }, /round must be an integer/);
  await bad({ threshold: 4 }, /3 participants cannot meet threshold 4/);
  await bad({ dropAfter: { shareKeys: [9] } }, /client 9 has no input/);
  await bad({ dropAfter: { shareKeys: [1], maskedInput: [1] } }, /client 1 drops after both/);
  await assert.rejects(aggregateSecurely(new Map([[0, new Float32Array(2)], [1, new Float32Array(3)]]), { threshold: 2, clip: 1 }), /length 3, the round's length is 2/);
});
