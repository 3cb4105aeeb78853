import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import type { ClientUpdate, UpdateTensor } from '../../src/common/update.js';
import {
  decodePositions, decodeUpdate, encodedPositionsSize, encodedSize, encodePositions, encodeUpdate, fromHalfBits,
  idealBytes, log2Binomial, toHalfBits,
} from '../../src/codec/index.js';

function randomUpdate(rng: Rng): ClientUpdate {
  const count = rng.int(5);
  return Array.from({ length: count }, (_, t): UpdateTensor => {
    const rank = rng.int(4);
    const shape = Array.from({ length: rank }, () => rng.int(rng.uniform() < 0.1 ? 3 : 40));
    const n = shape.reduce((a, b) => a * b, 1);
    const name = rng.uniform() < 0.2 ? `layer${t}.βias` : `t${t}`;
    const values = (k: number) => Float32Array.from({ length: k }, () => (rng.uniform() < 0.1 ? 0 : rng.normal() * 10 ** (rng.int(9) - 4)));
    if (rng.uniform() < 0.3) return { name, shape, kind: 'dense', values: values(n) };
    const density = [0, 0.001, 0.05, 0.2, 0.5, 1][rng.int(6)]!;
    const picked: number[] = [];
    for (let i = 0; i < n; i++) if (rng.uniform() < density) picked.push(i);
    return { name, shape, kind: 'sparse', indices: Uint32Array.from(picked), values: values(picked.length) };
  });
}

test('encode-decode is lossless for float32 and encodedSize is exact', () => {
  const rng = new Rng(40);
  for (let trial = 0; trial < 500; trial++) {
    const update = randomUpdate(rng);
    const header = { kind: rng.uniform() < 0.5 ? ('update' as const) : ('aggregate' as const), round: rng.int(2 ** 32), clientId: rng.int(1000) };
    const bytes = encodeUpdate(header, update);
    assert.equal(bytes.length, encodedSize(update));
    const layout = update.map((u) => ({ name: u.name, shape: u.shape }));
    const back = decodeUpdate(bytes, { layout });
    assert.deepEqual(back.header, header);
    assert.deepEqual(back.update, update);
  }
});

test('sparse positions go as a bitmap or as gaps, whichever is smaller', () => {
  const n = 10000;
  const dense = Uint32Array.from({ length: 2000 }, (_, j) => j * 5); // 20 %: bitmap 1250 B < 2000 gaps
  const thin = Uint32Array.from({ length: 50 }, (_, j) => j * 200); // 0.5 %: gaps 100 B < bitmap
  const size = (indices: Uint32Array) => encodedSize([{ name: 'w', shape: [n], kind: 'sparse', indices, values: new Float32Array(indices.length) }]);
  // header 15, tensor count 1, name 1+1, rank 1, dim 10000 as 2, dtype 1, coding 1
  const overhead = 15 + 1 + 2 + 1 + 2 + 2;
  assert.equal(size(dense), overhead + 2 + 1250 + 4 * 2000); // k = 2000 takes a 2-byte varint
  assert.equal(size(thin), overhead + 1 + (1 + 2 * 49) + 4 * 50); // first position 0, then gaps of 200
});

test('float16 values: round to nearest even, documented error, overflow refused', () => {
  assert.equal(toHalfBits(1), 0x3c00);
  assert.equal(toHalfBits(-2), 0xc000);
  assert.equal(toHalfBits(65504), 0x7bff);
  assert.equal(toHalfBits(65520), -1);
  assert.equal(toHalfBits(NaN), -1);
  assert.equal(toHalfBits(2 ** -24), 1);
  assert.equal(toHalfBits(2 ** -25), 0);
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(toHalfBits(0.1), 0x2e66);
  const rng = new Rng(41);
  for (let i = 0; i < 20000; i++) {
    const x = rng.normal() * 10 ** (rng.int(8) - 4);
    const y = fromHalfBits(toHalfBits(x));
    if (Math.abs(x) >= 2 ** -14) assert.ok(Math.abs(y - x) <= 2 ** -11 * Math.abs(x), `${x} -> ${y}`);
    else assert.ok(Math.abs(y - x) <= 2 ** -25, `${x} -> ${y}`);
  }
  for (let h = 0; h < 0x7c00; h++) assert.equal(toHalfBits(fromHalfBits(h)), h);
  const update: ClientUpdate = [{ name: 'w', shape: [3], kind: 'dense', values: new Float32Array([0.1, -3, 1e5]) }];
  assert.throws(() => encodeUpdate({ kind: 'update', round: 0, clientId: 0 }, update, { dtype: 'float16' }), /"w": value 100000 .*float16/);
  update[0]!.values[2] = 7;
  const bytes = encodeUpdate({ kind: 'update', round: 0, clientId: 0 }, update, { dtype: 'float16' });
  assert.equal(bytes.length, encodedSize(update, { dtype: 'float16' }));
  assert.deepEqual([...decodeUpdate(bytes).update[0]!.values], [fromHalfBits(0x2e66), -3, 7]);
});

test('shared positions (ADGP) send values only and need the set to decode', () => {
  const indices = Uint32Array.from([3, 9, 27]);
  const update: ClientUpdate = [{ name: 'w', shape: [30], kind: 'sparse', indices, values: new Float32Array([1, 2, 3]) }];
  const shared = { w: indices };
  const bytes = encodeUpdate({ kind: 'update', round: 1, clientId: 2 }, update, { shared });
  assert.equal(bytes.length, encodedSize(update) - 3); // the 3 one-byte gaps are gone
  assert.deepEqual(decodeUpdate(bytes, { shared }).update, update);
  assert.throws(() => decodeUpdate(bytes), /"w": positions are shared but no shared set was given/);
  assert.throws(() => decodeUpdate(bytes, { shared: { w: indices.subarray(0, 2) } }), /3 values for a shared set of 2/);
});

test('position messages round-trip', () => {
  const tensors = [{ name: 'a', shape: [5, 5], indices: Uint32Array.from([0, 24]) }, { name: 'b', shape: [0], indices: new Uint32Array() }];
  const bytes = encodePositions({ round: 3, clientId: 4 }, tensors);
  assert.equal(bytes.length, encodedPositionsSize(tensors));
  assert.deepEqual(decodePositions(bytes), { header: { kind: 'positions', round: 3, clientId: 4 }, tensors });
  assert.throws(() => decodeUpdate(bytes), /kind "positions" carries no values/);
});

test('the information-theoretic size: log2 C(n, k) + 32 bits per value', () => {
  assert.equal(log2Binomial(10, 0), 0);
  assert.ok(Math.abs(log2Binomial(10, 3) - Math.log2(120)) < 1e-12);
  let exact = 0;
  for (let i = 0; i < 300; i++) exact += Math.log2((600 - i) / (300 - i));
  assert.ok(Math.abs(log2Binomial(600, 300) - exact) < 1e-9, `${log2Binomial(600, 300)} vs ${exact}`);
  let exact2 = 0;
  for (let i = 0; i < 2000; i++) exact2 += Math.log2((10000 - i) / (2000 - i));
  assert.ok(Math.abs(log2Binomial(10000, 2000) - exact2) < 1e-7, `${log2Binomial(10000, 2000)} vs ${exact2}`);
  const u: ClientUpdate = [{ name: 'w', shape: [10], kind: 'sparse', indices: Uint32Array.from([1, 2, 3]), values: new Float32Array(3) }];
  assert.ok(Math.abs(idealBytes(u) - (Math.log2(120) + 96) / 8) < 1e-12);
});
