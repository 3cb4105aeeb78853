// Test accuracy and loss of a model on a whole data set, in evaluation mode (running BN statistics).
import type { TensorList } from '../common/index.js';
import { type Dataset, getBatch } from '../data/index.js';
import type { ModelRunner } from './runner.js';

export interface Evaluation {
  accuracy: number;
  loss: number;
  count: number;
}

export async function evaluate(runner: ModelRunner, params: TensorList, buffers: TensorList, ds: Dataset, batchSize = 500, limit = ds.count): Promise<Evaluation> {
  const n = Math.min(limit, ds.count);
  let correct = 0;
  let lossSum = 0;
  const k = runner.model.numClasses;
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const batch = getBatch(ds, idx, { normalize: true });
    const logits = await runner.predict(params, buffers, batch.x, batch.shape);
    for (let i = 0; i < idx.length; i++) {
      let best = 0;
      let m = -Infinity;
      for (let c = 0; c < k; c++) {
        const v = logits[i * k + c]!;
        if (v > m) {
          m = v;
          best = c;
        }
      }
      let z = 0;
      for (let c = 0; c < k; c++) z += Math.exp(logits[i * k + c]! - m);
      lossSum += Math.log(z) + m - logits[i * k + batch.y[i]!]!;
      if (best === batch.y[i]) correct++;
    }
  }
  return { accuracy: correct / n, loss: lossSum / n, count: n };
}

export function oneHotLabels(y: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(y.length * classes);
  for (let i = 0; i < y.length; i++) out[i * classes + y[i]!] = 1;
  return out;
}
