// ADGP inside a federated round (see src/defenses/adgp.ts for the protocol). Each sampled client
// answers its fit call with a proposal, the positions of its DGP band; the trusted broadcaster
// turns the proposals into one common set and sends it back as a commit; each client then uploads
// its values at exactly those positions, as values only. The broadcaster here is a party the
// server hands the proposals to unread and that only returns the commit: in this simulation it runs
// in the server's process, in a deployment it is a separate trusted service.
import { decodePositions, encodePositions, WireFormatError } from '../codec/index.js';
import type { TensorLayout } from '../common/update.js';
import { type AdgpBroadcasterOptionsInput, type CommonSet, createBroadcaster, sharedOf } from '../defenses/index.js';
import { decodeMessage, encodeMessage, EVERYONE, type SharedPositions } from './wire.js';

export interface BroadcasterParty {
  /**
   * The common set from the proposals that decode, as the commit message and as the shared
   * positions the round's values travel at; proposals that do not decode come back as rejected.
   */
  commit(round: number, proposals: readonly { clientId: number; message: Uint8Array }[]): { commit: Uint8Array; shared: SharedPositions; rejected: { clientId: number; reason: string }[] };
}

export function broadcasterParty(params: readonly TensorLayout[], options: AdgpBroadcasterOptionsInput): BroadcasterParty {
  const broadcaster = createBroadcaster(options);
  return {
    commit(round, proposals) {
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
    },
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
