// Defenses by name, for configuration files and the command line. Each entry validates its own
// options; the registry adds the one option they all share: `ef`, error feedback around it.
import { z } from 'zod';
import { none, withErrorFeedback } from './compose.js';
import { dgp, dgpSchema } from './dgp.js';
import { dp, dpSchema } from './dp.js';
import { outpost, outpostSchema } from './outpost.js';
import { qsgd, qsgdSchema, scaledSign } from './quantize.js';
import { randomk, randomkSchema, topk, topkSchema } from './sparsify.js';
import { parseOptions } from '../common/index.js';
import type { Defense } from './types.js';
import { adgpClient, adgpEffectiveOptions, broadcasterOptionsOf, createBroadcaster } from './adgp.js';

interface Entry {
  /** Whether error feedback is on when the options do not say. */
  ef: boolean;
  /** What its updates are: every value (dense), or values at positions of each client's own choosing (sparse). */
  sends: 'dense' | 'sparse';
  schema: z.AnyZodObject;
  make(options: Record<string, unknown>): Defense;
  summary: string;
}

const NO_OPTIONS = z.object({});

// Each factory names itself in its errors (`dgp: option "pTop": ...`), the same name as here.
const ENTRIES = {
  none: { ef: false, sends: 'dense', schema: NO_OPTIONS, make: (o) => (parseOptions(NO_OPTIONS, o, 'none'), none()), summary: 'the raw gradient, dense' },
  dgp: { ef: true, sends: 'sparse', schema: dgpSchema, make: (o) => dgp(o), summary: 'drop the top pTop of |g| per tensor, send the next pKeep' },
  topk: { ef: true, sends: 'sparse', schema: topkSchema, make: (o) => topk(o), summary: 'send the largest fraction of |g| per tensor' },
  randomk: { ef: true, sends: 'sparse', schema: randomkSchema, make: (o) => randomk(o), summary: 'send a seeded random fraction per tensor' },
  dp: { ef: false, sends: 'dense', schema: dpSchema, make: (o) => dp(o), summary: 'clip the update norm to clip, add noise of scale noiseMultiplier*clip' },
  qsgd: { ef: false, sends: 'dense', schema: qsgdSchema, make: (o) => qsgd(o), summary: 'unbiased stochastic quantization to levels steps per tensor' },
  outpost: {
    ef: false,
    sends: 'sparse',
    schema: outpostSchema,
    make: (o) => outpost(o),
    summary: 'with probability 1/(1+decay t): prune |g| below the pruneBase percentile per tensor, add noise (std = weight variance x noiseBase) on the top phi % by Fisher information',
  },
  signsgd: { ef: true, sends: 'dense', schema: NO_OPTIONS, make: (o) => (parseOptions(NO_OPTIONS, o, 'signsgd'), scaledSign()), summary: 'mean|g| * sign(g) per tensor' },
} satisfies Record<string, Entry>;

export type DefenseName = keyof typeof ENTRIES;
export const DEFENSE_NAMES = Object.keys(ENTRIES) as DefenseName[];

/**
 * A defense from its name and options, e.g. createDefense('dgp', { pTop: 0.05, pKeep: 0.2 }).
 * `ef: true|false` wraps it in error feedback or not (default on for dgp, topk, randomk, signsgd).
 * Throws one line naming the defense and the offending option.
 */
export function createDefense(name: string, options: Record<string, unknown> = {}): Defense {
  if (!Object.hasOwn(ENTRIES, name)) {
    throw new Error(`unknown defense "${name}" (known: ${DEFENSE_NAMES.join(', ')})`);
  }
  const entry: Entry = ENTRIES[name as DefenseName];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(`defense ${name}: options must be an object (got ${JSON.stringify(options)})`);
  }
  const known = [...Object.keys(entry.schema.shape), 'ef'];
  const unknown = Object.keys(options).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new Error(`defense ${name}: unknown option "${unknown}" (known: ${known.join(', ')})`);
  const { ef, ...rest } = options;
  if (ef !== undefined && typeof ef !== 'boolean') {
    throw new Error(`defense ${name}: option "ef": expected true or false (got ${JSON.stringify(ef)})`);
  }
  let defense: Defense;
  try {
    defense = entry.make(rest);
  } catch (e) {
    throw new Error(`defense ${(e as Error).message}`);
  }
  return (ef ?? entry.ef) ? withErrorFeedback(defense) : defense;
}

/**
 * The options a defense runs with: those given and its defaults, read by its own schema, with
 * `ef` resolved (e.g. dgp {} -> { pTop: 0.05, pKeep: 0.2, tinyTensor: 'send', ef: true }).
 * ADGP's include the broadcaster's policy. Throws as createDefense does.
 */
export function effectiveDefenseOptions(name: string, options: Record<string, unknown> = {}): Record<string, unknown> {
  if (name === ADGP) return adgpEffectiveOptions(options);
  createDefense(name, options);
  const entry: Entry = ENTRIES[name as DefenseName];
  const { ef, ...rest } = options;
  return { ...parseOptions(entry.schema, rest, name), ef: (ef as boolean | undefined) ?? entry.ef };
}

/** One line per defense: name, default error feedback, what it does. */
export function describeDefenses(): string[] {
  return DEFENSE_NAMES.map((n) => `${n}${ENTRIES[n].ef ? ' (ef on)' : ''}: ${ENTRIES[n].summary}`);
}

/**
 * ADGP is a protocol between the clients and a trusted broadcaster (adgp.ts), not a transformation
 * of one update, so createDefense does not make it; federated runs take it by this name.
 */
export const ADGP = 'adgp';
export const FEDERATED_DEFENSE_NAMES: readonly string[] = [...DEFENSE_NAMES, ADGP];

/**
 * What a federated defense's updates are: 'dense' (every value), 'sparse' (values at positions
 * each client chooses: no two updates need share a position) or 'aligned' (ADGP: every client's
 * values at one common set). Secure aggregation sums values position by position, so it takes
 * dense and aligned updates only.
 */
export function updateSupport(name: string): 'dense' | 'sparse' | 'aligned' {
  if (name === ADGP) return 'aligned';
  if (!Object.hasOwn(ENTRIES, name)) throw new Error(`unknown defense "${name}" (known: ${FEDERATED_DEFENSE_NAMES.join(', ')})`);
  return ENTRIES[name as DefenseName].sends;
}

/** Checks a federated run's defense and options (ADGP's client and broadcaster sides included); throws one line. */
export function checkFederatedDefense(name: string, options: Record<string, unknown>): void {
  if (name !== ADGP) {
    createDefense(name, options);
    return;
  }
  adgpClient(options);
  createBroadcaster(broadcasterOptionsOf(options));
}
