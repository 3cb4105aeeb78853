// ADGP inside a federated round (see src/defenses/adgp.ts for the protocol). Each sampled client
// answers its fit call with a proposal, the positions of its DGP band; the trusted broadcaster
// turns the proposals into one common set and sends it back as a commit; each client then uploads
// its values at exactly those positions, as values only. `broadcasterParty` is a party the server
// hands the proposals to unread and that only returns the commit, in the server's process (a
// simulation); in a deployment the broadcaster is a separate service (src/service/broadcaster.ts)
// that the clients send their proposals to directly, and the server hands it only their receipts.
import { decodePositions, encodePositions, WireFormatError } from '../codec/index.js';
import type { TensorLayout } from '../common/index.js';
import { type AdgpBroadcasterOptionsInput, type CommonSet, createBroadcaster, sharedOf } from '../defenses/index.js';
import { decodeMessage, encodeMessage, EVERYONE, type SharedPositions } from './wire.js';

/** The broadcaster's answer for one round. */
export interface Decision {
  /** The commit message (the common set as positions) and the shared positions its values travel at. */
  commit: Uint8Array;
  shared: SharedPositions;
  /** Clients whose proposal (or receipt) was missing or did not decode; the set is formed without them. */
  rejected: { clientId: number; reason: string }[];
  /** Per proposer, the bytes its proposal took when it went to the broadcaster directly (not through the server). */
  proposalBytes?: ReadonlyMap<number, number>;
}

export interface BroadcasterParty {
  /**
   * The common set from the round's answers to the fit call: in one process the proposals
   * themselves, in a deployment the clients' receipts for proposals they sent the broadcaster.
   */
  commit(round: number, answers: readonly { clientId: number; message: Uint8Array }[]): Promise<Decision>;
  /** The shared positions of a commit message, checked against the layout and the round. */
  sharedOf(commit: Uint8Array, round: number): SharedPositions;
}

export function broadcasterParty(params: readonly TensorLayout[], options: AdgpBroadcasterOptionsInput): BroadcasterParty {
  const decide = commitDecider(params, options);
  return {
    sharedOf: (commit, round) => commonSetOf(commit, params, round).shared,
    commit: async (round, proposals) => decide(round, proposals),
  };
}

/** The broadcaster's decision itself: the common set of the proposals that decode (the others rejected). */
export function commitDecider(params: readonly TensorLayout[], options: AdgpBroadcasterOptionsInput) {
  const broadcaster = createBroadcaster(options);
  return (round: number, proposals: readonly { clientId: number; message: Uint8Array }[]): Decision => {
    const bands: Uint32Array[][] = [];
    const rejected: { clientId: number; reason: string }[] = [];
    for (const p of proposals) {
      try {
        bands.push(decodeProposal(p.message, params, round, p.clientId));
      } catch (e) {
        rejected.push({ clientId: p.clientId, reason: `proposal: ${(e as Error).message}` });
      }
    }
    if (bands.length === 0) throw new Error(`round ${round}: no client proposal to form the ADGP common set from`);
    const common = broadcaster.decide(params, bands);
    const positions = common.tensors.map((t, i) => ({ name: t.name, shape: [...params[i]!.shape], indices: t.indices }));
    const commit = encodeMessage({ type: 'commit', round }, encodePositions({ round, clientId: EVERYONE }, positions));
    return { commit, shared: sharedOf(common), rejected };
  };
}

/** The band positions a client's proposal carries, checked against the layout, the round and the sender. */
export function decodeProposal(message: Uint8Array, params: readonly TensorLayout[], round: number, clientId: number): Uint32Array[] {
  const { control, payload } = decodeMessage(message, 'proposal');
  if (control.round !== round || control.clientId !== clientId) {
    throw new WireFormatError(`proposal message: from client ${control.clientId} for round ${control.round} where client ${clientId}, round ${round} was expected`);
  }
  return decodePositions(payload, { layout: params }).tensors.map((t) => t.indices);
}

/** A client's band positions as its proposal message. */
export function proposalMessage(round: number, clientId: number, params: readonly TensorLayout[], bands: readonly Uint32Array[]): Uint8Array {
  const positions = params.map((t, i) => ({ name: t.name, shape: [...t.shape], indices: bands[i]! }));
  return encodeMessage({ type: 'proposal', round, clientId }, encodePositions({ round, clientId }, positions));
}

/** The common set a commit carries, checked against the parameter layout and the round. */
export function commonSetOf(commit: Uint8Array, params: readonly TensorLayout[], round: number): { common: CommonSet; shared: SharedPositions } {
  const { control, payload } = decodeMessage(commit, 'commit');
  if (control.round !== round) throw new WireFormatError(`commit message: round ${control.round} where ${round} was expected`);
  const common: CommonSet = { policy: 'vote', tensors: decodePositions(payload, { layout: params }).tensors.map((t) => ({ name: t.name, indices: t.indices })) };
  return { common, shared: sharedOf(common) };
}
