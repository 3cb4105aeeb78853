// The threat model as data: everything an attacker is allowed to see, and nothing else. A case
// builder (case.ts) produces one of these next to the ground truth; attacks take only this.
import { type TensorList, densify, type ClientUpdate } from '../common/index.js';
import type { Model } from '../models/index.js';

/** What a malicious server planted in the model and keeps to itself (imprint.ts). */
export interface ImprintSecrets {
  /** Index, in the model's parameter list, of the imprint layer's weight [bins, inputSize] and bias [bins]. */
  weightIndex: number;
  biasIndex: number;
  /** Bin thresholds on the measurement, increasing. */
  thresholds: number[];
  /** Image shape [C, H, W] the imprint layer reads. */
  imageShape: [number, number, number];
}

export interface ThreatModel {
  /** The architecture the client ran (for a malicious server: the modified one it sent). */
  model: Model;
  /** Parameters the client computed its gradient at, as the server sent them. */
  params: TensorList;
  /**
   * Batch-norm running statistics the server holds (the global model's buffers), if the model has
   * any. With `training` false the server sent them with the parameters and the client normalised
   * with exactly these (breaching's `provide_public_buffers`).
   */
  buffers?: TensorList;
  /** Training rounds the attacked model had seen (0: at initialisation). Recorded with every result. */
  round: number;
  /** Whether the client ran the model in training mode (batch norm on batch statistics); false: evaluation mode on `buffers`. */
  training: boolean;
  /**
   * Exactly what the server observed, after the defense: one client's message (dense or sparse
   * per tensor), or, with `aggregateOf`, the mean of several clients' updates.
   */
  update: ClientUpdate;
  /**
   * Set when the server sees only the aggregate of this many clients' updates (secure
   * aggregation: it learns their sum, nothing of one client), not one client's update. The
   * attacker's target is then any of those clients' examples; `batchSize` and `labels`, when
   * known, are of all of them together.
   */
  aggregateOf?: number;
  /** The defense the server knows the client uses (for records; attacks read `update`). */
  defense: string;
  /** The positions of a sparse update are visible (true for a server that reads the wire message). */
  positionsVisible: boolean;
  /** Set only when the attacker knows the labels. */
  labels?: Int32Array;
  /** Set only when the attacker knows how many examples the update was computed on. */
  batchSize?: number;
  /** Input statistics the model normalises with (public in every FL setup), and the class count. */
  data: { channels: number; height: number; width: number; mean: number[]; std: number[]; numClasses: number };
  /** A malicious server's own secrets about the model it sent. */
  secrets?: { imprint?: ImprintSecrets };
}

/** What an attack may need from a threat model, beyond the update and the model. */
export type Need = 'labels' | 'batchSize' | 'positions' | 'imprint' | 'bnBuffers';

const NEED_TEXT: Record<Need, string> = {
  labels: 'the labels (threat.labels)',
  batchSize: 'the batch size (threat.batchSize)',
  positions: 'which positions of a sparse update were sent (threat.positionsVisible)',
  imprint: 'an imprint layer planted by a malicious server (threat.secrets.imprint)',
  bnBuffers: 'batch-norm running statistics and a model with batch norm (threat.buffers)',
};

export function has(t: ThreatModel, need: Need): boolean {
  switch (need) {
    case 'labels':
      return t.labels !== undefined;
    case 'batchSize':
      return t.batchSize !== undefined;
    case 'positions':
      return t.positionsVisible;
    case 'imprint':
      return t.secrets?.imprint !== undefined;
    case 'bnBuffers':
      return t.buffers !== undefined && t.model.buffers.length > 0;
  }
}

/** Throws one line naming the attack and everything it lacks. */
export function requireThreat(attack: string, needs: readonly Need[], t: ThreatModel): void {
  const missing = needs.filter((n) => !has(t, n));
  if (missing.length > 0) {
    throw new Error(`attack ${attack} needs ${missing.map((n) => NEED_TEXT[n]).join(' and ')}, which this threat model does not give`);
  }
}

/** The update as full tensors, zeros where a sparse tensor sent nothing (what a mask-unaware attacker matches). */
export function observedGradient(t: ThreatModel): TensorList {
  return densify(t.update);
}

/** 1 where the client sent a value, 0 elsewhere, per tensor (all ones for a dense tensor). */
export function sentMasks(t: ThreatModel): TensorList {
  return t.update.map((u) => {
    const n = u.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (u.kind === 'dense') data.fill(1);
    else for (const i of u.indices) data[i] = 1;
    return { name: u.name, shape: [...u.shape], data };
  });
}

/** Whether any tensor of the update is sparse (so a mask-aware attack differs from the plain one). */
export function isSparse(t: ThreatModel): boolean {
  return t.update.some((u) => u.kind === 'sparse');
}

/** [B, C, H, W] for a batch the attacker reconstructs. */
export function imageShape(t: ThreatModel, batch: number): [number, number, number, number] {
  return [batch, t.data.channels, t.data.height, t.data.width];
}
