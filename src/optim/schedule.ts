// Step learning-rate schedule: values[0] until the first milestone, values[1] from it until the
// second, and so on (the paper's 0.1, then 0.01, then 0.005). Milestones count whatever the
// caller steps by (epochs or rounds), as torch.optim.lr_scheduler.MultiStepLR does, but with the
// values given outright instead of a decay factor.
import { z } from 'zod';
import { parseOptions } from '../defenses/options.js';

const scheduleSchema = z.object({
  milestones: z.array(z.number().int().min(0)),
  values: z.array(z.number().positive()).min(1),
});
export type StepScheduleOptions = z.infer<typeof scheduleSchema>;

export function stepSchedule(options: StepScheduleOptions): (t: number) => number {
  const o = parseOptions(scheduleSchema, options, 'lr schedule', (x) => {
    if (x.values.length !== x.milestones.length + 1) {
      return `needs one more value than milestones (got ${x.values.length} values, ${x.milestones.length} milestones)`;
    }
    const i = x.milestones.findIndex((m, j) => j > 0 && m <= x.milestones[j - 1]!);
    return i > 0 ? `milestones must increase (got ${x.milestones[i - 1]} then ${x.milestones[i]})` : null;
  });
  return (t) => {
    let k = 0;
    while (k < o.milestones.length && t >= o.milestones[k]!) k++;
    return o.values[k]!;
  };
}
