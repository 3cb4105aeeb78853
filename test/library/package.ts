// Packing the toolkit as npm would publish it, and installing the tarball into a fresh project
// without a network. The package is packed from a copy of its sources, so the repository's own
// dist/ (which `npx dgp` and other tests may be running) is never rebuilt under them: the copy takes
// that dist/ when it is newer than every source (as after `npm ci`, whose prepare built it) and
// packs without scripts, else `npm pack` runs prepare and builds it there. The project installs with
// `npm ci --offline`, its lockfile pinning the dependency versions of this repository's lockfile,
// so every tarball comes from npm's cache (which `npm ci` filled) and no request leaves the machine.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** What the packed tarball needs to be built: the `files` of package.json, and the build's inputs. */
const PACK_INPUTS = ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/build-web.ts', 'src', 'bin', 'proto', 'docs'];

export interface Packed {
  tarball: string;
  /** Bytes of the .tgz, and unpacked. */
  size: number;
  unpackedSize: number;
  files: string[];
  seconds: number;
  /** Whether `npm pack` built dist/ (prepare), or took the repository's up-to-date one. */
  built: boolean;
}

/** The latest modification under a folder (bin/dgp.js applies the same rule). */
function newest(dir: string): number {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** dist/ was built from the sources as they are now (nothing in src/ is newer than its last output). */
export function distIsCurrent(): boolean {
  const main = join(ROOT, 'dist/cli/main.js');
  return existsSync(main) && newest(join(ROOT, 'src')) <= statSync(main).mtimeMs;
}

/** `npm pack` (its prepare script builds dist/) in a copy of the package's sources under `dir`. */
export function pack(dir: string): Packed {
  const copy = join(dir, 'package');
  for (const p of PACK_INPUTS) cpSync(join(ROOT, p), join(copy, p), { recursive: true, filter: (src) => !src.includes('/docs/api') });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const built = !distIsCurrent();
  if (!built) {
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    // The browser client's page, which prepare builds beside dist/.
    if (existsSync(join(ROOT, 'web/dist/index.html'))) cpSync(join(ROOT, 'web/dist'), join(copy, 'web/dist'), { recursive: true });
  }
  const t0 = performance.now();
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir, ...(built ? [] : ['--ignore-scripts'])], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = (performance.now() - t0) / 1000;
  // npm prints the build's output before its JSON.
  const [info] = JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  return { tarball: join(dir, info!.filename), size: info!.size, unpackedSize: info!.unpackedSize, files: info!.files.map((f) => f.path), seconds, built };
}

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [k: string]: unknown;
}

/**
 * A fresh project at `dir` depending on the tarball alone, with a lockfile: the tarball's entry
 * plus this repository's locked non-development packages (the toolkit's dependency tree).
 */
export function consumerProject(dir: string, tarball: string): void {
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; engines: unknown; bin: unknown };
  const spec = `file:${tarball}`;
  const project = { name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { [pkg.name]: spec } };
  const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: project.name, version: project.version, dependencies: project.dependencies },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: 'MIT',
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(project, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify({ name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
}

/** `npm ci --offline` in the project; the seconds it took. onnxruntime-node's optional CUDA download is skipped as the README says. */
export function installOffline(dir: string): number {
  const t0 = performance.now();
  execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], {
    cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  return (performance.now() - t0) / 1000;
}
