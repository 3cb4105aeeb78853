// Shared pieces of the secure-aggregation round tests: capturing what travels, comparing two
// rounds' aggregates entry by entry.
import assert from 'node:assert/strict';
import { type ClientProxy, decodeMessage } from '../../src/federation/index.js';
import { peekMessage } from '../../src/secagg/index.js';

/** The secagg message kind inside a federation envelope, or null for any other message. */
export function secaggKind(bytes: Uint8Array): string | null {
  try {
    const { control, payload } = decodeMessage(bytes, 'secagg');
    return control.type === 'secagg' ? peekMessage(payload).kind : null;
  } catch {
    return null;
  }
}

/** Every byte between the server and each client, both ways, in order. */
export interface Recording {
  down: Map<number, Uint8Array[]>;
  up: Map<number, Uint8Array[]>;
}

export function recorder(): { recording: Recording; transport: (p: ClientProxy) => ClientProxy } {
  const recording: Recording = { down: new Map(), up: new Map() };
  const push = (m: Map<number, Uint8Array[]>, id: number, b: Uint8Array) => (m.get(id) ?? m.set(id, []).get(id)!).push(b.slice());
  const transport = (p: ClientProxy): ClientProxy => ({
    id: p.id,
    sync: (m) => (push(recording.down, p.id, m), p.sync(m)),
    fit: async (m) => {
      push(recording.down, p.id, m);
      const a = await p.fit(m);
      push(recording.up, p.id, a);
      return a;
    },
    broadcast: (m) => (push(recording.down, p.id, m), p.broadcast(m)),
  });
  return { recording, transport };
}

/** Each entry of `a` within `tolerance` of `b`; returns the largest difference. */
export function assertClose(a: readonly Float32Array[], b: readonly Float32Array[], tolerance: number, what: string): number {
  assert.equal(a.length, b.length, `${what}: tensor counts`);
  let worst = 0;
  a.forEach((t, i) => t.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i]![j]!)))));
  assert.ok(worst <= tolerance, `${what}: largest difference ${worst} exceeds ${tolerance}`);
  return worst;
}
