// Building blocks that turn per-tensor rules into defenses and defenses into bigger ones:
// error feedback around any compressor, a chain of stages, a renamed defense.
import { type Rng, sizeOf, type NamedTensor, type TensorList, addInto, denseUpdate, densify, sparseUpdate, type ClientUpdate, type UpdateTensor } from '../common/index.js';
import { correctedRange } from './corrected.js';
import { measure, sumSquares } from './report.js';
import { gather, magnitudeRange } from './select.js';
import type { ApplyContext, Defense, Layout } from './types.js';

/** A stateless defense applying `compress` to each tensor on its own. */
export function perTensor(name: string, compress: (t: NamedTensor, rng: Rng) => UpdateTensor): Defense<null> {
  return {
    name,
    init: () => null,
    apply(grad, _state, rng) {
      const update = grad.map((t) => compress(t, rng));
      return { update, state: null, report: measure(grad, update) };
    },
  };
}

/**
 * A rule that sends, per tensor, the entries of rank [from, to) of |g| (larger first, ties by
 * lower index): DGP's band, Top-k's top. Error feedback around it ranks g + e while adding it.
 */
export interface RankBand {
  /** [from, to) for a tensor of n entries. */
  readonly rankBand: (n: number) => [number, number];
}

/** A stateless defense sending each tensor's rank band (DGP, Top-k). */
export function perTensorBand(name: string, rankBand: (n: number) => [number, number]): Defense<null> & RankBand {
  const d = perTensor(name, (t) => {
    const idx = magnitudeRange(t.data, t.name, ...rankBand(t.data.length));
    return sparseUpdate(t.name, t.shape, idx, gather(t.data, idx));
  });
  return { ...d, rankBand };
}

/** Sends the gradient as it is (dense): the undefended baseline. */
export function none(): Defense<null> {
  return perTensor('none', (t) => denseUpdate(t.name, t.shape, t.data.slice()));
}

export interface ErrorFeedbackState<S> {
  /** Per tensor, what was computed but not yet sent. */
  residual: Float32Array[];
  inner: S;
}

/**
 * Error feedback, per client and per tensor: g <- g + e; send C(g); e <- g - C(g). Nothing the
 * compressor drops is lost, only delayed.
 */
export function withErrorFeedback<S>(inner: Defense<S>): Defense<ErrorFeedbackState<S>> {
  if ('rankBand' in inner) return bandWithErrorFeedback(inner as Defense<S> & RankBand);
  return {
    name: `ef(${inner.name})`,
    init(layout: Layout) {
      return { residual: layout.map((t) => new Float32Array(sizeOf(t.shape))), inner: inner.init(layout) };
    },
    apply(grad: TensorList, state: ErrorFeedbackState<S>, rng: Rng, ctx?: ApplyContext) {
      const gradSquares: number[] = [];
      const corrected = addResidual(grad, state.residual, gradSquares);
      const r = inner.apply(corrected, state.inner, rng, ctx);
      // The corrected gradient minus what was sent is the next residual: reuse its buffer.
      const residual = corrected.map((c, i) => {
        addInto(c.data, r.update[i]!, -1);
        return c.data;
      });
      // ||residual|| = ||c - C(c)||: the inner report's distance.
      const extra = { ...r.report.extra, residualNorm: r.report.gradDistance };
      return { update: r.update, state: { residual, inner: r.state }, report: measure(grad, r.update, extra, gradSquares) };
    },
  };
}

/**
 * Error feedback around a rank band, tensor by tensor: c = g + e and its band in one pass
 * (corrected.ts), then the sent entries leave the residual. Same update, state and report, bit for
 * bit, as the general form above with the inner defense applied to addResidual's output.
 */
