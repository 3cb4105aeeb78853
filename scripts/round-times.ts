// Seconds per round of a federated MNIST MLP run (DGP with error feedback, batch 4), with or
// without a client store, and the process's peak RSS: the figures of docs/federation.md, "Many
// clients on one machine". Run under /usr/bin/time -v for the peak RSS the OS counts.
//   node --import tsx scripts/round-times.ts CLIENTS FRACTION ROUNDS [STORE_DIR]
import { loadDataset } from '../src/data/index.js';
import { runFederated, type FederatedSpec } from '../src/federation/index.js';

const [clients, fraction, rounds] = process.argv.slice(2, 5).map(Number);
const store = process.argv[5];
if (!clients || !fraction || !rounds) throw new Error('usage: round-times.ts CLIENTS FRACTION ROUNDS [STORE_DIR]');
const data = await loadDataset('mnist');
const spec: FederatedSpec = {
  dataset: 'mnist', model: { name: 'mlp', width: 1, init: 'xavier' }, clients, rounds, batchSize: 4, partition: { kind: 'iid' }, fraction,
  algorithm: 'clsgd', localSteps: 1, lr: 0.05, schedule: 'cosine', lrSteps: [], momentum: 0.9, weightDecay: 1e-4, serverLr: 1,
  defense: { name: 'dgp', options: {} }, seed: 0, evalEvery: 0, testLimit: 1000,
};
let t = performance.now();
const times: number[] = [];
await runFederated(spec, data, {
  ...(store ? { clientStore: store } : {}),
  onRound: () => {
    const now = performance.now();
    times.push(now - t);
    t = now;
  },
});
// The first round compiles the model's sessions: left out.
const rest = times.slice(1).sort((a, b) => a - b);
const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
console.log(`${clients} clients, fraction ${fraction}, ${rounds} rounds${store ? `, store ${store}` : ''}: round 1 ${times[0]!.toFixed(0)} ms, then median ${rest[rest.length >> 1]!.toFixed(0)} ms, mean ${mean.toFixed(0)} ms per round; rss now ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
