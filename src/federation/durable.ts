// Round folders written so that a crash at any moment leaves either the previous state or the new
// one, never a mixture: DIR/round-000040/ with its files and a manifest of their sizes and SHA-256
// sums, and DIR/latest naming the newest complete folder. A folder is written under a temporary
// name, its files flushed, then renamed; only then is `latest` replaced (itself by write-and-
// rename), and only then are older folders beyond the ones kept removed. Reading checks every
// file against the manifest before trusting any of it. Server checkpoints and the states that
// remote clients keep of themselves both use this.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const ROUND_DIR = /^round-(\d{6,})$/;

export function roundFolderName(round: number): string {
  return `round-${String(round).padStart(6, '0')}`;
}

/** Writes `files` (and their manifest) as DIR/round-R, points `latest` at it and keeps the newest `keep` folders. */
export function writeRoundFolder(dir: string, round: number, files: Record<string, Uint8Array>, o: { format: number; keep: number }): string {
  mkdirSync(dir, { recursive: true });
  const name = roundFolderName(round);
  const manifest = { format: o.format, round, files: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, { bytes: b.length, sha256: sha256(b) }])) };
  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [f, bytes] of Object.entries({ ...files, 'manifest.json': Buffer.from(JSON.stringify(manifest)) })) writeDurably(join(tmp, f), bytes);
  rmSync(join(dir, name), { recursive: true, force: true });
  renameSync(tmp, join(dir, name));
  writeDurably(join(dir, `.latest-${process.pid}`), Buffer.from(`${name}\n`));
  renameSync(join(dir, `.latest-${process.pid}`), join(dir, 'latest'));
  // Older rounds beyond those kept are no longer needed; a crash before this line only leaves extra folders.
  const older = savedRounds(dir).filter((r) => r !== round).sort((a, b) => b - a).slice(Math.max(0, o.keep - 1));
  for (const r of older) rmSync(join(dir, roundFolderName(r)), { recursive: true, force: true });
  return join(dir, name);
}

/** The rounds that have a folder in dir (complete or not: readRoundFolder checks). */
export function savedRounds(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const m = ROUND_DIR.exec(f);
    return m ? [Number(m[1])] : [];
  }).sort((a, b) => a - b);
}

/** The round folder `latest` names; fail() says why there is none. */
export function latestRoundFolder(dir: string, fail: (why: string) => never): string {
  const latest = join(dir, 'latest');
  if (!existsSync(latest)) fail('no "latest" file: not a checkpoint folder, or no checkpoint was completed');
  const name = readFileSync(latest, 'utf8').trim();
  if (!ROUND_DIR.test(name)) fail(`"latest" names ${JSON.stringify(name)}, not a round folder`);
  return join(dir, name);
}

/** The named files of a round folder, each checked against the manifest's size and SHA-256. */
export function readRoundFolder(folder: string, names: readonly string[], fail: (why: string) => never): Record<string, Buffer> {
  let manifest: { format: number; files: Record<string, { bytes: number; sha256: string }> };
  try {
    manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  } catch (e) {
    return fail(`manifest.json is missing or damaged (${(e as Error).message})`);
  }
  const out: Record<string, Buffer> = {};
  for (const f of names) {
    const want = manifest.files?.[f];
    if (!want) fail(`manifest.json does not list ${f}`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(folder, f));
    } catch (e) {
      return fail(`cannot read ${f} (${(e as Error).message})`);
    }
    if (bytes.length !== want!.bytes) fail(`${f} has ${bytes.length} bytes, the manifest says ${want!.bytes} (written partly?)`);
    if (sha256(bytes) !== want!.sha256) fail(`${f} does not match its SHA-256 in the manifest (damaged)`);
    out[f] = bytes;
  }
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes and flushes a file, so a rename after it never exposes unwritten data. */
function writeDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
