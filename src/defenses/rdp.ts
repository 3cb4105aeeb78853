// Rényi-DP accountant for the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019), computed
// the way TensorFlow Privacy and Opacus compute it, so epsilons here can be compared with theirs:
// log A_alpha by the binomial expansion for integer orders and by the two-sided series with
// erfc tails for fractional orders; RDP adds up over steps; the conversion to (epsilon, delta)
// takes the best order.

/** Opacus' and TF-privacy's default orders: 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
];

/**
 * 'improved': epsilon = rdp + log1p(-1/a) - log(delta a)/(a - 1) (Balle et al. 2020; Opacus and
 * current TF-privacy). 'classic': epsilon = rdp - log(delta)/(a - 1) (Mironov 2017; older TF-privacy).
 */
export type RdpConversion = 'improved' | 'classic';

/** RDP of `steps` compositions of the Poisson-sampled Gaussian mechanism, one value per order. */
export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  if (!(q >= 0 && q <= 1)) throw new Error(`rdp: sampling rate q must lie in [0, 1] (got ${q})`);
  if (!(noiseMultiplier >= 0)) throw new Error(`rdp: noise multiplier must be >= 0 (got ${noiseMultiplier})`);
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`rdp: steps must be a whole number >= 0 (got ${steps})`);
  return orders.map((a) => {
    if (!(a > 1)) throw new Error(`rdp: orders must be > 1 (got ${a})`);
    return rdpOneStep(q, noiseMultiplier, a) * steps;
  });
}

function rdpOneStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0;
  for (let i = 0; i <= alpha; i++) {
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log1p(-q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
    logBinom += Math.log(alpha - i) - Math.log(i + 1);
  }
  return logA;
}

function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let coef = 1; // binom(alpha, i), whose sign alternates once i > alpha
  let logCoef = 0;
  for (let i = 0; ; i++) {
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log1p(-q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log1p(-q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
    const ratio = (alpha - i) / (i + 1);
    coef *= ratio;
    logCoef += Math.log(Math.abs(ratio));
  }
  return logAdd(logA0, logA1);
}

function logAdd(x: number, y: number): number {
  const a = Math.min(x, y);
  const b = Math.max(x, y);
  return a === -Infinity ? b : Math.log1p(Math.exp(a - b)) + b;
}

function logSub(x: number, y: number): number {
  if (x < y) throw new Error('rdp: log of a negative number in the fractional-order series');
  if (y === -Infinity) return x;
  if (x === y) return -Infinity;
  const d = Math.expm1(x - y);
  return d === Infinity ? x : Math.log(d) + y;
}

/** log(erfc(x)), accurate in both tails (where erfc itself under- or overflows the digits). */
export function logErfc(x: number): number {
  if (x > 2.5) return -x * x - 0.5 * Math.log(Math.PI) + Math.log(erfcTailFactor(x));
  if (x >= -2.5) return Math.log1p(-erfSeries(x));
  return Math.log(2 - Math.exp(-x * x) * erfcTailFactor(-x) / Math.sqrt(Math.PI));
}

/** erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!: positive terms, no cancellation. */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** sqrt(pi) e^(x^2) erfc(x) for x > 0 by its continued fraction 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfcTailFactor(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** The smallest epsilon over the orders for the given delta, and the order that gives it. */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = 'improved',
): { epsilon: number; order: number } {
  if (orders.length !== rdp.length) throw new Error(`rdp: ${orders.length} orders but ${rdp.length} values`);
  if (!(delta > 0 && delta < 1)) throw new Error(`rdp: delta must lie in (0, 1) (got ${delta})`);
  let best = { epsilon: Infinity, order: NaN };
  orders.forEach((a, i) => {
    const r = rdp[i]!;
    let eps: number;
    if (conversion === 'classic') eps = r - Math.log(delta) / (a - 1);
    else if (delta * delta + Math.expm1(-r) >= 0) eps = 0; // the KL bound already gives delta
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    else eps = Infinity;
    if (eps < best.epsilon) best = { epsilon: Math.max(0, eps), order: a };
  });
  return best;
}

export interface DpSgdAccounting {
  /** Probability that a given record takes part in a step (batch / dataset, or clients / population). */
  q: number;
  noiseMultiplier: number;
  steps: number;
  delta: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
}

/** (epsilon, delta) after `steps` steps of DP-SGD / DP-FedSGD with Poisson sampling rate q. */
export function dpSgdEpsilon(a: DpSgdAccounting): { epsilon: number; order: number } {
  const orders = a.orders ?? DEFAULT_RDP_ORDERS;
  return rdpToEpsilon(orders, computeRdp(a.q, a.noiseMultiplier, a.steps, orders), a.delta, a.conversion);
}
