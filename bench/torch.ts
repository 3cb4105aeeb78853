// Runs the PyTorch twins (bench/torch/bench.py) for one group of tasks with Debian's python3-torch
// (/usr/bin/python3, or DGP_TORCH_PYTHON), 2 threads as ours, or says why it cannot. PyTorch runs
// with its defaults (OpenMP threads spin a while when idle; OMP_WAIT_POLICY passes through): with
// PASSIVE its small tasks took 3-5 times longer on an idle machine, and with spinning they took
// 10-100 times longer while other jobs ran. Ours sleep by default (DGP_ORT_SPIN).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TorchResult {
  engine: string;
  tasks: Record<string, number>;
  extra: Record<string, number>;
}

const SCRIPT = fileURLToPath(new URL('./torch/bench.py', import.meta.url));

export function runTorch(group: string, threads = Number(process.env.DGP_THREADS) || 2): TorchResult | { why: string } {
  const python = process.env.DGP_TORCH_PYTHON ?? '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.error) return { why: `${python} cannot be run (${probe.error.message}); set DGP_TORCH_PYTHON to a Python with torch` };
  if (probe.status !== 0) return { why: `PyTorch is absent: ${python} cannot import torch and numpy (Debian: apt-get install python3-torch python3-numpy libopenblas0-pthread)` };
  const dir = mkdtempSync(join(tmpdir(), 'torchbench-'));
  try {
    const out = join(dir, 'torch.json');
    const r = spawnSync(python, [SCRIPT, '--only', group, '--threads', String(threads), '--json', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) return { why: `bench/torch/bench.py failed: ${(r.stderr || r.stdout).slice(-400)}` };
    return JSON.parse(readFileSync(out, 'utf8')) as TorchResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
