// The global model as each party holds it: parameters, batch-norm buffers and the server
// optimizer's state. The server holds one; every client holds a replica and keeps it equal to the
// server's by applying the same broadcast with the same optimizer code. Server and clients go
// through `applyBroadcast` alike (the server decodes its own broadcast), so the replicas stay
// bit-identical to the server's model without the dense model ever being sent again.
import { type TensorList } from '../common/tensors.js';
import { denseUpdate, densify, type TensorLayout } from '../common/update.js';
import { createSgd, type Sgd, type SgdOptions, type SgdState } from '../optim/index.js';
import { WireFormatError } from '../codec/index.js';
import { decodeMessage, decodeWithTensors, encodeWithTensors, type ControlOf } from './wire.js';

export interface ModelLayout {
  params: TensorLayout[];
  buffers: TensorLayout[];
}

/** Parameters then buffers: what a broadcast carries. */
export function stateLayout(l: ModelLayout): TensorLayout[] {
  return [...l.params, ...l.buffers];
}

export class Replica {
  private readonly optimizer: Sgd;

  constructor(
    readonly layout: ModelLayout,
    readonly params: TensorList,
    public buffers: TensorList,
    optimizerOptions: SgdOptions,
    public optState: SgdState,
    /** The last round whose broadcast is applied (0: the initial model). */
    public round: number,
  ) {
    this.optimizer = createSgd(optimizerOptions);
  }

  get optimizerOptions(): SgdOptions {
    return this.optimizer.options;
  }

  /** Applies round r's broadcast: one optimizer step on the aggregate at lr, buffers replaced. */
  applyBroadcast(bytes: Uint8Array): ControlOf<'broadcast'> {
    const r = this.round + 1;
    const { control, tensors } = decodeWithTensors(bytes, 'broadcast', 'aggregate', stateLayout(this.layout), { round: r });
    const dense = densify(tensors);
    const np = this.layout.params.length;
    this.optState = this.optimizer.step(this.params, dense.slice(0, np), this.optState, control.lr);
    this.buffers = dense.slice(np);
    this.round = r;
    return control;
  }

  /** The whole state for one client, dense: parameters, buffers, the momentum buffers there are. */
  syncMessage(clientId: number): Uint8Array {
    const momentum = this.optState.momentumBuffers;
    const tensors = [...this.params, ...this.buffers].map((t) => denseUpdate(t.name, t.shape, t.data));
    momentum.forEach((m, i) => {
      const p = this.layout.params[i]!;
      if (m) tensors.push(denseUpdate(momentumName(p.name), p.shape, m));
    });
    const control: ControlOf<'sync'> = {
      type: 'sync',
      round: this.round,
      optimizer: this.optimizer.options,
      optimizerStep: this.optState.step,
      momentum: momentum.map((m) => m !== null),
    };
    return encodeWithTensors(control, clientId, 'aggregate', tensors);
  }

  /** A replica from a sync message (the round it stands at is the message's). */
  static fromSync(bytes: Uint8Array, layout: ModelLayout, clientId: number, round: number): Replica {
    const peek = decodeWithSyncLayout(bytes, layout, clientId, round);
    const np = layout.params.length;
    const nb = layout.buffers.length;
    const dense = densify(peek.tensors);
    let m = np + nb;
    const momentumBuffers = peek.control.momentum.map((present) => (present ? dense[m++]!.data : null));
    const state: SgdState = { step: peek.control.optimizerStep, momentumBuffers };
    return new Replica(layout, dense.slice(0, np), dense.slice(np, np + nb), peek.control.optimizer, state, peek.control.round);
  }

  /** A deep copy, e.g. the server's model as the replica of a client restored from a checkpoint. */
  clone(): Replica {
    const copy = (l: TensorList) => l.map((t) => ({ name: t.name, shape: [...t.shape], data: t.data.slice() }));
    const state = { step: this.optState.step, momentumBuffers: this.optState.momentumBuffers.map((b) => b?.slice() ?? null) };
    return new Replica(this.layout, copy(this.params), copy(this.buffers), this.optimizer.options, state, this.round);
  }
}

function momentumName(param: string): string {
  return `${param}#momentum`;
}

function decodeWithSyncLayout(bytes: Uint8Array, layout: ModelLayout, clientId: number, round: number) {
  // Which momentum buffers follow is in the control part: read it first, then decode against the full layout.
  const { momentum } = decodeMessage(bytes, 'sync').control;
  if (momentum.length !== layout.params.length) {
    throw new WireFormatError(`sync message: ${momentum.length} momentum flags for ${layout.params.length} parameters`);
  }
  const moments = layout.params.filter((_, i) => momentum[i]).map((p) => ({ name: momentumName(p.name), shape: p.shape }));
  return decodeWithTensors(bytes, 'sync', 'aggregate', [...stateLayout(layout), ...moments], { round, clientId });
}
