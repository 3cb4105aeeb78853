import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUpdate, encodedSize, encodeUpdate, WireFormatError } from '../../src/codec/index.js';
import type { ClientUpdate } from '../../src/common/update.js';

// One tensor "w" of 100 entries, positions 1 and 4 (gap coded), values 0.5 and -2. Byte map:
// 0-3 magic | 4 version | 5 kind | 6 flags | 7-14 round, client | 15 tensor count | 16 name length
// 17 "w" | 18 rank | 19 dim | 20 dtype | 21 coding | 22 count | 23-24 gaps | 25-32 values
const update: ClientUpdate = [{ name: 'w', shape: [100], kind: 'sparse', indices: Uint32Array.from([1, 4]), values: new Float32Array([0.5, -2]) }];
const good = encodeUpdate({ kind: 'update', round: 7, clientId: 3 }, update);
const layout = [{ name: 'w', shape: [100] }];

function patched(at: number, ...bytes: number[]): Uint8Array {
  const b = good.slice();
  b.set(bytes, at);
  return b;
}

/** A hand-built message: valid header, then the raw bytes given for the tensors. */
function raw(tensorCount: number[], ...tensorBytes: number[]): Uint8Array {
  return Uint8Array.from([...good.subarray(0, 15), ...tensorCount, ...tensorBytes]);
}

function rejects(bytes: Uint8Array, pattern: RegExp, options = {}): void {
  assert.throws(() => decodeUpdate(bytes, options), (e: Error) => {
    assert.ok(e instanceof WireFormatError, `not a WireFormatError: ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('the reference message decodes and has the documented layout', () => {
  assert.equal(good.length, 33);
  assert.equal(encodedSize(update), 33);
  assert.deepEqual([...good.subarray(15, 25)], [1, 1, 0x77, 1, 100, 0, 2, 2, 1, 3]);
  assert.deepEqual(decodeUpdate(good, { layout }).update, update);
});

test('truncated input: every proper prefix is rejected', () => {
  for (let len = 0; len < good.length; len++) rejects(good.subarray(0, len), /truncated/);
});

test('oversized and trailing data are rejected', () => {
  rejects(Uint8Array.from([...good, 0]), /1 trailing bytes after the last tensor/);
  rejects(good, /33 bytes exceed the limit of 32/, { maxBytes: 32 });
});

test('bad magic, unknown version, kind, flags, dtype and coding are rejected', () => {
  rejects(patched(0, 0x50), /bad magic 50475055/);
  rejects(patched(4, 2), /unsupported version 2 \(this decoder reads version 1\)/);
  rejects(patched(5, 9), /unknown message kind 9/);
  rejects(patched(6, 1), /unknown flags 1/);
  rejects(patched(20, 7), /"w": unknown dtype 7/);
  rejects(patched(21, 9), /"w": unknown position coding 9/);
  rejects(good, /kind "update" where "aggregate" was expected/, { kind: 'aggregate' });
});

test('out-of-range, repeated and non-increasing positions are rejected', () => {
  rejects(patched(24, 99), /"w": position 100 at slot 1 is outside 100 entries/);
  rejects(patched(23, 100), /"w": position 100 at slot 0 is outside 100 entries/);
  rejects(patched(24, 0), /"w": position 1 repeated at slot 1/);
  rejects(patched(22, 101), /"w": 101 positions in a tensor of 100 entries/);
  // A decreasing position can only be written as a gap that wraps past the end.
  rejects(raw([1], 1, 0x77, 1, 100, 0, 2, 2, 5, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0), /position 4294967299 at slot 1 is outside/);
  // the encoder refuses them too
  const bad: ClientUpdate = [{ name: 'w', shape: [10], kind: 'sparse', indices: Uint32Array.from([5, 3]), values: new Float32Array(2) }];
  assert.throws(() => encodeUpdate({ kind: 'update', round: 0, clientId: 0 }, bad), /position 3 at slot 1 does not increase/);
  const outside: ClientUpdate = [{ name: 'w', shape: [10], kind: 'sparse', indices: Uint32Array.from([3, 10]), values: new Float32Array(2) }];
  assert.throws(() => encodeUpdate({ kind: 'update', round: 0, clientId: 0 }, outside), /"w": position 10 at slot 1 is outside 10 entries/);
});

test('bitmaps with out-of-range bits or a wrong count are rejected', () => {
  // 12 entries, 8 positions: the 2-byte bitmap beats 8 gaps. Bits 0-7 set.
  const tensor = (count: number, lo: number, hi: number) => raw([1], 1, 0x77, 1, 12, 0, 1, count, lo, hi, ...new Array(4 * count).fill(0));
  assert.deepEqual([...decodeUpdate(tensor(8, 0xff, 0)).update[0]!.values], new Array(8).fill(0));
  rejects(tensor(8, 0xff, 0x10), /"w": bitmap marks position 12, outside 12 entries/);
  rejects(tensor(8, 0xff, 0x01), /bitmap marks more than the declared 8 positions/);
  rejects(tensor(8, 0x7f, 0), /bitmap marks 7 positions, 8 declared/);
});

test('a shape other than the expected layout is rejected', () => {
  rejects(good, /"w" has shape \[100\] where "w" \[10,10\] was expected/, { layout: [{ name: 'w', shape: [10, 10] }] });
  rejects(good, /"w" has shape \[100\] where "v" \[100\] was expected/, { layout: [{ name: 'v', shape: [100] }] });
  rejects(good, /1 tensors where 2 were expected/, { layout: [...layout, ...layout] });
});

test('non-finite values are rejected (float32 and float16)', () => {
  rejects(patched(25, 0, 0, 0xc0, 0x7f), /"w": value NaN at slot 0 is not finite/);
  rejects(patched(29, 0, 0, 0x80, 0xff), /"w": value -Infinity at slot 1 is not finite/);
  rejects(raw([1], 1, 0x77, 1, 1, 1, 0, 0x00, 0x7c), /"w": value Infinity at slot 0 is not finite/);
});

test('a hostile shape never makes the decoder allocate', () => {
  const before = process.memoryUsage().arrayBuffers;
  // [2^32-1, 2^32-1] dense: beyond any cap
  rejects(raw([1], 1, 0x77, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0), /exceeds the limit of 268435456 entries/);
  // 2^27 entries declared dense (within the default cap) but no values: refused before allocating
  rejects(raw([1], 1, 0x77, 1, 0x80, 0x80, 0x80, 0x40, 0, 0), /truncated: tensor 0 "w" 134217728 float32 values needs 536870912 bytes/);
  // a sparse count of 2^27 with a few bytes behind it
  rejects(raw([1], 1, 0x77, 1, 0x80, 0x80, 0x80, 0x40, 0, 2, 0x80, 0x80, 0x80, 0x40, 1, 2, 3), /truncated: .*134217728 position gaps/);
  // the caller's cap
  rejects(good, /exceeds the limit of 50 entries/, { maxEntries: 50 });
  // a huge tensor count with nothing behind it
  rejects(raw([0xff, 0xff, 0xff, 0xff, 0x0f]), /truncated/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'decoder allocated for a declared size');
});

test('malformed varints and names are rejected', () => {
  rejects(raw([0xff, 0xff, 0xff, 0xff, 0x7f]), /tensor count: varint at offset 15 overflows 32 bits/);
  rejects(raw([1], 2, 0xc3, 0x28, 0), /tensor 0: name is not valid UTF-8/);
  rejects(raw([1], 0x80, 0x40), /name of 8192 bytes exceeds 4096/);
  rejects(raw([1], 1, 0x77, 9), /rank 9 exceeds 8/);
});
