// `dgp serve --secure-aggregation` with three `dgp client` processes over TLS on 127.0.0.1, each
// reading its own image folder, one of which quits in the middle of the run: the protocol's steps
// go through the service as fit tasks, the run survives the dropout, and up to it the history
// equals the secure run in one process on the same data.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Dataset, loadMnist } from '../../src/data/index.js';
import { type FederatedResult, type FederatedSpec, runFederated } from '../../src/federation/index.js';
import { createClient } from '@connectrpc/connect';
import { FederationService, nodeTransport } from '../../src/service/index.js';
import { clientFolders, processes, type TestDeployment, testDeployment } from './helpers.js';

const CLIENTS = 4;
const ROUNDS = 20;

describe('dgp serve --secure-aggregation between real processes', { concurrency: false }, () => {
  let d: TestDeployment;
  let own: Dataset[];
  const mnist = loadMnist();
  const { start, stopAll } = processes(() => d.dir);

  before(async () => {
    d = await testDeployment(CLIENTS);
    own = clientFolders(d.dir, mnist.train, CLIENTS, 150, 8);
  });
  after(async () => {
    await stopAll();
    rmSync(d.dir, { recursive: true, force: true });
  });

  it('an undefended (dense) run with threshold 3 of 4 equals the one in process, and goes on when a client quits', async () => {
    const run = ['--model', 'mlp', '--rounds', String(ROUNDS), '--batch-size', '16', '--lr', '0.1', '--schedule', 'constant', '--test-limit', '500', '--seed', '3'];
    const server = start('serve', [
      'serve', ...run, '--secure-aggregation', '--threshold', '3', '--tls-cert', 'server.pem', '--tls-key', 'server-key.pem', '--access', 'server-access.json',
      '--listen', '127.0.0.1:0', '--wait', '60', '--client-timeout', '20', '--json', 'secure.json',
    ]);
    const url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    const clients = Array.from({ length: CLIENTS }, (_, k) => start(`client ${k}`, [
      'client', '--server', url, '--credential', `client-${k}.json`, '--data', `folder:client-${k}`, '--tls-ca', 'ca.pem', '--seed', 'run',
    ]));
    // Client 3 quits once the server is past round 3.
    const status = createClient(FederationService, nodeTransport({ url, ca: d.ca, credential: d.clients[0]! }));
    const deadline = Date.now() + 120_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'the run did not pass round 3 within 120 s');
      const r = await status.status({}).catch(() => null);
      if (r && r.round >= 3) {
        assert.ok(r.round < ROUNDS - 2, `the run reached round ${r.round} before client 3 quit`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    clients[3]!.kill('SIGKILL');
    assert.equal(await server.exited, 0, `serve failed:\n${server.stderr()}`);
    await Promise.all(clients.slice(0, 3).map(async (c) => assert.equal(await c.exited, 0, `${c.name} failed:\n${c.stderr()}`)));
    const remote = JSON.parse(readFileSync(join(d.dir, 'secure.json'), 'utf8')) as { spec: FederatedSpec; history: FederatedResult['history'] };
    assert.deepEqual(remote.spec.secureAggregation, { threshold: 3, clip: 4 });
    assert.equal(remote.history.length, ROUNDS);
    assert.ok(remote.history.some((e) => e.secure!.contributors.length === CLIENTS - 1), 'rounds without client 3');
    assert.ok(remote.history.every((e) => e.failed === undefined), 'three of four clients are enough for every round');
    const full = remote.history.filter((e) => e.secure!.contributors.length === CLIENTS);
    assert.ok(full.length >= 1, 'some rounds had every client');
    const local = await runFederated(remote.spec, { test: mnist.test }, { clientData: own });
    // Until client 3 quit, the deployed rounds are the in-process ones, byte for byte.
    const same = remote.history.findIndex((e) => e.dropped.length > 0);
    const upTo = same < 0 ? remote.history.length : same;
    assert.deepEqual(JSON.parse(JSON.stringify(remote.history.slice(0, upTo))), JSON.parse(JSON.stringify(local.history.slice(0, upTo))));
  });
});
