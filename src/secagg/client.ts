// The client's side of one aggregation round (Bonawitz et al., CCS 2017, honest-but-curious
// server), as a state machine whose inputs and outputs are message bytes:
//   advertiseKeys()            -> advertise   (two fresh X25519 public keys)
//   shareKeys(roster)          -> shares      (t-of-n Shamir shares of b_u and s_u, sealed per peer)
//   maskInput(relay, x)        -> masked      (y_u = x_u + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv))
//   unmask(request)            -> response    (shares of b_v for survivors, of s_v for dropped clients)
// Each step runs once, in order; a message that fails its checks throws a SecAggError and leaves
// the client as it was.
import { split } from 'shamir-secret-sharing';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  addMask, agree, bytesEqual, KEY_BYTES, keyPair, openBundle, pairMaskKey, sealBundle, seedCommitment, selfMaskKey, systemRandom,
  type KeyPair, type RandomSource, type RoundContext, type ShareBundle,
} from './crypto.js';
import { checkClientId, SecAggError } from './errors.js';
import { fixedPoint, quantise, type FixedPoint } from './fixed-point.js';
import { closedNeighbourhoods } from './graph.js';
import { checkRoundOptions, type RoundOptions } from './options.js';
import { encodeMessage, MAX_VECTOR_LENGTH, type RosterEntry, type ShareOf } from './wire.js';
import { decodeMessage } from './wire-decode.js';

export interface SecAggClientOptions extends RoundOptions {
  /** This client's id (uint32), as the server and the other clients know it. */
  id: number;
  /** Source of every key, seed and nonce this client draws (default: the platform CSPRNG). */
  random?: RandomSource;
}

type Phase = 'new' | 'advertised' | 'sharing' | 'shared' | 'masked' | 'done';
const NEXT_STEP: Record<Phase, string> = {
  new: 'advertiseKeys', advertised: 'shareKeys', sharing: 'the end of shareKeys', shared: 'maskInput', masked: 'unmask', done: 'nothing (the round is over)',
};

/** What the ShareKeys step fixed: the roster, this round's context and code, and b_u. */
interface Session {
  roster: Map<number, RosterEntry>;
  ctx: RoundContext;
  fixed: FixedPoint;
  seed: Uint8Array | null;
  /** X25519(c_u, c_v) per peer v: one agreement serves the bundle sent and the one received. */
  agreed: Map<number, Uint8Array>;
  /** Shares of each client's secrets that this client holds, its own included. */
  held: Map<number, ShareBundle>;
  /** U2: the clients whose shares this client received (itself included), set by maskInput. */
  sharers: number[];
}

export class SecAggClient {
  readonly id: number;
  readonly round: number;
  private readonly options: RoundOptions;
  private readonly random: RandomSource;
  private phase: Phase = 'new';
  private encryption: KeyPair | null = null;
  private masking: KeyPair | null = null;
  private session: Session | null = null;

  constructor(options: SecAggClientOptions) {
    this.options = checkRoundOptions(options, 'client');
    this.id = checkClientId(options.id, 'client: id');
    this.round = options.round;
    this.random = options.random ?? systemRandom;
  }

  /** AdvertiseKeys: two fresh key pairs, c_u for the share bundles and s_u for the masks. */
  advertiseKeys(): Uint8Array {
    this.expect('new', 'advertiseKeys');
    const encryption = keyPair(this.random);
    const masking = keyPair(this.random);
    this.encryption = encryption;
    this.masking = masking;
    this.phase = 'advertised';
    return encodeMessage({ kind: 'advertise', round: this.round, client: this.id, encryptionKey: encryption.publicKey, maskingKey: masking.publicKey });
  }

