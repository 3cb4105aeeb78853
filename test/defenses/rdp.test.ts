import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRdp, dpSgdEpsilon, logErfc, rdpToEpsilon } from '../../src/defenses/rdp.js';
import { referenceJson } from '../helpers/reference.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('RDP of the sampled Gaussian matches TF-privacy (integer and fractional orders)', () => {
  // tensorflow_privacy rdp_accountant_test: test_compute_rdp_scalar / _sequence
  close(computeRdp(0.1, 2, 10, [5])[0]!, 0.07737, 1e-5, 'q=0.1 z=2 T=10 a=5');
  const want = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, Infinity];
  computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity]).forEach((r, i) => {
    if (want[i] === Infinity) assert.equal(r, Infinity);
    else close(r, want[i]!, 1e-5, `order ${[1.5, 2.5, 5, 50, 100][i]}`);
  });
  assert.equal(computeRdp(0, 10, 1, [20])[0], 0);
  assert.equal(computeRdp(1, 10, 1, [20])[0], 0.1);
});

test('Abadi et al.: q=0.01, sigma=4, T=10000, delta=1e-5 gives epsilon 1.26 (classic conversion, orders 2..32)', () => {
  const orders = Array.from({ length: 31 }, (_, i) => i + 2);
  const r = rdpToEpsilon(orders, computeRdp(0.01, 4, 10000, orders), 1e-5, 'classic');
  close(r.epsilon, 1.258575, 1e-6, 'epsilon');
  assert.equal(r.order, 20);
});

test('Opacus RDPAccountant: z=1.5, q=0.04, 2250 steps, delta=1e-5 gives 7.32911117143', () => {
  close(dpSgdEpsilon({ q: 0.04, noiseMultiplier: 1.5, steps: 2250, delta: 1e-5 }).epsilon, 7.32911117143, 1e-9, 'epsilon');
});

test('TF-privacy compute_dp_sgd_privacy: N=60000, batch 150, z=1.3, 15 epochs gives 0.72422 at order 19', () => {
  const orders = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...Array.from({ length: 59 }, (_, i) => 5 + i), 128, 256, 512];
  const r = dpSgdEpsilon({ q: 150 / 60000, noiseMultiplier: 1.3, steps: 6000, delta: 1e-5, orders });
  close(r.epsilon, 0.7242234026109595, 1e-9, 'epsilon');
  assert.equal(r.order, 19);
});

test('logErfc is accurate in both tails', () => {
  // reference: scipy, log(2) + special.log_ndtr(-x * sqrt(2)) (fixtures/reference/dp_ref.py)
  const ref = referenceJson<{ logErfc: [number, number][] }>('dp.json').logErfc;
  assert.equal(ref.length, 7);
  for (const [x, y] of ref) close(logErfc(x), y, 1e-12 * Math.max(1, Math.abs(y)), `logErfc(${x})`);
});

test('bad accountant inputs are named', () => {
  assert.throws(() => computeRdp(1.5, 1, 1), /q must lie in \[0, 1\] \(got 1.5\)/);
  assert.throws(() => computeRdp(0.1, 1, 1, [1]), /orders must be > 1/);
  assert.throws(() => rdpToEpsilon([2], [1], 0), /delta/);
});
