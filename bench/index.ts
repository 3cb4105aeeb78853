// `npm run bench`: the compute tasks (the six of ../shared/reference and two at ResNet-18 scale),
// whole attack iterations, and the defenses and codec on a ResNet-18-sized gradient. Prints
// tables; `-- --json FILE` writes {task: medianMs} (ours), `torch.<task>` (PyTorch's, with
// --torch) and the other figures, for scripts to compare.
//   --torch          run PyTorch's twins (bench/torch/bench.py) right after each group of ours
//   --only core,attacks,defenses,secagg,data,net,web   (comma-separated; net: the deployment service
//                    against one process; web: onnxruntime-web in Chromium against onnxruntime-node;
//                    those two start processes or a browser and run only when asked for)
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { textTable } from '../src/report/index.js';
import { coreTasks, timeTask } from './core.js';
import { runTorch, type TorchResult } from './torch.js';

/** PyTorch 1.13 + OpenBLAS, 2 threads, from ../shared/reference/README.md (another machine). */
export const PUBLISHED_TORCH_MS: Record<string, number> = { dlg_b1: 1.5, dlg_b4: 2.3, ig_b1: 3.9, ig_b8: 14.3, train_convnet: 32.7, train_mlp: 1.2 };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const withTorch = process.argv.includes('--torch');

/** PyTorch's figures for a group: measured now with --torch, else null and why not. */
function torchFor(group: string, json: Record<string, number>): TorchResult | null {
  if (!withTorch) return null;
  const r = runTorch(group);
  if ('why' in r) {
    console.log(`\nPyTorch side by side (${group}): skipped: ${r.why}`);
    return null;
  }
  for (const [k, v] of Object.entries(r.tasks)) json[`torch.${k}`] = v;
  for (const [k, v] of Object.entries(r.extra)) json[`torch.${k}`] = v;
  return r;
}

const load = () => `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;

/** One row per task: ours, PyTorch's, the ratio. */
function sideBySide(title: string, ours: Record<string, { median: number; min: number }>, torch: TorchResult | null, fallback: Record<string, number> = {}): void {
  const spin = `our threads ${process.env.DGP_ORT_SPIN === '1' ? 'spin' : 'sleep'} when idle, PyTorch's ${process.env.OMP_WAIT_POLICY === 'PASSIVE' ? 'sleep' : 'spin (its default)'}`;
  const source = torch ? `PyTorch ${torch.engine}, measured now, right after ours; ${spin}` : withTorch ? 'PyTorch not run' : 'PyTorch: published figures where there are any (add --torch to measure here)';
  const ref = torch ? torch.tasks : fallback;
  const rows = Object.entries(ours).map(([name, r]) => {
    const t = ref[name];
    return [name, r.median.toFixed(2), r.min.toFixed(2), t?.toFixed(2) ?? '-', t ? (r.median / t).toFixed(2) : '-'];
  });
  console.log(`\n${title} (${source}; ${load()})`);
  console.log(textTable(['task', 'ours median', 'ours min', 'PyTorch', 'ours/PyTorch'], rows));
}

async function benchCore(json: Record<string, number>): Promise<void> {
  const ours: Record<string, { median: number; min: number }> = {};
  for (const t of await coreTasks()) {
    ours[t.name] = await timeTask(t);
    json[t.name] = ours[t.name]!.median;
  }
  sideBySide('Compute tasks, ms per step (median of 40 after 5 warm-up; ResNet-18: 10 or 20 after 3)', ours, torchFor('core', json), PUBLISHED_TORCH_MS);
}

async function benchAttackIterations(json: Record<string, number>): Promise<void> {
  const { benchAttacks } = await import('./attacks.js');
  const r = await benchAttacks();
  for (const [k, v] of Object.entries(r.ms)) json[k] = v.median;
  for (const [k, v] of Object.entries(r.extra)) json[k] = v;
  const torch = torchFor('attacks', json);
  sideBySide('Whole attack iterations, ms (L-BFGS: mean over 100 iterations with a full history, line search included; Adam: median of 40)', r.ms, torch);
  if (torch) console.log(`evaluations per L-BFGS iteration: ours ${r.extra['dlg_lbfgs_iter_b1.evals_per_iter']!.toFixed(2)}, PyTorch ${torch.extra['dlg_lbfgs_iter_b1.evals_per_iter']?.toFixed(2) ?? '-'}`);
}

async function benchDefenseGroup(json: Record<string, number>): Promise<void> {
  const { benchDefenses } = await import('./defenses.js');
  const r = await benchDefenses();
  console.log('\n' + r.table);
  for (const [k, v] of Object.entries(r.json)) json[`defenses.${k}`] = v;
  const torch = torchFor('defenses', json);
  if (torch) {
    const t = torch.tasks['dgp_ef_plus_encode']!;
    const ours = r.json['dgp_ef_plus_encode_ms']!;
    console.log(`DGP with EF + encode, PyTorch (torch.topk, one thread): ${t.toFixed(1)} ms; ours / PyTorch ${(ours / t).toFixed(3)}`);
  }
}

/** A group that prints its own table and gives its figures under `prefix.`. */
async function group(prefix: string, run: () => Promise<{ table: string; json: Record<string, number> }> | { table: string; json: Record<string, number> }, json: Record<string, number>): Promise<void> {
  const r = await run();
  console.log('\n' + r.table);
  for (const [k, v] of Object.entries(r.json)) json[`${prefix}.${k}`] = v;
}

async function main(): Promise<void> {
  const only = arg('--only')?.split(',');
  const want = (g: string) => !only || only.includes(g);
  const asked = (g: string) => only?.includes(g) ?? false;
  const json: Record<string, number> = {};
  if (want('core')) await benchCore(json);
  if (want('attacks')) await benchAttackIterations(json);
  if (want('defenses')) await benchDefenseGroup(json);
  if (want('secagg')) {
    await group('secagg', async () => (await import('./secagg.js')).benchSecagg(), json);
    await group('secagg.rounds', async () => (await import('./secagg-round.js')).benchSecaggRounds(), json);
  }
  if (want('data')) await group('data', async () => (await import('./data.js')).benchData(), json);
  if (asked('web')) await group('web', async () => (await import('./web.js')).benchWeb(), json);
  if (asked('net')) await group('net', async () => (await import('./net.js')).benchNet(), json);
  json.load_average = os.loadavg()[0]!;
  const out = arg('--json');
  if (out) writeFileSync(out, JSON.stringify(json, null, 2));
}

await main();