  /** ShareKeys: draws b_u, shares b_u and s_u's secret key t-of-n among the roster, seals them. */
  async shareKeys(rosterBytes: Uint8Array): Promise<Uint8Array> {
    this.expect('advertised', 'shareKeys');
    const roster = decodeMessage(rosterBytes, 'roster', this.round);
    const { threshold, clip } = this.options;
    const neighbours = this.options.neighbours ?? null;
    if (roster.threshold !== threshold || roster.clip !== clip || roster.neighbours !== neighbours) {
      throw new SecAggError('protocol', `client ${this.id}: the roster has threshold ${roster.threshold}, clip ${roster.clip} and neighbours ${roster.neighbours ?? 'all'}, this client was set up with ${threshold}, ${clip} and ${neighbours ?? 'all'}`);
    }
    const own = roster.clients.find((c) => c.id === this.id);
    if (!own) throw new SecAggError('protocol', `client ${this.id} is not in the roster of round ${this.round}`);
    if (!bytesEqual(own.encryptionKey, this.encryption!.publicKey) || !bytesEqual(own.maskingKey, this.masking!.publicKey)) {
      throw new SecAggError('protocol', `client ${this.id}: the roster carries other public keys for this client than it advertised`);
    }
    const n = roster.clients.length;
    const ctx: RoundContext = { round: this.round, rosterDigest: sha256(rosterBytes) };
    // Shares go to this client's closed neighbourhood: everyone, or its k neighbours (SecAgg+).
    const hood = new Set(closedNeighbourhoods(roster.clients.map((c) => c.id), roster.neighbours, ctx.rosterDigest).get(this.id));
    const holders = roster.clients.filter((c) => hood.has(c.id));
    const seed = this.random(KEY_BYTES);
    this.phase = 'sharing'; // a second call while the shares are made is refused
    let seedShares: Uint8Array[], keyShares: Uint8Array[];
    try {
      [seedShares, keyShares] = await Promise.all([split(seed, holders.length, threshold), split(this.masking!.secretKey, holders.length, threshold)]);
    } finally {
      this.phase = 'advertised';
    }
    const held = new Map<number, ShareBundle>();
    const agreed = new Map<number, Uint8Array>();
    const bundles = holders.flatMap((peer, i) => {
      const bundle = { seedShare: seedShares[i]!, keyShare: keyShares[i]! };
      if (peer.id === this.id) {
        held.set(this.id, bundle);
        return [];
      }
      const shared = agree(this.encryption!.secretKey, peer.encryptionKey, `client ${peer.id}`);
      agreed.set(peer.id, shared);
      return [{ peer: peer.id, sealed: sealBundle(bundle, ctx, this.id, peer.id, shared, this.random) }];
    });
    this.session = { roster: new Map(roster.clients.map((c) => [c.id, c])), ctx, fixed: fixedPoint(clip, n), seed, agreed, held, sharers: [] };
    this.phase = 'shared';
    return encodeMessage({ kind: 'shares', round: this.round, sender: this.id, seedCommitment: seedCommitment(seed, ctx, this.id), bundles });
  }