function bandWithErrorFeedback<S>(inner: Defense<S> & RankBand): Defense<ErrorFeedbackState<S>> {
  return {
    name: `ef(${inner.name})`,
    init: (layout: Layout) => ({ residual: layout.map((t) => new Float32Array(sizeOf(t.shape))), inner: inner.init(layout) }),
    apply(grad: TensorList, state: ErrorFeedbackState<S>) {
      if (grad.length !== state.residual.length) {
        throw new Error(`error feedback: gradient has ${grad.length} tensors, residual ${state.residual.length}`);
      }
      const gradSquares: number[] = [];
      const residual: Float32Array[] = [];
      // ||c - C(c)||^2 summed as report.ts's measure sums it (per tensor, clamped at 0).
      let residualSquares = 0;
      const update = grad.map((t, i) => {
        const r = correctedRange(t.data, state.residual[i]!, t.name, ...inner.rankBand(t.data.length));
        gradSquares.push(r.gradSquares);
        const values = new Float32Array(r.indices.length);
        residualSquares += Math.max(0, takeBand(r.corrected, r.indices, values, r.correctedSquares));
        residual.push(r.corrected);
        return sparseUpdate(t.name, t.shape, r.indices, values);
      });
      const residualNorm = Math.sqrt(residualSquares);
      return { update, state: { residual, inner: state.inner }, report: measure(grad, update, { residualNorm }, gradSquares) };
    },
  };
}

/**
 * Moves the band out of c in one sweep: values[j] = c[idx[j]], then c[idx[j]] = +0 (what c + (-1) c
 * gives), so c becomes the next residual. Returns ||c - C(c)||^2 for this tensor, accumulated as
 * report.ts's measure accumulates it from `squares` = sum c^2. (A function of its own: V8 runs it
 * fully optimised.)
 */
function takeBand(c: Float32Array, idx: Uint32Array, values: Float32Array, squares: number): number {
  let td2 = squares;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    const x = c[i]!;
    values[j] = x;
    const d = x - values[j]!;
    td2 += d * d - x * x;
    c[i] = 0;
  }
  return td2;
}

/** g + e as new tensors; throws when the residual does not fit the gradient. Pushes each ||g_t||^2 to `gradSquares` when given. */
export function addResidual(grad: TensorList, residual: readonly Float32Array[], gradSquares?: number[]): TensorList {
  if (grad.length !== residual.length) {
    throw new Error(`error feedback: gradient has ${grad.length} tensors, residual ${residual.length}`);
  }
  return grad.map((t, i) => {
    const e = residual[i]!;
    if (e.length !== t.data.length) {
      throw new Error(`error feedback: tensor "${t.name}" has ${t.data.length} entries, residual ${e.length}`);
    }
    const c = new Float32Array(e.length);
    const g = t.data;
    let a = 0;
    let b = 0;
    const m = c.length & ~1;
    for (let j = 0; j < m; j += 2) {
      c[j] = g[j]! + e[j]!;
      c[j + 1] = g[j + 1]! + e[j + 1]!;
      a += g[j]! * g[j]!;
      b += g[j + 1]! * g[j + 1]!;
    }
    if (m < c.length) {
      c[m] = g[m]! + e[m]!;
      a += g[m]! * g[m]!;
    }
    gradSquares?.push(a + b);
    return { name: t.name, shape: [...t.shape], data: c };
  });
}

export function l2(list: readonly Float32Array[]): number {
  return Math.sqrt(list.reduce((s, a) => s + sumSquares(a), 0));
}

/**
 * Stages applied in order, each to the (densified) output of the one before: `chain(clip, noise)`.
 * The report compares the final update with the chain's own input.
 */
export function chain(...stages: Defense[]): Defense<unknown[]> {
  if (stages.length === 0) throw new Error('chain: needs at least one stage');
  return {
    name: `chain(${stages.map((s) => s.name).join(',')})`,
    init: (layout) => stages.map((s) => s.init(layout)),
    apply(grad, states, rng, ctx) {
      if (states.length !== stages.length) throw new Error(`chain: ${states.length} states for ${stages.length} stages`);
      let input = grad;
      let extra: Record<string, number> = {};
      const next: unknown[] = [];
      let update: ClientUpdate = [];
      stages.forEach((stage, i) => {
        const r = stage.apply(input, states[i], rng, ctx);
        next.push(r.state);
        extra = { ...extra, ...r.report.extra };
        update = r.update;
        if (i < stages.length - 1) input = densify(r.update);
      });
      return { update, state: next, report: measure(grad, update, extra) };
    },
  };
}

/** The same defense under another name (e.g. a chain presented as `dp(gaussian)`). */
export function named<S>(name: string, d: Defense<S>): Defense<S> {
  return { name, init: (layout) => d.init(layout), apply: (g, s, rng, ctx) => d.apply(g, s, rng, ctx) };
}
