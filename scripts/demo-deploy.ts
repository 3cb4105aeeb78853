// `npm run demo:deploy`: a deployment on 127.0.0.1 from nothing. It makes a CA and certificates
// (dgp certs) and credentials (dgp credentials), writes three image folders from MNIST (one per
// client: the clients' own data), starts dgp broadcaster, then dgp serve with three dgp client
// processes for 5 rounds of ADGP, then again for 5 rounds of DGP, and prints one JSON line per run:
// test accuracy, payload bytes up and down per client, and the protocol's overhead (bytes on the
// wire, TLS and HTTP/2 included, beyond the codec's payloads, over the payloads). Exits 0 only if
// both runs finished. `--out DIR` keeps everything (default: a temporary folder); `--rounds N`.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/common/rng.js';
import { loadMnist, partitionIid, writeImageFolder } from '../src/data/index.js';
import { type DgpProcess, startDgp, stopAll, tail } from './processes.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, rounds: { type: 'string', default: '5' }, 'per-client': { type: 'string', default: '1000' } } });
const dir = values.out ?? mkdtempSync(join(tmpdir(), 'dgp-demo-'));
const rounds = Number(values.rounds);
const perClient = Number(values['per-client']);
const CLIENTS = 3;
const procs: DgpProcess[] = [];
const log = (line: string) => console.error(`demo: ${line}`);

async function run(name: string, args: string[]): Promise<DgpProcess> {
  const p = startDgp(name, args, { cwd: dir });
  procs.push(p);
  return p;
}

async function finished(p: DgpProcess): Promise<void> {
  const code = await p.exited;
  if (code !== 0) throw new Error(`${p.name} exited with ${code}\n${tail(p.stderr() + p.stdout())}`);
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  log(`working in ${dir}`);
  await finished(await run('certs', ['certs', '--out', 'certs', '--hosts', '127.0.0.1,localhost', '--force']));
  await finished(await run('credentials', ['credentials', '--clients', String(CLIENTS), '--out', 'creds', '--force']));

  // Each client's own images: a seeded share of MNIST's training set, written as PNG folders.
  const mnist = loadMnist();
  const parts = partitionIid(CLIENTS * perClient, CLIENTS, new Rng(2024));
  for (let k = 0; k < CLIENTS; k++) {
    writeImageFolder(join(dir, `client-${k}`), mnist.train, parts[k]!, (path, bytes) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    });
  }
  log(`wrote ${CLIENTS} image folders of ${perClient} MNIST images each`);

  const tls = (name: string) => ['--tls-cert', `certs/${name}.pem`, '--tls-key', `certs/${name}-key.pem`];
  const broadcaster = await run('broadcaster', ['broadcaster', '--listen', '127.0.0.1:0', ...tls('broadcaster'), '--access', 'creds/broadcaster-access.json', '--stats', 'broadcaster-stats.json']);
  const broadcasterUrl = (await broadcaster.waitFor(/listening on (https:\/\/\S+)/))[1]!;

  const results: Record<string, unknown>[] = [];
  for (const defense of ['adgp', 'dgp'] as const) {
    writeFileSync(join(dir, `${defense}.yaml`), [
      '# the run, as dgp serve and dgp train take it',
      'dataset: mnist', 'model: mlp', `rounds: ${rounds}`, 'batch-size: 32', 'lr: 0.1', 'schedule: constant', `defense: ${defense}`, 'seed: 1', '',
    ].join('\n'));
    const adgp = defense === 'adgp' ? ['--broadcaster', broadcasterUrl, '--broadcaster-ca', 'certs/ca.pem', '--broadcaster-credential', 'creds/server-credential.json'] : [];
    const server = await run(`serve ${defense}`, ['serve', '--config', `${defense}.yaml`, '--listen', '127.0.0.1:0', ...tls('server'), '--access', 'creds/server-access.json', ...adgp, '--json', `${defense}.json`, '--wait', '60']);
    const url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    const clients = [];
    for (let k = 0; k < CLIENTS; k++) {
      clients.push(await run(`client ${k} (${defense})`, [
        'client', '--server', url, '--credential', `creds/client-${k}.json`, '--data', `folder:client-${k}`, '--tls-ca', 'certs/ca.pem',
        ...(defense === 'adgp' ? ['--broadcaster', broadcasterUrl] : []), '--state-dir', 'client-state', '--json', `client-${k}-${defense}.json`,
      ]));
    }
    await finished(server);
    await Promise.all(clients.map(finished));
    results.push({ defense, ...JSON.parse(readFileSync(join(dir, `${defense}.json`), 'utf8')) });
    log(`${defense}: ${server.stdout().trim()}`);
  }
  broadcaster.kill('SIGTERM');
  await finished(broadcaster);
  const stats = JSON.parse(readFileSync(join(dir, 'broadcaster-stats.json'), 'utf8')) as { wireBytes: Record<string, number> };

  for (const r of results as { defense: string; testAccuracy: number; bytes: { up: number[]; down: number[] }; wire: { serverBytes: number[] } }[]) {
    const payload = r.bytes.up.reduce((a, b) => a + b, 0) + r.bytes.down.reduce((a, b) => a + b, 0);
    // The clients' traffic to the broadcaster (the ADGP run's proposals and digest checks) is theirs too.
    const toBroadcaster = r.defense === 'adgp' ? Object.entries(stats.wireBytes).filter(([k]) => k.startsWith('client:')).reduce((a, [, b]) => a + b, 0) : 0;
    const wire = r.wire.serverBytes.reduce((a, b) => a + b, 0) + toBroadcaster;
    console.log(JSON.stringify({
      run: r.defense, rounds, clients: CLIENTS, testAccuracy: r.testAccuracy, bytesUpPerClient: r.bytes.up, bytesDownPerClient: r.bytes.down,
      wireBytes: wire, protocolOverhead: (wire - payload) / payload,
      ...(r.defense === 'adgp' ? { serverToBroadcasterBytes: stats.wireBytes['server'] ?? 0 } : {}),
    }));
  }
}

try {
  await main();
} catch (e) {
  console.error(`demo: FAILED: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopAll(procs);
}
