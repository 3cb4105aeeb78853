// LPIPS with AlexNet features through the compute core, from a weights file: zero for identical
// images, positive otherwise, a clear error for a wrong file, and, where python3 has PyTorch, the
// same distances as the lpips package's arithmetic in PyTorch (float64) on real CIFAR-10 images.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FIXTURE_CIFAR10 } from '../../src/cli/attack.js';
import { Rng } from '../../src/common/rng.js';
import { getBatch, loadDataset } from '../../src/data/index.js';
import { alexnetLpips } from '../../src/metrics/lpips-alexnet.js';
import { lpips } from '../../src/metrics/index.js';
import { alexnetFeatureSpecs, ALEXNET_CONVS } from '../../src/models/alexnet.js';
import { initParams, saveSafetensors } from '../../src/models/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lpips-alex-'));
const weights = join(dir, 'alex.safetensors');
// Random AlexNet weights (PyTorch's default init, seeded) and non-negative lin weights.
const rng = new Rng(5);
saveSafetensors(weights, [
  ...initParams(alexnetFeatureSpecs(), 3),
  ...ALEXNET_CONVS.map((c, k) => ({ name: `lin${k}.model.1.weight`, shape: [1, c.cout, 1, 1], data: Float32Array.from({ length: c.cout }, () => rng.uniform()) })),
]);

async function images() {
  const data = await loadDataset('cifar10', { dataDir: FIXTURE_CIFAR10 });
  const raw = (idx: number[]) => getBatch(data.test, idx, { normalize: false }).x;
  return { a: raw([0, 1, 2]), b: raw([3, 1, 5]), shape: [3, 3, 32, 32] as const };
}

test('AlexNet LPIPS: zero for the same image, positive for different ones; a wrong file says what is wrong', async () => {
  const { a, b, shape } = await images();
  const r = await lpips(a, b, shape, { weightsPath: weights, createBackend: alexnetLpips });
  assert.ok(r.computed);
  if (!r.computed) return;
  assert.equal(r.net, 'alex');
  assert.ok(r.perImage[0]! > 0 && r.perImage[2]! > 0, `${r.perImage}`);
  assert.ok(Math.abs(r.perImage[1]!) < 1e-6, `identical images: ${r.perImage[1]}`);
  const bad = join(dir, 'bad.safetensors');
  saveSafetensors(bad, initParams(alexnetFeatureSpecs(), 3));
  await assert.rejects(lpips(a, b, shape, { weightsPath: bad, createBackend: alexnetLpips }), /lack tensor "lin0\.model\.1\.weight"/);
});

test('AlexNet LPIPS equals the lpips arithmetic in PyTorch', async (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status !== 0) {
    t.skip('python3 with torch and numpy is not installed (apt-get install python3-torch): the comparison with PyTorch is skipped');
    return;
  }
  const { a, b, shape } = await images();
  const pair = join(dir, 'images.safetensors');
  saveSafetensors(pair, [{ name: 'a', shape: [...shape], data: a }, { name: 'b', shape: [...shape], data: b }]);
  const script = fileURLToPath(new URL('./lpips_reference.py', import.meta.url));
  const py = spawnSync('/usr/bin/python3', [script, weights, pair], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const want = JSON.parse(py.stdout) as number[];
  const r = await lpips(a, b, shape, { weightsPath: weights, createBackend: alexnetLpips });
  assert.ok(r.computed);
  if (!r.computed) return;
  // Measured: relative differences of 2.3e-8 and 3.7e-8 (float32 against float64), 0 for the identical pair; asserted 2e-7.
  r.perImage.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 2e-7 * Math.max(1e-3, Math.abs(want[i]!)), `image ${i}: ${v} vs PyTorch ${want[i]}`));
});
