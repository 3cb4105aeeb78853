// Long attacks resume: an experiment keeps every finished case (its record and images) and, inside
// a case, the Adam state every so many steps, in stores the caller provides (the command line keeps
// them as files, src/cli/resume-files.ts). A store belongs to one setting: its key says which, and
// a store asked to resume a different setting refuses rather than mixing results.
import type { AttackRecord } from './evaluate.js';
import type { AdamSnapshot } from './optimize.js';
import type { AdamState } from './matching.js';

/** A finished case: its record and its de-normalised ground truth and reconstruction. */
export interface StoredCase {
  record: AttackRecord;
  truth: Float32Array;
  recon: Float32Array;
}

export interface CaseStore {
  load(k: number): StoredCase | undefined;
  save(k: number, c: StoredCase): void;
}

/** Plain JSON for a snapshot (float32 values survive the trip through JS numbers exactly). */
export function snapshotToJson(s: AdamSnapshot): unknown {
  const arr = (a: Float32Array) => Array.from(a);
  const state = (x: AdamState) => ({ x: arr(x.x), labels: arr(x.labels), mx: arr(x.mx), vx: arr(x.vx), ml: arr(x.ml), vl: arr(x.vl) });
  return { t: s.t, iterations: s.iterations, restarts: s.restarts, states: s.states.map(state), best: s.best.map((b) => ({ loss: b.loss, x: arr(b.x), labels: arr(b.labels) })) };
}

export function snapshotFromJson(j: unknown, source: string): AdamSnapshot {
  const o = j as { t: number; iterations: number; restarts: number; states: Record<string, number[]>[]; best: { loss: number | null; x: number[]; labels: number[] }[] };
  if (!o || typeof o.t !== 'number' || !Array.isArray(o.states) || !Array.isArray(o.best) || o.states.length !== o.best.length) {
    throw new Error(`${source}: not an attack snapshot (t, states and best expected)`);
  }
  const f = (a: number[] | undefined, what: string) => {
    if (!Array.isArray(a)) throw new Error(`${source}: snapshot field ${what} is missing`);
    return Float32Array.from(a);
  };
  return {
    t: o.t,
    iterations: o.iterations,
    restarts: o.restarts,
    states: o.states.map((s, r) => ({ x: f(s.x, `states[${r}].x`), labels: f(s.labels, `states[${r}].labels`), mx: f(s.mx, `states[${r}].mx`), vx: f(s.vx, `states[${r}].vx`), ml: f(s.ml, `states[${r}].ml`), vl: f(s.vl, `states[${r}].vl`) })),
    // JSON has no Infinity: a restart with no step yet is written as null.
    best: o.best.map((b, r) => ({ loss: b.loss ?? Infinity, x: f(b.x, `best[${r}].x`), labels: f(b.labels, `best[${r}].labels`) })),
  };
}
