// The global model as each party holds it: parameters, batch-norm buffers and the server
// optimizer's state. The server holds one; every client holds a replica and keeps it equal to the
// server's by applying the same broadcast with the same optimizer code. Server and clients go
// through `applyBroadcast` alike (the server decodes its own broadcast), so the replicas stay
// bit-identical to the server's model without the dense model ever being sent again.
import { cloneTensors, type TensorList, denseUpdate, densify, type TensorLayout } from '../common/index.js';
import { createSgd, type Sgd, type SgdOptions, type SgdState } from '../optim/index.js';
import { readdress, WireFormatError } from '../codec/index.js';
import { decodeMessage, decodeWithTensors, encodeMessage, encodeWithTensors, type ControlOf, type SharedPositions } from './wire.js';

export interface ModelLayout {
  params: TensorLayout[];
  buffers: TensorLayout[];
}

/** Parameters then buffers: what a broadcast carries. */
export function stateLayout(l: ModelLayout): TensorLayout[] {
  return [...l.params, ...l.buffers];
}

/** What a client reads of its model and how it follows the broadcasts: a Replica of its own, or a view of the server's (client-host.ts). */
export interface ModelCopy {
  readonly round: number;
  readonly params: TensorList;
  readonly buffers: TensorList;
  applyBroadcast(bytes: Uint8Array, shared?: SharedPositions): unknown;
}

export class Replica implements ModelCopy {
  private readonly optimizer: Sgd;
  /** The codec part of this round's sync, encoded once for every client synced in the round (the model changes only through applyBroadcast). */
  private syncPayload: { round: number; bytes: Uint8Array } | null = null;

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

  /**
   * Applies round r's broadcast: one optimizer step on the aggregate at lr, buffers replaced; or
   * its `skip` (a failed round): the round number moves on, nothing else changes.
   * `shared`: the round's ADGP common set, for tensors the broadcast sends as values only.
   */
  applyBroadcast(bytes: Uint8Array, shared?: SharedPositions): ControlOf<'broadcast' | 'skip'> {
    const r = this.round + 1;
    const head = decodeMessage(bytes, ['broadcast', 'skip']).control;
    if (head.type === 'skip') {
      if (head.round !== r) throw new WireFormatError(`skip message: round ${head.round} where ${r} was expected`);
      this.round = r;
      return head;
    }
    const { control, tensors } = decodeWithTensors(bytes, 'broadcast', 'aggregate', stateLayout(this.layout), { round: r }, shared);
    const dense = densify(tensors);
    const np = this.layout.params.length;
    this.optState = this.optimizer.step(this.params, dense.slice(0, np), this.optState, control.lr);
    this.buffers = dense.slice(np);
    this.round = r;
    return control;
  }

  /** Parameters, buffers and the momentum buffers there are, in fullLayout order: what a sync or a checkpoint holds. */
  allTensors(): TensorList {
    const momentum = this.optState.momentumBuffers.flatMap((m, i) => (m ? [{ ...this.layout.params[i]!, name: momentumName(this.layout.params[i]!.name), data: m }] : []));
    return [...this.params, ...this.buffers, ...momentum];
  }

  /** The optimizer's options and step, and which parameters have a momentum buffer. */
  get meta(): ReplicaMeta {
    return { round: this.round, optimizer: this.optimizer.options, step: this.optState.step, momentum: this.optState.momentumBuffers.map((m) => m !== null) };
  }

  /** The whole state for one client, dense. */
  syncMessage(clientId: number): Uint8Array {
    const { control, payload } = this.syncParts();
    const out = encodeMessage(control, payload);
    readdress(out.subarray(out.length - payload.length), clientId);
    return out;
  }

  /**
   * For a client that reads this model in place (ClientProxy.readsServerModel): the sync's control
   * part alone, and the length of the whole sync it stands for.
   */
  syncNotice(): { message: Uint8Array; fullLength: number } {
    const { control, payload } = this.syncParts();
    const message = encodeMessage(control);
    return { message, fullLength: message.length + payload.length };
  }

  /** The sync's control part, and its codec part encoded once per round (the model changes only through applyBroadcast). */
  private syncParts(): { control: ControlOf<'sync'>; payload: Uint8Array } {
    const m = this.meta;
    const control: ControlOf<'sync'> = { type: 'sync', round: m.round, optimizer: m.optimizer, optimizerStep: m.step, momentum: m.momentum };
    if (this.syncPayload?.round !== m.round) {
      const bytes = decodeMessage(encodeWithTensors(control, 0, 'aggregate', this.allTensors().map((t) => denseUpdate(t.name, t.shape, t.data))), 'sync').payload;
      this.syncPayload = { round: m.round, bytes };
    }
    return { control, payload: this.syncPayload.bytes };
  }

  /** A replica from a sync message addressed to `clientId`, at the round the message says. */
  static fromSync(bytes: Uint8Array, layout: ModelLayout, clientId: number): Replica {
    // Which momentum buffers follow is in the control part: read it first, then decode against the full layout.
    const { control } = decodeMessage(bytes, 'sync');
    if (control.momentum.length !== layout.params.length) {
      throw new WireFormatError(`sync message: ${control.momentum.length} momentum flags for ${layout.params.length} parameters`);
    }
    const { tensors } = decodeWithTensors(bytes, 'sync', 'aggregate', fullLayout(layout, control.momentum), { round: control.round, clientId });
    const meta = { round: control.round, optimizer: control.optimizer, step: control.optimizerStep, momentum: control.momentum };
    return Replica.fromTensors(layout, densify(tensors), meta);
  }

  /** The inverse of allTensors (the list in fullLayout(layout, meta.momentum) order). */
  static fromTensors(layout: ModelLayout, tensors: TensorList, meta: ReplicaMeta): Replica {
    const np = layout.params.length;
    const nb = layout.buffers.length;
    let m = np + nb;
    const momentumBuffers = meta.momentum.map((present) => (present ? tensors[m++]!.data : null));
    return new Replica(layout, tensors.slice(0, np), tensors.slice(np, np + nb), meta.optimizer, { step: meta.step, momentumBuffers }, meta.round);
  }

  /** A deep copy, e.g. the server's model as the replica of a client restored from a checkpoint. */
  clone(): Replica {
    return Replica.fromTensors(this.layout, cloneTensors(this.allTensors()), this.meta);
  }
}

export interface ReplicaMeta {
  round: number;
  optimizer: SgdOptions;
  step: number;
  momentum: boolean[];
}

/** Names and shapes of allTensors() for the given momentum flags. */
export function fullLayout(layout: ModelLayout, momentum: readonly boolean[]): TensorLayout[] {
  const moments = layout.params.filter((_, i) => momentum[i]).map((p) => ({ name: momentumName(p.name), shape: p.shape }));
  return [...stateLayout(layout), ...moments];
}

function momentumName(param: string): string {
  return `${param}#momentum`;
}
