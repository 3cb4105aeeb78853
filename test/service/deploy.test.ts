// The deployment service between real processes over TLS on 127.0.0.1: dgp serve, dgp
// broadcaster and dgp client processes, each client reading its own image folder. Each run must
// equal the same run in one process on the same data (test loss, every byte count, the whole
// history), also through ADGP's separate broadcaster and across a server killed and resumed.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Dataset, loadMnist } from '../../src/data/index.js';
import { createClient } from '@connectrpc/connect';
import { type FederatedResult, type FederatedSpec, runFederated } from '../../src/federation/index.js';
import { FederationService, nodeTransport } from '../../src/service/index.js';
import type { DgpProcess } from '../../scripts/processes.js';
import { clientFolders, processes, type TestDeployment, testDeployment } from './helpers.js';

const CLIENTS = 3;
const PER_CLIENT = 200;

interface Served {
  testAccuracy: number;
  testLoss: number;
  bytes: { up: number[]; down: number[] };
  spec: FederatedSpec;
  history: FederatedResult['history'];
}

describe('the deployment service between real processes', { concurrency: false }, () => {
  let d: TestDeployment;
  let own: Dataset[];
  const mnist = loadMnist();
  const { start, stopAll } = processes(() => d.dir);
  const tls = (name: 'server' | 'broadcaster') => ['--tls-cert', `${name}.pem`, '--tls-key', `${name}-key.pem`];
  const run = ['--model', 'mlp', '--rounds', '4', '--batch-size', '16', '--lr', '0.1', '--schedule', 'constant', '--test-limit', '500', '--seed', '3'];

  before(async () => {
    d = await testDeployment(CLIENTS);
    own = clientFolders(d.dir, mnist.train, CLIENTS, PER_CLIENT, 5);
  });
  after(async () => {
    await stopAll();
    rmSync(d.dir, { recursive: true, force: true });
  });

  async function serveAndJoin(serveArgs: string[], clientArgs: (k: number) => string[] = () => []): Promise<{ server: DgpProcess; clients: DgpProcess[]; url: string }> {
    const server = start('serve', ['serve', ...run, ...tls('server'), '--access', 'server-access.json', '--listen', '127.0.0.1:0', '--wait', '60', ...serveArgs]);
    const url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    const clients = Array.from({ length: CLIENTS }, (_, k) => start(`client ${k}`, [
      'client', '--server', url, '--credential', `client-${k}.json`, '--data', `folder:client-${k}`, '--tls-ca', 'ca.pem', '--seed', 'run', ...clientArgs(k),
    ]));
    return { server, clients, url };
  }

  async function exitsCleanly(p: DgpProcess): Promise<void> {
    assert.equal(await p.exited, 0, `${p.name} failed:\n${p.stderr()}\n${p.stdout()}`);
  }

  function assertSameRun(remote: Served, local: FederatedResult): void {
    assert.equal(remote.testLoss, local.testLoss);
    assert.equal(remote.testAccuracy, local.testAccuracy);
    assert.deepEqual(remote.bytes.up, local.bytesUp);
    assert.deepEqual(remote.bytes.down, local.bytesDown);
    assert.deepEqual(remote.history, JSON.parse(JSON.stringify(local.history)));
  }

  it('a DGP run of three clients, each reading its own folder, equals the run in one process on the same data', async () => {
    const { server, clients } = await serveAndJoin(['--defense', 'dgp', '--json', 'dgp.json']);
    await exitsCleanly(server);
    await Promise.all(clients.map(exitsCleanly));
    const remote = JSON.parse(readFileSync(join(d.dir, 'dgp.json'), 'utf8')) as Served;
    const local = await runFederated(remote.spec, { test: mnist.test }, { clientData: own });
    assertSameRun(remote, local);
    assert.ok(remote.history.every((e) => e.dropped.length === 0));
    assert.match(clients[0]!.stdout(), /trained in 4 rounds/);
  });

  it('an ADGP run through the separate broadcaster equals the ADGP run in one process', async () => {
    const broadcaster = start('broadcaster', ['broadcaster', ...tls('broadcaster'), '--access', 'broadcaster-access.json', '--listen', '127.0.0.1:0']);
    const burl = (await broadcaster.waitFor(/listening on (https:\/\/\S+)/))[1]!;
    const { server, clients } = await serveAndJoin(
      ['--defense', 'adgp', '--broadcaster', burl, '--broadcaster-ca', 'ca.pem', '--broadcaster-credential', 'server-credential.json', '--json', 'adgp.json'],
      () => ['--broadcaster', burl],
    );
    await exitsCleanly(server);
    await Promise.all(clients.map(exitsCleanly));
    broadcaster.kill('SIGTERM');
    await exitsCleanly(broadcaster);
    const remote = JSON.parse(readFileSync(join(d.dir, 'adgp.json'), 'utf8')) as Served;
    const local = await runFederated(remote.spec, { test: mnist.test }, { clientData: own });
    assertSameRun(remote, local);
    assert.match(broadcaster.stderr(), /stopped after 4 rounds/);
  });

  it('a server killed mid-run and restarted with --resume gives the uninterrupted history, its clients reconnecting', async () => {
    const eight = ['--rounds', '8', '--checkpoint', 'ckpt', '--checkpoint-every', '4', '--defense', 'dgp'];
    const first = await serveAndJoin(eight, () => ['--state-dir', 'state']);
    // Kill the server past its checkpoint of round 4 (the clients keep running), when the clients
    // have trained beyond it: they must go back to their saved state of round 4.
    const status = createClient(FederationService, nodeTransport({ url: first.url, ca: d.ca, credential: d.clients[0]! }));
    const deadline = Date.now() + 120_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'the run did not pass round 4 within 120 s');
      const r = await status.status({}).catch(() => null);
      if (r && r.round >= 5) {
        assert.ok(r.round < 8, `the run reached round ${r.round} before it was killed`);
        break;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    first.server.kill('SIGKILL');
    await first.server.exited;
    assert.equal(readFileSync(join(d.dir, 'ckpt', 'latest'), 'utf8').trim(), 'round-000004');
    const port = new URL(first.url).port;
    const resumed = start('serve (resumed)', ['serve', ...run, ...eight, ...tls('server'), '--access', 'server-access.json', '--listen', `127.0.0.1:${port}`, '--resume', 'ckpt', '--json', 'resumed.json', '--wait', '60']);
    await exitsCleanly(resumed);
    await Promise.all(first.clients.map(exitsCleanly));
    for (const c of first.clients) assert.match(c.stderr(), /restored its state of round 4/);
    const remote = JSON.parse(readFileSync(join(d.dir, 'resumed.json'), 'utf8')) as Served;
    const local = await runFederated(remote.spec, { test: mnist.test }, { clientData: own });
    assert.equal(remote.history.length, 8);
    assertSameRun(remote, local);
  });
});
