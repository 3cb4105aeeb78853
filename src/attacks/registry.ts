// Attacks by name, for the command line and the privacy table. Every optimisation attack has a
// `-mask` twin that matches only the coordinates a sparse update carried.
import { GGL_ATTACKS } from './ggl-attack.js';
import { imprintReadout } from './imprint.js';
import { matchingAttack, MATCHING_ATTACKS } from './optimization.js';
import type { Attack } from './types.js';

/** Robbing the Fed's analytic read-out (the imprint layer itself is planted by the case's server). */
export const ROBBING_THE_FED: Attack = {
  name: 'rtf',
  summary: 'Robbing the Fed: a malicious server plants an imprint layer and reads the inputs from its gradient',
  requires: ['imprint', 'batchSize'],
  run: async (threat) => imprintReadout(threat),
};

const ATTACKS = new Map<string, Attack>();
for (const def of MATCHING_ATTACKS) {
  ATTACKS.set(def.name, matchingAttack(def));
  ATTACKS.set(`${def.name}-mask`, matchingAttack(def, true));
}
ATTACKS.set(ROBBING_THE_FED.name, ROBBING_THE_FED);
for (const a of GGL_ATTACKS) ATTACKS.set(a.name, a);

export const ATTACK_NAMES: readonly string[] = [...ATTACKS.keys()];

export function createAttack(name: string): Attack {
  const a = ATTACKS.get(name);
  if (!a) throw new Error(`unknown attack '${name}' (choose one of ${ATTACK_NAMES.join(', ')})`);
  return a;
}

/** One line per attack: name and what it does. */
export function describeAttacks(): string[] {
  return [...ATTACKS.values()].map((a) => `${a.name}: ${a.summary}`);
}
