// Options every party of a round shares: the round number, the threshold and the clip.
import { checkClientId, SecAggError } from './errors.js';
import { checkClip, MAX_CLIENTS } from './fixed-point.js';

export interface RoundOptions {
  /**
   * Aggregation round (uint32). Every key, seed and mask is drawn fresh for each round and bound
   * to it; messages of another round are refused.
   */
  round: number;
  /**
   * t: the number of shares that reconstruct a secret, in [2, 255]. The round fails when fewer
   * than t clients remain; a coalition of the server and up to t - 1 clients learns nothing
   * beyond the sum. Choose t > n/2 (Bonawitz et al. use about 2n/3).
   */
  threshold: number;
  /** Every value is clipped to [-clip, clip] before it is quantised (finite, > 0). */
  clip: number;
}

export function checkRoundOptions(o: RoundOptions, who: string): RoundOptions {
  if (typeof o !== 'object' || o === null) throw new SecAggError('options', `${who}: options must be an object`);
  checkClientId(o.round, `${who}: round`);
  if (!Number.isInteger(o.threshold) || o.threshold < 2 || o.threshold > MAX_CLIENTS) {
    throw new SecAggError('options', `${who}: threshold must be an integer in [2, ${MAX_CLIENTS}], got ${String(o.threshold)}`);
  }
  checkClip(o.clip);
  return o;
}
