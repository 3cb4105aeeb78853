// How every bench times a step: warm-up runs, then the median and the minimum of timed runs.
// No Node built-ins (the web bench's page uses it too).
export interface Step {
  step: () => Promise<void>;
}

export async function timeTask(t: Step, warm = 5, iters = 40): Promise<{ median: number; min: number }> {
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
