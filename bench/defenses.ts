// Defenses and wire format at the size of the paper's model: a gradient shaped like CIFAR
// ResNet-18 (11.2 M entries). Times DGP, Top-k and the codec on one core, and counts the bytes a
// round moves (10 clients, up and down, DGP and ADGP) against dense float32 and against the
// information-theoretic size. Run alone: node --import tsx bench/defenses.ts
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Rng } from '../src/common/rng.js';
import type { TensorList } from '../src/common/tensors.js';
import { denseUpdate, sparseUpdate, type ClientUpdate, type TensorLayout } from '../src/common/update.js';
import { supportUnion } from '../src/aggregation/index.js';
import { decodeUpdate, encodedSize, encodeUpdate, idealBytes } from '../src/codec/index.js';
import { adgpClient, adgpUploadBytes, createBroadcaster, createDefense, dgp, downloadBytes, topk } from '../src/defenses/index.js';

const CLIENTS = 10;
/** Client c's gradient is shared + NOISE * own: clients agree in part, as in one training round. */
const NOISE = 1;

/** CIFAR ResNet-18 (3x3 stem, 4 stages of 2 BasicBlocks, 1x1 downsample shortcuts, fc 512x10). */
export function resnet18Layout(): TensorLayout[] {
  const out: TensorLayout[] = [];
  const bn = (p: string, c: number) => out.push({ name: `${p}.weight`, shape: [c] }, { name: `${p}.bias`, shape: [c] });
  out.push({ name: 'conv1.weight', shape: [64, 3, 3, 3] });
  bn('bn1', 64);
  let cin = 64;
  [64, 128, 256, 512].forEach((c, s) => {
    for (let b = 0; b < 2; b++) {
      const p = `layer${s + 1}.${b}`;
      out.push({ name: `${p}.conv1.weight`, shape: [c, b === 0 ? cin : c, 3, 3] });
      bn(`${p}.bn1`, c);
      out.push({ name: `${p}.conv2.weight`, shape: [c, c, 3, 3] });
      bn(`${p}.bn2`, c);
      if (b === 0 && cin !== c) {
        out.push({ name: `${p}.shortcut.0.weight`, shape: [c, cin, 1, 1] });
        bn(`${p}.shortcut.1`, c);
      }
    }
    cin = c;
  });
  out.push({ name: 'linear.weight', shape: [10, 512] }, { name: 'linear.bias', shape: [10] });
  return out;
}

function gaussianLike(layout: TensorLayout[], rng: Rng): TensorList {
  return layout.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.normal();
    return { name: t.name, shape: t.shape, data };
  });
}

function clientGrad(shared: TensorList, seed: number): TensorList {
  const rng = new Rng(seed);
  return shared.map((t) => {
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = t.data[i]! + NOISE * rng.normal();
    return { ...t, data };
  });
}

/**
 * Median over `runs` calls (after one warm-up) of the wall time and of the process CPU time, in
 * ms. On a shared machine the CPU time is the steadier figure of the two.
 */
function time(fn: () => unknown, runs = 5): { wall: number; cpu: number } {
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (a: number[]) => a.sort((x, y) => x - y)[runs >> 1]!;
  return { wall: median(wall), cpu: median(cpu) };
}

