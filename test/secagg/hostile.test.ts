// Tampered, truncated, misaddressed and replayed messages of every kind are refused with a
// SecAggError; none crashes a party or yields a wrong sum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, MESSAGE_KINDS, SecAggError, type MessageKind, type SecAggErrorCode } from '../../src/secagg/index.js';
import { randomInputs, range, SteppedRound } from './helpers.js';

const ids = range(4);
const inputs = randomInputs(ids, 5, 0.5, 3);

function refused(code: SecAggErrorCode, pattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof SecAggError, `not a SecAggError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const b = bytes.slice();
  b[at] ^= 0x01;
  return b;
}

/** A full round's messages, one of each kind. */
async function messages(): Promise<{ round: SteppedRound; byKind: Record<MessageKind, Uint8Array> }> {
  const round = new SteppedRound(ids, { threshold: 3, round: 7 });
  await round.advertise().makeShares();
  round.sendShares().makeMasked(inputs, [0, 1, 2]).sendMasked().respond([0, 1, 2]);
  const byKind = {
    advertise: round.advertisements.get(0)!, roster: round.roster, shares: round.shares.get(0)!, relay: round.relays.get(0)!,
    masked: round.masked.get(0)!, 'unmask-request': round.request, 'unmask-response': round.responses.get(0)!,
  };
  return { round, byKind };
}

test('every message kind: every truncation, a trailing byte, bad magic, version, kind or round is refused', async () => {
  const { byKind } = await messages();
  for (const kind of MESSAGE_KINDS) {
    const good = byKind[kind];
    assert.equal(decodeMessage(good, kind, 7).kind, kind);
    for (let len = 0; len < good.length; len++) assert.throws(() => decodeMessage(good.subarray(0, len), kind, 7), refused('malformed', /truncated/), `${kind} cut at ${len}`);
    assert.throws(() => decodeMessage(Uint8Array.from([...good, 0]), kind, 7), refused('malformed', /1 trailing bytes/));
    assert.throws(() => decodeMessage(flip(good, 0), kind, 7), refused('malformed', /bad magic/));
    assert.throws(() => decodeMessage(flip(good, 2), kind, 7), refused('malformed', /unsupported version 0/));
    assert.throws(() => decodeMessage(good, kind === 'roster' ? 'relay' : 'roster', 7), refused('malformed', new RegExp(`a "${kind}" message where`)));
    assert.throws(() => decodeMessage(good, kind, 8), refused('round', /of round 7 in round 8/));
  }
  const unknownKind = byKind.advertise.slice();
  unknownKind[3] = 99;
  assert.throws(() => decodeMessage(unknownKind, 'advertise', 7), refused('malformed', /unknown kind 99/));
  assert.throws(() => decodeMessage('x' as unknown as Uint8Array, 'advertise', 7), refused('malformed'));
});

test('counts and fields that do not fit are refused before allocation', async () => {
  const { byKind } = await messages();
  const huge = byKind.masked.slice();
  new DataView(huge.buffer).setUint32(12, 0xffffffff, true); // the length field
  assert.throws(() => decodeMessage(huge, 'masked', 7), refused('malformed', /length 4294967295 exceeds/));
  const longer = byKind.masked.slice();
  new DataView(longer.buffer).setUint32(12, 6, true);
  assert.throws(() => decodeMessage(longer, 'masked', 7), refused('malformed', /truncated/));
  const roster = byKind.roster.slice();
  new DataView(roster.buffer).setUint16(8, 9, true); // threshold 9 of 4 clients
  assert.throws(() => decodeMessage(roster, 'roster', 7), refused('malformed', /threshold 9 is not in \[2, 4\]/));
  new DataView(roster.buffer).setUint16(8, 3, true);
  new DataView(roster.buffer).setUint16(10, 3, true); // 3 neighbours: not even
  assert.throws(() => decodeMessage(roster, 'roster', 7), refused('malformed', /neighbours 3 is not an even number/));
  new DataView(roster.buffer).setUint16(10, 2, true); // 2 neighbours: threshold 3 is the most
  new DataView(roster.buffer).setUint16(8, 4, true);
  assert.throws(() => decodeMessage(roster, 'roster', 7), refused('malformed', /threshold 4 is not in \[2, 3\] for 4 clients with 2 neighbours each/));
  new DataView(roster.buffer).setFloat64(12, NaN, true);
  assert.throws(() => decodeMessage(roster, 'roster', 7), refused('malformed', /clip NaN/));
  const swapped = decodeMessage(byKind.roster, 'roster', 7);
  assert.throws(() => encodeMessage({ ...swapped, clients: [...swapped.clients].reverse() }), refused('options', /strictly increasing/));
  const dupes = byKind['unmask-request'].slice();
  new DataView(dupes.buffer).setUint32(14, 0, true); // survivors 0, 0, 2
  assert.throws(() => decodeMessage(dupes, 'unmask-request', 7), refused('malformed', /survivor 0 after 0/));
  const secretCode = byKind['unmask-response'].slice();
  secretCode[8 + 4 + 2 + 4] = 3;
  assert.throws(() => decodeMessage(secretCode, 'unmask-response', 7), refused('malformed', /secret 3 of subject 0/));
});

test('a share bundle changed in transit, addressed to another client, or replayed from another round fails to decrypt', async () => {
  const fresh = async (r: number) => {
    const round = new SteppedRound(ids, { threshold: 3, round: r, seed: r + 1 });
    await round.advertise().makeShares();
    return round.sendShares();
  };
  const round = await fresh(7);
  const relay = decodeMessage(round.relays.get(1)!, 'relay', 7);
  const tampered = encodeMessage({ ...relay, bundles: relay.bundles.map((b, i) => (i === 0 ? { ...b, sealed: flip(b.sealed, 40) } : b)) });
  assert.throws(() => round.clients.get(1)!.maskInput(tampered, inputs.get(1)!), refused('decrypt', /from client 0 to client 1 fails to decrypt in round 7/));
  // Client 2's relay, readdressed to client 1 (same senders 0 and 3): not sealed for client 1.
  const other = decodeMessage(round.relays.get(2)!, 'relay', 7);
  const misaddressed = encodeMessage({ kind: 'relay', round: 7, receiver: 1, bundles: other.bundles.filter((b) => b.peer !== 1) });
  assert.throws(() => round.clients.get(1)!.maskInput(misaddressed, inputs.get(1)!), refused('decrypt'));
  // Round 7's bundles for client 1, replayed into round 8.
  const next = await fresh(8);
  const replayed = encodeMessage({ ...relay, round: 8 });
  assert.throws(() => next.clients.get(1)!.maskInput(replayed, inputs.get(1)!), refused('decrypt', /in round 8/));
  // After all of that, the genuine relays still work: a refused message changes nothing.
  round.makeMasked(inputs, [0, 1, 2]).sendMasked().respond([0, 1, 2]);
  assert.deepEqual((await round.server.finish()).contributors, [0, 1, 2]);
});

test('a roster changed for one client breaks every bundle it seals (the roster digest is bound in)', async () => {
  const round = new SteppedRound(ids, { threshold: 3, round: 2 });
  round.advertise();
  for (const id of ids) {
    const roster = id === 3 ? flip(round.roster, 8 + 14 + 68 + 4 + 2) : round.roster; // a byte of client 1's keys, for client 3 only
    round.shares.set(id, await round.clients.get(id)!.shareKeys(roster));
  }
  round.sendShares();
  assert.throws(() => round.clients.get(0)!.maskInput(round.relays.get(0)!, inputs.get(0)!), refused('decrypt', /from client 3 to client 0/));
});

test('advertisements: a low-order key, a duplicate, a client not sampled; the roster must echo a client\'s own keys', async () => {
  const round = new SteppedRound(ids, { threshold: 3 });
  const adv = round.clients.get(0)!.advertiseKeys();
  const m = decodeMessage(adv, 'advertise', 0);
  assert.throws(() => round.server.receiveAdvertisement(encodeMessage({ ...m, maskingKey: new Uint8Array(32) })), refused('protocol', /client 0 \(masking key\) is unusable/));
  assert.throws(() => round.server.receiveAdvertisement(encodeMessage({ ...m, client: 99 })), refused('protocol', /client 99 is not sampled/));
  round.server.receiveAdvertisement(adv);
  assert.throws(() => round.server.receiveAdvertisement(adv), refused('protocol', /advertised twice/));
  // Client 1's encryption key changed on its way to the server: client 1 refuses the roster.
  const adv1 = round.clients.get(1)!.advertiseKeys();
  round.server.receiveAdvertisement(flip(adv1, 8 + 4 + 5));
  for (const id of [2, 3]) round.server.receiveAdvertisement(round.clients.get(id)!.advertiseKeys());
  const roster = round.server.closeAdvertising();
  await assert.rejects(round.clients.get(1)!.shareKeys(roster), refused('protocol', /other public keys for this client/));
  const changed = decodeMessage(roster, 'roster', 0);
  await assert.rejects(round.clients.get(2)!.shareKeys(encodeMessage({ ...changed, threshold: 2 })), refused('protocol', /threshold 2, clip 1 and neighbours all, this client was set up with 3, 1 and all/));
  await assert.rejects(round.clients.get(2)!.shareKeys(encodeMessage({ ...changed, clients: changed.clients.filter((c) => c.id !== 2) })), refused('protocol', /not in the roster/));
});

test('shares, masked inputs and responses out of place are refused by the server', async () => {
  const round = new SteppedRound(ids, { threshold: 3 });
  await round.advertise().makeShares();
  const shares = decodeMessage(round.shares.get(0)!, 'shares', 0);
  assert.throws(() => round.server.receiveShares(encodeMessage({ ...shares, bundles: shares.bundles.slice(1) })), refused('protocol', /sent bundles for \[2,3\], not for its neighbours \[1,2,3\]/));
  round.server.receiveShares(round.shares.get(0)!);
  assert.throws(() => round.server.receiveShares(round.shares.get(0)!), refused('protocol', /sent its shares twice/));
  assert.throws(() => round.server.receiveMaskedInput(round.shares.get(1)!), refused('protocol', /receiveMaskedInput called in phase "share"/));
  for (const id of [1, 2, 3]) round.server.receiveShares(round.shares.get(id)!);
  round.relays = round.server.closeShareKeys();
  round.makeMasked(inputs);
  const masked = decodeMessage(round.masked.get(0)!, 'masked', 0);
  round.server.receiveMaskedInput(round.masked.get(0)!);
  assert.throws(() => round.server.receiveMaskedInput(encodeMessage({ ...masked, sender: 1, values: masked.values.subarray(1) })), refused('protocol', /length 4, the round's length is 5/));
  assert.throws(() => round.server.receiveMaskedInput(round.masked.get(0)!), refused('protocol', /masked input twice/));
  for (const id of [1, 2]) round.server.receiveMaskedInput(round.masked.get(id)!);
  round.request = round.server.closeMaskedInput();
  const response = decodeMessage(round.clients.get(0)!.unmask(round.request), 'unmask-response', 0);
  // Asking for client 3's seed where its key is due (3 dropped before masking):
  const swapped = encodeMessage({ ...response, shares: response.shares.map((s) => (s.subject === 3 ? { ...s, secret: 'seed' as const } : s)) });
  assert.throws(() => round.server.receiveUnmaskResponse(swapped), refused('protocol', /subject 3 is wrong/));
  assert.throws(() => round.server.receiveUnmaskResponse(encodeMessage({ ...response, sender: 3 })), refused('protocol', /client 3 is not in U3/));
});

test('a corrupt share in an unmask response: finish detects it (commitment / public key) and returns no sum', async () => {
  for (const [subject, what] of [[1, /self-mask seed of client 1/], [3, /masking key of client 3/]] as const) {
    const round = new SteppedRound(ids, { threshold: 3, seed: subject });
    await round.advertise().makeShares();
    round.sendShares().makeMasked(inputs, [0, 1, 2]).sendMasked();
    for (const id of [0, 1, 2]) {
      const m = decodeMessage(round.clients.get(id)!.unmask(round.request), 'unmask-response', 0);
      const bad = id === 0 ? { ...m, shares: m.shares.map((s) => (s.subject === subject ? { ...s, share: flip(s.share, 3) } : s)) } : m;
      round.server.receiveUnmaskResponse(encodeMessage(bad));
    }
    await assert.rejects(round.server.finish(), refused('decrypt', what));
    await assert.rejects(round.server.finish(), /phase "failed"/);
  }
});

test('unmask requests: both shares of one client, a client left out or unknown, this client as dropped, a second request', async () => {
  const round = new SteppedRound(ids, { threshold: 3 });
  await round.advertise().makeShares();
  round.sendShares().makeMasked(inputs);
  const client = round.clients.get(0)!;
  const ask = (survivors: number[], dropped: number[]) => encodeMessage({ kind: 'unmask-request', round: 0, survivors, dropped });
  assert.throws(() => client.unmask(ask([0, 1, 2, 3], [3])), refused('protocol', /asks for both shares of client 3/));
  assert.throws(() => client.unmask(ask([0, 1, 2], [])), refused('protocol', /names client 3, whose shares this client holds, neither as survivor nor as dropped/));
  assert.throws(() => client.unmask(ask([0, 1, 2], [3, 7])), refused('protocol', /names client 7, who is not in the roster/));
  assert.throws(() => client.unmask(ask([1, 2, 3], [0])), refused('protocol', /lists this client, which sent its masked input, as dropped/));
  assert.throws(() => client.unmask(ask([0, 1], [2, 3])), refused('too-few'));
  const answer = decodeMessage(client.unmask(ask([0, 1, 2], [3])), 'unmask-response', 0);
  assert.deepEqual(answer.shares.map((s) => [s.subject, s.secret]), [[0, 'seed'], [1, 'seed'], [2, 'seed'], [3, 'key']]);
  // Having answered once, it never answers again (a second request could ask for client 3's seed).
  assert.throws(() => client.unmask(ask([0, 1, 2, 3], [])), refused('protocol', /next step is nothing/));
});

test('steps out of order are refused, and a refused message leaves a client as it was', async () => {
  const round = new SteppedRound(ids, { threshold: 3 });
  const client = round.clients.get(0)!;
  await assert.rejects(client.shareKeys(new Uint8Array(8)), refused('protocol', /shareKeys called when the next step is advertiseKeys/));
  round.advertise();
  assert.throws(() => client.advertiseKeys(), refused('protocol'));
  await assert.rejects(client.shareKeys(round.roster.subarray(0, 20)), refused('malformed'));
  // The genuine roster is still accepted; a second call while the first runs is refused.
  const [first, second] = await Promise.allSettled([client.shareKeys(round.roster), client.shareKeys(round.roster)]);
  assert.equal(first.status, 'fulfilled');
  assert.ok(second.status === 'rejected' && refused('protocol', /next step is the end of shareKeys/)(second.reason));
});

test('finish runs once: a second call while it runs, or after it, is refused', async () => {
  const round = new SteppedRound(ids, { threshold: 3 });
  await round.advertise().makeShares();
  round.sendShares().makeMasked(inputs).sendMasked().respond(ids);
  const [first, second] = await Promise.allSettled([round.server.finish(), round.server.finish()]);
  assert.equal(first.status, 'fulfilled');
  assert.ok(second.status === 'rejected' && refused('protocol', /finish called in phase "unmasking"/)(second.reason));
  await assert.rejects(round.server.finish(), refused('protocol', /phase "done"/));
});
