// A long attack survives an interruption: Adam snapshots resume a case exactly where it stopped
// (the same reconstruction, bit for bit, as an uninterrupted run), finished cases are read back
// instead of attacked again, and a folder made with other settings is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { modelAtRound } from '../../src/attacks/case.js';
import { runExperiment } from '../../src/attacks/experiment.js';
import type { AdamSnapshot, SnapshotStore } from '../../src/attacks/optimize.js';
import { resumeFiles } from '../../src/cli/resume-files.js';
import { mlp } from '../../src/models/index.js';
import { syntheticDataset } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dgp-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const model = mlp({ inputShape: [1, 6, 6], hidden: 16 });
const data = { train: syntheticDataset([1, 2, 3, 4], [1, 6, 6], 1), test: syntheticDataset([3, 7, 1], [1, 6, 6], 2) };

async function experiment(extra: Partial<Parameters<typeof runExperiment>[0]> = {}) {
  const state = await modelAtRound(model, 0, { seed: 3 });
  return runExperiment({ attack: 'ig', defense: 'none', model, state, data, images: 3, batch: 1, seed: 3, iterations: 40, restarts: 2, ...extra });
}

class Interrupted extends Error {}

test('an Adam run interrupted after a snapshot resumes to the same reconstruction as an uninterrupted run', async () => {
  const whole = await experiment();
  const files = resumeFiles(join(dir, 'a'), 'attack', 'key-1', 15);
  // The first attempt dies right after case 1's snapshot at step 30 is written.
  const dying = (k: number): SnapshotStore => {
    const s = files.snapshots(k);
    return { ...s, save: (snap: AdamSnapshot) => { s.save(snap); if (k === 1 && snap.t === 30) throw new Interrupted(); } };
  };
  await assert.rejects(experiment({ store: files.cases, snapshots: dying }), Interrupted);
  const left = readdirSync(join(dir, 'a', 'attack.cases')).sort();
  assert.deepEqual(left, ['case-0.json', 'snap-1.json']);
  const again = resumeFiles(join(dir, 'a'), 'attack', 'key-1', 15);
  assert.equal(again.finished, 1);
  const resumed = await experiment({ store: again.cases, snapshots: again.snapshots });
  assert.deepEqual(Array.from(resumed.recon), Array.from(whole.recon));
  assert.deepEqual(resumed.records.map((r) => r.psnrPerImage), whole.records.map((r) => r.psnrPerImage));
  assert.deepEqual(readdirSync(join(dir, 'a', 'attack.cases')).sort(), ['case-0.json', 'case-1.json', 'case-2.json']);
  // A finished experiment is read back without attacking anything.
  let attacked = 0;
  const done = await experiment({ store: again.cases, onProgress: () => void attacked++ });
  assert.equal(attacked, 0);
  assert.deepEqual(Array.from(done.recon), Array.from(whole.recon));
});

test('a resume folder made with other settings is refused, naming it', async () => {
  const files = resumeFiles(join(dir, 'b'), 'attack', 'iterations 40', 15);
  await experiment({ store: files.cases, images: 1 });
  const other = resumeFiles(join(dir, 'b'), 'attack', 'iterations 80', 15);
  await assert.rejects(experiment({ store: other.cases, images: 1 }), /case-0\.json was made with another setting \(iterations 40\), not this one \(iterations 80\); remove .*attack\.cases or write to another --out/);
});
