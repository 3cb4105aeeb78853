import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { densify, type ClientUpdate } from '../../src/common/update.js';
import { decodeUpdate, encodeUpdate } from '../../src/codec/index.js';
import { adgpClient, adgpUploadBytes, createBroadcaster, downloadBytes, sharedOf, voteCommonSet } from '../../src/defenses/adgp.js';
import { dgpCounts, dgpSplit, parseDgpOptions } from '../../src/defenses/dgp.js';
import { createDefense } from '../../src/defenses/registry.js';
import { constantGradient, randomGrad } from './helpers.js';

const shapes = [[10], [6, 5], [1], [200]];
const layout = shapes.map((shape, i) => ({ name: `t${i}`, shape }));

test('vote picks the most frequent band positions, ties by lower index', () => {
  const rng = new Rng(60);
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + rng.int(30);
    const count = 1 + rng.int(n);
    const bands = Array.from({ length: 1 + rng.int(5) }, () => Uint32Array.from([...Array(n).keys()].filter(() => rng.uniform() < 0.4)));
    const votes = new Array<number>(n).fill(0);
    for (const b of bands) for (const p of b) votes[p]!++;
    const want = [...Array(n).keys()].sort((a, b) => votes[b]! - votes[a]! || a - b).slice(0, count).sort((a, b) => a - b);
    assert.deepEqual([...voteCommonSet(n, bands, count)], want);
  }
});

test('ADGP: every client sends the same positions, values only, and error feedback conserves mass', () => {
  const rng = new Rng(61);
  const clients = Array.from({ length: 5 }, () => adgpClient());
  const broadcaster = createBroadcaster();
  let states = clients.map((c) => c.init(layout));
  const dgpDefaults = parseDgpOptions({});
  for (let round = 0; round < 10; round++) {
    const grads = clients.map(() => randomGrad(rng, shapes));
    const proposals = clients.map((c, k) => c.propose(grads[k]!, states[k]!));
    const common = broadcaster.decide(layout, proposals.map((p) => p.bands));
    common.tensors.forEach((t, i) => assert.equal(t.indices.length, dgpCounts(layout[i]!.shape.reduce((a, b) => a * b, 1), dgpDefaults).keep));
    const results = clients.map((c, k) => c.upload(proposals[k]!.pending, states[k]!, common));
    results.forEach((r, k) => {
      r.update.forEach((u, i) => {
        assert.ok(u.kind === 'sparse');
        if (u.kind === 'sparse') assert.deepEqual(u.indices, common.tensors[i]!.indices);
        // protectTop: nothing nonzero at the client's own dropped top
        const top = new Set(proposals[k]!.pending.top[i]);
        if (u.kind === 'sparse') u.indices.forEach((p, j) => top.has(p) && assert.equal(u.values[j], 0));
      });
      const sent = densify(r.update);
      grads[k]!.forEach((g, i) => g.data.forEach((x, j) => {
        const lhs = sent[i]!.data[j]! + r.state.residual![i]![j]!;
        const rhs = x + states[k]!.residual![i]![j]!;
        assert.ok(Math.abs(lhs - rhs) <= 1e-6 * (1 + Math.abs(rhs)));
      }));
      // what goes on the wire is values only, and decodes with the common set
      const bytes = encodeUpdate({ kind: 'update', round, clientId: k }, r.update, { shared: sharedOf(common) });
      assert.deepEqual(decodeUpdate(bytes, { shared: sharedOf(common), layout }).update, r.update);
      const up = adgpUploadBytes(layout, proposals[k]!.bands, r.update, common);
      assert.equal(up.values, bytes.length);
    });
    states = results.map((r) => r.state);
  }
});

test('ADGP downloads less than DGP when the clients disagree', () => {
  const rng = new Rng(62);
  const big = [{ name: 'w', shape: [4000] }];
  const dgp = createDefense('dgp');
  const client = adgpClient();
  const grads = Array.from({ length: 10 }, () => randomGrad(rng, [[4000]]).map((t) => ({ ...t, name: 'w' })));
  const dgpUpdates: ClientUpdate[] = grads.map((g) => dgp.apply(g, dgp.init(big), rng).update);
  const proposals = grads.map((g) => client.propose(g, client.init(big)));
  const common = createBroadcaster().decide(big, proposals.map((p) => p.bands));
  const bytes = downloadBytes(big, dgpUpdates, common);
  assert.ok(bytes.adgp < bytes.dgp / 2, JSON.stringify(bytes));
  assert.equal(bytes.adgp, bytes.adgpPositions + bytes.adgpValues);
});

