import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { densify, type ClientUpdate } from '../../src/common/update.js';
import { meanUpdates, restrictToSupport, supportUnion } from '../../src/aggregation/index.js';

const layout = [{ name: 'w', shape: [2, 3] }, { name: 'b', shape: [2] }];

function randomClient(rng: Rng): ClientUpdate {
  return layout.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (rng.uniform() < 0.3) return { name: t.name, shape: t.shape, kind: 'dense' as const, values: Float32Array.from({ length: n }, () => rng.normal()) };
    const idx = [...Array(n).keys()].filter(() => rng.uniform() < 0.4);
    return { name: t.name, shape: t.shape, kind: 'sparse' as const, indices: Uint32Array.from(idx), values: Float32Array.from(idx, () => rng.normal()) };
  });
}

test('the mean of sparse and dense updates equals the mean of their dense forms, weighted or not', () => {
  const rng = new Rng(50);
  for (let trial = 0; trial < 100; trial++) {
    const clients = Array.from({ length: 1 + rng.int(6) }, () => randomClient(rng));
    const weights = clients.map(() => rng.uniform() * 3);
    for (const w of [undefined, weights]) {
      const got = meanUpdates(layout, clients, { weights: w });
      const total = w ? w.reduce((a, b) => a + b, 0) : clients.length;
      layout.forEach((_, t) => {
        got[t]!.data.forEach((v, i) => {
          let want = 0;
          clients.forEach((c, k) => (want += ((w ? w[k]! : 1) / total) * densify(c)[t]!.data[i]!));
          assert.ok(Math.abs(v - want) < 1e-5, `${v} vs ${want}`);
        });
      });
    }
  }
});

test('support union and the sparse download', () => {
  const a: ClientUpdate = [
    { name: 'w', shape: [2, 3], kind: 'sparse', indices: Uint32Array.from([0, 4]), values: new Float32Array([2, 4]) },
    { name: 'b', shape: [2], kind: 'dense', values: new Float32Array([1, 1]) },
  ];
  const b: ClientUpdate = [
    { name: 'w', shape: [2, 3], kind: 'sparse', indices: Uint32Array.from([4, 5]), values: new Float32Array([2, 6]) },
    { name: 'b', shape: [2], kind: 'sparse', indices: new Uint32Array(), values: new Float32Array() },
  ];
  const support = supportUnion(layout, [a, b]);
  assert.deepEqual(support.map((s) => [...s]), [[0, 4, 5], [0, 1]]);
  const down = restrictToSupport(meanUpdates(layout, [a, b]), support);
  assert.deepEqual([...down[0]!.values], [1, 3, 3]);
  assert.deepEqual([...down[1]!.values], [0.5, 0.5]);
});

test('malformed client updates and weights are named', () => {
  const bad: ClientUpdate = [
    { name: 'w', shape: [2, 3], kind: 'sparse', indices: Uint32Array.from([6]), values: new Float32Array([1]) },
    { name: 'b', shape: [2], kind: 'dense', values: new Float32Array(2) },
  ];
  assert.throws(() => meanUpdates(layout, [bad]), /client 0: sparse update w: position 6 outside 6 entries/);
  assert.throws(() => meanUpdates(layout, [bad.slice(1)]), /client 0: update has 1 tensors where 2 were expected/);
  assert.throws(() => meanUpdates(layout, [randomClient(new Rng(1))], { weights: [-1] }), /weight of client 0 is -1/);
  assert.throws(() => meanUpdates(layout, []), /no client updates/);
});
