// What every attack is: a name, what it needs from the threat model, and a function from that
// threat model to a reconstruction. Scoring is not an attack's business (see evaluate.ts).
import type { Need, ThreatModel } from './threat.js';

export interface AttackOptions {
  seed: number;
  /** Per restart; each attack has its own default. */
  iterations?: number;
  restarts?: number;
  onProgress?: (done: number, total: number) => void;
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
