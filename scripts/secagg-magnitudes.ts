// How large are the entries a client would mask? Secure aggregation clips every entry to
// [-clip, clip] before quantising it, so its default clip must sit above what clients send. This
// runs plain federated runs (MNIST, 10 clients, 500 rounds as in the README), reads every result
// message the server receives and reports the largest |entry| and high quantiles over the run.
// Usage: node --import tsx scripts/secagg-magnitudes.ts [--rounds 500] [--only lenet-adgp,...]
import { loadMnist } from '../src/data/index.js';
import { type ClientProxy, commonSetOf, decodeMessage, type FederatedSpec, modelLayoutOf, runFederated, stateLayout } from '../src/federation/index.js';
import { decodeWithTensors, type SharedPositions } from '../src/federation/wire.js';
import { textTable } from '../src/report/index.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('--rounds') ?? 500);
const only = arg('--only')?.split(',');

const base = (model: 'lenet' | 'mlp', defense: FederatedSpec['defense']): FederatedSpec => ({
  dataset: 'mnist', model: { name: model, width: 1, init: model === 'lenet' ? 'dlg' : 'xavier' }, clients: 10, rounds, batchSize: 32,
  partition: { kind: 'iid' }, fraction: 1, algorithm: 'clsgd', localSteps: 1, lr: model === 'lenet' ? 0.03 : 0.05, schedule: 'constant', lrSteps: [],
  momentum: 0.9, weightDecay: 1e-4, serverLr: 1, defense, seed: 0, evalEvery: 0,
});
const runs: [string, FederatedSpec][] = [
  ['lenet-adgp', base('lenet', { name: 'adgp', options: {} })],
  ['lenet-none', base('lenet', { name: 'none', options: {} })],
  ['lenet-dp', base('lenet', { name: 'dp', options: { clip: 1, noiseMultiplier: 0.01 } })],
  ['mlp-adgp', base('mlp', { name: 'adgp', options: {} })],
  ['mlp-none', base('mlp', { name: 'none', options: {} })],
];

const data = loadMnist();
const rows: (string | number)[][] = [];
for (const [name, spec] of runs.filter(([n]) => !only || only.includes(n))) {
  const layout = modelLayoutOf(spec);
  const magnitudes: number[] = [];
  let maxOverall = 0;
  let seen = 0;
  const perRoundMax: number[] = [];
  const shared = new Map<number, SharedPositions>();
  let roundMax = 0;
  let lastRound = 0;
  const transport = (p: ClientProxy): ClientProxy => ({
    ...p,
    fit: async (m) => {
      const { control } = decodeMessage(m, ['fit', 'commit']);
      const answer = await p.fit(m);
      if (control.type === 'commit') shared.set(control.round, commonSetOf(m, layout.params, control.round).shared);
      let result;
      try {
        result = decodeMessage(answer, 'result').control;
      } catch {
        return answer;
      }
      if (result.round !== lastRound) {
        if (lastRound) perRoundMax.push(roundMax);
        roundMax = 0;
        lastRound = result.round;
      }
      const { tensors } = decodeWithTensors(answer, 'result', 'update', stateLayout(layout), { round: result.round }, shared.get(result.round));
      for (const t of tensors.slice(0, layout.params.length)) {
        for (const v of t.values) {
          const a = Math.abs(v);
          if (a > roundMax) roundMax = a;
          if (a > maxOverall) maxOverall = a;
          // Keep a sample (every 97th entry) for the quantiles.
          if (++seen % 97 === 0) magnitudes.push(a);
        }
      }
      return answer;
    },
  });
  const t0 = performance.now();
  const r = await runFederated(spec, data, { transport });
  perRoundMax.push(roundMax);
  magnitudes.sort((a, b) => a - b);
  const q = (p: number) => magnitudes[Math.min(magnitudes.length - 1, Math.floor(p * magnitudes.length))]!;
  const sortedRounds = [...perRoundMax].sort((a, b) => a - b);
  rows.push([name, rounds, (100 * r.testAccuracy).toFixed(2), q(0.5).toExponential(2), q(0.999).toExponential(2), sortedRounds[Math.floor(sortedRounds.length / 2)]!.toExponential(2), maxOverall.toExponential(2), ((performance.now() - t0) / 1000).toFixed(0)]);
  console.error(`${name}: done`);
}
console.log(textTable(['run', 'rounds', 'test acc. %', 'median |entry|', '99.9 % |entry|', 'median round max', 'largest |entry| of the run', 's'], rows));
