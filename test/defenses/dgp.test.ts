import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { dgp, dgpBand, dgpCounts, parseDgpOptions } from '../../src/defenses/dgp.js';
import { topk } from '../../src/defenses/sparsify.js';
import { randomTensorData, referenceRange } from './helpers.js';

const defaults = parseDgpOptions({});

test('DGP keeps exactly the band of a sort-based reference (lengths 1..10 and larger, ties, zeros)', () => {
  const rng = new Rng(10);
  for (let trial = 0; trial < 1000; trial++) {
    const n = trial < 600 ? 1 + (trial % 10) : 1 + rng.int(2000);
    const data = randomTensorData(rng, n);
    const o = trial % 2 ? defaults : parseDgpOptions({ pTop: rng.uniform() * 0.3, pKeep: 0.05 + rng.uniform() * 0.6 });
    const { drop, keep } = dgpCounts(n, o);
    const band = dgpBand({ name: 'w', shape: [n], data }, o);
    assert.deepEqual([...band], referenceRange(data, drop, drop + keep), `n=${n} ${JSON.stringify(o)} ${data}`);
  }
});

test('DGP sends the band values unchanged, at increasing positions', () => {
  const rng = new Rng(11);
  const grad = [{ name: 'w', shape: [40, 25], data: randomTensorData(rng, 1000) }];
  const { update, report } = dgp().apply(grad, null, rng);
  const u = update[0]!;
  assert.equal(u.kind, 'sparse');
  if (u.kind !== 'sparse') return;
  assert.equal(u.indices.length, 200);
  u.indices.forEach((p, j) => assert.equal(u.values[j], grad[0]!.data[p]));
  assert.equal(report.keptFraction, 0.2);
});

test('small-tensor rule: at least one dropped from the top, at least one kept, never Top-k', () => {
  for (let n = 2; n <= 200; n++) {
    const { drop, keep } = dgpCounts(n, defaults);
    assert.ok(drop >= 1 && keep >= 1 && drop + keep <= n, `n=${n}: drop ${drop} keep ${keep}`);
  }
  assert.deepEqual(dgpCounts(10, defaults), { drop: 1, keep: 2 });
  assert.deepEqual(dgpCounts(2, defaults), { drop: 1, keep: 1 });
  assert.deepEqual(dgpCounts(64, defaults), { drop: 3, keep: 13 });
  assert.deepEqual(dgpCounts(1000, defaults), { drop: 50, keep: 200 });
  // pTop = 0 is asked for explicitly: then DGP is Top-k, and that is the only way to get it.
  assert.deepEqual(dgpCounts(10, parseDgpOptions({ pTop: 0 })), { drop: 0, keep: 2 });
});

test('a 10-entry bias is not turned into Top-k: its largest entry is never sent', () => {
  const rng = new Rng(12);
  for (let trial = 0; trial < 100; trial++) {
    const data = Float32Array.from({ length: 10 }, () => rng.normal());
    const grad = [{ name: 'fc.bias', shape: [10], data }];
    const sent = dgp().apply(grad, null, rng).update[0]!;
    const top = topk().apply(grad, null, rng).update[0]!;
    const largest = referenceRange(data, 0, 1)[0]!;
    assert.ok(sent.kind === 'sparse' && top.kind === 'sparse');
    if (sent.kind !== 'sparse' || top.kind !== 'sparse') return;
    assert.equal(sent.indices.length, 2);
    assert.ok(![...sent.indices].includes(largest));
    assert.ok([...top.indices].includes(largest));
  }
});

test('a one-entry tensor is sent whole by default, or dropped with tinyTensor: drop', () => {
  const grad = [{ name: 'scale', shape: [1], data: new Float32Array([3]) }];
  const rng = new Rng(1);
  const sent = dgp().apply(grad, null, rng).update[0]!;
  assert.deepEqual([...sent.values], [3]);
  const dropped = dgp({ tinyTensor: 'drop' }).apply(grad, null, rng).update[0]!;
  assert.equal(dropped.values.length, 0);
});

test('DGP rejects non-finite gradients naming the tensor', () => {
  const grad = [{ name: 'layer1.0.conv1.weight', shape: [3], data: new Float32Array([1, Infinity, 2]) }];
  assert.throws(() => dgp().apply(grad, null, new Rng(0)), /layer1\.0\.conv1\.weight.*index 1/);
});

test('DGP options are validated', () => {
  assert.throws(() => dgp({ pTop: 0.9, pKeep: 0.2 }), /pTop \+ pKeep must be at most 1/);
  assert.throws(() => dgp({ pKeep: 0 }), /option "pKeep"/);
});
