// The command-line face of a federated run, shared by `dgp train` and `dgp compare`: the options,
// their validation (one line naming the option, through the CLI's zod schema) and the mapping
// from options to a FederatedSpec.
import { z } from 'zod';
import { int, num, type OptionSpec, UsageError } from './args.js';
import { dataOptions, dataShape } from './data.js';
import { DATASET_NAMES } from '../data/index.js';
import { checkFederatedDefense, FEDERATED_DEFENSE_NAMES } from '../defenses/index.js';
import { MODEL_NAMES } from '../models/index.js';
import { clientsPerRound, DEFAULT_SECURE_CLIP, type FederatedSpec, type Partition, secureAggregationProblem } from '../federation/index.js';

export { DEFAULT_SECURE_CLIP };
import { parseLrSteps } from '../optim/index.js';

/** `iid` or `dirichlet:ALPHA`. */
export function parsePartition(text: string): Partition | null {
  if (text === 'iid') return { kind: 'iid' };
  const m = /^dirichlet:(\d*\.?\d+(?:e-?\d+)?)$/.exec(text);
  const alpha = m ? Number(m[1]) : NaN;
  return alpha > 0 && Number.isFinite(alpha) ? { kind: 'dirichlet', alpha } : null;
}

/** The PRECODE bottleneck --precode asks for (precode.ts), or none. */
export function precodeOf(o: { precode?: boolean; precodeK: number; precodeBeta: number }): { k: number; beta: number } | undefined {
  return o.precode ? { k: o.precodeK, beta: o.precodeBeta } : undefined;
}

/** The defaults that differ between commands (centralised `train` and the federated `compare`). */
export interface TrainingDefaults {
  model: (typeof MODEL_NAMES)[number];
  init: 'dlg' | 'torch' | 'xavier';
  batchSize: number;
  lr: number;
  schedule: 'step' | 'cosine' | 'constant';
}

/** Data, model and optimisation options, which `train` and `compare` share. */
export function trainingShape(d: TrainingDefaults) {
  return {
    dataset: z.enum(['mnist', 'cifar10']).default('mnist'),
    ...dataShape,
    model: z.enum(MODEL_NAMES).default(d.model),
    width: num().positive().default(1),
    batchSize: int().positive().default(d.batchSize),
    lr: num().positive().default(d.lr),
    lrSteps: z.string().regex(/^(\d+:\d*\.?\d+(e-?\d+)?)(,\d+:\d*\.?\d+(e-?\d+)?)*$/, 'expected EPOCH:LR[,EPOCH:LR...] e.g. 10:0.01,15:0.005').optional(),
    init: z.enum(['dlg', 'torch', 'xavier']).default(d.init),
    precode: z.boolean().optional(),
    precodeK: int().positive().default(256),
    precodeBeta: num().min(0).default(1e-3),
    schedule: z.enum(['step', 'cosine', 'constant']).default(d.schedule),
    momentum: num().min(0).max(1).default(0.9),
    weightDecay: num().min(0).default(1e-4),
    seed: int().default(0),
    evalEvery: int().min(0).default(0),
    testLimit: int().positive().optional(),
    trainLimit: int().positive().optional(),
    json: z.string().optional(),
  };
}

export function trainingOptions(d: TrainingDefaults): Record<string, OptionSpec> {
  return {
    dataset: { type: 'string', description: `data set: ${DATASET_NAMES.join(' | ')}`, default: 'mnist' },
    ...dataOptions,
    model: { type: 'string', description: `model: ${MODEL_NAMES.join(' | ')}`, default: d.model },
    width: { type: 'string', description: 'channel multiplier for convnet / resnet18', default: '1' },
    'batch-size': { type: 'string', description: 'examples per step (federated: per client and local step)', default: String(d.batchSize) },
    lr: { type: 'string', description: 'initial learning rate', default: String(d.lr) },
    'lr-steps': { type: 'string', description: 'learning-rate drops, EPOCH:LR[,EPOCH:LR...] (federated: ROUND:LR)' },
    precode: { type: 'boolean', description: "PRECODE: a variational bottleneck before the model's classifier, trained with its KL term (the client's noise draws are the defense)" },
    'precode-k': { type: 'string', description: 'PRECODE: bottleneck width K', default: '256' },
    'precode-beta': { type: 'string', description: 'PRECODE: weight of the KL term', default: '1e-3' },
    init: { type: 'string', description: "LeNet initialisation: xavier (Glorot uniform) | torch (PyTorch's default) | dlg (uniform +-0.5, as DLG attacks it; the one SGD trains)", default: d.init },
    schedule: { type: 'string', description: 'learning-rate schedule: cosine (decays to 0 over the run) | step (drops at --lr-steps) | constant', default: d.schedule },
    momentum: { type: 'string', description: "SGD momentum (federated CL-SGD: the server's)", default: '0.9' },
    'weight-decay': { type: 'string', description: "SGD weight decay (federated: the server's in CL-SGD, the clients' in FedAvg)", default: '1e-4' },
    seed: { type: 'string', description: 'seed of initialisation, partition, sampling and defenses', default: '0' },
    'eval-every': { type: 'string', description: 'evaluate every N steps, or rounds when federated (0: only at the end)', default: '0' },
    'test-limit': { type: 'string', description: 'evaluate on the first N test images only' },
    'train-limit': { type: 'string', description: 'train on the first N training images only' },
    json: { type: 'string', description: 'write the result and history as JSON to this file (dgp train: Ctrl-C writes the part done, then exits with 130)' },
  };
}

