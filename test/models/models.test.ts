// Model definitions: initialisation against PyTorch's bounds (fixtures/reference/models_ref.py),
// and the safetensors reader against a file Python wrote and against damaged files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createModel, decodeSafetensors, encodeSafetensors, initParams, loadSafetensors, matchLayout, saveSafetensors, type Model,
} from '../../src/models/index.js';
import { referenceJson } from '../helpers/reference.js';

type InitRows = { name: string; shape: number[]; bound: number }[];
const torchInit = referenceJson<Record<string, Record<string, InitRows>>>('init.json');
const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/reference/${name}`, import.meta.url));

/** `lenet [3, 32, 32]` -> that model at that input shape. */
function modelFor(key: string, init: string): Model {
  const name = key.slice(0, key.indexOf(' '));
  const inputShape = JSON.parse(key.slice(name.length + 1)) as [number, number, number];
  return createModel(name, { inputShape, init: init as 'dlg' | 'torch' | 'xavier' });
}

test('every parameter is drawn from the bound PyTorch uses: default Conv2d/Linear, Glorot, DLG', () => {
  let checked = 0;
  for (const [key, kinds] of Object.entries(torchInit)) {
    for (const [kind, rows] of Object.entries(kinds)) {
      const model = modelFor(key, kind);
      assert.deepEqual(model.params.map((p) => [p.name, p.shape]), rows.map((r) => [r.name, r.shape]), `${key} ${kind}: layout`);
      model.params.forEach((p, i) => {
        const want = rows[i]!.bound;
        if (want === 0) assert.deepEqual(p.init, { kind: 'const', value: 0 }, `${key} ${kind} ${p.name}`);
        else {
          assert.equal(p.init.kind, 'uniform', `${key} ${kind} ${p.name}`);
          const bound = p.init.kind === 'uniform' ? p.init.bound : NaN;
          assert.ok(Math.abs(bound - want) <= 1e-12 * want, `${key} ${kind} ${p.name}: bound ${bound} vs torch ${want}`);
        }
        checked++;
      });
    }
  }
  assert.equal(checked, 8 * 3 + 4 + 8);
});

test('initParams draws uniformly within each bound, the same for the same seed', () => {
  const model = createModel('lenet', { inputShape: [3, 32, 32], init: 'torch' });
  const a = initParams(model.params, 5);
  assert.deepEqual(initParams(model.params, 5), a);
  assert.notDeepEqual(initParams(model.params, 6)[0]!.data, a[0]!.data);
  a.forEach((t, i) => {
    const spec = model.params[i]!;
    const bound = spec.init.kind === 'uniform' ? spec.init.bound : 0;
    const max = t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(max <= bound, `${t.name}: ${max} beyond ${bound}`);
    if (t.data.length >= 300) {
      // Uniform on [-b, b]: the largest of n draws is near b, the mean near 0, the variance b^2 / 3.
      const mean = t.data.reduce((s, v) => s + v, 0) / t.data.length;
      const variance = t.data.reduce((s, v) => s + v * v, 0) / t.data.length;
      assert.ok(max > 0.98 * bound, `${t.name}: largest ${max} of bound ${bound}`);
      assert.ok(Math.abs(mean) < 0.1 * bound, `${t.name}: mean ${mean}`);
      assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.15, `${t.name}: variance ${variance} vs ${(bound * bound) / 3}`);
    }
  });
  const xavier = initParams(createModel('lenet', { inputShape: [3, 32, 32], init: 'xavier' }).params, 5);
  for (const t of xavier.filter((x) => x.name.endsWith('bias'))) assert.ok(t.data.every((v) => v === 0), `${t.name}: Glorot biases start at 0`);
});

test('a safetensors file written by Python loads with its names, shapes, values and metadata', () => {
  const { tensors, metadata } = loadSafetensors(fixture('python.safetensors'));
  assert.deepEqual(metadata, { format: 'pt', written_by: 'models_ref.py' });
  assert.deepEqual(tensors.map((t) => [t.name, t.shape]), [['layer.weight', [2, 3]], ['layer.bias', [3]], ['scale', []], ['empty', [0]]]);
  tensors.forEach((t, k) => assert.deepEqual([...t.data], Array.from({ length: t.data.length }, (_, i) => (i + 1) * 0.25 * (k + 1) * (i % 2 ? -1 : 1)), t.name));
  const ordered = matchLayout(tensors, [{ name: 'layer.bias', shape: [3] }, { name: 'layer.weight', shape: [2, 3] }], 'python.safetensors');
  assert.deepEqual(ordered.map((t) => t.name), ['layer.bias', 'layer.weight']);
  assert.throws(() => matchLayout(tensors, [{ name: 'layer.weight', shape: [3, 2] }], 'f'), /f: tensor layer.weight has shape \[2,3\], expected \[3,2\]/);
  assert.throws(() => matchLayout(tensors, [{ name: 'other', shape: [1] }], 'f'), /f: tensor other is missing/);
  // Ours writes the same layout: byte for byte the file Python wrote, for the same tensors and metadata.
  const again = encodeSafetensors(tensors, metadata);
  assert.deepEqual(again, readFileSync(fixture('python.safetensors')));
  assert.deepEqual(decodeSafetensors(again), { tensors, metadata });
  assert.throws(() => loadSafetensors(fixture('python-f64.safetensors')), /python-f64\.safetensors: not a valid safetensors file: tensor "w" has dtype F64; only F32 is supported/);
});

test('damaged safetensors files are refused with the file named and the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-st-'));
  try {
    const path = join(dir, 'm.safetensors');
    saveSafetensors(path, [{ name: 'w', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }]);
    const good = readFileSync(path);
    assert.deepEqual([...loadSafetensors(path).tensors[0]!.data], [1, 2, 3, 4]);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated before the header length', good.subarray(0, 5), /only 5 bytes/],
      ['a header length beyond the file', Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), good.subarray(8)]), /header length 65535 exceeds the file/],
      ['a header that is not JSON', withHeader('{"w": {'), /header is not JSON/],
      ['a negative dimension', withHeader('{"w":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}}'), /tensor "w": shape \[-2,2\] is not a list of non-negative integers/],
      ['data cut short', good.subarray(0, good.length - 4), /tensor "w": data_offsets \[0, 16\] run past the 12 data bytes/],
      ['offsets that disagree with the shape', withHeader('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}'), /tensor "w": 12 bytes for shape \[2,2\] of F32 \(16 bytes\)/],
    ];
    for (const [what, bytes, want] of cases) {
      writeFileSync(path, bytes);
      assert.throws(() => loadSafetensors(path), (e: Error) => e.message.startsWith(`${path}: not a valid safetensors file: `) && want.test(e.message), what);
    }
    assert.throws(() => loadSafetensors(join(dir, 'absent.safetensors')), /cannot read .*absent\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A file with this header text and 16 data bytes. */
function withHeader(json: string): Buffer {
  const head = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, Buffer.alloc(16)]);
}