  /**
   * MaskedInputCollection: opens the bundles relayed from the other survivors of ShareKeys (U2)
   * in its neighbourhood and masks `input` (clipped to [-clip, clip], quantised) with PRG(b_u)
   * and the pairwise masks with each of them. Every masked input of a round has one length.
   */
  maskInput(relayBytes: Uint8Array, input: Float32Array): Uint8Array {
    this.expect('shared', 'maskInput');
    const s = this.session!;
    const relay = decodeMessage(relayBytes, 'relay', this.round);
    if (relay.receiver !== this.id) throw new SecAggError('protocol', `client ${this.id} got the relay addressed to client ${relay.receiver}`);
    if (!(input instanceof Float32Array)) throw new SecAggError('options', `client ${this.id}: the input must be a Float32Array`);
    if (input.length > MAX_VECTOR_LENGTH) throw new SecAggError('options', `client ${this.id}: input length ${input.length} exceeds ${MAX_VECTOR_LENGTH}`);
    const held = new Map([[this.id, s.held.get(this.id)!]]);
    for (const { peer, sealed } of relay.bundles) {
      const shared = s.agreed.get(peer);
      if (!shared) throw new SecAggError('protocol', `client ${this.id}: the relay carries a bundle from client ${peer}, who is not its neighbour in the roster`);
      held.set(peer, openBundle(sealed, s.ctx, peer, this.id, shared));
    }
    if (held.size < this.options.threshold) {
      throw new SecAggError('too-few', `client ${this.id}: only ${held.size} clients of its neighbourhood shared their keys in round ${this.round}, threshold ${this.options.threshold}`);
    }
    const masked = quantise(input, s.fixed);
    addMask(masked, selfMaskKey(s.seed!, s.ctx, this.id), 1);
    for (const peer of held.keys()) {
      if (peer === this.id) continue;
      addMask(masked, pairMaskKey(this.masking!.secretKey, s.roster.get(peer)!.maskingKey, s.ctx, this.id, peer, peer), peer > this.id ? 1 : -1);
    }
    s.held = held;
    s.sharers = [...held.keys()].sort((a, b) => a - b);
    s.seed = null; // the secrets live on only as the shares the others hold
    s.agreed.clear();
    this.encryption = this.masking = null;
    this.phase = 'masked';
    return encodeMessage({ kind: 'masked', round: this.round, sender: this.id, values: masked });
  }

  /**
   * Unmasking: for each survivor (sent a masked input) whose shares it holds, its share of b_v;
   * for each dropped client, its share of s_v's secret key. Refuses a request that names a
   * client in both lists, that leaves out a client whose shares it holds, that names a client
   * outside the roster, or that has fewer than t survivors among those. Answers once.
   */
  unmask(requestBytes: Uint8Array): Uint8Array {
    this.expect('masked', 'unmask');
    const s = this.session!;
    const { survivors, dropped } = decodeMessage(requestBytes, 'unmask-request', this.round);
    const asked = new Map<number, 'seed' | 'key'>();
    for (const id of survivors) asked.set(id, 'seed');
    for (const id of dropped) {
      if (asked.has(id)) throw new SecAggError('protocol', `client ${this.id}: the unmask request asks for both shares of client ${id} (its seed and its key); refused`);
      asked.set(id, 'key');
    }
    const stranger = [...asked.keys()].find((id) => !s.roster.has(id));
    if (stranger !== undefined) throw new SecAggError('protocol', `client ${this.id}: the unmask request names client ${stranger}, who is not in the roster`);
    const missing = s.sharers.find((id) => !asked.has(id));
    if (missing !== undefined) throw new SecAggError('protocol', `client ${this.id}: the unmask request names client ${missing}, whose shares this client holds, neither as survivor nor as dropped`);
    if (asked.get(this.id) !== 'seed') throw new SecAggError('protocol', `client ${this.id}: the unmask request lists this client, which sent its masked input, as dropped`);
    const living = s.sharers.filter((id) => asked.get(id) === 'seed').length;
    if (living < this.options.threshold) {
      throw new SecAggError('too-few', `client ${this.id}: ${living} survivors among the clients whose shares it holds, threshold ${this.options.threshold}; refused`);
    }
    const shares: ShareOf[] = s.sharers.map((subject) => [subject, asked.get(subject)!] as const).map(([subject, secret]) => {
      const bundle = s.held.get(subject)!;
      return { subject, secret, share: secret === 'seed' ? bundle.seedShare : bundle.keyShare };
    });
    this.session = null;
    this.phase = 'done';
    return encodeMessage({ kind: 'unmask-response', round: this.round, sender: this.id, shares });
  }

  private expect(phase: Phase, step: string): void {
    if (this.phase !== phase) throw new SecAggError('protocol', `client ${this.id}: ${step} called when the next step is ${NEXT_STEP[this.phase]}`);
  }
}
