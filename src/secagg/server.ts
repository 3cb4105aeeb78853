// The server's side of one aggregation round, as a state machine over message bytes. It routes
// the sealed share bundles unread, adds up the masked inputs as they arrive (it never keeps one
// client's vector), and after the unmasking round removes the masks and returns ONLY the sum
// and the list of contributing clients: no method returns, and no field holds, any single
// client's unmasked values.
//   receiveAdvertisement(m)*  closeAdvertising()  -> roster, broadcast to every advertiser (U1)
//   receiveShares(m)*         closeShareKeys()    -> one relay per client that shared (U2)
//   receiveMaskedInput(m)*    closeMaskedInput()  -> unmask request, broadcast to U3
//   receiveUnmaskResponse(m)* finish()            -> { sum, contributors, errorBound }
// Each close ends its phase (in a deployment: at a deadline); clients silent by then have dropped.
import { combine } from 'shamir-secret-sharing';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  addMask, bytesEqual, checkPublicKey, pairMaskKey, publicKeyOf, seedCommitment, selfMaskKey, type RoundContext,
} from './crypto.js';
import { checkClientId, SecAggError } from './errors.js';
import { dequantiseSum, fixedPoint, MAX_CLIENTS, sumErrorBound, type FixedPoint } from './fixed-point.js';
import { closedNeighbourhoods } from './graph.js';
import { checkRoundOptions, type RoundOptions } from './options.js';
import { encodeMessage, MAX_VECTOR_LENGTH, type MessageKind, type MessageOf, type RosterEntry, type SealedBundle, type ShareOf } from './wire.js';
import { decodeMessage } from './wire-decode.js';

export interface SecAggServerOptions extends RoundOptions {
  /** The clients sampled for this round (any subset of ids); others are refused. Default: any id. */
  participants?: readonly number[];
  /** Length every masked vector must have. Default: the length of the first one received. */
  vectorLength?: number;
}

/** The only thing a round reveals to the server. */
export interface SecureSum {
  /** Sum over the contributors of their inputs clipped to [-clip, clip], de-quantised. */
  readonly sum: Float64Array;
  /** The clients whose inputs are in the sum (U3), increasing. */
  readonly contributors: readonly number[];
  /** Per entry, |sum - exact sum of the clipped inputs| <= errorBound (see sumErrorBound). */
  readonly errorBound: number;
}

/** Which clients have reached which step, for logs and deadlines (ids only, never values). */
export interface RoundProgress {
  readonly phase: ServerPhase;
  readonly advertised: readonly number[];
  readonly shared: readonly number[];
  readonly masked: readonly number[];
  readonly responded: readonly number[];
}

/** Where a server's round stands; `failed` after a round that cannot finish. */
export type ServerPhase = 'advertise' | 'share' | 'mask' | 'unmask' | 'unmasking' | 'done' | 'failed';

export class SecAggServer {
  readonly round: number;
  private readonly options: RoundOptions;
  private readonly participants: ReadonlySet<number> | null;
  private vectorLength: number | null;
  private phase: ServerPhase = 'advertise';
  private readonly advertised = new Map<number, RosterEntry>();
  private ctx: RoundContext | null = null;
  /** Per client of U1, its closed neighbourhood: everyone, or its k neighbours and itself (SecAgg+). */
  private hoods = new Map<number, readonly number[]>();
  private fixed: FixedPoint | null = null;
  /** U2: per client that shared, its seed commitment and its bundles by receiver. */
  private readonly sharers = new Map<number, { commitment: Uint8Array; bundles: Map<number, Uint8Array> }>();
  /** Sum mod 2^32 of the masked inputs received so far (U3). */
  private maskedSum: Uint32Array | null = null;
  private readonly maskers = new Set<number>();
  private dropped: number[] = [];
  /** Per responder, its shares by subject. */
  private readonly responses = new Map<number, readonly ShareOf[]>();

  constructor(options: SecAggServerOptions) {
    this.options = checkRoundOptions(options, 'server');
    this.round = options.round;
    this.participants = options.participants ? new Set(options.participants.map((id, i) => checkClientId(id, `server: participants[${i}]`))) : null;
    if (this.participants && this.participants.size < options.threshold) {
      throw new SecAggError('options', `server: ${this.participants.size} participants cannot meet threshold ${options.threshold}`);
    }
    const L = options.vectorLength;
    if (L !== undefined && (!Number.isInteger(L) || L < 0 || L > MAX_VECTOR_LENGTH)) {
      throw new SecAggError('options', `server: vectorLength must be an integer in [0, ${MAX_VECTOR_LENGTH}], got ${L}`);
    }
    this.vectorLength = L ?? null;
  }

