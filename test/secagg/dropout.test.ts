import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateSecurely, decodeMessage, encodeMessage, SecAggError, seededRandom } from '../../src/secagg/index.js';
import { clippedSum, maxAbsDiff, randomInputs, range, SteppedRound } from './helpers.js';

const ids = range(10);
const inputs = randomInputs(ids, 200, 0.5, 21);
const options = { threshold: 6, clip: 1 };

for (const drops of [1, 2, 3, 4]) {
  test(`10 clients, threshold 6: ${drops} dropping after their masked input are recovered, their inputs in the sum`, async () => {
    const dropped = range(drops, 10 - drops); // the highest ids
    const r = await aggregateSecurely(inputs, { ...options, round: drops, random: seededRandom(drops), dropAfter: { maskedInput: dropped } });
    assert.deepEqual(r.contributors, ids);
    assert.ok(maxAbsDiff(r.sum, clippedSum(inputs, ids, 1)) <= r.errorBound);
  });

  test(`10 clients, threshold 6: ${drops} dropping after ShareKeys, before their masked input: sum over the others`, async () => {
    const dropped = range(drops).map((i) => 2 * i + 1); // odd ids, so survivors lie on both sides of each
    const r = await aggregateSecurely(inputs, { ...options, round: 10 + drops, random: seededRandom(10 + drops), dropAfter: { shareKeys: dropped } });
    const contributors = ids.filter((id) => !dropped.includes(id));
    assert.deepEqual(r.contributors, contributors);
    assert.ok(maxAbsDiff(r.sum, clippedSum(inputs, contributors, 1)) <= r.errorBound);
    // The sum over all ten is far away: the dropped inputs are really out.
    assert.ok(maxAbsDiff(r.sum, clippedSum(inputs, ids, 1)) > 100 * r.errorBound);
  });
}

test('dropouts at every step at once: 1 before ShareKeys, 2 before masking, 1 before unmasking', async () => {
  const r = await aggregateSecurely(inputs, { ...options, random: seededRandom(77), dropAfter: { advertiseKeys: [0], shareKeys: [4, 9], maskedInput: [5] } });
  const contributors = [1, 2, 3, 5, 6, 7, 8];
  assert.deepEqual(r.contributors, contributors);
  assert.ok(maxAbsDiff(r.sum, clippedSum(inputs, contributors, 1)) <= r.errorBound);
});

function tooFew(e: unknown): boolean {
  assert.ok(e instanceof SecAggError, `not a SecAggError: ${e}`);
  assert.equal(e.code, 'too-few');
  assert.match(e.message, /threshold 6; nothing is revealed/);
  return true;
}

test('5 dropped (5 survivors < t = 6): the round fails with a typed error, and a next round with fresh keys works', async () => {
  for (const step of ['advertiseKeys', 'shareKeys', 'maskedInput'] as const) {
    await assert.rejects(aggregateSecurely(inputs, { ...options, round: 5, dropAfter: { [step]: range(5) } }), tooFew);
  }
  const next = await aggregateSecurely(inputs, { ...options, round: 6, dropAfter: { shareKeys: [0] } });
  assert.deepEqual(next.contributors, range(9, 1));
  assert.ok(maxAbsDiff(next.sum, clippedSum(inputs, range(9, 1), 1)) <= next.errorBound);
});

test('with 5 survivors no share is asked for and no sum exists; the clients refuse to unmask too', async () => {
  const round = new SteppedRound(ids, { ...options, round: 3 });
  await round.advertise().makeShares();
  round.sendShares().makeMasked(inputs, range(5));
  for (const m of round.masked.values()) round.server.receiveMaskedInput(m);
  assert.throws(() => round.server.closeMaskedInput(), tooFew);
  // The server is left failed: it hands out no request and no sum.
  await assert.rejects(round.server.finish(), /finish called in phase "failed"/);
  assert.throws(() => round.server.closeMaskedInput(), /phase "failed"/);
  assert.equal(round.server.progress().responded.length, 0);
  // A server that asks anyway is refused by every client: too few survivors.
  const request = encodeMessage({ kind: 'unmask-request', round: 3, survivors: range(5), dropped: range(5, 5) });
  for (const id of range(5)) assert.throws(() => round.clients.get(id)!.unmask(request), (e: Error) => e instanceof SecAggError && e.code === 'too-few');
  assert.deepEqual(decodeMessage(request, 'unmask-request', 3).survivors, range(5));
});

test('fewer than t answers to the unmask request: finish fails and returns nothing', async () => {
  const round = new SteppedRound(ids, { ...options, round: 4 });
  await round.advertise().makeShares();
  round.sendShares().makeMasked(inputs).sendMasked().respond(range(5));
  await assert.rejects(round.server.finish(), (e: Error) => e instanceof SecAggError && e.code === 'too-few' && /only 5 clients answered/.test(e.message));
  await assert.rejects(round.server.finish(), /phase "failed"/);
});
