// The common head of every JSON result a command writes (train, compare, attack, privacy-table):
// which tool and version made it, from which git commit, when, with which effective options, in
// which layout (schemaVersion). A result file then says by itself how to make it again.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { effectiveDefenseOptions } from '../defenses/index.js';
import { writeFileAtomic } from '../files/index.js';

/** Raised when the layout of a result changes (keys renamed or removed, not added). */
export const RESULT_SCHEMA_VERSION = 1;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ResultHead {
  schemaVersion: number;
  tool: { name: string; version: string; gitCommit: string | null };
  /** ISO 8601, UTC. */
  createdAt: string;
  command: string;
  /** Every option the command ran with, defaults included (a defense's through its own parser). */
  options: Record<string, unknown>;
}

let tool: ResultHead['tool'] | undefined;

/** This package's name and version, and the commit of its git checkout (null outside one, or without git). */
export function toolInfo(): ResultHead['tool'] {
  if (tool) return tool;
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { name: string; version: string };
  return (tool = { name: pkg.name, version: pkg.version, gitCommit: gitCommit(ROOT) });
}

/** HEAD of the checkout at `root`, only when `root` is that checkout's top (not a project that installed us). */
export function gitCommit(root: string): string | null {
  try {
    const [top, head] = execFileSync('git', ['rev-parse', '--show-toplevel', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim().split('\n');
    const same = (a: string) => a.replace(/\/+$/, '');
    return top && head && same(top) === same(root) && /^[0-9a-f]{40,64}$/.test(head) ? head : null;
  } catch {
    return null;
  }
}

/** The head of a result: `options` as the command ran with them. */
export function resultHead(command: string, options: object, now = new Date()): ResultHead {
  return { schemaVersion: RESULT_SCHEMA_VERSION, tool: toolInfo(), createdAt: now.toISOString(), command, options: jsonSafe(options) };
}

/**
 * Options with the defense's defaults filled in: `defense` (a name) and `defenseOptions` (every
 * option it runs with, e.g. dgp's pTop, pKeep, tinyTensor and ef).
 */
export function withDefenseDefaults<T extends object>(options: T, defense: { name: string; options: Record<string, unknown> }): T & { defense: string; defenseOptions: Record<string, unknown> } {
  return { ...options, defense: defense.name, defenseOptions: effectiveDefenseOptions(defense.name, defense.options) };
}

/** Writes head and body as one JSON file, atomically (a crash leaves the old file or the new one). */
export function writeResult(path: string, head: ResultHead, body: Record<string, unknown>): void {
  writeFileAtomic(path, `${JSON.stringify({ ...head, ...body }, null, 2)}\n`);
}

/** Drops undefined and functions, so what is written is what is read back. */
function jsonSafe(o: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
}
