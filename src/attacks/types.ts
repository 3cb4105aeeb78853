// What every attack is: a name, what it needs from the threat model, and a function from that
// threat model to a reconstruction. Scoring is not an attack's business (see evaluate.ts).
import type { GenerativePrior } from '../models/index.js';
import type { SnapshotStore } from './optimize.js';
import type { Need, ThreatModel } from './threat.js';

export interface AttackOptions {
  seed: number;
  /** Per restart; each attack has its own default. */
  iterations?: number;
  restarts?: number;
  /** Total-variation weight, replacing the attack's default (optimisation attacks with a TV term). */
  tv?: number;
  onProgress?: (done: number, total: number) => void;
  /** Optimisation attacks: the objective of each restart every `traceEvery` steps. */
  onTrace?: (t: number, perRestart: { loss: number; match: number }[]) => void;
  traceEvery?: number;
  /** Adam attacks: snapshots of the run, so an interrupted case resumes where it stopped. */
  snapshots?: SnapshotStore;
  /** GGL: the generative prior whose latent space the attack searches (dgp train-prior). */
  prior?: GenerativePrior;
  /** The defense as the attacker knows it, name and options (adaptive attacks replay it). */
  knownDefense?: { name: string; options?: Record<string, unknown> };
}

export interface AttackResult {
  attack: string;
  /** The reconstructed batch in the model's (normalised) input space, NCHW. */
  images: Float32Array;
  shape: [number, number, number, number];
  /** Recovered labels, when the attack recovers any. */
  labels?: Int32Array;
  /** Final gradient-matching objective of the returned images (NaN for analytic attacks). */
  objective: number;
  iterations: number;
  /** Objective reached by each restart, when there were restarts. */
  perRestart?: number[];
  notes?: string[];
}

export interface Attack {
  name: string;
  /** One line for --help. */
  summary: string;
  /** What the threat model must provide; `run` fails with a clear message otherwise. */
  requires: readonly Need[];
  run(threat: ThreatModel, options: AttackOptions): Promise<AttackResult>;
}
