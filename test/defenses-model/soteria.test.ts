import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { soteriaDefense, soteriaKeep, soteriaMask, soteriaScores } from '../../src/defenses-model/index.js';
import { initParams, lenet, mlp } from '../../src/models/index.js';

test('Soteria scores equal ||W1[f]|| / r_f for a ReLU MLP (hand-derived Jacobian)', async () => {
  const model = mlp({ hidden: 6, inputShape: [1, 2, 2] });
  const params = initParams(model.params, 5);
  const rng = new Rng(1);
  const x = Float32Array.from({ length: 4 }, () => rng.normal());
  const { scores } = await soteriaScores(model, params, x, [1, 1, 2, 2]);
  const [w1, b1] = [params[0]!.data, params[1]!.data];
  for (let f = 0; f < 6; f++) {
    let r = b1[f]!;
    let n2 = 0;
    for (let i = 0; i < 4; i++) {
      r += w1[f * 4 + i]! * x[i]!;
      n2 += w1[f * 4 + i]! ** 2;
    }
    if (r <= 0) assert.ok(!Number.isFinite(scores[f]!) || Number.isNaN(scores[f]!), `inactive feature ${f} has score ${scores[f]}`);
    else assert.ok(Math.abs(scores[f]! - Math.sqrt(n2) / r) < 1e-4 * (Math.sqrt(n2) / r), `feature ${f}: ${scores[f]} vs ${Math.sqrt(n2) / r}`);
  }
});

test('soteriaKeep prunes below the percentile like numpy.percentile', () => {
  const keep = soteriaKeep(Float64Array.of(5, 1, 4, 2, 3), 50);
  assert.deepEqual([...keep], [1, 0, 1, 0, 1]);
  assert.deepEqual([...soteriaKeep(Float64Array.of(3, 1, 2), 0)], [1, 1, 1]);
  assert.throws(() => soteriaKeep(Float64Array.of(1), 120), /percent/);
});

test('Soteria on the LeNet head zeroes exactly the pruned columns and leaves other layers intact', async () => {
  const model = lenet({ inputShape: [1, 28, 28] });
  const params = initParams(model.params, 2);
  const rng = new Rng(3);
  const x = Float32Array.from({ length: 2 * 784 }, () => rng.uniform());
  const mask = await soteriaMask(model, params, x, [2, 1, 28, 28], 80);
  assert.equal(mask.layer, 'fc.weight');
  const pruned = mask.keep.length - mask.keep.reduce((a, v) => a + v, 0);
  assert.ok(Math.abs(pruned / mask.keep.length - 0.8) < 0.01, `pruned ${pruned} of ${mask.keep.length}`);
  const grad = params.map((t) => ({ ...t, data: Float32Array.from(t.data, () => rng.normal()) }));
  const { update, report } = soteriaDefense(mask).apply(grad, null, rng);
  update.forEach((u, k) => {
    assert.equal(u.kind, 'dense');
    const v = (u as { values: Float32Array }).values;
    const cols = grad[k]!.shape[1]!;
    v.forEach((val, i) => {
      const expected = u.name === 'fc.weight' && !mask.keep[i % cols] ? 0 : grad[k]!.data[i]!;
      assert.equal(val, expected);
    });
  });
  assert.ok(report.relGradDistance > 0 && report.relGradDistance < 1);
});
