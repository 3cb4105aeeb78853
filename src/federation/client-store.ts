// The clients' states on disk, for runs with more clients than fit in memory (client-host.ts):
//   DIR/store.json                              the run it belongs to (its spec, rounds aside)
//   DIR/client-000123-round-000040.safetensors  client 123's state after its round 40
// A file holds the state's float tensors (the error-feedback residual) as safetensors tensors and
// the rest (sampler, random streams) as JSON in its metadata. Each is written to a temporary file
// and renamed, so a crash leaves the old version or the new one, never half of one. A client that
// was never sampled has no file. Versions are kept by round so that a checkpoint of round r can be
// resumed after later rounds wrote newer ones: the newest version at or before the last checkpoint
// is kept, older ones go as soon as a newer one is written. Writes and removals run in the
// background (file creation, rename and unlink cost milliseconds each on some disks), one queue per
// client, and a version not yet on disk is read from memory; `settled` waits for them all.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NamedTensor } from '../common/index.js';
import { writeFileAtomic, writeFileAtomicAsync } from '../files/index.js';
import { stateFromJSON, stateToJSON } from '../defenses/index.js';
import { decodeSafetensors, encodeSafetensors } from '../models/index.js';
import type { ClientState } from './client.js';
import { joinTensors, splitTensors } from './state-tensors.js';
import type { FederatedSpec } from './spec.js';

const FORMAT = 1;
const FILE = /^client-(\d+)-round-(\d+)\.safetensors$/;
const STORE_FILE = 'store.json';

/** The name of client `id`'s state after round `round`. */
export function clientStateFile(id: number, round: number): string {
  return `client-${String(id).padStart(6, '0')}-round-${String(round).padStart(6, '0')}.safetensors`;
}

export class ClientStore {
  /** Per client that has a file: the rounds of its versions, increasing. */
  private readonly versions = new Map<number, number[]>();
  /** The round of the last checkpoint: the newest version at or before it is kept (-1: none). */
  private pinned = -1;
  /** Per client: its queued file operations, in order. */
  private readonly queues = new Map<number, Promise<void>>();
  /** Versions written but maybe not yet on disk, by file name. */
  private readonly unwritten = new Map<string, Buffer>();
  /** Their bytes together. */
  private unwrittenBytes = 0;
  private failure: Error | null = null;
  /** Resolved when any queued operation ends: one promise that every waiting `drain` shares. */
  private progress: { promise: Promise<void>; resolve: () => void } | null = null;

  /** Opens (or makes) the folder and reads its file names once; temporary files of an interrupted write are removed. */
  constructor(
    readonly dir: string,
    /** See `drain`. */
    readonly maxUnwrittenBytes = 128 * 2 ** 20,
  ) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new Error(`client store ${dir}: cannot make the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const name of readdirSync(dir)) {
      if (name.includes('.tmp-')) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      const m = FILE.exec(name);
      if (m) this.rounds(Number(m[1])).push(Number(m[2]));
    }
    for (const v of this.versions.values()) v.sort((a, b) => a - b);
  }

  /** How many clients have a saved state. */
  get clients(): number {
    return this.versions.size;
  }

  /** A new run claims an empty store; a resumed one needs the store of its own run. */
  claim(spec: FederatedSpec, resuming: boolean): void {
    const path = join(this.dir, STORE_FILE);
    const identity = stateToJSON({ format: FORMAT, spec: { ...spec, rounds: 0 } });
    if (!resuming) {
      if (this.clients > 0) throw new Error(`client store ${this.dir}: it holds the states of ${this.clients} clients of another run; a new run needs an empty folder (or --resume the run that wrote them)`);
      writeFileAtomic(path, identity);
      return;
    }
    let found: string;
    try {
      found = readFileSync(path, 'utf8');
    } catch {
      throw new Error(`client store ${this.dir}: no ${STORE_FILE}, so it is not the store of the run being resumed`);
    }
    if (found !== identity) throw new Error(`client store ${path}: it belongs to a run with another spec than the one being resumed`);
  }

  /** The round of client `id`'s newest saved state, or null (never saved: a fresh client). */
  latest(id: number): number | null {
    return this.versions.get(id)?.at(-1) ?? null;
  }

  /** Writes client `id`'s state after `round`, atomically; drops the versions nothing needs any more. */
  write(id: number, round: number, state: ClientState): void {
    const tensors: NamedTensor[] = [];
    const rest = splitTensors(state, 'state', tensors);
    const bytes = encodeSafetensors(tensors, { format: String(FORMAT), client: String(id), round: String(round), state: stateToJSON(rest) });
    const name = clientStateFile(id, round);
    this.keepUnwritten(name, bytes);
    this.enqueue(id, async () => {
      await writeFileAtomicAsync(join(this.dir, name), bytes);
      if (this.unwritten.get(name) === bytes) this.dropUnwritten(name);
    });
    const rounds = this.rounds(id).filter((r) => r !== round);
    rounds.push(round);
    rounds.sort((a, b) => a - b);
    this.versions.set(id, rounds);
    this.prune(id);
  }

  /**
   * Client `id`'s state of round `round`, as written; `check` validates it (the fields named
   * relative to the state). Any fault throws one line naming the file.
   */
  read(id: number, round: number, check: (raw: unknown, fail: (why: string) => never) => ClientState): ClientState {
    const path = join(this.dir, clientStateFile(id, round));
    const fail = (why: string): never => {
      throw new Error(`client state ${path}: ${why}`);
    };
    let buf: Buffer;
    try {
      buf = this.unwritten.get(clientStateFile(id, round)) ?? readFileSync(path);
    } catch (e) {
      return fail(`cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let decoded: ReturnType<typeof decodeSafetensors>;
    try {
      decoded = decodeSafetensors(buf, path);
    } catch (e) {
      throw new Error(`client state ${(e as Error).message}`);
    }
    const { tensors, metadata } = decoded;
    if (metadata['format'] !== String(FORMAT)) fail(`format ${JSON.stringify(metadata['format'])}, expected ${FORMAT}`);
    if (metadata['client'] !== String(id) || metadata['round'] !== String(round)) fail(`it says client ${metadata['client']} round ${metadata['round']}, its name client ${id} round ${round}`);
    let skeleton: unknown;
    try {
      skeleton = stateFromJSON(metadata['state'] ?? '');
    } catch (e) {
      return fail(`its metadata "state" is not JSON (${(e as Error).message})`);
    }
    const byName = new Map(tensors.map((t) => [t.name, t.data]));
    return check(joinTensors(skeleton, byName, fail), fail);
  }

