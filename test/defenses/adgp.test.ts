import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { densify, type ClientUpdate } from '../../src/common/update.js';
import { decodeUpdate, encodeUpdate } from '../../src/codec/index.js';
import { adgpClient, adgpUploadBytes, createBroadcaster, downloadBytes, sharedOf, voteCommonSet } from '../../src/defenses/adgp.js';
import { dgpCounts, parseDgpOptions } from '../../src/defenses/dgp.js';
import { createDefense } from '../../src/defenses/registry.js';
import { randomGrad } from './helpers.js';

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
