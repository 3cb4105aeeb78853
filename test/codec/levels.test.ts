// Quantisers' integers on the wire: QSGD and scaled sign send about log2(2s + 1) bits per entry,
// decode to exactly the values the defense computed, and hostile level blocks are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeUpdate, encodedSize, encodeUpdate, WireFormatError } from '../../src/codec/index.js';
import { Rng } from '../../src/common/rng.js';
import type { ClientUpdate } from '../../src/common/update.js';
import { createDefense } from '../../src/defenses/index.js';

const header = { kind: 'update' as const, round: 1, clientId: 0 };
const grad = [{ name: 'w', shape: [1000], data: Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.37) * (i % 7 === 0 ? 0 : 1)) }];

for (const [name, options, bitsPerEntry] of [['signsgd', { ef: false }, 2], ['qsgd', { levels: 16 }, 6], ['qsgd', { levels: 1 }, 2]] as const) {
  test(`${name} ${JSON.stringify(options)}: ${bitsPerEntry} bits an entry, decoded exactly`, () => {
    const d = createDefense(name, options);
    const { update } = d.apply(grad, d.init([{ name: 'w', shape: [1000] }]), new Rng(3));
    const bytes = encodeUpdate(header, update);
    assert.equal(bytes.length, encodedSize(update));
    // Header and tensor head, then the scale (8 bytes), s (1 byte) and the packed codes.
    const payload = 8 + 1 + Math.ceil((1000 * bitsPerEntry) / 8);
    assert.ok(bytes.length < payload + 30 && bytes.length > payload, `${bytes.length} bytes for a payload of ${payload}`);
    const back = decodeUpdate(bytes).update[0]!;
    assert.deepEqual([...back.values], [...update[0]!.values]);
    // float16 was asked for: plain half values instead.
    assert.ok(encodeUpdate(header, update, { dtype: 'float16' }).length > 2000);
  });
}

test('levels that do not give their values are refused when encoding', () => {
  const bad: ClientUpdate = [{ name: 'w', shape: [2], kind: 'dense', values: new Float32Array([0.5, 1]), levels: { scale: 1, s: 2, q: Int32Array.from([1, 1]) } }];
  assert.throws(() => encodeUpdate(header, bad), /level 1 at slot 1 does not give its value 1/);
});

test('hostile level blocks are refused: code above 2s, s out of range, bad scale, truncation', () => {
  const u: ClientUpdate = [{ name: 'w', shape: [3], kind: 'dense', values: new Float32Array([0.5, -0.5, 0]), levels: { scale: 1, s: 2, q: Int32Array.from([1, -1, 0]) } }];
  const good = encodeUpdate(header, u);
  const end = good.length;
  // Layout of the block at the end: scale (8) | s (1) | 3 codes x 3 bits in 2 bytes.
  const at = end - 11;
  const patch = (off: number, ...b: number[]) => {
    const x = good.slice();
    x.set(b, at + off);
    return x;
  };
  const rejects = (bytes: Uint8Array, re: RegExp) => assert.throws(() => decodeUpdate(bytes), (e: Error) => e instanceof WireFormatError && re.test(e.message));
  assert.deepEqual([...decodeUpdate(good).update[0]!.values], [0.5, -0.5, 0]);
  rejects(patch(9, 0xff, 0x01), /code 7 at slot 0 is above 2s = 4/);
  rejects(patch(8, 0), /0 levels, outside 1\.\.65536/);
  rejects(patch(0, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f), /levels scale NaN/);
  rejects(good.subarray(0, end - 1), /3 codes of 3 bits/);
});
