// The files behind a resumable experiment: DIR/<name>.cases/ holds case-K.json for every finished
// case and snap-K.json for the case in progress (its Adam state, every --snapshot-every steps).
// Each file carries the setting's key; a folder of another setting is refused with its path.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/index.js';
import { type AttackRecord, type CaseStore, type SnapshotStore, snapshotFromJson, snapshotToJson, type StoredCase } from '../attacks/index.js';

function readKeyed(path: string, key: string): unknown {
  const j = JSON.parse(readFileSync(path, 'utf8')) as { key?: string; value?: unknown };
  if (j.key !== key) {
    throw new Error(`${path} was made with another setting (${j.key ?? 'none'}), not this one (${key}); remove ${path.replace(/\/[^/]+$/, '')} or write to another --out`);
  }
  return j.value;
}

export interface ResumeFiles {
  cases: CaseStore;
  snapshots(k: number): SnapshotStore;
  /** Cases already finished when the run started. */
  finished: number;
}

/** The stores of one experiment (`name`, e.g. 'attack' or a privacy-table row) under `dir`. */
export function resumeFiles(dir: string, name: string, key: string, snapshotEvery: number): ResumeFiles {
  const folder = join(dir, `${name}.cases`);
  mkdirSync(folder, { recursive: true });
  const casePath = (k: number) => join(folder, `case-${k}.json`);
  const snapPath = (k: number) => join(folder, `snap-${k}.json`);
  let finished = 0;
  while (existsSync(casePath(finished))) finished++;
  const cases: CaseStore = {
    load(k) {
      if (!existsSync(casePath(k))) return undefined;
      const v = readKeyed(casePath(k), key) as { record: AttackRecord; truth: number[]; recon: number[] };
      return { record: v.record, truth: Float32Array.from(v.truth), recon: Float32Array.from(v.recon) };
    },
    save(k, c: StoredCase) {
      writeFileAtomic(casePath(k), JSON.stringify({ key, value: { record: c.record, truth: Array.from(c.truth), recon: Array.from(c.recon) } }));
      rmSync(snapPath(k), { force: true });
    },
  };
  return {
    cases,
    finished,
    snapshots: (k) => ({
      every: snapshotEvery,
      load: () => (existsSync(snapPath(k)) ? snapshotFromJson(readKeyed(snapPath(k), key), snapPath(k)) : undefined),
      save: (s) => writeFileAtomic(snapPath(k), JSON.stringify({ key, value: snapshotToJson(s) })),
    }),
  };
}
