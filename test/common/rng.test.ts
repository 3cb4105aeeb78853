// The generator every seeded figure comes from, against vectors from fixtures/reference/rng_ref.py
// (written from the published xoshiro128** and this toolkit's documented seeding), and the order
// of forks a federated run depends on: changing either changes every seeded result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { createFederation } from '../../src/federation/index.js';
import { partitionIid } from '../../src/data/index.js';
import { referenceJson } from '../helpers/reference.js';
import { spec, syntheticSplits } from '../federation/helpers.js';

type State = [number, number, number, number];
/** A fresh generator keeps s3 as a signed 32-bit integer until its first draw: compare the bits. */
const bits = (s: readonly number[]) => s.map((x) => x >>> 0);
const ref = referenceJson<{
  xoshiroFrom1234: number[];
  seeds: { seed: number; state: State; u32: number[]; uniform: number[]; int1000: number[] }[];
  federatedSeed7: { partitionState: State; serverState: State; clients: { sampler: State; defense: State }[]; permutation240: number[] };
}>('rng.json');

test('xoshiro128** from a given state gives the reference outputs', () => {
  const r = Rng.fromState({ s: [1, 2, 3, 4], spareNormal: null });
  assert.deepEqual(Array.from({ length: 12 }, () => r.nextU32()), ref.xoshiroFrom1234);
});

test('seeding, uniform() and int() give the reference vectors', () => {
  assert.equal(ref.seeds.length, 7);
  for (const s of ref.seeds) {
    const r = new Rng(s.seed);
    assert.deepEqual(bits(r.getState().s), s.state, `seed ${s.seed}: state`);
    assert.deepEqual(Array.from({ length: 6 }, () => r.nextU32()), s.u32, `seed ${s.seed}: outputs`);
    assert.deepEqual(Array.from({ length: 3 }, () => r.uniform()), s.uniform, `seed ${s.seed}: uniform`);
    assert.deepEqual(Array.from({ length: 5 }, () => r.int(1000)), s.int1000, `seed ${s.seed}: int`);
  }
});

test('normal() is Box-Muller over two uniforms, the second value cached; state round-trips', () => {
  const r = new Rng(3);
  const copy = Rng.fromState(r.getState());
  const u = copy.uniform();
  const v = copy.uniform();
  const radius = Math.sqrt(-2 * Math.log(u));
  assert.equal(r.normal(), radius * Math.cos(2 * Math.PI * v));
  const mid = Rng.fromState(r.getState());
  assert.equal(r.normal(), radius * Math.sin(2 * Math.PI * v));
  assert.equal(mid.normal(), radius * Math.sin(2 * Math.PI * v), 'the cached value is part of the state');
});

test('a federated run forks partition, server, then each client (its sampler, then its defense), in that order', () => {
  const want = ref.federatedSeed7;
  const fed = createFederation(spec({ seed: 7, clients: 3 }), syntheticSplits());
  assert.deepEqual(bits(fed.server.getState().rng.s), want.serverState, 'server stream');
  fed.clients.forEach((c, k) => {
    const s = c.getState();
    assert.deepEqual(bits(s.sampler.rng.s), want.clients[k]!.sampler, `client ${k}: sampler stream`);
    assert.deepEqual(bits(s.defenseRng.s), want.clients[k]!.defense, `client ${k}: defense stream`);
  });
  // The iid partition is one permutation drawn from the partition stream: 240 images, 80 per client.
  const perm = want.permutation240;
  const parts = partitionIid(240, 3, Rng.fromState({ s: want.partitionState, spareNormal: null }));
  parts.forEach((p, k) => assert.deepEqual([...p], perm.slice(80 * k, 80 * (k + 1)).sort((a, b) => a - b), `client ${k}'s images`));
});
