import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDefense, DEFENSE_NAMES } from '../../src/defenses/registry.js';

test('every registered defense builds from defaults, with error feedback where it is the default', () => {
  const names = Object.fromEntries(DEFENSE_NAMES.map((n) => [n, createDefense(n).name]));
  assert.deepEqual(names, {
    none: 'none', dgp: 'ef(dgp)', topk: 'ef(topk)', randomk: 'ef(randomk)',
    dp: 'dp(gaussian)', qsgd: 'qsgd', outpost: 'outpost', signsgd: 'ef(signsgd)',
  });
  assert.equal(createDefense('dgp', { ef: false }).name, 'dgp');
  assert.equal(createDefense('qsgd', { ef: true, levels: 4 }).name, 'ef(qsgd)');
});

test('bad names and options give one line naming the option', () => {
  assert.throws(() => createDefense('dpg'), /^Error: unknown defense "dpg" \(known: none, dgp, /);
  assert.throws(() => createDefense('dgp', { ptop: 0.1 }), /^Error: defense dgp: unknown option "ptop" \(known: pTop, pKeep, tinyTensor, ef\)$/);
  assert.throws(() => createDefense('dgp', { pTop: 2 }), /^Error: defense dgp: option "pTop": .* \(got 2\)$/);
  assert.throws(() => createDefense('dp', { mechanism: 'cauchy' }), /defense dp: option "mechanism": .*gaussian.*laplace.*\(got "cauchy"\)/);
  assert.throws(() => createDefense('topk', { fraction: '0.2' }), /defense topk: option "fraction": Expected number, received string/);
  assert.throws(() => createDefense('dgp', { ef: 'yes' }), /defense dgp: option "ef": expected true or false/);
  assert.throws(() => createDefense('none', { x: 1 }), /defense none: unknown option "x"/);
  for (const f of [() => createDefense('dgp', { pTop: 2 }), () => createDefense('nope')]) {
    assert.throws(f, (e: Error) => !e.message.includes('\n'));
  }
});
