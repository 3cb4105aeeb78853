// Compiled.run(inputs, into): outputs written into caller-owned buffers (a training loop
// alternating two parameter buffers), the same values as a plain run, and clear errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, mul, sub, sum, type Sym } from '../../src/core/index.js';

const f = compile((a: Sym, b: Sym) => [sum(mul(a, b)), sub(a, mul(b, 0.5))], { name: 'step' });
const a = { data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] };
const b = { data: Float32Array.of(0.5, -1, 2, 8), shape: [2, 2] };

test('run into caller buffers: same values, the buffers themselves returned, others allocated', async () => {
  const plain = await f.run([a, b]);
  const buf = new Float32Array(4).fill(NaN);
  const out = await f.run([a, b], [undefined, buf]);
  assert.equal(out[1], buf);
  assert.deepEqual([...buf], [...plain[1]!]);
  assert.deepEqual([...out[0]!], [...plain[0]!]);
  // Alternating two buffers, as a training loop does.
  let p = { data: a.data.slice(), shape: a.shape };
  const spare = [new Float32Array(4), new Float32Array(4)];
  for (let k = 0; k < 3; k++) {
    const next = (await f.run([p, b], [undefined, spare[k % 2]]))[1]!;
    assert.equal(next, spare[k % 2]);
    p = { data: next, shape: a.shape };
  }
  assert.deepEqual([...p.data], [1 - 0.75, 2 + 1.5, 3 - 3, 4 - 12]);
});

test('run into: a buffer of the wrong size or aliasing an input is refused', async () => {
  await assert.rejects(f.run([a, b], [undefined, new Float32Array(3)]), /step: output buffer 1 has 3 values for shape \[2,2\]/);
  await assert.rejects(f.run([a, b], [undefined, a.data]), /step: output buffer 1 shares memory with an input/);
});
