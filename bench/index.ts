// `npm run bench`: the compute tasks of ../shared/reference against PyTorch, the defenses and codec
// on a ResNet-18-sized gradient, and attack iteration rates. Prints tables; `-- --json FILE` writes
// {task: medianMs} (and the other figures) for scripts to compare.
//   --torch          also run PyTorch's torch_bench.py side by side (needs python3-torch and ../shared)
//   --only core|defenses|attacks|data|secagg|net|web  (net: the deployment service against one process; web: onnxruntime-web in
//                    Chromium against onnxruntime-node; those two only when asked for)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { textTable } from '../src/report/index.js';
import { coreTasks, timeTask } from './core.js';

/** PyTorch 1.13 + OpenBLAS, 2 threads, from ../shared/reference/README.md. */
export const PUBLISHED_TORCH_MS: Record<string, number> = { dlg_b1: 1.5, dlg_b4: 2.3, ig_b1: 3.9, ig_b8: 14.3, train_convnet: 32.7, train_mlp: 1.2 };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs ../shared/reference/torch_bench.py now, on this machine, or returns null with the reason. */
function torchSideBySide(): { ms: Record<string, number> } | { why: string } {
  const ref = fileURLToPath(new URL('../../shared/reference/', import.meta.url));
  if (!existsSync(join(ref, 'torch_bench.py'))) return { why: '../shared/reference is absent' };
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { why: 'python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)' };
  const dir = mkdtempSync(join(tmpdir(), 'torchbench-'));
  mkdirSync(join(dir, 'data'));
  for (const f of ['torch_bench.py', 'io_util.py', 'models.py']) cpSync(join(ref, f), join(dir, f));
  for (const f of ['tensors.json', 'tensors.bin']) cpSync(join(ref, f), join(dir, 'data', f));
  const r = spawnSync('/usr/bin/python3', ['torch_bench.py', '2', 'torch'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) return { why: `torch_bench.py failed: ${r.stderr.slice(-300)}` };
  const res = JSON.parse(readFileSync(join(dir, 'results', 'torch.json'), 'utf8')) as { tasks: Record<string, { median_ms: number }> };
  return { ms: Object.fromEntries(Object.entries(res.tasks).map(([k, v]) => [k, v.median_ms])) };
}

async function benchCore(json: Record<string, number>): Promise<void> {
  const ours: Record<string, { median: number; min: number }> = {};
  for (const t of await coreTasks()) ours[t.name] = await timeTask(t);
  let torch: Record<string, number> = PUBLISHED_TORCH_MS;
  let source = 'published (../shared/reference/README.md)';
  if (process.argv.includes('--torch')) {
    const r = torchSideBySide();
    if ('ms' in r) {
      torch = r.ms;
      source = 'measured now, side by side';
    } else source += `; side-by-side run skipped: ${r.why}`;
  }
  const rows = Object.entries(ours).map(([name, r]) => {
    json[name] = r.median;
    const t = torch[name];
    return [name, r.median.toFixed(2), r.min.toFixed(2), t?.toFixed(2) ?? '-', t ? (r.median / t).toFixed(2) : '-'];
  });
  console.log(`\nCompute tasks (ms per step, median of 40 after 5 warm-up; PyTorch: ${source})`);
  console.log(textTable(['task', 'ours median', 'ours min', 'PyTorch', 'ours/PyTorch'], rows));
}

async function main(): Promise<void> {
  const only = arg('--only');
  const json: Record<string, number> = {};
  if (!only || only === 'core') await benchCore(json);
  if (!only || only === 'defenses') {
    const { benchDefenses } = await import('./defenses.js');
    const r = await benchDefenses();
    console.log('\n' + r.table);
    for (const [k, v] of Object.entries(r.json)) json[`defenses.${k}`] = v;
  }
  if (!only || only === 'attacks') {
    const path = fileURLToPath(new URL('./attacks.ts', import.meta.url));
    if (existsSync(path)) {
      const { benchAttacks } = (await import(pathToFileURL(path).href)) as { benchAttacks: () => Promise<{ table: string; json: Record<string, number> }> };
      const r = await benchAttacks();
      console.log('\n' + r.table);
      for (const [k, v] of Object.entries(r.json)) json[`attacks.${k}`] = v;
    }
  }
  if (!only || only === 'secagg') {
    const { benchSecagg } = await import('./secagg.js');
    const r = await benchSecagg();
    console.log('\n' + r.table);
    for (const [k, v] of Object.entries(r.json)) json[`secagg.${k}`] = v;
    const { benchSecaggRounds } = await import('./secagg-round.js');
    const f = await benchSecaggRounds();
    console.log('\n' + f.table);
    for (const [k, v] of Object.entries(f.json)) json[`secagg.rounds.${k}`] = v;
  }
  if (!only || only === 'data') {
    const { benchData } = await import('./data.js');
    const r = benchData();
    console.log('\n' + r.table);
    for (const [k, v] of Object.entries(r.json)) json[`data.${k}`] = v;
  }
  if (only === 'web') {
    // Not in the default run either: it needs Chromium and builds the page.
    const { benchWeb } = await import('./web.js');
    const r = await benchWeb();
    console.log('\n' + r.table);
    for (const [k, v] of Object.entries(r.json)) json[`web.${k}`] = v;
  }
  if (only === 'net') {
    // Not in the default run: it starts processes and takes a few minutes.
    const { benchNet } = await import('./net.js');
    const r = await benchNet();
    console.log('\n' + r.table);
    for (const [k, v] of Object.entries(r.json)) json[`net.${k}`] = v;
  }
  const out = arg('--json');
  if (out) writeFileSync(out, JSON.stringify(json, null, 2));
}

await main();
