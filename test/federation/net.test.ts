// Clients over TCP: framing, hostile connections, a client that vanishes mid-round, and a whole run
// between real processes (`dgp train --listen` and `dgp client`), which must equal the same run in
// one process, byte for byte.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCommand } from '../../src/cli/args.js';
import { trainCommand } from '../../src/cli/train.js';
import { ClientHub, encodeFrame, Frame, FrameReader, runRemoteClient } from '../../src/federation/net.js';
import { runFederated } from '../../src/federation/run.js';
import { spec, syntheticSplits } from './helpers.js';

const data = syntheticSplits();

describe('frames', () => {
  it('come out whole however the stream is cut', () => {
    const frames = [encodeFrame(Frame.Fit, 7, new Uint8Array([1, 2, 3])), encodeFrame(Frame.Ack, 8), encodeFrame(Frame.Result, 9, new Uint8Array(1000).fill(5))];
    const stream = Buffer.concat(frames);
    for (const cut of [1, 2, 5, 13, 600]) {
      const reader = new FrameReader();
      const got = [];
      for (let i = 0; i < stream.length; i += cut) got.push(...reader.push(stream.subarray(i, i + cut)));
      assert.deepEqual(got.map((f) => [f.type, f.id, f.payload.length]), [[Frame.Fit, 7, 3], [Frame.Ack, 8, 0], [Frame.Result, 9, 1000]]);
      assert.deepEqual([...got[0]!.payload], [1, 2, 3]);
    }
  });

  it('over the limit, shorter than a header, or of an unknown type are refused', () => {
    const long = Buffer.alloc(9);
    long.writeUInt32LE(0xffffffff, 0);
    assert.throws(() => new FrameReader(1 << 20).push(long), /frame of 4294967295 bytes exceeds the limit of 1048576/);
    assert.throws(() => new FrameReader().push(Buffer.from([2, 0, 0, 0, 1, 0])), /shorter than its header/);
    const odd = encodeFrame(Frame.Ack, 1);
    odd.writeUInt8(99, 4);
    assert.throws(() => new FrameReader().push(odd), /unknown frame type 99/);
  });
});

/** Connects, sends `bytes`, and resolves with what the hub answered before closing the connection. */
async function exchange(port: number, bytes: Buffer): Promise<{ frames: ReturnType<FrameReader['push']>; closed: boolean }> {
  const socket = connect({ port, host: '127.0.0.1' });
  const reader = new FrameReader();
  const frames: ReturnType<FrameReader['push']> = [];
  socket.on('data', (c) => frames.push(...reader.push(c)));
  socket.write(bytes);
  const closed = await new Promise<boolean>((resolve) => {
    socket.on('close', () => resolve(true));
    // Long enough for a busy machine: a connection the hub closes resolves at once.
    setTimeout(() => resolve(false), 10_000);
  });
  socket.destroy();
  return { frames, closed };
}

const hello = (clientId: unknown, protocol = 1) => encodeFrame(Frame.Hello, 0, new TextEncoder().encode(JSON.stringify({ protocol, clientId })));
const reason = (f: { payload: Uint8Array }) => (JSON.parse(new TextDecoder().decode(f.payload)) as { reason: string }).reason;

