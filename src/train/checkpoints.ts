// The checkpoint folder, for centralised and federated runs alike, written so that a crash at
// any moment leaves either the previous checkpoint or the new one, never a mixture:
//   DIR/round-000040/ (or step-001234/)  its files and manifest.json (sizes, SHA-256, a summary)
//   DIR/latest                             the name of the newest complete folder
// A folder is written under a temporary name, its files flushed, then renamed; only then is
// `latest` replaced (itself by write-and-rename). Reading checks every file against the sizes
// and SHA-256 sums in the manifest before trusting any of it. A folder that already holds another
// run's checkpoint is not written into unless the caller says so (checkCheckpointTarget).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const CHECKPOINT_FORMAT = 1;
/** A checkpoint folder: round-NNNNNN (federated) or step-NNNNNN (centralised). */
export const ROUND_DIR = /^(round|step)-(\d{6,})$/;

/** What a checkpoint is of, kept in its manifest so a folder can be described without reading its state. */
export interface CheckpointSummary {
  /** 'federated' (rounds) or 'centralised' (steps). */
  kind: 'federated' | 'centralised';
  /** Rounds or steps done, and planned. */
  done: number;
  planned: number;
  dataset: string;
  model: string;
  /** ISO time of writing. */
  writtenAt: string;
}

const summarySchema = z.object({
  kind: z.enum(['federated', 'centralised']),
  done: z.number().int().min(0),
  planned: z.number().int().min(0),
  dataset: z.string(),
  model: z.string(),
  writtenAt: z.string(),
});

const manifestSchema = z.object({
  format: z.number().int(),
  round: z.number().int().min(0).optional(),
  summary: summarySchema.optional(),
  files: z.record(z.object({ bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

export function roundFolderName(round: number, unit: 'round' | 'step' = 'round'): string {
  return `${unit}-${String(round).padStart(6, '0')}`;
}

/**
 * Writes `files` (and their manifest, with `summary` when given) as DIR/round-R (or step-R),
 * points `latest` at it and keeps the newest `keep` folders.
 */
export function writeRoundFolder(
  dir: string,
  round: number,
  files: Record<string, Uint8Array>,
  o: { format: number; keep: number; unit?: 'round' | 'step'; summary?: CheckpointSummary },
): string {
  mkdirSync(dir, { recursive: true });
  const name = roundFolderName(round, o.unit);
  const manifest = {
    format: o.format,
    round,
    ...(o.summary ? { summary: o.summary } : {}),
    files: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, { bytes: b.length, sha256: sha256(b) }])),
  };
  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [f, bytes] of Object.entries({ ...files, 'manifest.json': Buffer.from(JSON.stringify(manifest)) })) writeDurably(join(tmp, f), bytes);
  rmSync(join(dir, name), { recursive: true, force: true });
  renameSync(tmp, join(dir, name));
  writeDurably(join(dir, `.latest-${process.pid}`), Buffer.from(`${name}\n`));
  renameSync(join(dir, `.latest-${process.pid}`), join(dir, 'latest'));
  // Older folders beyond those kept (another run's too) are no longer pointed at; a crash before this only leaves extra folders.
  const older = savedFolders(dir).filter((f) => f.name !== name).sort((a, b) => b.round - a.round).slice(Math.max(0, o.keep - 1));
  for (const f of older) rmSync(join(dir, f.name), { recursive: true, force: true });
  return join(dir, name);
}

/** The checkpoint folders in dir (complete or not: readRoundFolder checks). */
export function savedFolders(dir: string): { name: string; round: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const m = ROUND_DIR.exec(name);
    return m ? [{ name, round: Number(m[2]) }] : [];
  });
}

/** The folder `latest` names; fail() says why there is none. */
export function latestRoundFolder(dir: string, fail: (why: string) => never): string {
  const latest = join(dir, 'latest');
  if (!existsSync(latest)) fail('no "latest" file: not a checkpoint folder, or no checkpoint was completed');
  const name = readFileSync(latest, 'utf8').trim();
  if (!ROUND_DIR.test(name)) fail(`"latest" names ${JSON.stringify(name)}, not a checkpoint folder`);
  return join(dir, name);
}

