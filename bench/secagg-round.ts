// Secure aggregation in whole federated rounds: MNIST, the DLG LeNet (DLG initialisation), batch 32
// per client, ADGP and undefended (dense), with and without --secure-aggregation, 10 and 100
// clients, all in this one process (clients one after the other within each step). Per round: the
// bytes each client sends and receives (every wire message, the protocol's included) and the
// wall-clock seconds, after one warm-up round (it holds the first sync of the whole model and
// the compilation of the model's sessions). t = ceil(2/3 of the clients), clip DEFAULT_SECURE_CLIP.
// Run alone: node --import tsx bench/secagg-round.ts
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { loadMnist } from '../src/data/index.js';
import { createFederation, DEFAULT_SECURE_CLIP, type FederatedSpec } from '../src/federation/index.js';
import { textTable } from '../src/report/index.js';

interface Config {
  clients: number;
  defense: 'adgp' | 'none';
  secure: boolean;
  rounds: number;
}

function specOf(c: Config): FederatedSpec {
  return {
    dataset: 'mnist', model: { name: 'lenet', width: 1, init: 'dlg' }, clients: c.clients, rounds: c.rounds + 1, batchSize: 32, partition: { kind: 'iid' },
    fraction: 1, algorithm: 'clsgd', localSteps: 1, lr: 0.03, schedule: 'constant', lrSteps: [], momentum: 0.9, weightDecay: 1e-4, serverLr: 1,
    defense: { name: c.defense, options: {} }, seed: 0, evalEvery: 0,
    ...(c.secure ? { secureAggregation: { threshold: Math.ceil((2 * c.clients) / 3), clip: DEFAULT_SECURE_CLIP } } : {}),
  };
}

export async function benchSecaggRounds(): Promise<{ table: string; json: Record<string, number> }> {
  const data = loadMnist();
  const configs: Config[] = [];
  for (const [clients, rounds] of [[10, 5], [100, 2]] as const) {
    for (const defense of ['adgp', 'none'] as const) for (const secure of [false, true]) configs.push({ clients, defense, secure, rounds });
  }
  const json: Record<string, number> = { load_average: os.loadavg()[0]! };
  const cells: (string | number)[][] = [];
  const plain = new Map<string, { up: number; down: number; s: number }>();
  for (const c of configs) {
    const fed = createFederation(specOf(c), data);
    await fed.server.runRound(); // warm-up: the sync of the whole model, the sessions' compilation
    let up = 0;
    let down = 0;
    const t0 = performance.now();
    for (let r = 0; r < c.rounds; r++) {
      const record = await fed.server.runRound();
      if (record.failed) throw new Error(`bench: round ${record.round} failed: ${record.failed}`);
      up += record.bytesUp;
      down += record.bytesDown;
    }
    const s = (performance.now() - t0) / 1000 / c.rounds;
    const perClient = { up: up / c.rounds / c.clients, down: down / c.rounds / c.clients, s };
    const base = `${c.clients}_${c.defense}`;
    if (!c.secure) plain.set(base, perClient);
    const ref = plain.get(base)!;
    const key = `n${c.clients}_${c.defense}_${c.secure ? 'secure' : 'plain'}`;
    Object.assign(json, { [`${key}_up_bytes`]: perClient.up, [`${key}_down_bytes`]: perClient.down, [`${key}_round_s`]: s });
    cells.push([
      c.clients, c.defense === 'adgp' ? 'ADGP' : 'undefended', c.secure ? `yes (t ${Math.ceil((2 * c.clients) / 3)})` : 'no',
      Math.round(perClient.up), Math.round(perClient.down), (perClient.up / ref.up).toFixed(2), (perClient.down / ref.down).toFixed(2), s.toFixed(2), (s / ref.s).toFixed(2), c.rounds,
    ]);
    console.error(`bench secagg rounds: ${key} done`);
  }
  const table = [
    `federated rounds with and without secure aggregation (MNIST, DLG LeNet, batch 32, one process; clip ${DEFAULT_SECURE_CLIP}, t = ceil(2n/3)); per client and round after a warm-up round;`,
    `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores (seconds are wall time, every party in this process one after the other)`,
    textTable(['clients', 'defense', 'secure aggregation', 'up B / client', 'down B / client', 'up x plain', 'down x plain', 's / round', 'time x plain', 'rounds timed'], cells),
  ].join('\n');
  return { table, json };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { table, json } = await benchSecaggRounds();
  console.log(table);
  console.log(JSON.stringify(json));
}
