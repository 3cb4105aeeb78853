#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` and `npm pack` run it): compiles src/ to dist/ (ESM
// JavaScript and .d.ts) with tsconfig.build.json. dist/ is removed first, so a deleted source
// leaves no stale module behind to be packed; a failed compile emits nothing (noEmitOnError).
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) console.error('build: tsc failed; dist/ was not written');
process.exit(r.status ?? 1);
