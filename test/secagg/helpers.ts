// A round driven step by step, so a test can read, change or withhold any message in between.
import { Rng } from '../../src/common/rng.js';
import { SecAggClient, SecAggServer, seededRandom, type RandomSource } from '../../src/secagg/index.js';

export interface RoundSetup {
  round?: number;
  threshold: number;
  clip?: number;
  neighbours?: number;
  seed?: number;
}

export class SteppedRound {
  readonly clients: Map<number, SecAggClient>;
  readonly server: SecAggServer;
  readonly random: RandomSource;
  advertisements = new Map<number, Uint8Array>();
  roster: Uint8Array = new Uint8Array(0);
  shares = new Map<number, Uint8Array>();
  relays = new Map<number, Uint8Array>();
  masked = new Map<number, Uint8Array>();
  request: Uint8Array = new Uint8Array(0);
  responses = new Map<number, Uint8Array>();

  constructor(readonly ids: readonly number[], setup: RoundSetup) {
    const o = { round: setup.round ?? 0, threshold: setup.threshold, clip: setup.clip ?? 1, neighbours: setup.neighbours };
    this.random = seededRandom(setup.seed ?? 1);
    this.server = new SecAggServer({ ...o, participants: ids });
    this.clients = new Map(ids.map((id) => [id, new SecAggClient({ ...o, id, random: this.random })]));
  }

  /** AdvertiseKeys for `who` (default all), then the roster. */
  advertise(who: readonly number[] = this.ids): this {
    for (const id of who) {
      const m = this.clients.get(id)!.advertiseKeys();
      this.advertisements.set(id, m);
      this.server.receiveAdvertisement(m);
    }
    this.roster = this.server.closeAdvertising();
    return this;
  }

  /** Each client in `who` makes its shares message (not yet sent). */
  async makeShares(who: readonly number[] = this.ids): Promise<this> {
    for (const id of who) this.shares.set(id, await this.clients.get(id)!.shareKeys(this.roster));
    return this;
  }

  /** Sends the shares messages made so far, then the relays. */
  sendShares(): this {
    for (const m of this.shares.values()) this.server.receiveShares(m);
    this.relays = this.server.closeShareKeys();
    return this;
  }

  /** Each client in `who` masks its input (not yet sent). */
  makeMasked(inputs: ReadonlyMap<number, Float32Array>, who: readonly number[] = [...inputs.keys()]): this {
    for (const id of who) this.masked.set(id, this.clients.get(id)!.maskInput(this.relays.get(id)!, inputs.get(id)!));
    return this;
  }

  sendMasked(): this {
    for (const m of this.masked.values()) this.server.receiveMaskedInput(m);
    this.request = this.server.closeMaskedInput();
    return this;
  }

  /** Each client in `who` answers the unmask request, and the server takes the answer. */
  respond(who: readonly number[]): this {
    for (const id of who) {
      const m = this.clients.get(id)!.unmask(this.request);
      this.responses.set(id, m);
      this.server.receiveUnmaskResponse(m);
    }
    return this;
  }
}

/** n random vectors of length L, entries normal(0, spread), keyed by the given ids. */
export function randomInputs(ids: readonly number[], length: number, spread: number, seed: number): Map<number, Float32Array> {
  const rng = new Rng(seed);
  return new Map(ids.map((id) => [id, Float32Array.from({ length }, () => spread * rng.normal())]));
}

/** The exact (float64) sum over `ids` of the inputs clipped to [-clip, clip]. */
export function clippedSum(inputs: ReadonlyMap<number, Float32Array>, ids: readonly number[], clip: number): Float64Array {
  const length = inputs.get(ids[0]!)!.length;
  const out = new Float64Array(length);
  for (const id of ids) {
    const x = inputs.get(id)!;
    for (let i = 0; i < length; i++) out[i] += Math.min(clip, Math.max(-clip, x[i]!));
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
