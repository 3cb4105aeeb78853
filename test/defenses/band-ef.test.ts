// Error feedback around a rank band (DGP, Top-k) takes its own path (compose.ts's
// bandWithErrorFeedback: c = g + e and its sums tensor by tensor, then the ranking of c). It must
// give what the general path gives, bit for bit: the same update, residual and report, over
// several rounds, on tensors large enough for the sampled ranking and small ones, ties included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import type { TensorList } from '../../src/common/tensors.js';
import { dgp, topk, withErrorFeedback, type Defense } from '../../src/defenses/index.js';
import { randomGrad } from './helpers.js';

/** The same rule without its rankBand, so withErrorFeedback takes the general path. */
const general = <S>(d: Defense<S>): Defense<S> => ({ name: d.name, init: (l) => d.init(l), apply: (g, s, r) => d.apply(g, s, r) });

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

for (const [name, make] of [['dgp', () => dgp()], ['dgp pTop 0.01 pKeep 0.5', () => dgp({ pTop: 0.01, pKeep: 0.5 })], ['topk', () => topk()]] as const) {
  test(`${name} with error feedback: the band path equals the general one, bit for bit`, () => {
    const rng = new Rng(7);
    const shapes = [[40000], [3, 5], [1], [70000], [128, 64, 3, 3]];
    const fast = withErrorFeedback(make());
    const slow = withErrorFeedback(general(make()));
    let a = fast.init(shapes.map((s, i) => ({ name: `t${i}`, shape: s })));
    let b = slow.init(shapes.map((s, i) => ({ name: `t${i}`, shape: s })));
    for (let round = 0; round < 3; round++) {
      const g: TensorList = randomGrad(rng, shapes);
      const ra = fast.apply(g, a, rng);
      const rb = slow.apply(g, b, rng);
      assert.deepEqual(ra.report, rb.report, `round ${round}: report`);
      ra.update.forEach((u, i) => {
        const v = rb.update[i]!;
        assert.equal(u.kind, v.kind);
        if (u.kind === 'sparse' && v.kind === 'sparse') assert.ok(bytes(u.indices).equals(bytes(v.indices)), `round ${round} tensor ${i}: positions`);
        assert.ok(bytes(u.values).equals(bytes(v.values)), `round ${round} tensor ${i}: values`);
      });
      ra.state.residual.forEach((r, i) => assert.ok(bytes(r).equals(bytes(rb.state.residual[i]!)), `round ${round} tensor ${i}: residual`));
      a = ra.state;
      b = rb.state;
    }
  });
}

test('the band path names the tensor and index of a non-finite corrected entry, and keeps the state', () => {
  const d = withErrorFeedback(dgp());
  const layout = [{ name: 'w', shape: [50000] }];
  const s = d.init(layout);
  const g = new Float32Array(50000).fill(0.5);
  g[41234] = Infinity;
  assert.throws(() => d.apply([{ name: 'w', shape: [50000], data: g }], s, new Rng(1)), /tensor "w" has a non-finite entry \(Infinity\) at index 41234/);
  assert.ok(s.residual[0]!.every((v) => v === 0));
});
