// Seeded random configurations for the primitives with index arithmetic. onnxruntime is an
// independent implementation, so eval64 == ONNX (forward and gradient) checks the float64
// kernels themselves; FD checks of random convolution settings cover more stride / dilation /
// padding / group combinations than the hand-picked table. Several configurations share one
// compiled function (one onnxruntime session per family) to keep this fast.
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import * as core from '../../src/core/index.js';
import { type ConvParams, type Sym, compile } from '../../src/core/index.js';
import { agreeAll } from './agree.js';
import { type T64, checkGrad, checkHvp, distinct, randn, wsum } from './fd.js';

interface Config {
  label: string;
  shapes: number[][];
  fn: (...xs: Sym[]) => Sym;
  /** Default: normal inputs. */
  make?: (r: Rng, s: number[]) => T64;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)]!;
const dims = (r: Rng, rank: number, lo = 1, hi = 4) => Array.from({ length: rank }, () => lo + r.int(hi - lo + 1));

/** Every config's value and gradient in one compiled function, ONNX vs float64. */
function agreeConfigs(family: string, configs: Config[]): Promise<void> {
  return agreeAll(
    family,
    configs.map((c) => ({ name: c.label, fn: c.fn, make: (r: Rng) => c.shapes.map((s) => (c.make ?? randn)(r, s)) })),
  );
}

/** Shapes b that broadcast with a (some dims 1, some dropped). */
function broadcastPartner(r: Rng, a: number[]): number[] {
  const b = a.map((d) => (r.uniform() < 0.35 ? 1 : d));
  return b.slice(r.int(b.length + 1));
}

test('fuzz: broadcasting binary ops', async () => {
  const r = new Rng(101);
  const ops = ['add', 'sub', 'mul', 'maximum'] as const;
  const cs: Config[] = [];
  for (let i = 0; i < 16; i++) {
    const op = ops[i % ops.length]!;
    const a = dims(r, 1 + r.int(4));
    const b = broadcastPartner(r, a);
    const [sa, sb] = r.uniform() < 0.5 ? [a, b] : [b, a];
    cs.push({ label: `${op} [${sa}] [${sb}]`, shapes: [sa, sb], fn: (x, y) => core[op](x!, y!), make: op === 'maximum' ? distinctAll : undefined });
  }
  await agreeConfigs('binary', cs);
});

// Values unique across all inputs of a config (so maximum/max never tie).
let ladder = 0;
function distinctAll(r: Rng, s: number[]): T64 {
  const t = distinct(r, s);
  ladder += 1;
  return { data: t.data.map((v) => v + ladder * 0.037), shape: s };
}

test('fuzz: reductions over random axis sets', async () => {
  const r = new Rng(202);
  const cs: Config[] = [];
  for (let i = 0; i < 18; i++) {
    const op = pick(r, ['sum', 'max', 'mean'] as const);
    const s = dims(r, 1 + r.int(4));
    const axes = s.map((_, k) => k).filter(() => r.uniform() < 0.5);
    const keep = r.uniform() < 0.5;
    cs.push({ label: `${op} [${s}] axes [${axes}] keepdims ${keep}`, shapes: [s], fn: (x) => core[op](x!, axes.length ? axes : undefined, keep), make: distinct });
  }
  await agreeConfigs('reduce', cs);
});

test('fuzz: transpose, slice, pad, concat, broadcastTo, reshape', async () => {
  const r = new Rng(303);
  const cs: Config[] = [];
  for (let i = 0; i < 8; i++) {
    const s = dims(r, 2 + r.int(4), 1, 3);
    const perm = [...r.permutation(s.length)];
    cs.push({ label: `transpose [${s}] [${perm}]`, shapes: [s], fn: (x) => core.transpose(x!, perm) });
    const starts = s.map((d) => r.int(d));
    const ends = s.map((d, k) => starts[k]! + 1 + r.int(d - starts[k]!));
    cs.push({ label: `slice [${s}] [${starts}]..[${ends}]`, shapes: [s], fn: (x) => core.slice(x!, starts, ends) });
    const before = s.map(() => r.int(3));
    const after = s.map(() => r.int(3));
    cs.push({ label: `pad [${s}] [${before}] [${after}]`, shapes: [s], fn: (x) => core.pad(x!, before, after) });
    const axis = r.int(s.length);
    const parts = [s, s.map((d, k) => (k === axis ? 1 + r.int(3) : d))];
    cs.push({ label: `concat axis ${axis} [${parts[0]}] [${parts[1]}]`, shapes: parts, fn: (a, b) => core.concat([a!, b!], axis) });
    const big = [2, ...s];
    const small = s.map((d) => (r.uniform() < 0.5 ? 1 : d));
    cs.push({ label: `broadcastTo [${small}] -> [${big}]`, shapes: [small], fn: (x) => core.broadcastTo(x!, big) });
    cs.push({ label: `reshape [${s}] -> [-1, ${s.at(-1)}]`, shapes: [s], fn: (x) => core.reshape(core.exp(x!), [-1, s.at(-1)!]) });
  }
  await agreeConfigs('movement', cs);
});