/**
 * Options of the run itself (not of a defense): both commands take these. No defaults here, so
 * that `dgp train` can tell which were given (they ask for federated training); FEDERATED_DEFAULTS
 * fills the rest.
 */
export const strategyShape = {
  partition: z.string().transform((s, ctx) => {
    const p = parsePartition(s);
    if (!p) ctx.addIssue({ code: 'custom', message: `expected iid or dirichlet:ALPHA with ALPHA > 0, got "${s}"` });
    return p ?? { kind: 'iid' as const };
  }).optional(),
  fraction: num().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').optional(),
  localSteps: int().positive().optional(),
  algorithm: z.enum(['clsgd', 'fedavg']).optional(),
  serverLr: num().positive().optional(),
};

/** Secure aggregation's flags (no defaults: the spec holds none unless --secure-aggregation is given). */
export const secureShape = {
  secureAggregation: z.boolean().optional(),
  threshold: int().min(2, 'must be at least 2').max(255, 'must be at most 255').optional(),
  saClip: num().positive().optional(),
  saNeighbours: int().min(2).max(254).refine((k) => k % 2 === 0, 'must be even').optional(),
};

export const secureOptions: Record<string, OptionSpec> = {
  'secure-aggregation': { type: 'boolean', description: 'the server learns only the sum of the sampled clients\' updates (Bonawitz et al.; src/secagg); for --defense adgp (its common set), none, dp, qsgd or signsgd' },
  threshold: { type: 'string', description: 'secure aggregation: clients that must remain for a round to finish, and the fewest that could unmask one client with the server (about 2/3 of the clients sampled per round)' },
  'sa-clip': { type: 'string', description: 'secure aggregation: every entry a client masks is clipped to [-C, C]; the mean is within about clients x C / 2^32 of the exact one', default: String(DEFAULT_SECURE_CLIP) },
  'sa-neighbours': { type: 'string', description: 'secure aggregation: SecAgg+ (Bell et al.), each client masks with K others (even) instead of all (default: all)' },
};

type SecureFlags = z.infer<z.ZodObject<typeof secureShape>>;

/** The flags of secure aggregation need each other; the rest is checked against the spec (secureOf). */
export function refineSecureFlags(o: SecureFlags & { defense?: string }, ctx: z.RefinementCtx): void {
  if (!o.secureAggregation) {
    for (const k of ['threshold', 'saClip', 'saNeighbours'] as const) if (o[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'needs --secure-aggregation' });
    return;
  }
  if (o.threshold === undefined) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'is required with --secure-aggregation: the clients that must remain for a round to finish (e.g. 7 of 10 sampled)' });
}

/** The spec's secureAggregation from the flags, checked against the run (clients per round, defense); issues name the flag. */
function secureOf(o: SecureFlags, run: Pick<FederatedSpec, 'clients' | 'fraction' | 'defense'>): FederatedSpec['secureAggregation'] {
  if (!o.secureAggregation || o.threshold === undefined) return undefined;
  const sa = { threshold: o.threshold, clip: o.saClip ?? DEFAULT_SECURE_CLIP, ...(o.saNeighbours !== undefined ? { neighbours: o.saNeighbours } : {}) };
  const problem = secureAggregationProblem(run, sa);
  if (problem) {
    const flag = { threshold: 'threshold', neighbours: 'sa-neighbours', clients: 'clients', defense: 'defense' }[problem.field];
    throw new UsageError(`invalid --${flag} with --secure-aggregation: ${problem.message}`);
  }
  return sa;
}

export const runShape = {
  clients: int().positive().optional(),
  rounds: int().positive().optional(),
  ...strategyShape,
  checkpoint: z.string().optional(),
  checkpointEvery: int().positive().optional(),
  resume: z.string().optional(),
  clientTimeout: num().positive().optional(),
  ...secureShape,
};

export const FEDERATED_DEFAULTS = { clients: 1, partition: { kind: 'iid' } as Partition, fraction: 1, localSteps: 1, serverLr: 1, checkpointEvery: 10 };

