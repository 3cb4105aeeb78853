import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { densify } from '../../src/common/update.js';
import { chain, withErrorFeedback } from '../../src/defenses/compose.js';
import { clipByNorm } from '../../src/defenses/dp.js';
import { dgp } from '../../src/defenses/dgp.js';
import { createDefense } from '../../src/defenses/registry.js';
import { stateFromJSON, stateToJSON } from '../../src/defenses/state.js';
import type { Defense } from '../../src/defenses/types.js';
import { randomGrad } from './helpers.js';

const shapes = [[7], [3, 4], [1], [10], [2, 3, 3, 3]];

for (const name of ['dgp', 'topk', 'randomk', 'signsgd', 'qsgd'] as const) {
  test(`error feedback conserves mass over rounds: ${name}`, () => {
    const rng = new Rng(20);
    const d = createDefense(name, { ef: true }) as Defense<{ residual: Float32Array[] }>;
    let state = d.init(shapes.map((shape, i) => ({ name: `t${i}`, shape })));
    for (let round = 0; round < 30; round++) {
      const grad = randomGrad(rng, shapes);
      const before = state.residual.map((e) => e.slice());
      const r = d.apply(grad, state, rng);
      const sent = densify(r.update);
      grad.forEach((g, t) => {
        for (let i = 0; i < g.data.length; i++) {
          const lhs = sent[t]!.data[i]! + r.state.residual[t]![i]!;
          const rhs = g.data[i]! + before[t]![i]!;
          assert.ok(Math.abs(lhs - rhs) <= 1e-6 * (1 + Math.abs(rhs)), `${name} round ${round} t${t}[${i}]: ${lhs} vs ${rhs}`);
        }
      });
      const norm = Math.sqrt(r.state.residual.reduce((acc, e) => acc + e.reduce((a, x) => a + x * x, 0), 0));
      assert.ok(Math.abs(r.report.extra['residualNorm']! - norm) <= 1e-6 * (1 + norm), `residualNorm ${r.report.extra['residualNorm']} vs ${norm}`);
      // the state passed in is left untouched (a valid checkpoint)
      state.residual.forEach((e, t) => assert.deepEqual(e, before[t]));
      state = r.state;
    }
  });
}

test('with error feedback DGP reports the distance to the raw gradient, not the corrected one', () => {
  const rng = new Rng(21);
  const d = withErrorFeedback(dgp());
  let state = d.init([{ name: 'w', shape: [100] }]);
  for (let round = 0; round < 20; round++) {
    const grad = randomGrad(rng, [[100]]);
    const r = d.apply(grad, state, rng);
    const sent = densify(r.update)[0]!.data;
    let num = 0;
    let den = 0;
    grad[0]!.data.forEach((g, i) => {
      num += (g - sent[i]!) ** 2;
      den += g * g;
    });
    // A zero gradient with a residual being sent is infinitely far from what was sent.
    const want = den > 0 ? Math.sqrt(num / den) : num > 0 ? Infinity : 0;
    assert.ok(r.report.relGradDistance === want || Math.abs(r.report.relGradDistance - want) < 1e-9, `${r.report.relGradDistance} vs ${want}`);
    state = r.state;
  }
});

test('state survives JSON and structuredClone, and resumes identically', () => {
  const rng = new Rng(22);
  const d = createDefense('dgp');
  const layout = [{ name: 'a', shape: [50] }, { name: 'b', shape: [5] }];
  const s1 = d.apply(randomGrad(rng, [[50], [5]]), d.init(layout), rng).state;
  const grad = randomGrad(rng, [[50], [5]]);
  const direct = d.apply(grad, s1, new Rng(5));
  for (const copy of [stateFromJSON(stateToJSON(s1)), structuredClone(s1)]) {
    const again = d.apply(grad, copy, new Rng(5));
    assert.deepEqual(again.update, direct.update);
    assert.deepEqual(again.state, direct.state);
  }
});

test('chain applies stages in order and reports against its own input', () => {
  const grad = [{ name: 'w', shape: [4], data: new Float32Array([3, 4, 0, 0]) }];
  const d = chain(clipByNorm(1), dgp({ pTop: 0.25, pKeep: 0.25 }));
  const r = d.apply(grad, d.init([{ name: 'w', shape: [4] }]), new Rng(0));
  assert.deepEqual([...densify(r.update)[0]!.data], [0.6000000238418579, 0, 0, 0]);
  assert.equal(r.report.extra['clipScale'], 0.2);
  assert.ok(Math.abs(r.report.relGradDistance - Math.sqrt((3 - 0.6) ** 2 + 16) / 5) < 1e-6);
});