describe('the hub', () => {
  it('refuses hostile and mistaken connections one by one and still admits the real clients', async () => {
    const s = spec({ clients: 2, rounds: 2 });
    const hub = await ClientHub.listen({ port: 0, spec: s, data, maxFrameBytes: 1 << 20 });
    try {
      const huge = Buffer.alloc(9);
      huge.writeUInt32LE(0x7fffffff, 0);
      assert.equal((await exchange(hub.port, huge)).closed, true, 'an oversized frame closes the connection');
      const garbage = await exchange(hub.port, encodeFrame(Frame.Hello, 0, new TextEncoder().encode('{not json')));
      assert.equal(garbage.frames[0]?.type, Frame.Reject);
      assert.match(reason(garbage.frames[0]!), /malformed hello/);
      assert.match(reason((await exchange(hub.port, hello(5))).frames[0]!), /client id 5 is not in 0\.\.1/);
      assert.match(reason((await exchange(hub.port, hello(0, 2))).frames[0]!), /malformed hello \(protocol 1/);
      assert.equal((await exchange(hub.port, encodeFrame(Frame.Fit, 1))).closed, true, 'a call before hello closes the connection');
      const clients = [0, 1].map((clientId) => runRemoteClient({ host: '127.0.0.1', port: hub.port, clientId, loadData: async () => data }));
      await hub.waitForAll(30_000);
      assert.match(reason((await exchange(hub.port, hello(1))).frames[0]!), /client id 1 is already connected/);
      const result = await runFederated(s, data, { remote: hub.clients });
      await hub.close();
      assert.deepEqual((await Promise.all(clients)).map((c) => c.fits), [2, 2]);
      assert.equal(result.history.flatMap((e) => e.dropped).length, 0);
      const local = await runFederated(s, data);
      assert.deepEqual(result.testLoss, local.testLoss, 'the same run as in one process');
      assert.deepEqual(result.bytesUp, local.bytesUp);
    } finally {
      await hub.close().catch(() => {});
    }
  });

  it('a client that vanishes mid-round is dropped; the run goes on with the others', async () => {
    const s = spec({ clients: 2, rounds: 3 });
    const hub = await ClientHub.listen({ port: 0, spec: s, data });
    let liar: Socket | undefined;
    try {
      const good = runRemoteClient({ host: '127.0.0.1', port: hub.port, clientId: 0, loadData: async () => data });
      // Client 1 speaks the protocol until it is asked to train, then disappears.
      liar = connect({ port: hub.port, host: '127.0.0.1' });
      const reader = new FrameReader();
      liar.on('data', (c) => {
        for (const f of reader.push(c)) {
          if (f.type === Frame.Sync) liar!.write(encodeFrame(Frame.Ack, f.id));
          if (f.type === Frame.Fit) liar!.destroy();
        }
      });
      liar.write(hello(1));
      await hub.waitForAll(30_000);
      const result = await runFederated(s, data, { remote: hub.clients });
      await hub.close();
      await good;
      const dropped = result.history.map((e) => e.dropped.map((d) => `${d.client} ${d.phase}: ${d.reason}`));
      assert.deepEqual(dropped, [['1 fit: client 1 disconnected'], ['1 sync: client 1 is not connected'], ['1 sync: client 1 is not connected']]);
      assert.ok(Number.isFinite(result.testLoss));
    } finally {
      liar?.destroy();
      await hub.close().catch(() => {});
    }
  });
});

const bin = fileURLToPath(new URL('../../bin/dgp.js', import.meta.url));

function exited(p: ChildProcess, name: string): Promise<string> {
  let err = '';
  p.stderr!.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`${name} exited with ${code}: ${err.slice(-500)}`)))));
}

describe('a run between real processes on real MNIST', () => {
  it('dgp train --listen and two dgp client processes give the in-process run, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgp-net-'));
    const flags = '--dataset mnist --model mlp --clients 2 --defense dgp --rounds 3 --batch-size 16 --train-limit 600 --test-limit 200';
    const children: ChildProcess[] = [];
    try {
      const server = spawn(process.execPath, [bin, 'train', ...flags.split(' '), '--listen', '127.0.0.1:0', '--wait', '60', '--json', join(dir, 'net.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        let err = '';
        server.stderr!.on('data', (c) => {
          err += c;
          const m = /listening on [^:]+:(\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        server.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
      });
      const done = exited(server, 'server');
      const clients = [0, 1].map((id) => spawn(process.execPath, [bin, 'client', '--connect', `127.0.0.1:${port}`, '--id', String(id)], { stdio: ['ignore', 'pipe', 'pipe'] }));
      children.push(...clients);
      await Promise.all([done, ...clients.map((c, i) => exited(c, `client ${i}`))]);
      const local = join(dir, 'local.json');
      await trainCommand.run(parseCommand(trainCommand, [...flags.split(' '), '--json', local])!);
      const [a, b] = [join(dir, 'net.json'), local].map((f) => JSON.parse(readFileSync(f, 'utf8')));
      assert.equal(a.testLoss, b.testLoss);
      assert.deepEqual(a.bytes, b.bytes);
      assert.ok(a.testAccuracy > 0.15, `accuracy ${a.testAccuracy} (chance: 0.1)`);
    } finally {
      for (const c of children) c.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
