// How every bench times a step: warm-up runs, then the median and the minimum of timed runs.
// No Node built-ins (the web bench's page uses it too).
export interface Step {
  step: () => Promise<void>;
  /** The task's own warm-up and timed runs (the ResNet-18 tasks take fewer). */
  warm?: number;
  iters?: number;
}

export async function timeTask(t: Step, warm = t.warm ?? 5, iters = t.iters ?? 40): Promise<{ median: number; min: number }> {
  for (let i = 0; i < warm; i++) await t.step();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await t.step();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)]!, min: ts[0]! };
}
