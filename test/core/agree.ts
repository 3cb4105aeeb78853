// ONNX (onnxruntime, float32) against the float64 interpreter for many small cases at once: all
// cases of a family go into one compiled function (one onnxruntime session), each contributing its
// value and the gradient of a weighted sum of it, and every mismatch is reported by case name.
import assert from 'node:assert/strict';
import { Rng } from '../../src/common/rng.js';
import { type Compiled, type Sym, compile, grad } from '../../src/core/index.js';
import { type T64, relL2, seedOf, wsum } from './fd.js';

export const TOL = 1e-5;

export interface AgreeCase {
  name: string;
  fn: (...xs: Sym[]) => Sym;
  make: (r: Rng) => T64[];
  /** Inputs to differentiate (default all); the others are masks or labels. */
  wrt?: number[];
}

export type F32 = { data: Float32Array; shape: number[] };
export const f32 = (x: T64): F32 => ({ data: Float32Array.from(x.data), shape: x.shape });

/** Relative L2 error, or the largest magnitude where the float64 result is exactly zero. */
export function mismatch(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let allZero = true;
  for (let i = 0; i < want.length; i++) if (want[i] !== 0) allZero = false;
  if (!allZero) return relL2(got, want);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i]!));
  return m;
}

/** Runs a compiled function both ways; returns one line per output above the tolerance. */
export async function compareRuns(c: Compiled, ins: F32[], labels?: string[]): Promise<string[]> {
  const want = c.eval64(ins);
  const got = await c.run(ins);
  assert.equal(got.length, want.length, `${c.name}: number of outputs`);
  const bad: string[] = [];
  want.forEach((w, k) => {
    const e = mismatch(got[k]!, w);
    if (!(e < TOL)) bad.push(`${labels?.[k] ?? `output ${k}`}: relative L2 error ${e.toExponential(2)} (onnx ${[...got[k]!.slice(0, 3)]} vs f64 ${[...w.slice(0, 3)]})`);
  });
  return bad;
}

export async function agreeAll(family: string, cases: AgreeCase[]): Promise<void> {
  const ins: F32[] = [];
  const spans: [number, number][] = [];
  const labels: string[] = [];
  for (const c of cases) {
    const xs = c.make(new Rng(seedOf(c.name))).map(f32);
    spans.push([ins.length, ins.length + xs.length]);
    ins.push(...xs);
    labels.push(`${c.name}: value`, ...(c.wrt ?? xs.map((_, i) => i)).map((i) => `${c.name}: gradient of input ${i}`));
  }
  const compiled = compile(
    (...all: Sym[]) =>
      cases.flatMap((c, k) => {
        const xs = all.slice(spans[k]![0], spans[k]![1]);
        const y = c.fn(...xs);
        return [y, ...grad(wsum(y), (c.wrt ?? xs.map((_, i) => i)).map((i) => xs[i]!))];
      }),
    { name: family },
  );
  const bad = await compareRuns(compiled, ins, labels);
  assert.deepEqual(bad, [], `${family}: ONNX and float64 disagree:\n${bad.join('\n')}`);
}
