import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { dirichlet, labelHistogram, partitionDirichlet, partitionIid } from '../../src/data/index.js';

/** 10 classes of 500 samples each, in a shuffled order. */
function labels(): Uint8Array {
  const y = new Uint8Array(5000);
  for (let i = 0; i < y.length; i++) y[i] = i % 10;
  const order = new Rng(99).permutation(y.length);
  return Uint8Array.from(order, (i) => y[i]!);
}

function assertPartition(parts: Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  for (const p of parts) {
    for (let k = 0; k < p.length; k++) {
      assert.ok(k === 0 || p[k - 1]! < p[k]!, 'indices ascending');
      assert.equal(seen[p[k]!], 0, `index ${p[k]} in two clients`);
      seen[p[k]!] = 1;
    }
  }
  assert.ok(seen.every((s) => s === 1), 'every sample assigned');
}

/** Mean total-variation distance between each client's label distribution and the global one. */
function meanSkew(y: Uint8Array, parts: Int32Array[]): number {
  let total = 0;
  for (const p of parts) {
    const h = labelHistogram(y, p);
    let tv = 0;
    for (let c = 0; c < 10; c++) tv += Math.abs(h[c]! / p.length - 0.1);
    total += tv / 2;
  }
  return total / parts.length;
}

describe('partitionIid', () => {
  it('is a disjoint cover with sizes differing by at most one', () => {
    const parts = partitionIid(103, 10, new Rng(1));
    assertPartition(parts, 103);
    assert.deepEqual(parts.map((p) => p.length), [11, 11, 11, 10, 10, 10, 10, 10, 10, 10]);
  });

  it('is reproducible by seed and varies with it', () => {
    const a = partitionIid(100, 4, new Rng(5)).map((p) => [...p]);
    assert.deepEqual(partitionIid(100, 4, new Rng(5)).map((p) => [...p]), a);
    assert.notDeepEqual(partitionIid(100, 4, new Rng(6)).map((p) => [...p]), a);
  });

  it('rejects more clients than samples', () => {
    assert.throws(() => partitionIid(3, 4, new Rng(1)), /4 clients but only 3 samples/);
    assert.throws(() => partitionIid(3, 0, new Rng(1)), /clients must be a positive integer/);
  });
});

describe('partitionDirichlet', () => {
  const y = labels();

  it('is a disjoint cover, reproducible by seed', () => {
    for (const alpha of [0.05, 0.5, 100]) {
      const parts = partitionDirichlet(y, 10, alpha, new Rng(3));
      assert.equal(parts.length, 10);
      assertPartition(parts, y.length);
      assert.ok(parts.every((p) => p.length > 0), `alpha ${alpha}: an empty client`);
      assert.deepEqual(partitionDirichlet(y, 10, alpha, new Rng(3)).map((p) => [...p]), parts.map((p) => [...p]));
    }
  });

  it('skews label distributions for small alpha and approaches IID for large alpha', () => {
    const small = meanSkew(y, partitionDirichlet(y, 10, 0.1, new Rng(4)));
    const mid = meanSkew(y, partitionDirichlet(y, 10, 1, new Rng(4)));
    const large = meanSkew(y, partitionDirichlet(y, 10, 1000, new Rng(4)));
    const iid = meanSkew(y, partitionIid(y.length, 10, new Rng(4)));
    assert.ok(small > 0.5, `alpha 0.1: skew ${small}`);
    assert.ok(small > mid && mid > large, `skews ${small} ${mid} ${large}`);
    assert.ok(large < 0.05 && iid < 0.08, `alpha 1000: ${large}, IID: ${iid}`);
  });

  it('keeps every client at or above minSize even when redraws cannot', () => {
    // 12 samples over 6 clients with a tiny alpha: draws almost always leave clients short.
    const few = Uint8Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    const parts = partitionDirichlet(few, 6, 0.01, new Rng(8), { minSize: 2, maxTries: 3 });
    assertPartition(parts, few.length);
    assert.deepEqual(parts.map((p) => p.length), [2, 2, 2, 2, 2, 2]);
    assert.throws(() => partitionDirichlet(few, 5, 1, new Rng(1), { minSize: 3 }), /5 clients x minSize 3 exceeds the 12 samples/);
  });

  it('validates its arguments', () => {
    assert.throws(() => partitionDirichlet(y, 10, 0, new Rng(1)), /alpha must be positive and finite, got 0/);
    assert.throws(() => partitionDirichlet([0, -1, 2], 2, 1, new Rng(1)), /label -1 at index 1/);
  });
});

describe('dirichlet', () => {
  it('draws probability vectors whose spread follows alpha', () => {
    const rng = new Rng(12);
    for (const alpha of [0.001, 0.3, 50]) {
      const p = dirichlet(alpha, 8, rng);
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      assert.ok(p.every((v) => v >= 0));
    }
    const peak = (alpha: number) => {
      let s = 0;
      for (let k = 0; k < 200; k++) s += Math.max(...dirichlet(alpha, 10, rng));
      return s / 200;
    };
    assert.ok(peak(0.05) > 0.6 && peak(100) < 0.15);
  });
});
