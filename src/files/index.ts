// Node-side file writing shared by everything that saves results, models and states: a file is
// written beside its place under a temporary name and renamed over it, so a crash leaves the old
// file or the new one, never a truncated one.
import { renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

/** The temporary name `path` is written under before the rename (it contains `.tmp-`). */
export function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/** Writes `data` to `path` atomically. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempPath(path);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** The same, without blocking the event loop. */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(path);
  await writeFile(tmp, data);
  await rename(tmp, path);
}
