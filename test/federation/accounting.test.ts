// The (epsilon, delta) a Gaussian DP run reports: per client against the server, counting only the
// rounds each client actually sent an update in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dpSgdEpsilon } from '../../src/defenses/index.js';
import { clientLevelPrivacy } from '../../src/federation/accounting.js';
import type { HistoryEntry } from '../../src/federation/index.js';
import { spec } from './helpers.js';

const entry = (sampled: number[], dropped: HistoryEntry['dropped'] = []) => ({ sampled, dropped }) as unknown as HistoryEntry;

test('epsilon counts the rounds of the busiest client, no amplification, and only for Gaussian DP', () => {
  const s = spec({ clients: 3, defense: { name: 'dp', options: { clip: 1, noiseMultiplier: 2 } } });
  // Client 0 trains in rounds 1, 2, 4 (dropped in 3 before it sent); client 1 in 1-4; client 2 twice.
  const history = [entry([0, 1, 2]), entry([0, 1]), entry([0, 1, 2], [{ client: 0, phase: 'fit', reason: 'gone' }]), entry([0, 1])];
  const p = clientLevelPrivacy(s, history)!;
  assert.equal(p.rounds, 4);
  assert.equal(p.epsilon, dpSgdEpsilon({ q: 1, noiseMultiplier: 2, steps: 4, delta: 1e-5 }).epsilon);
  // Four rounds at z = 2: RDP 4a/8 per order, a few units of epsilon at delta 1e-5.
  assert.ok(p.epsilon > 2 && p.epsilon < 6, `epsilon ${p.epsilon}`);
  assert.equal(clientLevelPrivacy(spec({ defense: { name: 'dgp', options: {} } }), history), null);
  assert.equal(clientLevelPrivacy(spec({ defense: { name: 'dp', options: { mechanism: 'laplace' } } }), history), null);
});
