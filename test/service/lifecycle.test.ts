// A client's life around its server, with real processes: it waits (with backoff) for a server
// that is not up yet; it exits non-zero, saying why, when the server gives up waiting for the
// others; a credential revoked by editing the access file and SIGHUP is refused at once; and the
// commands refuse what a deployment must not do silently.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { accessEntry, FederationService, nodeTransport } from '../../src/service/index.js';
import { type DgpProcess, startDgp, stopAll } from '../../scripts/processes.js';
import { type TestDeployment, testDeployment } from './helpers.js';

describe('clients and servers coming and going', { concurrency: false }, () => {
  let d: TestDeployment;
  const procs: DgpProcess[] = [];
  const start = (name: string, args: string[]) => {
    const p = startDgp(name, args, { cwd: d.dir });
    procs.push(p);
    return p;
  };
  const serve = (extra: string[]) => start('serve', [
    'serve', '--model', 'mlp', '--rounds', '2', '--batch-size', '8', '--train-limit', '200', '--test-limit', '100',
    '--tls-cert', 'server.pem', '--tls-key', 'server-key.pem', '--access', 'server-access.json', ...extra,
  ]);
  const client = (k: number, url: string, extra: string[] = []) => start(`client ${k}`, [
    'client', '--server', url, '--credential', `client-${k}.json`, '--data', 'share', '--tls-ca', 'ca.pem', ...extra,
  ]);

  before(async () => {
    d = await testDeployment(2);
  });
  after(async () => {
    await stopAll(procs);
    rmSync(d.dir, { recursive: true, force: true });
  });

  it('a client started before its server keeps trying, then trains when the server comes up', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const url = `https://127.0.0.1:${port}`;
    const early = [client(0, url), client(1, url)];
    await early[0]!.waitFor(/trying again in/);
    const server = serve(['--listen', `127.0.0.1:${port}`, '--wait', '60']);
    assert.equal(await server.exited, 0, server.stderr());
    for (const c of early) {
      assert.equal(await c.exited, 0, c.stderr());
      assert.match(c.stdout(), /finished 2 rounds/);
    }
  });

  it('when the server gives up waiting for the others, a client exits 1 and says why', async () => {
    const server = serve(['--listen', '127.0.0.1:0', '--wait', '15']);
    const url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    const lone = client(0, url);
    await server.waitFor(/client 0 joined/, 15_000);
    assert.equal(await server.exited, 1);
    assert.match(server.stderr(), /only 1 of 2 clients joined within 15 s \(missing: 1\)/);
    assert.equal(await lone.exited, 1);
    assert.match(lone.stderr(), /client 0 stopped: the server aborted the run: only 1 of 2 clients joined/);
  });

  it('a credential removed from the access file is refused after SIGHUP, the others still admitted', async () => {
    const server = serve(['--listen', '127.0.0.1:0', '--wait', '60']);
    const url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    const status = (k: number) => createClient(FederationService, nodeTransport({ url, ca: d.ca, credential: d.clients[k]! })).status({});
    assert.equal((await status(1)).clients, 2);
    writeFileSync(d.files.serverAccess, JSON.stringify({ tokens: [accessEntry(d.clients[0]!)] }));
    server.kill('SIGHUP');
    await server.waitFor(/reloaded .*server-access\.json: 1 client tokens/);
    await assert.rejects(status(1), (e) => ConnectError.from(e).code === Code.Unauthenticated);
    assert.equal((await status(0)).state, 'waiting');
    writeFileSync(d.files.serverAccess, '{ broken');
    server.kill('SIGHUP');
    await server.waitFor(/kept the access list in use: access file .*not JSON/);
    assert.equal((await status(0)).state, 'waiting');
    server.kill('SIGTERM');
    assert.equal(await server.exited, 1);
    writeFileSync(d.files.serverAccess, JSON.stringify({ tokens: d.clients.map(accessEntry) }));
  });

  it('refuses plain HTTP/2 off loopback, a missing certificate, and overwriting another run\'s checkpoint', async () => {
    const insecure = start('serve', ['serve', '--rounds', '1', '--access', 'server-access.json', '--listen', '0.0.0.0:0', '--insecure']);
    assert.equal(await insecure.exited, 2);
    assert.match(insecure.stderr(), /refusing to serve without TLS on 0\.0\.0\.0/);
    const noCert = start('serve', ['serve', '--rounds', '1', '--access', 'server-access.json']);
    assert.equal(await noCert.exited, 2);
    assert.match(noCert.stderr(), /TLS is on by default: give --tls-cert and --tls-key/);
    mkdirSync(join(d.dir, 'old'));
    writeFileSync(join(d.dir, 'old', 'latest'), 'round-000010\n');
    const overwrite = serve(['--listen', '127.0.0.1:0', '--checkpoint', 'old']);
    assert.equal(await overwrite.exited, 2);
    assert.match(overwrite.stderr(), /--checkpoint old already holds checkpoint files .*; continue that run with --resume old --checkpoint old, let this run replace it with --force/);
    const badListen = serve(['--listen', '127.0.0.1:99999']);
    assert.equal(await badListen.exited, 2);
    assert.match(badListen.stderr(), /invalid --listen: port 99999 is above 65535 in "127\.0\.0\.1:99999"; expected HOST:PORT/);
  });
});
