// The server has no path to a single client's unmasked values: its methods return message bytes,
// ids and the sum only, and nothing reachable from it, at any step, equals a client's input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, fixedPoint, peekMessage, quantise, SecAggServer } from '../../src/secagg/index.js';
import { randomInputs, range, SteppedRound } from './helpers.js';

/** Every typed array reachable from `root` through fields, arrays, Maps and Sets. */
function typedArraysIn(root: unknown): ArrayBufferView[] {
  const out: ArrayBufferView[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) return void out.push(v);
    if (v instanceof Map) for (const [k, x] of v) { walk(k); walk(x); }
    else if (v instanceof Set || Array.isArray(v)) for (const x of v) walk(x);
    else for (const key of Reflect.ownKeys(v)) walk((v as Record<PropertyKey, unknown>)[key]);
  };
  walk(root);
  return out;
}

function sameWords(a: ArrayBufferView, b: Uint32Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.every((v, i) => v === y[i]);
}

test('the server\'s public surface: receive*, close* (message bytes), progress (ids), finish (the sum)', () => {
  const methods = Object.getOwnPropertyNames(SecAggServer.prototype).sort();
  // Public steps and private helpers; of these only finish and its helper unmask return values (the sum), reconstruct returns a 32-byte secret.
  assert.deepEqual(methods, [
    'accept', 'atLeastThreshold', 'closeAdvertising', 'closeMaskedInput', 'closeShareKeys', 'constructor', 'expect', 'finish', 'firstFrom', 'holdersOf',
    'progress', 'receiveAdvertisement', 'receiveMaskedInput', 'receiveShares', 'receiveUnmaskResponse', 'reconstruct', 'unmask',
  ]);
});

test('at every step nothing the server holds or returns equals any client\'s quantised or raw input', async () => {
  const ids = range(6);
  const L = 32;
  const inputs = randomInputs(ids, L, 0.3, 8);
  const quantised = ids.map((id) => quantise(inputs.get(id)!, fixedPoint(1, ids.length)));
  const raw = ids.map((id) => new Uint32Array(inputs.get(id)!.buffer));
  const round = new SteppedRound(ids, { threshold: 4, seed: 2 });
  const returned: unknown[] = [];
  const check = (step: string) => {
    for (const a of typedArraysIn([round.server, returned])) {
      for (const [i, q] of [...quantised, ...raw].entries()) assert.ok(!sameWords(a, q), `${step}: a ${a.constructor.name} the server holds equals input ${i % ids.length}`);
    }
  };
  round.advertise();
  returned.push(round.roster);
  check('advertise');
  await round.makeShares();
  round.sendShares();
  returned.push(round.relays);
  check('share keys');
  round.makeMasked(inputs, [0, 1, 2, 3, 4]); // client 5 drops before masking
  for (const m of round.masked.values()) {
    round.server.receiveMaskedInput(m);
    check('masked input');
  }
  round.request = round.server.closeMaskedInput();
  returned.push(round.request, round.server.progress());
  round.respond([0, 1, 2, 3]); // client 4 drops before unmasking
  check('unmask');
  const result = await round.server.finish();
  returned.push(result);
  check('finish');
  assert.deepEqual(Object.keys(result).sort(), ['contributors', 'errorBound', 'sum']);
  assert.deepEqual(result.contributors, [0, 1, 2, 3, 4]);
  // What close* returned is message bytes of the kinds the clients expect, never a vector of values.
  assert.equal(peekMessage(round.roster).kind, 'roster');
  for (const r of round.relays.values()) assert.equal(peekMessage(r).kind, 'relay');
  assert.deepEqual(decodeMessage(round.request, 'unmask-request', 0), { kind: 'unmask-request', round: 0, survivors: [0, 1, 2, 3, 4], dropped: [5] });
});

test('the state walk finds a vector buried in Maps, Sets, arrays and objects (so the check above could fail)', () => {
  const q = Uint32Array.of(1, 2, 3);
  const holder = { a: new Map([[1, { b: [new Set([q.slice()])] }]]) };
  assert.ok(typedArraysIn(holder).some((a) => sameWords(a, q)));
});
