#!/usr/bin/env node
// Runs the test suite with Node's built-in runner through tsx.
// Default: every test/**/*.test.ts except *.slow.test.ts; --slow: only the slow end-to-end ones.
// Every test runs under a timeout, so a hung test fails with its name instead of stalling the run.
// Node 20 applies --test-timeout to each test and to each file as a whole: 120 s in the default
// suite (the slowest file, test/attacks/real-images.test.ts, takes about 16 s alone on 2 cores),
// 25 minutes in the slow one (its one file takes about 6.5 minutes on a quiet machine and ran
// past 15 minutes while four other sessions shared the 2 cores). DGP_TEST_TIMEOUT_MS overrides both.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const slow = process.argv.includes('--slow');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = walk('test').filter((f) => f.endsWith('.slow.test.ts') === slow)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
export const TIMEOUT_MS = { default: 120_000, slow: 1_500_000 };
const timeout = Number(process.env.DGP_TEST_TIMEOUT_MS ?? (slow ? TIMEOUT_MS.slow : TIMEOUT_MS.default));
if (!Number.isInteger(timeout) || timeout <= 0) {
  console.error(`DGP_TEST_TIMEOUT_MS must be a positive integer of milliseconds (got "${process.env.DGP_TEST_TIMEOUT_MS}")`);
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${timeout}`, ...files], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
