// Clients in other processes, over TCP. The server's side is a ClientHub: it listens, takes each
// client's hello, answers with the run's spec, and gives the FederatedServer one ClientProxy per
// client id, so the rounds run exactly as in one process; the client's side (runRemoteClient)
// builds its own FederatedClient from that spec and answers the server's calls. The payloads are
// the wire.ts messages, unchanged, so bytes are counted the same way in both settings.
//
// Framing: length u32 LE (of what follows) | type u8 | request id u32 LE | payload.
// A frame over the size limit, an unknown type, or a hello that does not parse closes that one
// connection; the hub and the other clients go on. A client that disconnects fails its pending
// calls, the server records it as dropped, and it may connect again under its id (it is then synced).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import type { DatasetSplits } from '../data/index.js';
import type { ClientProxy } from './client.js';
import { createClient, trainingImages } from './run.js';
import { type FederatedSpec, parseSpec } from './spec.js';

export const PROTOCOL = 1;
const HEAD = 9;
/** Enough for a dense sync of ResNet-18 with its momentum (about 90 MB) several times over. */
export const DEFAULT_MAX_FRAME = 512 * 1024 * 1024;

export const Frame = {
  Hello: 1,
  Welcome: 2,
  Reject: 3,
  Sync: 4,
  Fit: 5,
  Broadcast: 6,
  Ack: 7,
  Result: 8,
  Error: 9,
  Bye: 10,
} as const;
export type Frame = (typeof Frame)[keyof typeof Frame];
const KNOWN = new Set<number>(Object.values(Frame));

export function encodeFrame(type: Frame, id: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.allocUnsafe(HEAD + payload.length);
  b.writeUInt32LE(HEAD - 4 + payload.length, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32LE(id, 5);
  b.set(payload, HEAD);
  return b;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** Cuts a byte stream into frames; throws (and stays broken) on a frame over the limit or of unknown type. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame = DEFAULT_MAX_FRAME) {}

  push(chunk: Buffer): { type: Frame; id: number; payload: Uint8Array }[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: { type: Frame; id: number; payload: Uint8Array }[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      const head = this.peek(4);
      const length = head.readUInt32LE(0);
      if (length < HEAD - 4) throw new Error(`frame of ${length} bytes is shorter than its header`);
      if (length > this.maxFrame) throw new Error(`frame of ${length} bytes exceeds the limit of ${this.maxFrame}`);
      if (this.buffered < 4 + length) return out;
      const frame = this.take(4 + length);
      const type = frame.readUInt8(4);
      if (!KNOWN.has(type)) throw new Error(`unknown frame type ${type}`);
      out.push({ type: type as Frame, id: frame.readUInt32LE(5), payload: new Uint8Array(frame.subarray(HEAD)) });
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }
}

const helloSchema = z.object({ protocol: z.literal(PROTOCOL), clientId: z.number().int().min(0) }).strict();
const welcomeSchema = z.object({ spec: z.unknown(), data: z.object({ count: z.number(), checksum: z.number() }) });

/** Count and a checksum of the labels of the training images a run uses: the client's data must be the server's. */
export function dataFingerprint(spec: FederatedSpec, data: DatasetSplits): { count: number; checksum: number } {
  const train = trainingImages(data, spec.trainLimit);
  let h = 0x811c9dc5;
  for (let i = 0; i < train.count; i++) h = Math.imul(h ^ train.labels[i]!, 0x01000193) >>> 0;
  return { count: train.count, checksum: h };
}

/** One connected (or not yet, or no longer connected) client, as the server calls it. */
class RemoteClient implements ClientProxy {
  socket: Socket | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (p: Uint8Array) => void; reject: (e: Error) => void; expect: Frame }>();

  constructor(readonly id: number) {}

  attach(socket: Socket): void {
    this.socket = socket;
  }

  detach(reason: string): void {
    this.socket = null;
    for (const p of this.pending.values()) p.reject(new Error(`client ${this.id} ${reason}`));
    this.pending.clear();
  }

  /** A reply from the client: resolves the call it answers; anything unasked for is a protocol error. */
  answer(type: Frame, id: number, payload: Uint8Array): void {
    const call = this.pending.get(id);
    if (!call) throw new Error(`client ${this.id} answered request ${id}, which is not pending`);
    this.pending.delete(id);
    if (type === Frame.Error) call.reject(new Error(`client ${this.id}: ${new TextDecoder().decode(payload).slice(0, 500)}`));
    else if (type === call.expect) call.resolve(payload);
    else throw new Error(`client ${this.id} answered with frame type ${type}, expected ${call.expect}`);
  }

  private request(type: Frame, expect: Frame, payload: Uint8Array): Promise<Uint8Array> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error(`client ${this.id} is not connected`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, expect });
      socket.write(encodeFrame(type, id, payload));
    });
  }

  sync = async (m: Uint8Array) => void (await this.request(Frame.Sync, Frame.Ack, m));
  fit = (m: Uint8Array) => this.request(Frame.Fit, Frame.Result, m);
  broadcast = async (m: Uint8Array) => void (await this.request(Frame.Broadcast, Frame.Ack, m));
}