/** The manifest of a folder, checked (its files' sizes and sums, and the summary where there is one). */
function readManifest(folder: string, fail: (why: string) => never): z.infer<typeof manifestSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  } catch (e) {
    return fail(`manifest.json is missing or damaged (${(e as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  return parsed.success ? parsed.data : fail(`${join(folder, 'manifest.json')}: ${issueText(parsed.error)}`);
}

/** The named files of a folder, each checked against the manifest's size and SHA-256. */
export function readRoundFolder(folder: string, names: readonly string[], fail: (why: string) => never): Record<string, Buffer> {
  const manifest = readManifest(folder, fail);
  const out: Record<string, Buffer> = {};
  for (const f of names) {
    const want = manifest.files[f];
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

/** The summary a folder's manifest carries (checkpoints written before summaries have none). */
export function folderSummary(folder: string, fail: (why: string) => never): CheckpointSummary | undefined {
  return readManifest(folder, fail).summary;
}

/** A zod error as one line: the first issue, with its path. */
export function issueText(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.length ? `field "${issue.path.join('.')}"` : 'the file'}: ${issue.message}`;
}

/** One line on what a checkpoint folder holds, or null when it holds none. */
export function describeCheckpoint(dir: string): string | null {
  if (!existsSync(join(dir, 'latest')) && savedFolders(dir).length === 0) return null;
  try {
    const name = readFileSync(join(dir, 'latest'), 'utf8').trim();
    const summary = folderSummary(join(dir, name), (why) => {
      throw new Error(why);
    });
    if (!summary) return `a checkpoint (${name})`;
    const unit = summary.kind === 'federated' ? 'round' : 'step';
    return `a checkpoint of a ${summary.kind} run (${summary.model} on ${summary.dataset}, ${unit} ${summary.done} of ${summary.planned}, written ${summary.writtenAt})`;
  } catch {
    return 'checkpoint files (no complete checkpoint)';
  }
}

/**
 * Refuses to let a run's checkpoints replace another run's: DIR may be new, empty of
 * checkpoints, the folder this run resumes from, or `force` must be given. The old checkpoint
 * stays until this run writes its first one.
 */
export function checkCheckpointTarget(dir: string, o: { resume?: string; force?: boolean }): void {
  if (o.force) return;
  if (o.resume !== undefined && resolve(o.resume) === resolve(dir)) return;
  const there = describeCheckpoint(dir);
  if (there === null) return;
  throw new CheckpointExistsError(
    `--checkpoint ${dir} already holds ${there}; continue that run with --resume ${dir} --checkpoint ${dir}, ` +
      'let this run replace it with --force (it stays until this run writes its first checkpoint), or give another folder',
  );
}

export class CheckpointExistsError extends Error {}

/** The first key path at which two specs differ, or null. */
export function specDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return Object.is(a, b) ? null : `${path || 'spec'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = specDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}

/**
 * Why a run cannot resume from the checkpoint in `dir` written by `saved`, or null. Its length
 * (`length`: 'rounds' or 'epochs') may grow, except under a cosine schedule, which spans the
 * length first planned; the message says what differs, why that matters and what works.
 */
export function resumeRefusal(dir: string, saved: { schedule: string } & Record<string, unknown>, now: Record<string, unknown>, length: 'rounds' | 'epochs'): string | null {
  const extendable = saved.schedule !== 'cosine';
  const comparable = (x: Record<string, unknown>) => (extendable ? { ...x, [length]: 0 } : x);
  const diff = specDifference(comparable(saved), comparable(now));
  if (!diff) return null;
  const head = `cannot resume from ${dir}: it was written by a different run (${diff})`;
  if (diff.startsWith(`${length}:`)) {
    return `${head}: its cosine schedule decays the learning rate to 0 over the ${saved[length]} ${length} it planned, so resuming cannot change --${length}; ` +
      `resume with --${length} ${saved[length]}, or start a new run of ${now[length]} (another --checkpoint folder, or --force); runs under a constant or step schedule can be extended`;
  }
  return `${head}; resume with that run's options (its state.json "spec" holds them all), or start a new run in another --checkpoint folder or with --force`;
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
