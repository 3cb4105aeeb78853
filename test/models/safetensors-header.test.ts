// A safetensors header is read as hostile input: every malformed one is refused with the file,
// the tensor and the field named, never a TypeError and never a tensor read from the wrong bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../../src/models/index.js';

const good = encodeSafetensors([
  { name: 'a', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  { name: 'b', shape: [2], data: Float32Array.from([7, 8]) },
], { round: '3' });

/** The file with its JSON header replaced (data bytes kept). */
function withHeader(header: unknown, data = good.subarray(8 + Number(good.readBigUInt64LE(0)))): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const tensor = (dtype: unknown, shape: unknown, data_offsets: unknown) => ({ dtype, shape, data_offsets });

test('the file written here reads back', () => {
  const { tensors, metadata } = decodeSafetensors(good, 'm.safetensors');
  assert.deepEqual(metadata, { round: '3' });
  assert.deepEqual(tensors.map((t) => [t.name, t.shape, [...t.data]]), [['a', [2, 3], [1, 2, 3, 4, 5, 6]], ['b', [2], [7, 8]]]);
});

const cases: [string, unknown, RegExp][] = [
  ['a null header', null, /header is null, not an object/],
  ['an array header', [1, 2], /header is an array, not an object/],
  ['a number header', 7, /header is 7, not an object/],
  ['a null tensor entry', { a: null }, /tensor "a" is null, not an object/],
  ['a string tensor entry', { a: 'x' }, /tensor "a" is "x", not an object/],
  ['metadata of numbers', { __metadata__: { round: 3 }, a: tensor('F32', [2, 3], [0, 24]), b: tensor('F32', [2], [24, 32]) }, /__metadata__ is not an object of strings/],
  ['no dtype', { a: { shape: [6], data_offsets: [0, 24] } }, /tensor "a": dtype undefined is not a safetensors dtype/],
  ['an unknown dtype', { a: tensor('F33', [6], [0, 24]) }, /tensor "a": dtype "F33" is not a safetensors dtype/],
  ['a null shape', { a: tensor('F32', null, [0, 24]) }, /tensor "a": shape null is not a list of non-negative integers/],
  ['a fractional dimension', { a: tensor('F32', [2.5, 2], [0, 20]) }, /tensor "a": shape \[2.5,2\] is not a list/],
  ['a negative dimension', { a: tensor('F32', [-6], [0, 24]) }, /shape \[-6\] is not a list of non-negative integers/],
  ['offsets missing', { a: { dtype: 'F32', shape: [6] } }, /tensor "a": data_offsets undefined are not two non-negative integers/],
  ['fractional offsets', { a: tensor('F32', [6], [0.5, 24.5]) }, /data_offsets \[0.5,24.5\] are not two non-negative integers/],
  ['string offsets', { a: tensor('F32', [6], ['0', '24']) }, /data_offsets \["0","24"\] are not two/],
  ['three offsets', { a: tensor('F32', [6], [0, 12, 24]) }, /data_offsets \[0,12,24\] are not two/],
  ['offsets in reverse', { a: tensor('F32', [0], [24, 0]) }, /tensor "a": data_offsets \[24, 0\] end before they begin/],
  ['offsets past the data', { a: tensor('F32', [10], [0, 40]) }, /tensor "a": data_offsets \[0, 40\] run past the 32 data bytes/],
  ['a shape that does not fill its bytes', { a: tensor('F32', [5], [0, 24]) }, /tensor "a": 24 bytes for shape \[5\] of F32 \(20 bytes\)/],
  ['a dtype at odds with the byte length', { a: tensor('F16', [6], [0, 24]) }, /tensor "a": 24 bytes for shape \[6\] of F16 \(12 bytes\)/],
  ['a consistent F16 tensor', { a: tensor('F16', [16], [0, 32]) }, /tensor "a" has dtype F16; only F32 is supported/],
  ['overlapping tensors', { a: tensor('F32', [6], [0, 24]), b: tensor('F32', [6], [8, 32]) }, /tensor "b": data_offsets \[8, 32\] overlap the previous tensor's \(ending at 24\)/],
  ['a gap between tensors', { a: tensor('F32', [4], [0, 16]), b: tensor('F32', [2], [24, 32]) }, /tensor "b": data_offsets begin at 24, leaving bytes 16..23 unused/],
  ['bytes after the last tensor', { a: tensor('F32', [6], [0, 24]) }, /8 data bytes after the last tensor/],
];
for (const [what, header, want] of cases) {
  test(`refuses ${what}`, () => {
    assert.throws(() => decodeSafetensors(withHeader(header), 'dir/model.safetensors'), (e: Error) => {
      assert.ok(!(e instanceof TypeError), `a TypeError: ${e.message}`);
      assert.match(e.message, /^dir\/model\.safetensors: not a valid safetensors file: /);
      assert.match(e.message, want);
      return true;
    });
  });
}

test('tensors stored out of header order but end to end are read from their own bytes', () => {
  const data = good.subarray(8 + Number(good.readBigUInt64LE(0)));
  const swapped = Buffer.concat([data.subarray(24), data.subarray(0, 24)]);
  const { tensors } = decodeSafetensors(withHeader({ a: tensor('F32', [2, 3], [8, 32]), b: tensor('F32', [2], [0, 8]) }, swapped), 'f');
  assert.deepEqual(tensors.map((t) => [...t.data]), [[1, 2, 3, 4, 5, 6], [7, 8]]);
});