export const defenseShape = {
  defense: z.enum(FEDERATED_DEFENSE_NAMES as [string, ...string[]]).default('none'),
  pTop: num().min(0).lt(1).optional(),
  pKeep: num().gt(0).max(1).optional(),
  k: num().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').optional(),
  noiseMultiplier: num().min(0).optional(),
  clip: num().positive().optional(),
  levels: int().min(1).optional(),
  pruneBase: num().min(0).max(100).optional(),
  phi: num().min(0).max(100).optional(),
  noiseBase: num().min(0).optional(),
  decay: num().min(0).optional(),
  errorFeedback: z.enum(['true', 'false']).optional(),
  noErrorFeedback: z.boolean().optional(),
};

export const strategyOptions: Record<string, OptionSpec> = {
  partition: { type: 'string', description: 'how the training data is split: iid | dirichlet:ALPHA (label skew)', default: 'iid' },
  fraction: { type: 'string', description: 'share of the clients sampled per round, in (0, 1]', default: '1' },
  'local-steps': { type: 'string', description: 'local SGD steps per round (more than 1: FedAvg)', default: '1' },
  algorithm: { type: 'string', description: 'clsgd (one gradient per round, server SGD) | fedavg (model deltas); default from --local-steps' },
  'server-lr': { type: 'string', description: 'FedAvg: server step on the mean delta', default: '1' },
};

export const runOptions: Record<string, OptionSpec> = {
  clients: { type: 'string', description: 'clients; more than 1, or a --defense, trains federated', default: '1' },
  rounds: { type: 'string', description: 'federated rounds (default: --epochs passes over the training data)' },
  ...strategyOptions,
  checkpoint: { type: 'string', description: 'write a checkpoint into this folder (refused if it holds another run\'s, unless --force; Ctrl-C leaves the last one)' },
  'checkpoint-every': { type: 'string', description: 'rounds between checkpoints, and after the last (default 10); centralised: steps (default: one epoch)' },
  resume: { type: 'string', description: 'continue from the checkpoint in this folder (the same options; more --rounds or --epochs unless the schedule is cosine)' },
  'client-timeout': { type: 'string', description: 'drop a client that has not answered a call within this many seconds (default: wait)' },
  ...secureOptions,
};

export const defenseOptions: Record<string, OptionSpec> = {
  defense: { type: 'string', description: `what a client does to its update: ${FEDERATED_DEFENSE_NAMES.join(' | ')} (adgp: federated runs only)`, default: 'none' },
  'p-top': { type: 'string', description: 'dgp | adgp: share of each tensor\'s largest entries never sent (default 0.05)' },
  'p-keep': { type: 'string', description: 'dgp | adgp: share of each tensor sent, the band below the top (default 0.2)' },
  k: { type: 'string', description: 'topk | randomk: share of each tensor sent (default 0.2)' },
  'noise-multiplier': { type: 'string', description: 'dp: noise std over --clip (default 1)' },
  clip: { type: 'string', description: 'dp: bound on the update\'s L2 norm (default 1)' },
  levels: { type: 'string', description: 'qsgd: quantization levels (default 16)' },
  'prune-base': { type: 'string', description: 'outpost: percentile of |g| per tensor below which entries are zeroed (default 80)' },
  phi: { type: 'string', description: 'outpost: percent of all entries, by Fisher information g^2, that get noise (default 40)' },
  'noise-base': { type: 'string', description: "outpost: noise std per unit of a layer's risk, the variance of its weights (default 0.8)" },
  decay: { type: 'string', description: 'outpost: the update at round t is perturbed with probability 1 / (1 + decay t) (default 0.125)' },
  'error-feedback': { type: 'string', description: 'true | false: keep what was not sent and add it next round (default: on for dgp, adgp, topk, randomk, signsgd)' },
  'no-error-feedback': { type: 'boolean', description: 'same as --error-feedback false' },
};

type DefenseFlags = z.infer<z.ZodObject<typeof defenseShape>>;

/** Each flag, the defense option it sets, and the defenses that take it. */
const FLAGS: [keyof DefenseFlags, string, string[]][] = [
  ['pTop', 'pTop', ['dgp', 'adgp']],
  ['pKeep', 'pKeep', ['dgp', 'adgp']],
  ['k', 'fraction', ['topk', 'randomk']],
  ['noiseMultiplier', 'noiseMultiplier', ['dp']],
  ['clip', 'clip', ['dp']],
  ['levels', 'levels', ['qsgd']],
  ['pruneBase', 'pruneBase', ['outpost']],
  ['phi', 'phi', ['outpost']],
  ['noiseBase', 'noiseBase', ['outpost']],
  ['decay', 'decay', ['outpost']],
];

