import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cwSsim, cwSsimPerImage, dtcwt2d, NEAR_SYM_B, QSHIFT_B, symmetricIndices } from '../../src/metrics/index.js';
import { referenceJson } from '../helpers/reference.js';
import { pattern, perturb } from './patterns.js';

// fixtures/reference/cwssim_ref.py: breaching's cw_ssim over pytorch_wavelets' DTCWT, both written
// out in numpy from their definitions (neither installs here), on the same formula-defined images.
const ref = referenceJson<{
  cwSsim: { shape: [number, number, number, number]; pixelSum: number; cwSsim: number[] }[];
  noise: { amplitude: number; pixelSum: number; cwSsim: number }[];
}>('cwssim.json');
const taps = referenceJson<{ near_sym_b: Record<'h0o' | 'h1o', number[]>; qshift_b: Record<'h0a' | 'h0b' | 'h1a' | 'h1b', number[]> }>('dtcwt_taps.json');
function sum(...xs: ArrayLike<number>[]): number {
  let t = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) t += x[i]!;
  return t;
}

test('CW-SSIM of identical images is 1', () => {
  const shape = [2, 3, 32, 32] as const;
  const a = pattern(shape, 0.7);
  for (const v of cwSsimPerImage(a, a, shape)) assert.ok(Math.abs(v - 1) < 1e-12, `${v}`);
});

test('CW-SSIM falls as noise grows, to the reference values', () => {
  const shape = [1, 3, 32, 32] as const;
  const a = pattern(shape, 0.2);
  const noisy = (amp: number) => a.map((v, i) => Math.min(1, Math.max(0, v + amp * Math.sin(12.9898 * i * i))));
  const [s1, s2, s3] = [0.05, 0.2, 0.5].map((amp) => cwSsimPerImage(a, noisy(amp), shape)[0]!) as [number, number, number];
  assert.ok(1 > s1 && s1 > s2 && s2 > s3, `${s1} ${s2} ${s3}`);
  assert.equal(ref.noise.length, 3);
  for (const n of ref.noise) {
    assert.ok(Math.abs(sum(noisy(n.amplitude)) - n.pixelSum) < 1e-9, `noise ${n.amplitude}: not the reference's pixels`);
    const got = cwSsimPerImage(a, noisy(n.amplitude), shape)[0]!;
    assert.ok(Math.abs(got - n.cwSsim) < 1e-12, `noise ${n.amplitude}: ${got} vs reference ${n.cwSsim}`);
  }
  const { mean, max, perImage } = cwSsim(a, noisy(0.2), shape);
  assert.equal(mean, perImage[0]);
  assert.equal(max, perImage[0]);
});

test("CW-SSIM matches breaching's cw_ssim on pytorch_wavelets' DTCWT (5 levels)", () => {
  assert.equal(ref.cwSsim.length, 3);
  for (const { shape, pixelSum, cwSsim: expected } of ref.cwSsim) {
    const a = pattern(shape, 0.3);
    assert.ok(Math.abs(sum(a, perturb(a)) - pixelSum) < 1e-9, `${shape}: not the reference's pixels`);
    const got = cwSsimPerImage(perturb(a), a, shape);
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12, `${shape}: ${v} vs reference ${expected[i]}`));
  }
});

test('the DTCWT filters are the published taps (to the 14-16 digits written in the source)', () => {
  const same = (got: readonly number[], want: number[], what: string) => {
    assert.equal(got.length, want.length, what);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-13 * Math.abs(want[i]!), `${what}[${i}]: ${v} vs ${want[i]}`));
  };
  same(NEAR_SYM_B.h0o, taps.near_sym_b.h0o, 'h0o');
  same(NEAR_SYM_B.h1o, taps.near_sym_b.h1o, 'h1o');
  for (const k of ['h0a', 'h0b', 'h1a', 'h1b'] as const) same(QSHIFT_B[k], taps.qshift_b[k], k);
});

test('DTCWT filters have the properties their design promises', () => {
  const sum = (h: readonly number[]) => h.reduce((s, v) => s + v, 0);
  assert.equal(NEAR_SYM_B.h0o.length, 13);
  assert.equal(NEAR_SYM_B.h1o.length, 19);
  assert.ok(Math.abs(sum(NEAR_SYM_B.h0o) - 1) < 1e-12); // unit DC gain
  assert.ok(Math.abs(sum(NEAR_SYM_B.h1o)) < 1e-12); // highpass: no DC
  // Q-shift filters are orthonormal: unit DC gain sqrt 2 and orthogonal to even shifts.
  const h = QSHIFT_B.h0a;
  assert.ok(Math.abs(sum(h) - Math.SQRT2) < 1e-11); // the published taps carry 16 digits
  for (let k = 0; k < 7; k++) {
    let dot = 0;
    for (let n = 0; n + 2 * k < h.length; n++) dot += h[n]! * h[n + 2 * k]!;
    assert.ok(Math.abs(dot - (k === 0 ? 1 : 0)) < 1e-12, `shift ${k}: ${dot}`);
  }
  // The Q-shift highpass leaks about 1e-6 of DC by design (MATLAB's qorthwavf has the same taps).
  assert.ok(Math.abs(sum(QSHIFT_B.h1a)) < 2e-6 && Math.abs(sum(QSHIFT_B.h1b)) < 2e-6);
});

test('DTCWT pyramid sizes and half-sample symmetric extension', () => {
  assert.deepEqual([...symmetricIndices(4, 3)], [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
  assert.deepEqual([...symmetricIndices(2, 5)], [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
  const sizes = (h: number, w: number) => dtcwt2d(new Float64Array(h * w), h, w, 5).map((l) => `${l.h}x${l.w}`);
  assert.deepEqual(sizes(32, 32), ['16x16', '8x8', '4x4', '2x2', '1x1']);
  assert.deepEqual(sizes(28, 28), ['14x14', '7x7', '4x4', '2x2', '1x1']);
  // A constant image has (next to) no bandpass energy at any level.
  const flat = dtcwt2d(new Float64Array(32 * 32).fill(0.6), 32, 32, 4);
  for (const l of flat) for (let o = 0; o < 6; o++) for (const v of l.re[o]!) assert.ok(Math.abs(v) < 1e-5);
});
