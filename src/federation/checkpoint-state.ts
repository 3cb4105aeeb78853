// The structure of a federated checkpoint's state.json, checked before any of it is used: a file
// edited by hand (or by an attacker) and given fresh SHA-256 sums passes the manifest, so a schema
// and consistency checks (against the spec, the model layout and a fresh defense state) are what
// stop it, with the field named rather than a TypeError from deep inside a restore.
import { z } from 'zod';
import { ADGP, adgpClient, createDefense, type Defense } from '../defenses/index.js';
import { issueText } from '../train/index.js';
import type { ModelLayout } from './replica.js';
import { CUSTOM, type FederatedSpec, specSchema } from './spec.js';

const count = z.number().int().min(0);
const finite = z.number().finite();
// A generator's words are 32-bit, signed or not (xoshiro's state as rng.ts keeps it).
const word = z.number().int().min(-(2 ** 31)).max(0xffffffff);
const rngState = z.object({ s: z.tuple([word, word, word, word]), spareNormal: finite.nullable() });
const clientSchema = z.object({
  sampler: z.object({ pool: z.array(count), order: z.array(count), position: count, epoch: count, batchSize: z.number().int().positive(), rng: rngState }).passthrough(),
  defenseRng: rngState,
  defense: z.unknown(),
  replicaRound: count.nullable(),
}).passthrough();
const stateSchema = z.object({
  format: z.literal(1),
  spec: specSchema,
  model: z.object({
    round: count,
    optimizer: z.object({ lr: finite.positive(), momentum: finite.min(0), dampening: finite.min(0).max(1), weightDecay: finite.min(0), nesterov: z.boolean() }),
    step: count,
    momentum: z.array(z.boolean()),
  }),
  server: z.object({ rng: rngState, inSync: z.array(z.boolean()), bytesUp: z.array(count), bytesDown: z.array(count) }).passthrough(),
  clients: z.array(clientSchema),
  history: z.array(z.object({
    round: z.number().int().positive(),
    lr: finite,
    sampled: z.array(count),
    dropped: z.array(z.object({ client: count, phase: z.string(), reason: z.string() }).passthrough()),
    // NaN (every client dropped) is null in JSON.
    trainLoss: finite.nullable(),
    relGradDistance: finite.nullable(),
    keptFraction: finite.nullable(),
    bytesUp: count,
    bytesDown: count,
    testAccuracy: finite.min(0).max(1).optional(),
    testLoss: finite.optional(),
  }).passthrough()),
  // A run with remote clients (a deployment): they keep their own states, so `clients` is empty.
  remote: z.object({ runId: z.string(), clientsSaved: z.array(z.boolean()) }).passthrough().optional(),
  // A run whose clients' states live in a client store (client-store.ts): `clients` is empty.
  clientStore: z.object({ dir: z.string() }).passthrough().optional(),
  // The clients' float tensors are in this file of the folder (checkpoint.ts), `clients` names them.
  clientTensors: z.literal('clients.safetensors').optional(),
});

type StateFile = z.infer<typeof stateSchema>;

/**
 * The state.json of a federated checkpoint, checked: its structure (a schema), then its parts
 * against each other, the spec and the model layout, and each client's defense state against a
 * fresh one. `fail` gets one line naming the field.
 */
export function checkStateFile(raw: unknown, layout: ModelLayout, fail: (why: string) => never, defense?: Defense): StateFile {
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) return fail(issueText(parsed.error));
  const problem = stateProblem(parsed.data, layout, defense);
  return problem ? fail(problem) : parsed.data;
}

