// `npm run bench -- --only net`: a federated round over the deployment service against the same
// round in one process. The server (dgp serve's serveRun) runs in this process; the clients run in
// two `dgp worker` processes (half the clients each), over TLS on 127.0.0.1, each client with its
// own credential, session and state. Per configuration (MLP and LeNet on MNIST, DGP with error
// feedback, 10 and 100 clients of 32 examples): the median time of a round (the first round, which
// syncs the model, and the last, which evaluates, left out), the payload a round moves (the codec's
// bytes, up and down, all clients), the throughput, and the protocol's overhead: the bytes on the
// wire (TCP payload: TLS records, HTTP/2 frames, protobuf and Connect envelopes, heartbeats and
// acknowledgements) beyond the payloads, over the payloads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, type DatasetSplits } from '../src/data/index.js';
import { type FederatedSpec, type HistoryEntry, runFederated } from '../src/federation/index.js';
import { textTable } from '../src/report/index.js';
import { AccessList, accessEntry, makeCertificates, newToken, serveRun } from '../src/service/index.js';
import { type DgpProcess, startDgp, stopAll } from '../scripts/processes.js';

const ROUNDS = 7;
const WORKERS = 2;

function specOf(model: 'mlp' | 'lenet', clients: number): FederatedSpec {
  return {
    dataset: 'mnist', testLimit: 200, model: { name: model, width: 1, init: model === 'lenet' ? 'dlg' : 'xavier' }, clients, rounds: ROUNDS, batchSize: 32,
    partition: { kind: 'iid' }, fraction: 1, algorithm: 'clsgd', localSteps: 1, lr: 0.05, schedule: 'constant', lrSteps: [], momentum: 0.9, weightDecay: 1e-4,
    serverLr: 1, defense: { name: 'dgp', options: {} }, seed: 1, evalEvery: 0,
  };
}

/** Median round time over rounds 2..R-1 from the times the rounds ended. */
function medianRoundMs(ends: number[]): number {
  const d = ends.slice(1, -1).map((t, i) => t - ends[i]!);
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}

async function inProcess(spec: FederatedSpec, data: DatasetSplits): Promise<number> {
  const ends: number[] = [];
  await runFederated(spec, data, { onRound: () => ends.push(performance.now()) });
  return medianRoundMs(ends);
}

async function overTls(spec: FederatedSpec, data: DatasetSplits): Promise<{ ms: number; payloadPerRound: number; overhead: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'dgp-bench-net-'));
  const workers: DgpProcess[] = [];
  try {
    const certs = await makeCertificates({ services: ['server'], hosts: ['127.0.0.1'] });
    writeFileSync(join(dir, 'ca.pem'), certs.caCert);
    const creds = Array.from({ length: spec.clients }, (_, clientId) => ({ role: 'client' as const, clientId, token: newToken() }));
    for (const c of creds) writeFileSync(join(dir, `client-${c.clientId}.json`), JSON.stringify(c));
    const access = AccessList.parse({ tokens: creds.map(accessEntry) }, 'bench');
    const ends: number[] = [];
    let url = '';
    const served = serveRun({
      spec, test: data.test, host: '127.0.0.1', port: 0, tls: { cert: Buffer.from(certs.services.server!.cert), key: Buffer.from(certs.services.server!.key) },
      access: () => access, waitMs: 120_000, clientTimeoutMs: 120_000, limits: { maxConnections: 4 * spec.clients + 16 },
      onListening: (s) => (url = s.url), onRound: () => ends.push(performance.now()),
    });
    while (!url) await new Promise((r) => setTimeout(r, 5));
    const per = Math.ceil(spec.clients / WORKERS);
    for (let w = 0; w < WORKERS; w++) {
      const a = w * per;
      const b = Math.min(spec.clients, a + per) - 1;
      if (a > b) continue;
      workers.push(startDgp(`worker ${a}-${b}`, ['worker', '--server', url, '--credentials', dir, '--clients', `${a}-${b}`, '--data', 'share', '--tls-ca', join(dir, 'ca.pem'), '--seed', 'run'], { cwd: dir }));
    }
    const { result, wireBytes } = await served;
    for (const w of workers) await w.exited;
    const payload = [...result.bytesUp, ...result.bytesDown].reduce((x, y) => x + y, 0);
    const wire = wireBytes.reduce((x, y) => x + y, 0);
    const roundPayload = (e: HistoryEntry) => e.bytesUp + e.bytesDown;
    const steady = result.history.slice(1, -1);
    return { ms: medianRoundMs(ends), payloadPerRound: steady.reduce((s, e) => s + roundPayload(e), 0) / steady.length, overhead: (wire - payload) / payload };
  } finally {
    await stopAll(workers);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchNet(): Promise<{ table: string; json: Record<string, number> }> {
  const data = await loadDataset('mnist');
  const rows: string[][] = [];
  const json: Record<string, number> = {};
  // DGP_BENCH_NET=mlp_100,lenet_10 runs only those configurations.
  const only = process.env['DGP_BENCH_NET']?.split(',');
  for (const model of ['mlp', 'lenet'] as const) {
    for (const clients of [10, 100]) {
      if (only && !only.includes(`${model}_${clients}`)) continue;
      const spec = specOf(model, clients);
      const local = await inProcess(spec, data);
      const net = await overTls(spec, data);
      const key = `${model}_${clients}`;
      Object.assign(json, {
        [`${key}.in_process_round_ms`]: local, [`${key}.tls_round_ms`]: net.ms, [`${key}.ratio`]: net.ms / local,
        [`${key}.payload_bytes_per_round`]: net.payloadPerRound, [`${key}.protocol_overhead`]: net.overhead,
      });
      rows.push([
        `${model}, ${clients} clients`, local.toFixed(0), net.ms.toFixed(0), (net.ms / local).toFixed(2),
        (net.payloadPerRound / 1e6).toFixed(2), (net.payloadPerRound / 1e6 / (net.ms / 1000)).toFixed(1), `${(100 * net.overhead).toFixed(2)} %`,
      ]);
    }
  }
  const table = `Federated round over TLS on 127.0.0.1 (server here, clients in ${WORKERS} dgp worker processes) against one process; DGP + EF, MNIST, 32 examples per client; median of rounds 2-${ROUNDS - 1}\n` +
    textTable(['configuration', 'in-process ms', 'over TLS ms', 'ratio', 'payload MB/round', 'MB/s', 'protocol overhead'], rows);
  return { table, json };
}
