// A federated run as plain data: everything that decides its result, and nothing else (no paths,
// no callbacks), so that a checkpoint can record it and a resumed run can be checked against it.
// A user's own model, defense or strategy is an object, not data: the spec names it 'custom' (model
// { name: 'custom' }, defense { name: 'custom', options }, algorithm 'custom'), the object comes in
// createFederation's options, and the run's spec records the object's name in `custom`; a run
// resumed from its checkpoint must be given objects of the same names again.
import { z } from 'zod';
import { FEDERATED_DEFENSE_NAMES, updateSupport } from '../defenses/index.js';
import { MODEL_NAMES } from '../models/index.js';
import { cosineSchedule, stepSchedule } from '../optim/index.js';
import { MAX_CLIENTS } from '../secagg/index.js';
import { clientsPerRound } from './strategy.js';

const positiveInt = z.number().int().positive();

/**
 * Secure aggregation's default clip: every entry a client masks is clipped to [-clip, clip]. Over
 * 500 MNIST rounds of 10 clients (LeNet and MLP; ADGP, undefended and DP) the largest entry any
 * client sent was 0.92 and 99.9 % were below 0.32 (scripts/secagg-magnitudes.ts), so 4 leaves a
 * margin of 4; it costs about n x 4 / 2^32 per entry of the mean (9e-9 for 10 clients).
 */
export const DEFAULT_SECURE_CLIP = 4;

export const partitionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('iid') }),
  z.object({ kind: z.literal('dirichlet'), alpha: z.number().positive().finite() }),
]);
export type Partition = z.infer<typeof partitionSchema>;

/** The name in a spec of a part the user supplies as an object. */
export const CUSTOM = 'custom';

const builtInModel = z.object({
  name: z.enum(MODEL_NAMES),
  width: z.number().positive(),
  init: z.enum(['dlg', 'torch', 'xavier']),
  /** PRECODE's variational bottleneck before the classifier (a defense that changes the model). */
  precode: z.object({ k: z.number().int().positive(), beta: z.number().min(0) }).optional(),
});
const customName = z.string().min(1);

export const specSchema = z
  .object({
    dataset: z.enum(['mnist', 'cifar10']),
    /** Train on the first N training images only (quick runs and tests). */
    trainLimit: positiveInt.optional(),
    testLimit: positiveInt.optional(),
    model: z.discriminatedUnion('name', [builtInModel, z.object({ name: z.literal(CUSTOM) })]),
    clients: positiveInt,
    rounds: positiveInt,
    /** Examples per client per local step. */
    batchSize: positiveInt,
    partition: partitionSchema,
    fraction: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]'),
    algorithm: z.enum(['clsgd', 'fedavg', CUSTOM]),
    localSteps: positiveInt,
    lr: z.number().positive(),
    /** constant; cosine from lr to 0 over the rounds; step: lrSteps [[round, lr], ...] from that round on. */
    schedule: z.enum(['constant', 'cosine', 'step']),
    lrSteps: z.array(z.tuple([positiveInt, z.number().positive()])),
    momentum: z.number().min(0).max(1),
    weightDecay: z.number().min(0),
    serverLr: z.number().positive(),
    /** A custom defense's options are recorded as given (the object itself was made from them, or not). */
    defense: z.object({ name: z.enum([...FEDERATED_DEFENSE_NAMES, CUSTOM] as unknown as [string, ...string[]]), options: z.record(z.unknown()) }),
    seed: z.number().int(),
    /** Test accuracy every N rounds (0: after the last round only). */
    evalEvery: z.number().int().min(0),
    /** The names of the user's objects where the spec says 'custom' (filled in by createFederation). */
    custom: z.object({ model: customName, defense: customName, strategy: customName }).partial().strict().optional(),
    /**
     * Secure aggregation (src/secagg, Bonawitz et al.): the server learns only the sum of the sampled
     * clients' updates. threshold: the clients that must remain for a round to finish (and the
     * coalition that could unmask one client); clip: every entry is clipped to [-clip, clip];
     * neighbours: SecAgg+ (each client masks with this many others). Absent: plain aggregation.
     */
    secureAggregation: z.object({
      threshold: z.number().int().min(2).max(MAX_CLIENTS),
      clip: z.number().positive().finite(),
      neighbours: z.number().int().min(2).max(MAX_CLIENTS - 1).multipleOf(2, 'must be even').optional(),
    }).strict().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.algorithm === 'clsgd' && s.localSteps !== 1) {
      ctx.addIssue({ code: 'custom', path: ['localSteps'], message: `CL-SGD sends one gradient per round; ${s.localSteps} local steps need --algorithm fedavg` });
    }
    if (s.schedule === 'step' && s.lrSteps.length === 0) ctx.addIssue({ code: 'custom', path: ['lrSteps'], message: 'a step schedule needs ROUND:LR milestones' });
    if (s.lrSteps.some(([r], i) => i > 0 && r <= s.lrSteps[i - 1]![0])) ctx.addIssue({ code: 'custom', path: ['lrSteps'], message: 'milestone rounds must increase' });
    const problem = s.secureAggregation ? secureAggregationProblem(s, s.secureAggregation) : null;
    if (problem) ctx.addIssue({ code: 'custom', path: ['secureAggregation', problem.field], message: problem.message });
  });

/** Why a run cannot aggregate securely as asked (the field at fault), or null. */
export function secureAggregationProblem(
  s: { clients: number; fraction: number; defense: { name: string } },
  o: { threshold: number; neighbours?: number },
): { field: 'threshold' | 'neighbours' | 'clients' | 'defense'; message: string } | null {
  const m = clientsPerRound(s.clients, s.fraction);
  if (m > MAX_CLIENTS) return { field: 'clients', message: `secure aggregation takes at most ${MAX_CLIENTS} clients per round (Shamir shares over GF(256)); this run samples ${m}` };
  if (o.threshold > m) return { field: 'threshold', message: `${o.threshold} exceeds the ${m} clients sampled per round: no round could finish` };
  if (o.neighbours !== undefined && o.threshold > o.neighbours + 1) return { field: 'threshold', message: `${o.threshold} exceeds neighbours + 1 = ${o.neighbours + 1}, the share holders of one client under SecAgg+` };
  if (updateSupport(s.defense.name) === 'sparse') {
    return { field: 'defense', message: `${s.defense.name} sends each client's values at positions of its own choosing, which cannot be summed securely; use adgp (every client's values at one common set) or a dense defense (none, dp, qsgd, signsgd)` };
  }
  return null;
}

export type FederatedSpec = z.infer<typeof specSchema>;

/** Checks a spec; throws one line naming the field. */
export function parseSpec(input: unknown): FederatedSpec {
  const r = specSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new Error(`federated run: ${issue.path.join('.') || 'spec'}: ${issue.message}`);
}

/** Learning rate of round r (from 1). */
export function lrSchedule(s: Pick<FederatedSpec, 'lr' | 'schedule' | 'lrSteps' | 'rounds'>): (round: number) => number {
  if (s.schedule === 'constant') return () => s.lr;
  if (s.schedule === 'cosine') {
    const cosine = cosineSchedule({ base: s.lr, total: s.rounds });
    return (r) => cosine(r - 1);
  }
  return stepSchedule({ milestones: s.lrSteps.map(([r]) => r), values: [s.lr, ...s.lrSteps.map(([, v]) => v)] });
}

export { specDifference } from '../train/index.js';
