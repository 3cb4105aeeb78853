// A masked input must look like uniform bytes to the server. Pearson's chi-square over the 256
// byte values of the message's value section, significance level 0.001: with 255 degrees of
// freedom the critical value is 330.52 (scipy.stats.chi2.ppf(0.999, 255)). The random source
// is seeded, so each check is deterministic; the same statistic on the unmasked quantised input
// is far above the critical value, so the check can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, fixedPoint, quantise } from '../../src/secagg/index.js';
import { range, SteppedRound } from './helpers.js';

const CRITICAL_0_001 = 330.52;
const LENGTH = 16384; // 65,536 value bytes: 256 expected per byte value

function chiSquare(bytes: Uint8Array): number {
  const counts = new Float64Array(256);
  for (const b of bytes) counts[b]++;
  const expected = bytes.length / 256;
  let x2 = 0;
  for (const c of counts) x2 += ((c - expected) ** 2) / expected;
  return x2;
}

const valueBytes = (values: Uint32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

for (const [name, value] of [['all zeros', 0], ['constant 0.37', 0.37]] as const) {
  test(`masked message of an input that is ${name}: its bytes pass a chi-square test for uniformity (alpha 0.001)`, async () => {
    const ids = range(3);
    const input = new Float32Array(LENGTH).fill(value);
    const round = new SteppedRound(ids, { threshold: 2, clip: 1, seed: value === 0 ? 5 : 6 });
    await round.advertise().makeShares();
    round.sendShares().makeMasked(new Map(ids.map((id) => [id, input])));
    for (const id of ids) {
      const { values } = decodeMessage(round.masked.get(id)!, 'masked', 0);
      const x2 = chiSquare(valueBytes(values));
      assert.ok(x2 < CRITICAL_0_001, `client ${id}: chi-square ${x2.toFixed(1)} >= ${CRITICAL_0_001}`);
    }
    // The unmasked quantised input fails the same test by far.
    const plain = chiSquare(valueBytes(quantise(input, fixedPoint(1, ids.length))));
    assert.ok(plain > 100 * CRITICAL_0_001, `unmasked: chi-square ${plain}`);
  });
}

test('a masked message of a 2-client round (one pairwise mask) is uniform too, and differs per round', async () => {
  const input = new Float32Array(LENGTH);
  const seen: Uint32Array[] = [];
  for (const r of [0, 1]) {
    const round = new SteppedRound([4, 9], { round: r, threshold: 2, clip: 1, seed: 11 });
    await round.advertise().makeShares();
    round.sendShares().makeMasked(new Map([[4, input], [9, input]]));
    const { values } = decodeMessage(round.masked.get(4)!, 'masked', r);
    assert.ok(chiSquare(valueBytes(values)) < CRITICAL_0_001);
    seen.push(values);
  }
  // Same seed, same ids, same input, another round number: the masks are unrelated.
  const equalWords = seen[0]!.filter((w, i) => w === seen[1]![i]).length;
  assert.ok(equalWords < 4, `${equalWords} equal words between rounds 0 and 1`);
});
