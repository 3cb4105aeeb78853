// A defense in the manner of optax: built once from validated options, then two pure functions.
// `init` makes the per-client state (plain data, so a checkpoint is a structured clone or
// stateToJSON), `apply` turns one raw gradient into what leaves the client. Composition (error
// feedback around a compressor, clipping before noise) wraps defenses instead of subclassing them.
import type { Rng, TensorList, ClientUpdate, TensorLayout } from '../common/index.js';

export type Layout = readonly TensorLayout[];

export interface DefenseReport {
  /** Positions carried by the update over all entries (1 for a dense update). */
  keptFraction: number;
  /** ||g - C(g)|| / ||g|| over all tensors, g being the raw gradient handed to apply (0 when g = 0). */
  relGradDistance: number;
  /** ||g||, the raw gradient's global L2 norm. */
  gradNorm: number;
  /** ||g - C(g)||, the distance itself. */
  gradDistance: number;
  sentEntries: number;
  totalEntries: number;
  /** Figures particular to one defense, e.g. `clipScale` for dp or `residualNorm` for error feedback. */
  extra: Record<string, number>;
}

export interface DefenseResult<S> {
  /** Never shares a buffer with the gradient or the state passed in. */
  update: ClientUpdate;
  /** A new state; the one passed in is left as it was, so it stays a valid checkpoint. */
  state: S;
  report: DefenseReport;
}

/** What a client knows besides its gradient, for defenses that need it (Outpost reads both). */
export interface ApplyContext {
  /** The weights the gradient was computed at (the client's replica of the global model). */
  params?: TensorList;
  /** The training iteration (federated round) of this update. */
  iteration?: number;
}

export interface Defense<S = unknown> {
  /** e.g. `ef(dgp)`, `chain(clip,gaussian)`. */
  readonly name: string;
  init(layout: Layout): S;
  apply(grad: TensorList, state: S, rng: Rng, ctx?: ApplyContext): DefenseResult<S>;
}