  /** Waits for every queued write and removal; throws the first that failed. */
  async settled(): Promise<void> {
    await Promise.all(this.queues.values());
    this.throwFailure();
  }

  /**
   * Waits until at most `limit` versions, and at most `maxUnwrittenBytes`, are not yet on disk:
   * memory stays bounded when the disk is slower than the rounds (a ResNet-18 state is 45 MB).
   */
  async drain(limit: number): Promise<void> {
    // Not Promise.race over the queues: each call would hang a reaction on every pending queue,
    // and with a round's clients waiting those piled up by the hundred thousand.
    while ((this.unwritten.size > limit || this.unwrittenBytes > this.maxUnwrittenBytes) && this.queues.size > 0) await this.nextProgress();
  }

  private keepUnwritten(name: string, bytes: Buffer): void {
    this.dropUnwritten(name);
    this.unwritten.set(name, bytes);
    this.unwrittenBytes += bytes.length;
  }

  private dropUnwritten(name: string): void {
    const old = this.unwritten.get(name);
    if (!old) return;
    this.unwritten.delete(name);
    this.unwrittenBytes -= old.length;
  }

  private nextProgress(): Promise<void> {
    if (!this.progress) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.progress = { promise, resolve };
    }
    return this.progress.promise;
  }

  /** The first background write or removal that failed, thrown. */
  throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  private enqueue(id: number, op: () => Promise<void>): void {
    const next = (this.queues.get(id) ?? Promise.resolve()).then(op).catch((e: Error) => {
      this.failure ??= new Error(`client store ${this.dir}: client ${id}: ${e.message}`);
    });
    this.queues.set(id, next);
    // The queue of a client whose work is all done is dropped, so the map holds only clients with pending work.
    void next.then(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
      const waiting = this.progress;
      this.progress = null;
      waiting?.resolve();
    });
  }

  /** A resumed run at round `round`: versions written after it are of rounds that will be run again (call when settled). */
  rollBack(round: number): void {
    for (const [id, rounds] of this.versions) {
      const later = rounds.filter((r) => r > round);
      for (const r of later) rmSync(join(this.dir, clientStateFile(id, r)), { force: true });
      if (later.length === rounds.length) this.versions.delete(id);
      else this.versions.set(id, rounds.filter((r) => r <= round));
    }
    this.pinned = round;
  }

  /** A checkpoint of `round` is written: for `ids` (the clients saved since the last one), older versions can go. */
  pin(round: number, ids: Iterable<number>): void {
    this.pinned = round;
    for (const id of ids) this.prune(id);
  }

  /** Keeps client `id`'s versions after the pinned round and the newest at or before it. */
  private prune(id: number): void {
    const rounds = this.versions.get(id)!;
    const atPin = rounds.filter((r) => r <= this.pinned).at(-1);
    const keep = rounds.filter((r) => r > this.pinned || r === atPin);
    // With no checkpoint only the newest matters.
    const kept = this.pinned < 0 ? rounds.slice(-1) : keep;
    const gone = rounds.filter((r) => !kept.includes(r)).map((r) => clientStateFile(id, r));
    this.versions.set(id, kept);
    if (gone.length === 0) return;
    for (const name of gone) this.dropUnwritten(name);
    // After the client's queued writes: a version is removed only once it is on disk.
    this.enqueue(id, async () => {
      for (const name of gone) await rm(join(this.dir, name), { force: true });
    });
  }

  private rounds(id: number): number[] {
    let r = this.versions.get(id);
    if (!r) this.versions.set(id, (r = []));
    return r;
  }
}