/** The defense options the flags ask for; issues name the flag at fault. */
export function defenseFromFlags(o: DefenseFlags, ctx?: z.RefinementCtx): { name: string; options: Record<string, unknown> } {
  const options: Record<string, unknown> = {};
  for (const [flag, key, takers] of FLAGS) {
    const v = o[flag];
    if (v === undefined) continue;
    if (!takers.includes(o.defense)) ctx?.addIssue({ code: 'custom', path: [flag], message: `applies to --defense ${takers.join(' or ')}, not ${o.defense}` });
    else options[key] = v;
  }
  if (o.errorFeedback !== undefined && o.noErrorFeedback) ctx?.addIssue({ code: 'custom', path: ['errorFeedback'], message: 'give --error-feedback or --no-error-feedback, not both' });
  if (o.noErrorFeedback) options['ef'] = false;
  else if (o.errorFeedback !== undefined) options['ef'] = o.errorFeedback === 'true';
  try {
    checkFederatedDefense(o.defense, options);
  } catch (e) {
    ctx?.addIssue({ code: 'custom', path: ['defense'], message: (e as Error).message });
  }
  return { name: o.defense, options };
}

/** The flags that ask for this defense (the inverse of defenseFromFlags); throws on an option no flag sets. */
export function defenseFlagsOf(d: { name: string; options: Record<string, unknown> }): Record<string, unknown> {
  const out: Record<string, unknown> = { defense: d.name };
  for (const [key, value] of Object.entries(d.options)) {
    if (key === 'ef') {
      out['errorFeedback'] = String(value);
      continue;
    }
    const flag = FLAGS.find(([, k, takers]) => k === key && takers.includes(d.name));
    if (!flag) throw new Error(`defense ${d.name}: option ${key} has no command-line flag`);
    out[flag[0]] = value;
  }
  return out;
}

/** Checks between run options that the spec would otherwise reject without naming the flag. */
export function refineRunFlags(o: Partial<RunFlags>, ctx: z.RefinementCtx): void {
  if (o.algorithm === 'clsgd' && (o.localSteps ?? 1) > 1) {
    ctx.addIssue({ code: 'custom', path: ['localSteps'], message: 'CL-SGD sends one gradient per round; more local steps need --algorithm fedavg' });
  }
  if (o.checkpointEvery !== undefined && o.checkpoint === undefined) ctx.addIssue({ code: 'custom', path: ['checkpointEvery'], message: 'needs --checkpoint DIR' });
  refineSecureFlags(o, ctx);
}

/** Everything else a spec needs, from the commands' common options. */
export type BaseOptions = z.infer<z.ZodObject<ReturnType<typeof trainingShape>>> & { epochs?: number };

type RunFlags = z.infer<z.ZodObject<typeof runShape>>;

/**
 * The spec of a federated run. Without --rounds, the rounds are enough for --epochs passes over
 * the training data: ceil(epochs * N / (clients per round * batch size * local steps)).
 */
export function specFromOptions(o: BaseOptions & RunFlags, defense: FederatedSpec['defense'], trainCount: number): FederatedSpec {
  const secure = secureOf(o, { clients: o.clients ?? FEDERATED_DEFAULTS.clients, fraction: o.fraction ?? FEDERATED_DEFAULTS.fraction, defense });
  const d = FEDERATED_DEFAULTS;
  const clients = o.clients ?? d.clients;
  const fraction = o.fraction ?? d.fraction;
  const localSteps = o.localSteps ?? d.localSteps;
  const used = o.trainLimit !== undefined ? Math.min(o.trainLimit, trainCount) : trainCount;
  if (clients > used) throw new UsageError(`invalid --clients: ${clients} clients but only ${used} training images`);
  const perRound = clientsPerRound(clients, fraction) * o.batchSize * localSteps;
  return {
    dataset: o.dataset,
    ...(o.trainLimit !== undefined ? { trainLimit: o.trainLimit } : {}),
    ...(o.testLimit !== undefined ? { testLimit: o.testLimit } : {}),
    model: { name: o.model, width: o.width, init: o.init, ...(o.precode ? { precode: precodeOf(o) } : {}) },
    clients,
    rounds: o.rounds ?? Math.max(1, Math.ceil(((o.epochs ?? 1) * used) / perRound)),
    batchSize: o.batchSize,
    partition: o.partition ?? d.partition,
    fraction,
    algorithm: o.algorithm ?? (localSteps > 1 ? 'fedavg' : 'clsgd'),
    localSteps,
    lr: o.lr,
    schedule: o.schedule,
    lrSteps: parseLrSteps(o.lrSteps),
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    serverLr: o.serverLr ?? d.serverLr,
    defense,
    seed: o.seed,
    evalEvery: o.evalEvery,
    ...(secure ? { secureAggregation: secure } : {}),
  };
}