  receiveAdvertisement(bytes: Uint8Array): void {
    const m = this.accept(bytes, 'advertise', 'advertise', 'receiveAdvertisement');
    if (this.participants && !this.participants.has(m.client)) throw new SecAggError('protocol', `client ${m.client} is not sampled for round ${this.round}`);
    if (this.advertised.has(m.client)) throw new SecAggError('protocol', `client ${m.client} advertised twice in round ${this.round}`);
    if (this.advertised.size === MAX_CLIENTS) throw new SecAggError('protocol', `round ${this.round} is full: at most ${MAX_CLIENTS} clients`);
    checkPublicKey(m.encryptionKey, `client ${m.client} (encryption key)`);
    checkPublicKey(m.maskingKey, `client ${m.client} (masking key)`);
    this.advertised.set(m.client, { id: m.client, encryptionKey: m.encryptionKey, maskingKey: m.maskingKey });
  }

  /** Ends AdvertiseKeys: the roster (U1) to broadcast to every client in it. */
  closeAdvertising(): Uint8Array {
    this.expect('advertise', 'closeAdvertising');
    this.atLeastThreshold(this.advertised.size, 'advertised their keys');
    const clients = [...this.advertised.values()].sort((a, b) => a.id - b.id);
    const { threshold, clip } = this.options;
    const roster = encodeMessage({ kind: 'roster', round: this.round, threshold, neighbours: this.options.neighbours ?? null, clip, clients });
    this.ctx = { round: this.round, rosterDigest: sha256(roster) };
    this.hoods = closedNeighbourhoods(clients.map((c) => c.id), this.options.neighbours ?? null, this.ctx.rosterDigest);
    this.fixed = fixedPoint(this.options.clip, clients.length);
    this.phase = 'share';
    return roster;
  }

  receiveShares(bytes: Uint8Array): void {
    const m = this.accept(bytes, 'shares', 'share', 'receiveShares');
    this.firstFrom(m.sender, this.advertised, 'the roster', this.sharers, 'sent its shares');
    const peers = this.hoods.get(m.sender)!.filter((id) => id !== m.sender);
    if (m.bundles.length !== peers.length || m.bundles.some((b, i) => b.peer !== peers[i])) {
      throw new SecAggError('protocol', `client ${m.sender} sent bundles for [${m.bundles.map((b) => b.peer)}], not for its neighbours [${peers}]`);
    }
    this.sharers.set(m.sender, { commitment: m.seedCommitment, bundles: new Map(m.bundles.map((b) => [b.peer, b.sealed])) });
  }

  /** Ends ShareKeys: for each client that shared (U2), the bundles its neighbours in U2 sealed for it. */
  closeShareKeys(): Map<number, Uint8Array> {
    this.expect('share', 'closeShareKeys');
    this.atLeastThreshold(this.sharers.size, 'shared their keys');
    const u2 = [...this.sharers.keys()].sort((a, b) => a - b);
    const relays = new Map<number, Uint8Array>();
    for (const receiver of u2) {
      const bundles: SealedBundle[] = this.hoods.get(receiver)!.filter((s) => s !== receiver && this.sharers.has(s))
        .map((s) => ({ peer: s, sealed: this.sharers.get(s)!.bundles.get(receiver)! }));
      relays.set(receiver, encodeMessage({ kind: 'relay', round: this.round, receiver, bundles }));
    }
    this.phase = 'mask';
    return relays;
  }

  /** Adds one masked input to the running sum; the vector itself is not kept. */
  receiveMaskedInput(bytes: Uint8Array): void {
    const m = this.accept(bytes, 'masked', 'mask', 'receiveMaskedInput');
    this.firstFrom(m.sender, this.sharers, 'U2 (the clients that shared their keys)', this.maskers, 'sent its masked input');
    if (this.vectorLength !== null && m.values.length !== this.vectorLength) {
      throw new SecAggError('protocol', `client ${m.sender} sent a masked vector of length ${m.values.length}, the round's length is ${this.vectorLength}`);
    }
    this.vectorLength = m.values.length;
    const sum = (this.maskedSum ??= new Uint32Array(m.values.length));
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + m.values[i]!;
    this.maskers.add(m.sender);
  }

  /** Ends MaskedInputCollection: the unmask request (U3 and U2 \ U3) to send to every client of U3. */
  closeMaskedInput(): Uint8Array {
    this.expect('mask', 'closeMaskedInput');
    this.atLeastThreshold(this.maskers.size, 'sent a masked input');
    const survivors = [...this.maskers].sort((a, b) => a - b);
    this.dropped = [...this.sharers.keys()].filter((id) => !this.maskers.has(id)).sort((a, b) => a - b);
    this.phase = 'unmask';
    return encodeMessage({ kind: 'unmask-request', round: this.round, survivors, dropped: this.dropped });
  }

  receiveUnmaskResponse(bytes: Uint8Array): void {
    const m = this.accept(bytes, 'unmask-response', 'unmask', 'receiveUnmaskResponse');
    this.firstFrom(m.sender, this.maskers, 'U3 (the clients that sent a masked input)', this.responses, 'answered the unmask request');
    const expected = this.hoods.get(m.sender)!.filter((id) => this.sharers.has(id));
    const wrong = m.shares.find((s, i) => s.subject !== expected[i] || s.secret !== (this.maskers.has(s.subject) ? 'seed' : 'key'));
    if (wrong || m.shares.length !== expected.length) {
      throw new SecAggError('protocol', `client ${m.sender}: the unmask response must hold one share per client of U2 in its neighbourhood (the seed's for a survivor, the key's for a dropped one)${wrong ? `; subject ${wrong.subject} is wrong` : ''}`);
    }
    this.responses.set(m.sender, m.shares);
  }

