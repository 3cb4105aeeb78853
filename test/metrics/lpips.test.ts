import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lpips, scoreWithLpips, type FeatureMap, type ImageShape, type LpipsBackend } from '../../src/metrics/index.js';

// A stand-in "network": one layer whose features are the pixels themselves, so distances can
// be worked out by hand.
function pixelBackend(weights: number[]): LpipsBackend {
  return {
    net: 'pixels',
    linearWeights: [new Float32Array(weights)],
    extract: (images: Float32Array, shape: ImageShape): FeatureMap[] => [{ data: images, shape: [...shape] as [number, number, number, number] }],
  };
}

const weightsFile = join(mkdtempSync(join(tmpdir(), 'lpips-')), 'weights.bin');
writeFileSync(weightsFile, 'stand-in');

test('without weights LPIPS is not computed and says why', async () => {
  const x = new Float32Array(12);
  const shape = [1, 3, 2, 2] as const;
  assert.deepEqual(await lpips(x, x, shape, {}), { computed: false, reason: 'not computed: no weights' });
  const missing = await lpips(x, x, shape, { weightsPath: '/nonexistent/alex.bin', createBackend: () => pixelBackend([1, 1, 1]) });
  assert.deepEqual(missing, { computed: false, reason: 'not computed: no weights at /nonexistent/alex.bin' });
  const noExtractor = await lpips(x, x, shape, { weightsPath: weightsFile });
  assert.equal(noExtractor.computed, false);
});

test('LPIPS from features: unit-normalised over channels, weighted, averaged over positions', async () => {
  // 2 channels, 1x2 pixels. Mapped to [-1, 1], pixel 0 is (1, 0) in a and (0, 1) in b, so the
  // unit-normalised squared difference per channel is (1, 1); pixel 1 is (0.5, 0.5) in both.
  const shape = [1, 2, 1, 2] as const;
  const a = new Float32Array([1, 0.75, 0.5, 0.75]);
  const b = new Float32Array([0.5, 0.75, 1, 0.75]);
  const res = await lpips(a, b, shape, { weightsPath: weightsFile, createBackend: () => pixelBackend([2, 3]) });
  assert.equal(res.computed, true);
  if (res.computed) {
    // (2 * 1 + 3 * 1 + 0) / 2 positions
    assert.ok(Math.abs(res.perImage[0]! - 2.5) < 1e-6, `${res.perImage[0]}`);
    assert.equal(res.net, 'pixels');
  }
});

test('scoreWithLpips matches by LPIPS distance when weights are there, and reports it', async () => {
  const shape = [2, 1, 12, 12] as const;
  const truth = new Float32Array(288);
  for (let i = 0; i < 144; i++) truth[i] = i % 2; // stripes
  for (let i = 144; i < 288; i++) truth[i] = Math.floor((i - 144) / 12) % 2; // other stripes
  const recon = new Float32Array(288);
  recon.set(truth.subarray(144), 0);
  recon.set(truth.subarray(0, 144), 144);
  const s = await scoreWithLpips({ truth, recon, shape, lpips: { weightsPath: weightsFile, createBackend: () => pixelBackend([1]) } });
  assert.deepEqual(s.assignment, [1, 0]);
  assert.equal(s.lpips.computed, true);
  if (s.lpips.computed) for (const v of s.lpips.perImage) assert.ok(Math.abs(v) < 1e-12);
  const without = await scoreWithLpips({ truth, recon, shape, lpips: {} });
  assert.deepEqual(without.lpips, { computed: false, reason: 'not computed: no weights' });
  assert.deepEqual(without.assignment, [1, 0]);
});
