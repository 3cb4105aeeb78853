// Secure aggregation (src/secagg): time per aggregation round and bytes up and down per client,
// for 10 and 100 clients (and 100 with SecAgg+, 20 neighbours each), over a vector the length
// of the MNIST LeNet's ADGP common set (its DGP keep count per tensor, about 20 % of the
// parameters) and over the dense LeNet gradient.
// All parties run in this one process, one after the other, so "clients" is the sum of every
// client's compute (in a deployment they run in parallel: per client is what one client waits).
// Times are process CPU time (steadier than wall time on a shared machine): "round cpu s" of the
// whole round, "cpu ms / client" and "server cpu ms" of their steps (aggregateSecurely's clock).
// "round s" is wall time.
// Run alone: node --import tsx bench/secagg.ts
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { dgpCounts, parseDgpOptions } from '../src/defenses/index.js';
import { lenet } from '../src/models/index.js';
import { textTable } from '../src/report/index.js';
import { aggregateSecurely, type Traffic } from '../src/secagg/index.js';

/** The MNIST LeNet's parameter count, and its ADGP common set (DGP's keep count per tensor). */
export function lenetLengths(): { dense: number; adgp: number } {
  const sizes = lenet({ inputShape: [1, 28, 28] }).params.map((p) => p.shape.reduce((a, b) => a * b, 1));
  const o = parseDgpOptions({});
  return { dense: sizes.reduce((a, b) => a + b, 0), adgp: sizes.reduce((a, n) => a + dgpCounts(n, o).keep, 0) };
}

/** Process CPU time (user + system), ms. */
const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

interface Row {
  clients: number;
  /** SecAgg+ neighbours per client; null: all others (Bonawitz et al.). */
  neighbours: number | null;
  vector: 'adgp' | 'dense';
  length: number;
  dropped: number;
}

/** SecAgg+ neighbours benchmarked at 100 clients (an illustration, not a security recommendation). */
const PLUS_NEIGHBOURS = 20;

export async function benchSecagg(): Promise<{ table: string; json: Record<string, number> }> {
  const lengths = lenetLengths();
  const rows: Row[] = [];
  for (const [clients, neighbours] of [[10, null], [100, null], [100, PLUS_NEIGHBOURS]] as const) {
    for (const vector of ['adgp', 'dense'] as const) {
      for (const dropped of [0, clients / 10]) rows.push({ clients, neighbours, vector, length: lengths[vector], dropped });
    }
  }
  const json: Record<string, number> = { lenet_params: lengths.dense, adgp_common_entries: lengths.adgp, load_average: os.loadavg()[0]! };
  const cells: (string | number)[][] = [];
  for (const row of rows) {
    const inputs = new Map(Array.from({ length: row.clients }, (_, id) => [id, Float32Array.from({ length: row.length }, () => Math.random() - 0.5)]));
    const threshold = Math.ceil((2 * Math.min(row.clients, (row.neighbours ?? row.clients) + 1)) / 3);
    // Clients that drop after ShareKeys: the server then rebuilds their keys and their masks.
    const dropAfter = { shareKeys: Array.from({ length: row.dropped }, (_, i) => 10 * i + 1) };
    const runs = row.clients <= 10 ? 5 : 1;
    const results: { wall: number; cpu: number; clientsMs: number; serverMs: number; traffic: Traffic }[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const res = await aggregateSecurely(inputs, { round: r, threshold, clip: 1, dropAfter, neighbours: row.neighbours ?? undefined, clock: cpuMs });
      const c = process.cpuUsage(c0);
      results.push({ wall: performance.now() - t0, cpu: (c.user + c.system) / 1000, ...res.time, traffic: res.traffic.get(0)! });
    }
    const median = (f: (x: (typeof results)[number]) => number) => results.map(f).sort((a, b) => a - b)[runs >> 1]!;
    const wall = median((x) => x.wall);
    const cpu = median((x) => x.cpu);
    const perClient = median((x) => x.clientsMs) / row.clients;
    const server = median((x) => x.serverMs);
    const { up, down } = results[0]!.traffic; // client 0 goes through all four rounds
    const plain = 4 * row.length;
    const key = `n${row.clients}${row.neighbours ? `_k${row.neighbours}` : ''}_${row.vector}_drop${row.dropped}`;
    Object.assign(json, { [`${key}_round_ms`]: wall, [`${key}_round_cpu_ms`]: cpu, [`${key}_client_cpu_ms`]: perClient, [`${key}_server_cpu_ms`]: server, [`${key}_up_bytes`]: up, [`${key}_down_bytes`]: down, [`${key}_plain_bytes`]: plain });
    cells.push([row.clients, row.neighbours ?? 'all', threshold, `${row.vector} ${row.length}`, row.dropped, (wall / 1000).toFixed(2), (cpu / 1000).toFixed(2), perClient.toFixed(1), server.toFixed(1), up, (up / plain).toFixed(2), down, runs]);
  }
  const table = [
    `secure aggregation, one round in one process (MNIST LeNet: ${lengths.dense} parameters, ADGP common set ${lengths.adgp}); clip 1, t = ceil(2/3 of a neighbourhood);`,
    `"dropped": clients that leave after ShareKeys; bytes are client 0's; "x plain" = up / 4L (the float32 values alone); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
    textTable(['clients', 'neighbours', 't', 'vector', 'dropped', 'round s', 'round cpu s', 'cpu ms / client', 'server cpu ms', 'up B / client', 'x plain', 'down B / client', 'runs (median)'], cells),
  ].join('\n');
  return { table, json };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { table, json } = await benchSecagg();
  console.log(table);
  console.log(JSON.stringify(json));
}