  /** Unmasking: reconstructs b_u of each survivor and s_v of each dropped client, removes the masks. */
  async finish(): Promise<SecureSum> {
    this.expect('unmask', 'finish');
    this.atLeastThreshold(this.responses.size, 'answered the unmask request');
    for (const subject of this.sharers.keys()) this.atLeastThreshold(this.holdersOf(subject).length, `of client ${subject}'s neighbourhood answered the unmask request`);
    this.phase = 'unmasking'; // a second finish() while this one runs is refused
    try {
      const result = await this.unmask();
      this.phase = 'done';
      return result;
    } catch (e) {
      this.phase = 'failed';
      throw e;
    }
  }

  private async unmask(): Promise<SecureSum> {
    const ctx = this.ctx!;
    const sum = this.maskedSum!.slice(); // a failure half-way leaves only the masked sum behind
    const survivors = [...this.maskers].sort((a, b) => a - b);
    for (const u of survivors) {
      const seed = await this.reconstruct(u, 'seed');
      if (!bytesEqual(seedCommitment(seed, ctx, u), this.sharers.get(u)!.commitment)) throw corrupt(this.round, u, 'self-mask seed');
      addMask(sum, selfMaskKey(seed, ctx, u), -1);
    }
    for (const v of this.dropped) {
      const secretKey = await this.reconstruct(v, 'key');
      if (!bytesEqual(publicKeyOf(secretKey), this.advertised.get(v)!.maskingKey)) throw corrupt(this.round, v, 'masking key');
      // y_u holds +PRG(s_uv) when v > u and -PRG(s_uv) when v < u: take it back out.
      for (const u of this.hoods.get(v)!.filter((id) => this.maskers.has(id))) addMask(sum, pairMaskKey(secretKey, this.advertised.get(u)!.maskingKey, ctx, u, v, u), v > u ? -1 : 1);
    }
    return { sum: dequantiseSum(sum, this.fixed!), contributors: survivors, errorBound: sumErrorBound(this.fixed!, survivors.length) };
  }

  /** Ids only: who has reached which step. */
  progress(): RoundProgress {
    const ids = (it: Iterable<number>) => [...it].sort((a, b) => a - b);
    return { phase: this.phase, advertised: ids(this.advertised.keys()), shared: ids(this.sharers.keys()), masked: ids(this.maskers), responded: ids(this.responses.keys()) };
  }

  /** The secret of `subject` from the shares of the first t responders in its neighbourhood. */
  private async reconstruct(subject: number, secret: 'seed' | 'key'): Promise<Uint8Array> {
    const shares = this.holdersOf(subject).slice(0, this.options.threshold)
      .map((responder) => this.responses.get(responder)!.find((s) => s.subject === subject && s.secret === secret)!.share);
    try {
      return await combine(shares);
    } catch (e) {
      throw new SecAggError('decrypt', `round ${this.round}: the shares of client ${subject}'s ${secret} do not combine (${(e as Error).message})`);
    }
  }

  /** The clients that answered the unmask request and hold shares of `subject`'s secrets. */
  private holdersOf(subject: number): number[] {
    return this.hoods.get(subject)!.filter((id) => this.responses.has(id));
  }

  private atLeastThreshold(count: number, what: string): void {
    if (count < this.options.threshold) {
      this.phase = 'failed';
      throw new SecAggError('too-few', `round ${this.round} failed: only ${count} clients ${what}, threshold ${this.options.threshold}; nothing is revealed`);
    }
  }

  /** Refuses a sender outside `allowed`, or one already in `done` (it did `step` before). */
  private firstFrom(id: number, allowed: { has(id: number): boolean }, allowedName: string, done: { has(id: number): boolean }, step: string): void {
    if (!allowed.has(id)) throw new SecAggError('protocol', `client ${id} is not in ${allowedName} of round ${this.round}`);
    if (done.has(id)) throw new SecAggError('protocol', `client ${id} ${step} twice`);
  }

  /** A message of `kind` for `step`, which belongs to `phase`. */
  private accept<K extends MessageKind>(bytes: Uint8Array, kind: K, phase: ServerPhase, step: string): MessageOf<K> {
    this.expect(phase, step);
    return decodeMessage(bytes, kind, this.round);
  }

  private expect(phase: ServerPhase, step: string): void {
    if (this.phase !== phase) throw new SecAggError('protocol', `server, round ${this.round}: ${step} called in phase "${this.phase}"`);
  }
}

function corrupt(round: number, subject: number, what: string): SecAggError {
  return new SecAggError('decrypt', `round ${round}: the ${what} of client ${subject} rebuilt from the shares does not match its commitment (a corrupt share); no sum is returned`);
}
