// Data loading speed: how long loadMnist takes to parse the 70,000 bundled MNIST images (the
// figure the MNIST tests once asserted; timings belong here, not in unit tests, where a busy
// machine makes them fail). Goal: under 3 s on 2 cores; typically about 0.5 s.
import { loadMnist } from '../src/data/index.js';
import { textTable } from '../src/report/index.js';

export const MNIST_LOAD_GOAL_MS = 3000;

export function benchData(): { table: string; json: Record<string, number> } {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    loadMnist();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[2]!;
  const table = textTable(
    ['task', 'median ms', 'min ms', 'goal ms', 'met'],
    [['loadMnist (70,000 images)', median.toFixed(0), times[0]!.toFixed(0), String(MNIST_LOAD_GOAL_MS), median < MNIST_LOAD_GOAL_MS ? 'yes' : 'NO']],
  );
  return { table: `Data loading (5 runs)\n${table}`, json: { mnistLoadMs: median } };
}
