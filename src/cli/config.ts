// A run as a file: `--config FILE` (YAML or JSON) gives any of a command's options, under the
// same names as its flags (kebab-case or camelCase), checked by the same schema; flags on the
// command line override the file. A saved run spec (the `spec` of a `--json` result, a
// checkpoint's state.json, or a FederatedSpec on its own) can be fed back in as it is: its fields
// become the flags that make the same spec.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CUSTOM, parseSpec, type FederatedSpec } from '../federation/index.js';
import { nearestName, UsageError } from './args.js';
import { defenseFlagsOf } from './run-options.js';

const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The flags (camelCase) that make exactly this spec. */
export function flagsFromSpec(s: FederatedSpec): Record<string, unknown> {
  if (s.model.name === CUSTOM || s.defense.name === CUSTOM || s.algorithm === CUSTOM) {
    throw new UsageError(`this spec runs the user's own objects (custom: ${JSON.stringify(s.custom ?? {})}), which have no command-line form; run it from code with createFederation`);
  }
  return {
    dataset: s.dataset,
    ...(s.trainLimit !== undefined ? { trainLimit: s.trainLimit } : {}),
    ...(s.testLimit !== undefined ? { testLimit: s.testLimit } : {}),
    model: s.model.name,
    width: s.model.width,
    init: s.model.init,
    clients: s.clients,
    rounds: s.rounds,
    batchSize: s.batchSize,
    partition: s.partition.kind === 'iid' ? 'iid' : `dirichlet:${s.partition.alpha}`,
    fraction: s.fraction,
    algorithm: s.algorithm,
    localSteps: s.localSteps,
    lr: s.lr,
    schedule: s.schedule,
    ...(s.lrSteps.length ? { lrSteps: s.lrSteps.map(([r, v]) => `${r}:${v}`).join(',') } : {}),
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    serverLr: s.serverLr,
    ...defenseFlagsOf(s.defense),
    seed: s.seed,
    evalEvery: s.evalEvery,
    ...(s.secureAggregation
      ? {
          secureAggregation: true,
          threshold: s.secureAggregation.threshold,
          saClip: s.secureAggregation.clip,
          ...(s.secureAggregation.neighbours !== undefined ? { saNeighbours: s.secureAggregation.neighbours } : {}),
        }
      : {}),
  };
}

function looksLikeSpec(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { model?: unknown }).model === 'object' && 'defense' in v;
}

/** The options a config file gives (camelCase keys), checked against the command's option names. */
export function readConfig(path: string, known: readonly string[], command: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UsageError(`--config ${path}: not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`--config ${path}: expected a mapping of option names to values`);
  const nested = (raw as { spec?: unknown }).spec;
  if (looksLikeSpec(raw) || looksLikeSpec(nested)) {
    try {
      return flagsFromSpec(parseSpec(looksLikeSpec(raw) ? raw : nested));
    } catch (e) {
      throw new UsageError(`--config ${path}: a run spec that does not check: ${(e as Error).message}`);
    }
  }
  const out: Record<string, unknown> = {};
  const names = new Set(known.map(camel));
  for (const [key, value] of Object.entries(raw)) {
    const k = camel(key);
    if (k === 'config') throw new UsageError(`--config ${path}: a config file cannot name another one`);
    if (!names.has(k)) {
      const near = nearestName(kebab(k), known);
      throw new UsageError(`--config ${path}: "${key}" is not an option of dgp ${command}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    out[k] = typeof value === 'number' || typeof value === 'boolean' ? value : value === null ? undefined : String(value);
  }
  return out;
}
