// SecAgg+ (Bell et al. 2020): clients share and mask only with their k neighbours of a random
// k-regular graph derived from the roster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { aggregateSecurely, closedNeighbourhoods, SecAggError, seededRandom } from '../../src/secagg/index.js';
import { clippedSum, maxAbsDiff, randomInputs, range, SteppedRound } from './helpers.js';

const ids = range(20);
const inputs = randomInputs(ids, 300, 0.5, 31);
const plus = { threshold: 4, clip: 1, neighbours: 6 };

test('the graph: k-regular, symmetric, fixed by the roster digest, complete when k >= n - 1', () => {
  const digest = sha256(Uint8Array.of(1));
  const hoods = closedNeighbourhoods(ids, 6, digest);
  for (const [u, hood] of hoods) {
    assert.equal(hood.length, 7, `client ${u}`);
    assert.ok(hood.includes(u));
    for (const v of hood) assert.ok(hoods.get(v)!.includes(u), `${u} -> ${v} but not back`);
  }
  assert.deepEqual(closedNeighbourhoods(ids, 6, digest), hoods);
  const other = closedNeighbourhoods(ids, 6, sha256(Uint8Array.of(2)));
  assert.notDeepEqual(other, hoods);
  assert.deepEqual(closedNeighbourhoods(ids, 19, digest).get(5), ids);
  assert.deepEqual(closedNeighbourhoods(ids, null, digest).get(5), ids);
});

test('20 clients, 6 neighbours, t = 4: the sum is right with dropouts after ShareKeys and after masking', async () => {
  const r = await aggregateSecurely(inputs, { ...plus, random: seededRandom(4), dropAfter: { shareKeys: [2, 11], maskedInput: [7] } });
  const contributors = ids.filter((id) => id !== 2 && id !== 11);
  assert.deepEqual(r.contributors, contributors);
  assert.ok(maxAbsDiff(r.sum, clippedSum(inputs, contributors, 1)) <= r.errorBound);
  // A client sends 6 bundles, not 19: its upload holds 13 fewer bundles than in the complete graph.
  const full = await aggregateSecurely(inputs, { threshold: 4, clip: 1, random: seededRandom(4) });
  assert.ok(maxAbsDiff(full.sum, clippedSum(inputs, ids, 1)) <= full.errorBound);
  const up = (x: typeof r) => x.traffic.get(0)!.up;
  assert.equal(up(full) - up(r), 13 * (106 + 38)); // 13 fewer sealed bundles, 13 fewer shares in the unmask response
});

test('a neighbourhood that loses too many: the client refuses to mask, the server refuses to finish', async () => {
  const round = new SteppedRound(ids, { ...plus, seed: 8 });
  round.advertise();
  const hood = closedNeighbourhoods(ids, 6, sha256(round.roster)).get(0)!;
  const gone = hood.filter((id) => id !== 0).slice(0, 4); // 3 of client 0's 7 remain: below t = 4
  await round.makeShares(ids.filter((id) => !gone.includes(id)));
  round.sendShares();
  assert.throws(() => round.clients.get(0)!.maskInput(round.relays.get(0)!, inputs.get(0)!), (e: Error) => e instanceof SecAggError && e.code === 'too-few' && /only 3 clients of its neighbourhood/.test(e.message));

  const late = new SteppedRound(ids, { ...plus, seed: 9 });
  late.advertise();
  const hood0 = closedNeighbourhoods(ids, 6, sha256(late.roster)).get(0)!;
  const silent = hood0.filter((id) => id !== 0).slice(0, 4);
  await late.makeShares();
  late.sendShares().makeMasked(inputs).sendMasked().respond(ids.filter((id) => !silent.includes(id)));
  await assert.rejects(late.server.finish(), (e: Error) => e instanceof SecAggError && e.code === 'too-few' && /only 3 clients of client 0's neighbourhood answered/.test(e.message));
});

test('client and server must agree on the neighbours', async () => {
  const round = new SteppedRound(range(8), { threshold: 3, seed: 1 });
  round.advertise();
  const { SecAggClient } = await import('../../src/secagg/index.js');
  const stranger = new SecAggClient({ id: 0, round: 0, threshold: 3, clip: 1, neighbours: 4 });
  stranger.advertiseKeys();
  await assert.rejects(stranger.shareKeys(round.roster), /neighbours all, this client was set up with 3, 1 and 4/);
  assert.throws(() => new SecAggClient({ id: 0, round: 0, threshold: 3, clip: 1, neighbours: 3 }), /neighbours must be an even integer/);
  assert.throws(() => new SecAggClient({ id: 0, round: 0, threshold: 6, clip: 1, neighbours: 4 }), /threshold 6 exceeds neighbours \+ 1 = 5/);
});
