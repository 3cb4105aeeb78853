// Messages a hostile peer can build that the decoder once accepted or crashed on: levels whose
// scale overflows float32, tensor names that are keys of Object.prototype, rank-0 tensors past
// the entry cap. Each must be a WireFormatError, never an update with infinities or a TypeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePositions, decodeUpdate, encodePositions, encodeUpdate, WireFormatError } from '../../src/codec/index.js';
import type { ClientUpdate } from '../../src/common/update.js';

const header = { kind: 'update' as const, round: 1, clientId: 2 };

function rejects(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (e: Error) => {
    assert.ok(e instanceof WireFormatError, `not a WireFormatError: ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a levels scale finite in float64 but beyond float32 is refused, not decoded to infinity', () => {
  const u: ClientUpdate = [{ name: 'w', shape: [3], kind: 'dense', values: new Float32Array([0.5, -0.5, 0]), levels: { scale: 1, s: 2, q: Int32Array.from([1, -1, 0]) } }];
  const bytes = encodeUpdate(header, u);
  // The block at the end: scale (8) | s (1) | 3 codes of 3 bits in 2 bytes.
  new DataView(bytes.buffer).setFloat64(bytes.length - 11, 1e300, true);
  rejects(() => decodeUpdate(bytes), /"w": levels scale 1e\+300 overflows float32/);
  // Just below the largest float32 still decodes, and finitely.
  new DataView(bytes.buffer).setFloat64(bytes.length - 11, 3.4e38, true);
  const values = decodeUpdate(bytes).update[0]!.values;
  assert.ok(values.every(Number.isFinite), `${[...values]}`);
});

test('the encoder refuses levels that stand for non-finite values', () => {
  const u: ClientUpdate = [{ name: 'w', shape: [1], kind: 'dense', values: new Float32Array([Infinity]), levels: { scale: 1e300, s: 1, q: Int32Array.from([1]) } }];
  rejects(() => encodeUpdate(header, u), /"w"/);
});

test('tensor names that are keys of Object.prototype are plain names, shared map or not', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
    const u: ClientUpdate = [{ name, shape: [4], kind: 'sparse', indices: Uint32Array.from([1]), values: new Float32Array([2]) }];
    const shared = Object.fromEntries([[name, Uint32Array.from([1])]]);
    // Sent against a shared set: values only, and the receiver's own set gives the positions.
    const sent = encodeUpdate(header, u, { shared });
    assert.deepEqual(decodeUpdate(sent, { shared }).update, u, name);
    // Without a set of that name in the map, it is the codec's own error, never a TypeError.
    rejects(() => decodeUpdate(sent, { shared: {} }), /positions are shared but no shared set was given/);
    rejects(() => decodeUpdate(sent), /positions are shared but no shared set was given/);
    // The encoder does not mistake an inherited property for a shared set either.
    const plain = encodeUpdate(header, u, { shared: {} });
    assert.deepEqual(decodeUpdate(plain, { shared: {} }).update, u, name);
  }
});

test('a rank-0 tensor counts against the entry cap', () => {
  const scalar: ClientUpdate = [{ name: 's', shape: [], kind: 'dense', values: new Float32Array([1]) }];
  const bytes = encodeUpdate(header, scalar);
  assert.deepEqual(decodeUpdate(bytes, { maxEntries: 1 }).update, scalar);
  rejects(() => decodeUpdate(bytes, { maxEntries: 0 }), /"s": shape \[\] exceeds the limit of 0 entries/);
  const many: ClientUpdate = Array.from({ length: 5 }, (_, i) => ({ name: `s${i}`, shape: [], kind: 'dense' as const, values: new Float32Array([i]) }));
  rejects(() => decodeUpdate(encodeUpdate(header, many), { maxEntries: 4 }), /"s4": shape \[\] exceeds the limit of 4 entries/);
  const positions = encodePositions({ round: 1, clientId: 2 }, [{ name: 'p', shape: [], indices: Uint32Array.from([0]) }]);
  rejects(() => decodePositions(positions, { maxEntries: 0 }), /"p": shape \[\] exceeds the limit of 0 entries/);
});