export async function benchDefenses(): Promise<{ table: string; json: Record<string, number> }> {
  const layout = resnet18Layout();
  const n = layout.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  const shared = gaussianLike(layout, new Rng(1));
  const grad = clientGrad(shared, 100);
  const rng = new Rng(2);
  const header = { kind: 'update' as const, round: 0, clientId: 0 };

  const plain = dgp();
  const withEf = createDefense('dgp');
  const efState = withEf.init(layout);
  const top = topk();
  const dgpUpdate = plain.apply(grad, null, rng).update;
  let bytes = encodeUpdate(header, dgpUpdate);
  const timed: [string, string, { wall: number; cpu: number }][] = [
    ['dgp', 'DGP apply (no EF)', time(() => plain.apply(grad, null, rng))],
    ['dgp_ef', 'DGP apply (with EF)', time(() => withEf.apply(grad, efState, rng))],
    ['topk', 'Top-k apply (no EF)', time(() => top.apply(grad, null, rng))],
    ['encode', 'encode DGP update', time(() => (bytes = encodeUpdate(header, dgpUpdate)))],
    ['decode', 'decode DGP update', time(() => decodeUpdate(bytes, { layout }))],
    ['dgp_plus_encode', 'DGP + encode', time(() => encodeUpdate(header, plain.apply(grad, null, rng).update))],
    ['dgp_ef_plus_encode', 'DGP with EF + encode', time(() => encodeUpdate(header, withEf.apply(grad, efState, rng).update))],
  ];

  const denseBytes = encodedSize(grad.map((t) => denseUpdate(t.name, t.shape, t.data)));
  const dgpUp = bytes.length;
  const ideal = idealBytes(dgpUpdate);

  // One round of 10 clients, first round (zero residuals), DGP and ADGP.
  const dgpUpdates: ClientUpdate[] = [];
  const client = adgpClient();
  const bands: Uint32Array[][] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const g = clientGrad(shared, 1000 + c);
    dgpUpdates.push(plain.apply(g, null, rng).update);
    bands.push(client.propose(g, client.init(layout)).bands);
  }
  const common = createBroadcaster().decide(layout, bands);
  const down = downloadBytes(layout, dgpUpdates, common);
  const union = supportUnion(layout, dgpUpdates);
  const idealDown = idealBytes(layout.map((t, i) => sparseUpdate(t.name, t.shape, union[i]!, new Float32Array(union[i]!.length))));
  // Regenerate client 0 (gradients are seeded) to size one ADGP upload without holding all ten.
  const g0 = clientGrad(shared, 1000);
  const st = client.init(layout);
  const up0 = client.upload(client.propose(g0, st).pending, st, common);
  const adgpUp = adgpUploadBytes(layout, bands[0]!, up0.update, common);
  const meanDgpUp = dgpUpdates.reduce((s, u) => s + encodedSize(u), 0) / CLIENTS;
  // The positions of an ADGP upload are shared, so its floor is the values alone.
  const idealAdgpValues = up0.update.reduce((s, u) => s + 4 * u.values.length, 0);

  const json: Record<string, number> = {
    entries: n,
    tensors: layout.length,
    load_average: os.loadavg()[0]!,
    ...Object.fromEntries(timed.flatMap(([key, , t]) => [[`${key}_ms`, t.wall], [`${key}_cpu_ms`, t.cpu], [`${key}_entries_per_cpu_s`, n / (t.cpu / 1000)]])),
    dense_bytes_per_client: denseBytes,
    dgp_up_bytes_per_client: dgpUp,
    ideal_dgp_up_bytes: ideal,
    dgp_up_over_ideal: dgpUp / ideal,
    dgp_up_per_round: meanDgpUp * CLIENTS,
    dgp_down_bytes_per_client: down.dgp,
    dgp_down_over_dense: down.dgp / denseBytes,
    dgp_down_over_ideal: down.dgp / idealDown,
    dgp_down_per_round: down.dgp * CLIENTS,
    adgp_down_per_round: down.adgp * CLIENTS,
    adgp_up_band_bytes_per_client: adgpUp.band,
    adgp_up_values_bytes_per_client: adgpUp.values,
    adgp_up_per_round: (adgpUp.band + adgpUp.values) * CLIENTS,
    adgp_down_bytes_per_client: down.adgp,
    adgp_down_positions_bytes: down.adgpPositions,
    adgp_down_values_bytes: down.adgpValues,
    adgp_values_over_ideal: adgpUp.values / idealAdgpValues,
    down_saving_adgp_vs_dgp: 1 - down.adgp / down.dgp,
  };
  const MB = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
  const rate = (x: number) => `${(x / 1e6).toFixed(0)} M`;
  const rows: [string, string, string][] = [
    ...timed.map(([, label, t]): [string, string, string] => [label, `${t.wall.toFixed(1)} ms`, `cpu ${t.cpu.toFixed(1)} ms, ${rate(n / (t.cpu / 1000))} entries/cpu-s`]),
    ['dense float32, per client', MB(denseBytes), ''],
    ['DGP up, per client', MB(dgpUp), `${(dgpUp / ideal).toFixed(3)} x ideal ${MB(ideal)}`],
    ['DGP up, per round', MB(json['dgp_up_per_round']!), `dense ${MB(denseBytes * CLIENTS)}`],
    ['DGP down, per client', MB(down.dgp), `union of ${CLIENTS} supports, ${(down.dgp / idealDown).toFixed(3)} x ideal; x${CLIENTS} = ${MB(down.dgp * CLIENTS)} per round`],
    ['ADGP up, per client', MB(adgpUp.band + adgpUp.values), `band ${MB(adgpUp.band)} + values ${MB(adgpUp.values)} (${(adgpUp.values / idealAdgpValues).toFixed(4)} x their ideal)`],
    ['ADGP up, per round', MB(json['adgp_up_per_round']!), ''],
    ['ADGP down, per client', MB(down.adgp), `set ${MB(down.adgpPositions)} + values ${MB(down.adgpValues)}; x${CLIENTS} = ${MB(down.adgp * CLIENTS)} per round`],
    ['ADGP download saving', `${(100 * json['down_saving_adgp_vs_dgp']!).toFixed(1)} %`, 'vs DGP'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const table = [
    `defenses on a ResNet-18-sized gradient: ${n} entries in ${layout.length} tensors, ${CLIENTS} clients (client grad = shared + ${NOISE} x own, N(0,1) each)`,
    `times: median of 5, wall and process CPU, one thread; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
    ...rows.map(([a, b, c]) => `${a.padEnd(w)}  ${b.padStart(10)}  ${c}`),
  ].join('\n');
  return { table, json };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { table, json } = await benchDefenses();
  console.log(table);
  console.log(JSON.stringify(json));
}