test('fuzz: batched matmul with broadcasting', async () => {
  const r = new Rng(404);
  const cs: Config[] = [];
  for (let i = 0; i < 10; i++) {
    const [m, k, n] = dims(r, 3, 1, 5) as [number, number, number];
    const batch = dims(r, r.int(3), 1, 3);
    const ba = broadcastPartner(r, batch);
    const bb = broadcastPartner(r, batch);
    cs.push({ label: `matmul [${ba},${m},${k}] @ [${bb},${k},${n}]`, shapes: [[...ba, m, k], [...bb, k, n]], fn: (a, b) => core.matmul(a!, b!) });
  }
  await agreeConfigs('matmul', cs);
});

/** A random valid conv2d configuration. */
function randomConv(r: Rng): { sx: number[]; sw: number[]; p: ConvParams } {
  const groups = pick(r, [1, 1, 2, 3]);
  const cg = 1 + r.int(2);
  const og = 1 + r.int(2);
  const kh = 1 + r.int(4);
  const kw = 1 + r.int(4);
  const stride: [number, number] = [1 + r.int(3), 1 + r.int(3)];
  const dilation: [number, number] = [1 + r.int(2), 1 + r.int(2)];
  const pads: [number, number, number, number] = [r.int(3), r.int(3), r.int(3), r.int(3)];
  const need = (k: number, d: number) => d * (k - 1) + 1;
  const h = Math.max(1, need(kh, dilation[0]) - pads[0] - pads[2]) + r.int(5);
  const w = Math.max(1, need(kw, dilation[1]) - pads[1] - pads[3]) + r.int(5);
  return { sx: [1 + r.int(2), cg * groups, h, w], sw: [og * groups, cg, kh, kw], p: { stride, dilation, pads, groups } };
}

test('fuzz: conv2d and convTranspose2d, ONNX vs float64', async () => {
  const r = new Rng(505);
  const cs: Config[] = [];
  for (let i = 0; i < 14; i++) {
    const { sx, sw, p } = randomConv(r);
    const label = `conv2d x [${sx}] w [${sw}] ${JSON.stringify(p)}`;
    cs.push({ label, shapes: [sx, sw], fn: (x, w) => core.conv2d(x!, w!, p) });
    // The transpose, with its output shape chosen to be that conv's input.
    const so = compile((x: Sym, w: Sym) => core.conv2d(x, w, p)).traced([sx, sw]).outputs[0]!.shape;
    cs.push({ label: `convTranspose2d of ${label}`, shapes: [so, sw], fn: (u, w) => core.convTranspose2d(u!, w!, p, sx) });
  }
  await agreeConfigs('conv', cs);
});

test('fuzz: conv2d first- and second-order FD over random settings', () => {
  const r = new Rng(606);
  for (let i = 0; i < 12; i++) {
    const { sx, sw, p } = randomConv(r);
    const f = (x: Sym, w: Sym) => wsum(core.conv2d(x, w, p));
    const xs = [randn(r, sx), randn(r, sw, 0.5)];
    try {
      checkGrad(f, xs, { directions: 2, coords: 2 });
      checkHvp(f, xs, { directions: 2 });
    } catch (e) {
      throw new Error(`conv2d x [${sx}] w [${sw}] ${JSON.stringify(p)}: ${(e as Error).message}`);
    }
  }
});