test('the broadcaster checks bands and options', () => {
  const b = createBroadcaster();
  assert.throws(() => b.decide(layout, []), /no client bands/);
  const bands = layout.map(() => Uint32Array.from([0]));
  assert.throws(() => b.decide(layout, [bands]), /client 0's band for "t0" has 1 positions, DGP keeps 2/);
  assert.throws(() => createBroadcaster({ policy: 'union' as 'vote' }), /adgp broadcaster: option "policy"/);
  assert.throws(() => adgpClient({ pTop: -1 }), /adgp: option "pTop"/);
});

test('ADGP error feedback: the band and the values come from g + e, not g', () => {
  // Mass conservation above holds by construction; this fails if propose or upload used g alone.
  const rng = new Rng(63);
  const clients = Array.from({ length: 3 }, () => adgpClient());
  const broadcaster = createBroadcaster();
  let states = clients.map((c) => c.init(layout));
  const o = parseDgpOptions({});
  for (let round = 0; round < 6; round++) {
    const grads = clients.map(() => randomGrad(rng, shapes));
    const corrected = grads.map((g, k) => g.map((t, i) => ({ ...t, data: t.data.map((x, j) => x + states[k]!.residual![i]![j]!) })));
    const proposals = clients.map((c, k) => c.propose(grads[k]!, states[k]!));
    proposals.forEach((p, k) => p.bands.forEach((band, i) => assert.deepEqual(band, dgpSplit(corrected[k]![i]!, o).band, `round ${round}, client ${k}, tensor ${i}: band not of g + e`)));
    const common = broadcaster.decide(layout, proposals.map((p) => p.bands));
    const results = clients.map((c, k) => c.upload(proposals[k]!.pending, states[k]!, common));
    results.forEach((r, k) => r.update.forEach((u, i) => {
      const top = new Set(dgpSplit(corrected[k]![i]!, o).top);
      if (u.kind !== 'sparse') assert.fail('ADGP sends sparse tensors');
      u.indices.forEach((p, j) => assert.equal(u.values[j], top.has(p) ? 0 : corrected[k]![i]!.data[p], `round ${round}, client ${k}, tensor ${i}, position ${p}`));
    }));
    if (round > 0) assert.ok(states.some((s) => s.residual!.some((e) => e.some((x) => x !== 0))), 'the residuals stayed zero, so the test shows nothing');
    states = results.map((r) => r.state);
  }
});

test('ADGP error feedback sends every entry below the dropped top in the end', () => {
  // One client, a constant gradient: what the common set leaves out waits in the residual and
  // climbs into the band. Handed g instead of g + e, the same band would be sent every round.
  const n = 20;
  const w = [{ name: 'w', shape: [n] }];
  const g = constantGradient(n);
  const client = adgpClient();
  const broadcaster = createBroadcaster();
  let state = client.init(w);
  const firstSent = new Array<number>(n).fill(-1);
  const rounds = 2000;
  for (let round = 0; round < rounds; round++) {
    const p = client.propose([{ name: 'w', shape: [n], data: g.slice() }], state);
    const r = client.upload(p.pending, state, broadcaster.decide(w, [p.bands]));
    densify(r.update)[0]!.data.forEach((v, i) => v !== 0 && firstSent[i] === -1 && (firstSent[i] = round));
    state = r.state;
  }
  assert.equal(firstSent[0], -1, 'the largest entry is the dropped top every round, never sent');
  for (let i = 1; i < n; i++) {
    assert.ok(firstSent[i]! >= 0 && firstSent[i]! < 100, `entry ${i} first sent in round ${firstSent[i]} (-1: never)`);
    const held = Math.abs(state.residual![0]![i]!) / (rounds * Math.abs(g[i]!));
    assert.ok(held <= 0.015, `entry ${i}: ${(100 * held).toFixed(2)} % still held back after ${rounds} rounds`);
  }
});
