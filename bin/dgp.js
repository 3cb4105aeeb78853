#!/usr/bin/env node
// Entry point of the `dgp` command. An installed package runs its compiled JavaScript (dist/; the
// tarball carries no src/). In a checkout of the repository, dist/ (built by `npm ci` through
// `prepare`, or by `npm run build`) runs while it is newer than everything under src/; once a
// source is edited, added or removed, the sources run through tsx (a dev dependency) instead, so
// `npx dgp` never runs stale code and never needs a build to see an edit.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
const sources = new URL('src/', root);

/** The latest modification time of a folder and everything in it (a removal touches its folder). */
function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (existsSync(sources) && (!existsSync(compiled) || newest(sources) > statSync(compiled).mtimeMs)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('dgp: src/ is newer than dist/ and tsx (a dev dependency) is not installed: run `npm ci` or `npm run build`');
    process.exit(1);
  }
  register();
  await import(new URL('src/cli/main.ts', root).href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error(`dgp: ${compiled.pathname} is missing: this installation of dgp-toolkit is incomplete (reinstall it)`);
  process.exit(1);
}