export interface HubOptions {
  host?: string;
  /** 0 picks a free port (see `port` once listening). */
  port: number;
  spec: FederatedSpec;
  data: DatasetSplits;
  maxFrameBytes?: number;
  /** Told of connections, rejections and dropped connections. */
  log?: (line: string) => void;
}

/** The server's end: listens, admits clients by id, and holds one ClientProxy per id. */
export class ClientHub {
  readonly clients: readonly ClientProxy[];
  private readonly remotes: RemoteClient[];
  private waiters: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, private readonly o: HubOptions, readonly port: number) {
    this.remotes = Array.from({ length: o.spec.clients }, (_, i) => new RemoteClient(i));
    this.clients = this.remotes;
  }

  static async listen(o: HubOptions): Promise<ClientHub> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host ?? '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const hub = new ClientHub(server, o, typeof address === 'object' && address ? address.port : o.port);
    server.on('connection', (s) => hub.admit(s));
    return hub;
  }

  get connected(): number {
    return this.remotes.filter((r) => r.socket).length;
  }

  /** Resolves once every client id is connected; rejects after `timeoutMs`. */
  async waitForAll(timeoutMs: number): Promise<void> {
    if (this.connected === this.remotes.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push(() => this.connected === this.remotes.length && resolve())),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${this.connected} of ${this.remotes.length} clients connected within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Tells every connected client the run is over, then stops listening. */
  async close(): Promise<void> {
    for (const r of this.remotes) r.socket?.end(encodeFrame(Frame.Bye, 0));
    for (const s of this.sockets) s.destroySoon();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private admit(socket: Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader(this.o.maxFrameBytes);
    let client: RemoteClient | null = null;
    const log = this.o.log ?? (() => {});
    const refuse = (why: string) => {
      log(`refused a connection from ${socket.remoteAddress}: ${why}`);
      socket.end(encodeFrame(Frame.Reject, 0, json({ reason: why })));
    };
    socket.on('data', (chunk) => {
      try {
        for (const f of reader.push(chunk)) {
          if (client) {
            client.answer(f.type, f.id, f.payload);
            continue;
          }
          if (f.type !== Frame.Hello) throw new Error(`expected a hello, got frame type ${f.type}`);
          const hello = helloSchema.safeParse(parseJson(f.payload));
          if (!hello.success) return refuse(`malformed hello (protocol ${PROTOCOL}, {protocol, clientId} expected)`);
          const r = this.remotes[hello.data.clientId];
          if (!r) return refuse(`client id ${hello.data.clientId} is not in 0..${this.remotes.length - 1}`);
          if (r.socket) return refuse(`client id ${r.id} is already connected`);
          client = r;
          r.attach(socket);
          socket.write(encodeFrame(Frame.Welcome, f.id, json({ spec: this.o.spec, data: dataFingerprint(this.o.spec, this.o.data) })));
          log(`client ${r.id} connected from ${socket.remoteAddress}`);
          for (const w of this.waiters) w();
        }
      } catch (e) {
        log(`closed the connection of ${client ? `client ${client.id}` : socket.remoteAddress}: ${(e as Error).message}`);
        socket.destroy();
      }
    });
    const gone = (why: string) => {
      this.sockets.delete(socket);
      if (client?.socket === socket) {
        client.detach(why);
        log(`client ${client.id} ${why}`);
      }
    };
    socket.on('close', () => gone('disconnected'));
    socket.on('error', (e) => gone(`connection failed (${e.message})`));
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

export interface RemoteClientOptions {
  host: string;
  port: number;
  clientId: number;
  /** Loads the data set the server's spec names (the client's own copy). */
  loadData: (dataset: FederatedSpec['dataset']) => Promise<DatasetSplits>;
  maxFrameBytes?: number;
  log?: (line: string) => void;
}

/** A client process's life: hello, build the client from the server's spec, answer calls until bye. Resolves with rounds trained. */
export async function runRemoteClient(o: RemoteClientOptions): Promise<{ fits: number }> {
  const socket = connect({ host: o.host, port: o.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (e) => reject(new Error(`cannot reach the server at ${o.host}:${o.port}: ${e.message}`)));
  });
  socket.write(encodeFrame(Frame.Hello, 0, json({ protocol: PROTOCOL, clientId: o.clientId })));
  const reader = new FrameReader(o.maxFrameBytes);
  let fits = 0;
  let queue: Promise<void> = Promise.resolve();
  let client: ReturnType<typeof createClient> | null = null;
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    const handle = async (f: { type: Frame; id: number; payload: Uint8Array }): Promise<void> => {
      if (f.type === Frame.Reject) throw new Error(`the server refused client ${o.clientId}: ${(parseJson(f.payload) as { reason?: string } | undefined)?.reason ?? 'no reason given'}`);
      if (f.type === Frame.Bye) {
        socket.end();
        return resolve({ fits });
      }
      if (!client) {
        if (f.type !== Frame.Welcome) throw new Error(`expected the server's welcome, got frame type ${f.type}`);
        const w = welcomeSchema.parse(parseJson(f.payload));
        const spec = parseSpec(w.spec);
        const data = await o.loadData(spec.dataset);
        const mine = dataFingerprint(spec, data);
        if (mine.count !== w.data.count || mine.checksum !== w.data.checksum) {
          throw new Error(`this client's ${spec.dataset} training set (${mine.count} images, label checksum ${mine.checksum}) is not the server's (${w.data.count}, ${w.data.checksum})`);
        }
        client = createClient(spec, data, o.clientId);
        o.log?.(`client ${o.clientId}: joined a run of ${spec.clients} clients, ${spec.rounds} rounds, defense ${spec.defense.name}`);
        return;
      }
      try {
        if (f.type === Frame.Sync) await client.sync(f.payload);
        else if (f.type === Frame.Broadcast) await client.broadcast(f.payload);
        else if (f.type === Frame.Fit) {
          socket.write(encodeFrame(Frame.Result, f.id, await client.fit(f.payload)));
          fits++;
          return;
        } else throw new Error(`unexpected frame type ${f.type} from the server`);
        socket.write(encodeFrame(Frame.Ack, f.id));
      } catch (e) {
        // The client's own failure goes back to the server as this call's error; the connection stays.
        socket.write(encodeFrame(Frame.Error, f.id, new TextEncoder().encode((e as Error).message)));
      }
    };
    socket.on('data', (chunk) => {
      try {
        for (const f of reader.push(chunk)) queue = queue.then(() => handle(f)).catch(fail);
      } catch (e) {
        fail(new Error(`from the server: ${(e as Error).message}`));
      }
    });
    socket.on('close', () => queue.then(() => reject(new Error(`the server closed the connection before the run ended (${fits} rounds trained)`))));
    socket.on('error', (e) => fail(new Error(`connection to the server failed: ${e.message}`)));
  });
}