/** What the schema cannot say: the parts agree with each other, the spec and the model. */
function stateProblem(s: StateFile, layout: ModelLayout, defense?: Defense): string | null {
  const n = s.spec.clients;
  if (s.remote) {
    if (s.remote.clientsSaved.length !== n) return `field "remote.clientsSaved": ${s.remote.clientsSaved.length} flags for a run of ${n} clients`;
    if (s.clients.length !== 0) return `field "clients": a run with remote clients keeps no client state here`;
  } else if (s.clientStore) {
    if (s.clients.length !== 0) return `field "clients": a run with a client store keeps no client state here`;
  } else if (s.clients.length !== n) return `field "clients": ${s.clients.length} client states for a run of ${n} clients`;
  for (const [k, v] of [['inSync', s.server.inSync], ['bytesUp', s.server.bytesUp], ['bytesDown', s.server.bytesDown]] as const) {
    if (v.length !== n) return `field "server.${k}": ${v.length} entries for ${n} clients`;
  }
  if (s.model.momentum.length !== layout.params.length) return `field "model.momentum": ${s.model.momentum.length} flags for ${layout.params.length} parameters`;
  if (s.model.round > s.spec.rounds) return `field "model.round": round ${s.model.round} of a run of ${s.spec.rounds}`;
  if (s.history.length !== s.model.round || s.history.some((e, i) => e.round !== i + 1)) return `field "history": ${s.history.length} entries do not run from round 1 to the model's round ${s.model.round}`;
  const bad = s.history.findIndex((e) => e.sampled.some((c) => c >= n) || e.dropped.some((d) => d.client >= n));
  if (bad >= 0) return `field "history.${bad}": a client id outside 0..${n - 1}`;
  if (s.spec.defense.name === CUSTOM && !defense) return `its run used the user's own defense (${s.spec.custom?.defense ?? 'unnamed'}): pass it to check the clients' states`;
  const fresh = s.clients.length > 0 ? freshDefenseState(s.spec, layout, defense) : null;
  for (const [i, c] of s.clients.entries()) {
    const problem = clientProblem(c, s.spec, fresh, s.model.round, `clients.${i}`);
    if (problem) return problem;
  }
  return null;
}

type ClientFields = z.infer<typeof clientSchema>;

function clientProblem(c: ClientFields, spec: FederatedSpec, fresh: unknown, round: number, path: string): string | null {
  if (c.replicaRound !== null && c.replicaRound > round) return `field "${path}.replicaRound": round ${c.replicaRound} is past the model's ${round}`;
  if (c.sampler.pool.some((x) => x >= (spec.trainLimit ?? Infinity))) return `field "${path}.sampler.pool": an example past --train-limit`;
  return structureDifference(fresh, c.defense, `${path}.defense`);
}

/**
 * One client's saved state (a client store's file), checked as a checkpoint's are: its structure,
 * and its defense state against `fresh` (a new client's, freshDefenseState). `fail` gets one line naming the field.
 */
export function checkClientState(raw: unknown, spec: FederatedSpec, fresh: unknown, round: number, fail: (why: string) => never): ClientFields {
  const parsed = clientSchema.safeParse(raw);
  if (!parsed.success) return fail(issueText(parsed.error));
  const problem = clientProblem(parsed.data, spec, fresh, round, 'state');
  return problem ? fail(problem) : parsed.data;
}

/** A new client's defense state for this spec: what a checkpointed one must look like. */
export function freshDefenseState(spec: FederatedSpec, layout: ModelLayout, defense?: Defense): unknown {
  const { name, options } = spec.defense;
  if (name === CUSTOM) return defense!.init(layout.params);
  return (name === ADGP ? adgpClient(options) : createDefense(name, options)).init(layout.params);
}

/** Where `actual` differs in structure from `expected` (typed arrays of the same kind and length, the same keys), or null. */
function structureDifference(expected: unknown, actual: unknown, path: string): string | null {
  const at = `field "${path}"`;
  if (ArrayBuffer.isView(expected)) {
    const e = expected as Float32Array;
    const a = actual as Float32Array;
    if (!ArrayBuffer.isView(actual) || actual.constructor !== expected.constructor) return `${at}: expected a ${expected.constructor.name}`;
    if (a.length !== e.length) return `${at}: ${a.length} entries, expected ${e.length}`;
    if (a instanceof Float32Array && !allFinite(a)) return `${at}: not finite`;
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${at}: expected a list of ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = structureDifference(expected[i], actual[i], `${path}.${i}`);
      if (d) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${at}: expected an object`;
    const keys = Object.keys(expected);
    const extra = Object.keys(actual).find((k) => !keys.includes(k));
    if (extra !== undefined) return `${at}: unexpected key "${extra}"`;
    for (const k of keys) {
      const d = structureDifference((expected as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return typeof expected === typeof actual && (expected === null) === (actual === null) ? null : `${at}: expected ${expected === null ? 'null' : `a ${typeof expected}`}`;
}


/** A plain loop: every() with a callback is several times slower on a residual of millions of entries. */
function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}
