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
  /**
   * SecAgg+ (Bell et al. 2020): each client shares its secrets and masks with only this many
   * neighbours of a random k-regular graph (even, in [2, 254]); the threshold then counts
   * shares within a neighbourhood (t <= k + 1). Default (or k >= n - 1): every other client,
   * the protocol of Bonawitz et al.
   */
  neighbours?: number;
}

export function checkRoundOptions(o: RoundOptions, who: string): RoundOptions {
  if (typeof o !== 'object' || o === null) throw new SecAggError('options', `${who}: options must be an object`);
  checkClientId(o.round, `${who}: round`);
  if (!Number.isInteger(o.threshold) || o.threshold < 2 || o.threshold > MAX_CLIENTS) {
    throw new SecAggError('options', `${who}: threshold must be an integer in [2, ${MAX_CLIENTS}], got ${String(o.threshold)}`);
  }
  checkClip(o.clip);
  const k = o.neighbours;
  if (k !== undefined && (!Number.isInteger(k) || k < 2 || k > MAX_CLIENTS - 1 || k % 2 !== 0)) {
    throw new SecAggError('options', `${who}: neighbours must be an even integer in [2, ${MAX_CLIENTS - 1}], got ${String(k)}`);
  }
  if (k !== undefined && o.threshold > k + 1) throw new SecAggError('options', `${who}: threshold ${o.threshold} exceeds neighbours + 1 = ${k + 1}, the shares of a neighbourhood`);
  return o;
}
