// The server against hostile peers, while a legitimate run goes on: calls without a credential,
// with a wrong one, with another client's id, garbage bytes (plain and inside TLS), an oversized
// request, a peer that stops sending in the middle of a message, and 1,000 idle connections. Each
// is refused with the right status or closed by its deadline; the server's memory stays bounded
// (its RSS, read from /proc, grows by less than 64 MB from before the first attack until the last
// attacking connection is gone); and the run, whose clients join in the middle of the flood,
// finishes with the result it has without them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { loadMnist } from '../../src/data/index.js';
import { type FederatedSpec, runFederated } from '../../src/federation/index.js';
import { FederationService, nodeTransport } from '../../src/service/index.js';
import { type DgpProcess, startDgp, stopAll } from '../../scripts/processes.js';
import { type TestDeployment, testDeployment } from './helpers.js';

const DEADLINE_S = 2;

function rssOf(pid: number): number {
  if (!existsSync(`/proc/${pid}/status`)) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Resolves with the ms until the server closed the socket; rejects if it stays open past `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
    socket.on('error', () => {});
    // Read (and drop) what arrives, so the server's closing is seen as an end of stream.
    socket.resume();
  });
}

async function code(p: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

describe('the server against hostile peers', { concurrency: false }, () => {
  let d: TestDeployment;
  let server: DgpProcess;
  let url: string;
  let port: number;
  const procs: DgpProcess[] = [];
  let rss0 = 0;
  let rssMax = 0;
  let sampler: NodeJS.Timeout;

  before(async () => {
    d = await testDeployment(2);
    server = startDgp('serve', [
      'serve', '--model', 'mlp', '--rounds', '3', '--batch-size', '16', '--train-limit', '400', '--test-limit', '300', '--defense', 'dgp', '--seed', '4',
      '--tls-cert', 'server.pem', '--tls-key', 'server-key.pem', '--access', 'server-access.json', '--listen', '127.0.0.1:0',
      '--auth-deadline', String(DEADLINE_S), '--body-deadline', String(DEADLINE_S), '--max-connections', '64', '--wait', '120', '--json', 'run.json',
    ], { cwd: d.dir });
    procs.push(server);
    url = (await server.waitFor(/listening on (https:\/\/\S+?);/))[1]!;
    port = Number(new URL(url).port);
    // Warm the server's TLS and RPC paths with one legitimate call before taking its memory.
    await createClient(FederationService, nodeTransport({ url, ca: d.ca, credential: d.clients[0]! })).status({});
    rss0 = rssOf(server.child.pid!);
    rssMax = rss0;
    sampler = setInterval(() => (rssMax = Math.max(rssMax, rssOf(server.child.pid!) || 0)), 25);
  });
  after(async () => {
    clearInterval(sampler);
    await stopAll(procs);
    rmSync(d.dir, { recursive: true, force: true });
  });

  const bare = () => createClient(FederationService, createConnectTransport({ baseUrl: url, httpVersion: '2', nodeOptions: { ca: d.ca } }));
  const withHeader = (value: string) => createClient(FederationService, createConnectTransport({
    baseUrl: url, httpVersion: '2', nodeOptions: { ca: d.ca },
    interceptors: [(next) => (req) => {
      req.header.set('authorization', value);
      return next(req);
    }],
  }));

  it('refuses calls without a credential, or with a wrong one, as unauthenticated, and reveals nothing', async () => {
    assert.equal(await code(bare().status({})), Code.Unauthenticated);
    assert.equal(await code(bare().join({ protocol: 1, clientId: 0 })), Code.Unauthenticated);
    const wrong = withHeader(`Bearer dgp_${randomBytes(32).toString('base64url')}`);
    assert.equal(await code(wrong.join({ protocol: 1, clientId: 0 })), Code.Unauthenticated);
    assert.equal(await code(withHeader('Bearer not-a-token').status({})), Code.Unauthenticated);
    assert.equal(await code(withHeader(`Basic ${d.clients[0]!.token}`).status({})), Code.Unauthenticated);
  });

  it('refuses a valid credential that asks for another client\'s id as permission_denied', async () => {
    const impostor = createClient(FederationService, nodeTransport({ url, ca: d.ca, credential: d.clients[0]! }));
    assert.equal(await code(impostor.join({ protocol: 1, clientId: 1 })), Code.PermissionDenied);
    assert.equal(await code(impostor.respond({ clientId: 1, session: 'x', taskId: 1 })), Code.PermissionDenied);
    const stream = impostor.tasks({ clientId: 1, session: 'x' });
    assert.equal(await code((async () => {
      for await (const _ of stream) break;
    })()), Code.PermissionDenied);
  });

  it('refuses an oversized request, before and after authentication', async () => {
    const big = randomBytes(9 * 1024 * 1024);
    const me = createClient(FederationService, nodeTransport({ url, ca: d.ca, credential: d.clients[0]! }));
    assert.equal(await code(me.respond({ clientId: 0, session: 'x', taskId: 1, totalBytes: big.length, data: big })), Code.ResourceExhausted);
    assert.equal(await code(bare().respond({ clientId: 0, session: 'x', taskId: 1, data: randomBytes(64 * 1024) })), Code.ResourceExhausted);
  });

  it('closes connections that send garbage, in plain TCP and inside TLS', async () => {
    const plain = tcpConnect(port, '127.0.0.1');
    plain.on('connect', () => plain.write(randomBytes(64 * 1024)));
    const secure = tlsConnect({ port, host: '127.0.0.1', ca: d.ca, ALPNProtocols: ['h2'] }, () => secure.write(randomBytes(64 * 1024)));
    await Promise.all([closedWithin(plain, 10_000), closedWithin(secure, 10_000)]);
  });

  it('resets a request whose body stops arriving mid-message, and closes a connection that never authenticates', async () => {
    const session = h2connect(url, { ca: d.ca });
    session.on('error', () => {});
    const req = session.request({
      ':method': 'POST', ':path': '/dgp.v1.FederationService/Respond', 'content-type': 'application/proto',
      authorization: `Bearer ${d.clients[0]!.token}`, 'connect-protocol-version': '1',
    });
    req.on('error', () => {});
    req.write(randomBytes(1000)); // and never the rest
    const t0 = Date.now();
    await new Promise<void>((resolve) => req.on('close', () => resolve()));
    assert.ok(Date.now() - t0 < DEADLINE_S * 1000 + 3000, 'the stalled request was reset by its deadline');
    session.close();
    const silent = tlsConnect({ port, host: '127.0.0.1', ca: d.ca, ALPNProtocols: ['h2'] });
    const waited = await closedWithin(silent, DEADLINE_S * 1000 + 5000);
    assert.ok(waited >= DEADLINE_S * 1000 - 200, `closed after ${waited} ms, before the deadline`);
  });

  it('survives 1,000 idle connections while the legitimate run completes with its undisturbed result', async () => {
    const idle: Socket[] = [];
    const closed: Promise<number>[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = tcpConnect(port, '127.0.0.1');
      idle.push(s);
      closed.push(closedWithin(s, DEADLINE_S * 1000 + 10_000));
    }
    // The clients join in the middle of the flood: refused while it holds every slot, they retry.
    const clients = d.clients.map((c, k) => startDgp(`client ${k}`, [
      'client', '--server', url, '--credential', `client-${k}.json`, '--data', 'share', '--tls-ca', 'ca.pem', '--seed', 'run',
    ], { cwd: d.dir }));
    procs.push(...clients);
    const times = await Promise.all(closed);
    assert.equal(times.length, 1000, 'every idle connection was refused or closed by the deadline');
    // The attacks are over: what the server holds from here on is the run's own (its model, evaluation).
    clearInterval(sampler);
    const growth = rssMax - rss0;
    assert.ok(Number.isFinite(growth) && growth < 64 * 2 ** 20, `the server's RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB`);
    console.log(`# server RSS ${(rss0 / 2 ** 20).toFixed(0)} MB before the attacks, at most ${(rssMax / 2 ** 20).toFixed(0)} MB during them (+${(growth / 2 ** 20).toFixed(1)} MB)`);
    assert.equal(await server.exited, 0, server.stderr());
    for (const c of clients) assert.equal(await c.exited, 0, c.stderr());
    const served = JSON.parse(readFileSync(join(d.dir, 'run.json'), 'utf8')) as { testLoss: number; bytes: { up: number[]; down: number[] }; spec: FederatedSpec };
    const local = await runFederated(served.spec, loadMnist());
    assert.equal(served.testLoss, local.testLoss);
    assert.deepEqual(served.bytes.up, local.bytesUp);
    assert.deepEqual(served.bytes.down, local.bytesDown);
  });
});
