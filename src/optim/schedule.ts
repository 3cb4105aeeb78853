// Learning-rate schedules, one module for training, federation and the attacks: a function from
// the step (or epoch, or round: whatever the caller counts) to the learning rate.
//   stepSchedule: values[0] until the first milestone, values[1] from it until the second, and so
//     on (the paper's 0.1, then 0.01, then 0.005): torch.optim.lr_scheduler.MultiStepLR with the
//     values given outright instead of a decay factor;
//   decaySchedule: MultiStepLR itself, base * gamma^(milestones reached);
//   cosineSchedule: CosineAnnealingLR to 0 over `total`, after an optional linear warm-up;
//   learningRate: the attacks' schedules, whose milestones are fractions of the run.
import { z } from 'zod';
import { parseOptions } from '../common/index.js';

const scheduleSchema = z.object({
  milestones: z.array(z.number().int().min(0)),
  values: z.array(z.number().positive()).min(1),
});
export type StepScheduleOptions = z.infer<typeof scheduleSchema>;

/** How many of the milestones t has reached. */
function reached(milestones: readonly number[], t: number): number {
  let k = 0;
  for (const m of milestones) if (t >= m) k++;
  return k;
}

export function stepSchedule(options: StepScheduleOptions): (t: number) => number {
  const o = parseOptions(scheduleSchema, options, 'lr schedule', (x) => {
    if (x.values.length !== x.milestones.length + 1) {
      return `needs one more value than milestones (got ${x.values.length} values, ${x.milestones.length} milestones)`;
    }
    const i = x.milestones.findIndex((m, j) => j > 0 && m <= x.milestones[j - 1]!);
    return i > 0 ? `milestones must increase (got ${x.milestones[i - 1]} then ${x.milestones[i]})` : null;
  });
  return (t) => o.values[reached(o.milestones, t)]!;
}

/** base * gamma^k from the k-th milestone on (torch MultiStepLR; milestones may repeat, as there). */
export function decaySchedule(o: { base: number; milestones: readonly number[]; gamma: number }): (t: number) => number {
  return (t) => o.base * o.gamma ** reached(o.milestones, t);
}

/**
 * Cosine decay from base at t = warmup to 0 at t = total (torch CosineAnnealingLR, eta_min 0),
 * held at 0 past total; before it a linear warm-up, base (t + 1) / warmup.
 */
export function cosineSchedule(o: { base: number; total: number; warmup?: number }): (t: number) => number {
  const w = o.warmup ?? 0;
  const span = o.total - w;
  return (t) => (t < w ? (o.base * (t + 1)) / w : 0.5 * o.base * (1 + Math.cos((Math.PI * Math.min(t - w, span)) / Math.max(1, span))));
}

/**
 * The text of `--lr-steps`, `AT:LR[,AT:LR...]` (its pattern is checked where the option is
 * declared), as [at, lr] pairs for stepSchedule; none when absent.
 */
export function parseLrSteps(text: string | undefined): [number, number][] {
  return (text ?? '').split(',').filter(Boolean).map((s) => s.split(':').map(Number) as [number, number]);
}

export type Schedule =
  | { kind: 'constant' }
  /** Inverting Gradients: x0.1 at 3/8, 5/8 and 7/8 of the run (torch MultiStepLR). */
  | { kind: 'step'; milestones?: number[]; gamma?: number }
  /** breaching's cosine decay after a linear warm-up of `warmup` steps. */
  | { kind: 'cosine'; warmup?: number };

/** Learning rate at step `t` (0-based) of `total`. */
export function learningRate(base: number, s: Schedule, t: number, total: number): number {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step':
      return decaySchedule({ base, milestones: (s.milestones ?? [3 / 8, 5 / 8, 7 / 8]).map((m) => Math.floor(m * total)), gamma: s.gamma ?? 0.1 })(t);
    case 'cosine':
      return cosineSchedule({ base, total, warmup: s.warmup })(t);
  }
}
