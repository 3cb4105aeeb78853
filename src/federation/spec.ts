// A federated run as plain data: everything that decides its result, and nothing else (no paths,
// no callbacks), so that a checkpoint can record it and a resumed run can be checked against it.
import { z } from 'zod';
import { FEDERATED_DEFENSE_NAMES } from '../defenses/index.js';
import { MODEL_NAMES } from '../models/index.js';
import { cosineSchedule, stepSchedule } from '../optim/index.js';

const positiveInt = z.number().int().positive();

export const partitionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('iid') }),
  z.object({ kind: z.literal('dirichlet'), alpha: z.number().positive().finite() }),
]);
export type Partition = z.infer<typeof partitionSchema>;

export const specSchema = z
  .object({
    dataset: z.enum(['mnist', 'cifar10']),
    /** Train on the first N training images only (quick runs and tests). */
    trainLimit: positiveInt.optional(),
    testLimit: positiveInt.optional(),
    model: z.object({ name: z.enum(MODEL_NAMES), width: z.number().positive(), init: z.enum(['dlg', 'torch', 'xavier']), precode: z.object({ k: z.number().int().positive(), beta: z.number().min(0) }).optional() }),
    clients: positiveInt,
    rounds: positiveInt,
    /** Examples per client per local step. */
    batchSize: positiveInt,
    partition: partitionSchema,
    fraction: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]'),
    algorithm: z.enum(['clsgd', 'fedavg']),
    localSteps: positiveInt,
    lr: z.number().positive(),
    /** constant; cosine from lr to 0 over the rounds; step: lrSteps [[round, lr], ...] from that round on. */
    schedule: z.enum(['constant', 'cosine', 'step']),
    lrSteps: z.array(z.tuple([positiveInt, z.number().positive()])),
    momentum: z.number().min(0).max(1),
    weightDecay: z.number().min(0),
    serverLr: z.number().positive(),
    defense: z.object({ name: z.enum(FEDERATED_DEFENSE_NAMES as [string, ...string[]]), options: z.record(z.unknown()) }),
    seed: z.number().int(),
    /** Test accuracy every N rounds (0: after the last round only). */
    evalEvery: z.number().int().min(0),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.algorithm === 'clsgd' && s.localSteps !== 1) {
      ctx.addIssue({ code: 'custom', path: ['localSteps'], message: `CL-SGD sends one gradient per round; ${s.localSteps} local steps need --algorithm fedavg` });
    }
    if (s.schedule === 'step' && s.lrSteps.length === 0) ctx.addIssue({ code: 'custom', path: ['lrSteps'], message: 'a step schedule needs ROUND:LR milestones' });
    if (s.lrSteps.some(([r], i) => i > 0 && r <= s.lrSteps[i - 1]![0])) ctx.addIssue({ code: 'custom', path: ['lrSteps'], message: 'milestone rounds must increase' });
  });

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
