// ADGP: DGP with one index set per round common to all clients, so the aggregate has the same
// support as each update and the download is one value per kept position instead of the union
// of all clients' bands. The paper gives no code; this is our protocol:
//   1. each client computes its DGP band on its error-corrected gradient and sends the positions
//      (no values) to a trusted broadcaster, a party the clients trust and the server cannot see
//      into;
//   2. the broadcaster fixes one common set per tensor by a named policy and sends it to the
//      clients and the server (the server learns the common set, never a client's band);
//   3. each client uploads its values at exactly those positions (values only: the positions are
//      shared), keeping everything else in its error-feedback residual.
// Policy 'vote': the positions found in most clients' bands, as many as the DGP keep count, ties
// broken by the lower index.
import { z } from 'zod';
import { sizeOf, type TensorList, addInto, checkPositions, sparseUpdate, type ClientUpdate } from '../common/index.js';
import { supportUnion } from '../aggregation/index.js';
import { encodedPositionsSize, encodedSize, type EncodeOptions } from '../codec/index.js';
import { addResidual, l2 } from './compose.js';
import { dgpCounts, dgpOptionsShape, dgpSplit } from './dgp.js';
import { parseOptions } from '../common/index.js';
import { measure } from './report.js';
import { gather, rankRange } from './select.js';
import type { DefenseResult, Layout } from './types.js';

const clientSchema = z.object({
  ...dgpOptionsShape,
  ef: z.boolean().default(true),
  /**
   * A common position that falls in this client's own dropped top is sent as 0 (and kept in the
   * residual), so no client ever sends its largest entries, as under DGP.
   */
  protectTop: z.boolean().default(true),
});
const broadcasterSchema = z.object({ ...dgpOptionsShape, policy: z.enum(['vote']).default('vote') });

export type AdgpClientOptionsInput = z.input<typeof clientSchema>;
export type AdgpBroadcasterOptionsInput = z.input<typeof broadcasterSchema>;
export type CommonSetPolicy = z.infer<typeof broadcasterSchema>['policy'];

export interface AdgpClientState {
  /** Error-feedback residual per tensor, or null with ef off. */
  residual: Float32Array[] | null;
}

/** What a client keeps between proposing its band and uploading its values. */
export interface AdgpPending {
  grad: TensorList;
  corrected: TensorList;
  /** Per tensor, the positions of the client's own dropped top. */
  top: Uint32Array[];
}

/** The broadcaster's decision for one round: per tensor, increasing positions. */
export interface CommonSet {
  policy: CommonSetPolicy;
  tensors: { name: string; indices: Uint32Array }[];
}

export interface AdgpClient {
  readonly name: string;
  init(layout: Layout): AdgpClientState;
  /** Step 1: the DGP band of g + e per tensor, for the broadcaster. */
  propose(grad: TensorList, state: AdgpClientState): { bands: Uint32Array[]; pending: AdgpPending };
  /** Step 3: the values at the common set; the new state carries the rest as residual. */
  upload(pending: AdgpPending, state: AdgpClientState, common: CommonSet): DefenseResult<AdgpClientState>;
}

export function adgpClient(options: AdgpClientOptionsInput = {}): AdgpClient {
  const o = parseOptions(clientSchema, options, 'adgp');
  return {
    name: o.ef ? 'ef(adgp)' : 'adgp',
    init: (layout) => ({ residual: o.ef ? layout.map((t) => new Float32Array(sizeOf(t.shape))) : null }),
    propose(grad, state) {
      const corrected = state.residual ? addResidual(grad, state.residual) : grad;
      const splits = corrected.map((t) => dgpSplit(t, o));
      return { bands: splits.map((s) => s.band), pending: { grad, corrected, top: splits.map((s) => s.top) } };
    },
    upload(pending, state, common) {
      const { grad, corrected, top } = pending;
      if (common.tensors.length !== corrected.length) {
        throw new Error(`adgp: common set has ${common.tensors.length} tensors for a gradient of ${corrected.length}`);
      }
      let protectedCount = 0;
      const update: ClientUpdate = corrected.map((t, i) => {
        const { name, indices } = common.tensors[i]!;
        if (name !== t.name) throw new Error(`adgp: common set tensor ${i} is "${name}", gradient has "${t.name}"`);
        const values = gather(t.data, indices);
        if (o.protectTop) protectedCount += zeroWhereIn(values, indices, top[i]!);
        return sparseUpdate(t.name, t.shape, indices.slice(), values);
      });
      let residual: Float32Array[] | null = null;
      if (state.residual) {
        // `corrected` was made fresh by addResidual in propose: it becomes the residual.
        residual = corrected.map((c, i) => {
          addInto(c.data, update[i]!, -1);
          return c.data;
        });
      }
      const extra: Record<string, number> = { protectedCount };
      if (residual) extra['residualNorm'] = l2(residual);
      return { update, state: { residual }, report: measure(grad, update, extra) };
    },
  };
}

/** Sets values[j] = 0 where indices[j] is in `drop` (both increasing); returns how many. */
function zeroWhereIn(values: Float32Array, indices: Uint32Array, drop: Uint32Array): number {
  let count = 0;
  let d = 0;
  for (let j = 0; j < indices.length && d < drop.length; j++) {
    while (d < drop.length && drop[d]! < indices[j]!) d++;
    if (d < drop.length && drop[d] === indices[j]) {
      values[j] = 0;
      count++;
    }
  }
  return count;
}

export interface Broadcaster {
  readonly policy: CommonSetPolicy;
  /** The common set from every client's bands (bands[c][t]: client c, tensor t). */
  decide(layout: Layout, bands: readonly (readonly Uint32Array[])[]): CommonSet;
}

/** The broadcaster's options within an ADGP client's: the DGP split (error feedback is the clients' business). */
export function broadcasterOptionsOf(clientOptions: Record<string, unknown>): AdgpBroadcasterOptionsInput {
  return { pTop: clientOptions['pTop'], pKeep: clientOptions['pKeep'] } as AdgpBroadcasterOptionsInput;
}

/** An ADGP run's options with every default: the clients' (ef, protectTop, the DGP split) and the broadcaster's policy. */
export function adgpEffectiveOptions(options: Record<string, unknown>): Record<string, unknown> {
  const client = parseOptions(clientSchema, options, 'adgp');
  return { ...client, policy: parseOptions(broadcasterSchema, broadcasterOptionsOf(options), 'adgp broadcaster').policy };
}

export function createBroadcaster(options: AdgpBroadcasterOptionsInput = {}): Broadcaster {
  const o = parseOptions(broadcasterSchema, options, 'adgp broadcaster');
  return {
    policy: o.policy,
    decide(layout, bands) {
      if (bands.length === 0) throw new Error('adgp broadcaster: no client bands');
      const tensors = layout.map((t, i) => {
        const n = sizeOf(t.shape);
        const keep = dgpCounts(n, o).keep;
        const perClient = bands.map((b, c) => {
          const band = b[i];
          if (!band) throw new Error(`adgp broadcaster: client ${c} sent no band for tensor "${t.name}"`);
          if (band.length !== keep) throw new Error(`adgp broadcaster: client ${c}'s band for "${t.name}" has ${band.length} positions, DGP keeps ${keep}`);
          checkPositions(t.name, band, n);
          return band;
        });
        return { name: t.name, indices: voteCommonSet(n, perClient, keep) };
      });
      return { policy: o.policy, tensors };
    },
  };
}

/** The `count` positions found in most bands; among equal votes the lower index first. */
export function voteCommonSet(n: number, bands: readonly Uint32Array[], count: number): Uint32Array {
  const votes = new Uint32Array(n);
  for (const band of bands) for (let j = 0; j < band.length; j++) votes[band[j]!]!++;
  return rankRange(votes, 0, count);
}

export interface DownloadBytes {
  /** DGP: the aggregate over the union of the clients' supports, as one sparse message. */
  dgp: number;
  /** ADGP: the common set from the broadcaster plus the aggregate's values at it. */
  adgp: number;
  adgpPositions: number;
  adgpValues: number;
}

/** Bytes each client downloads per round, DGP against ADGP (`dgpUpdates`: the clients' DGP uploads). */
export function downloadBytes(layout: Layout, dgpUpdates: readonly ClientUpdate[], common: CommonSet, options: Pick<EncodeOptions, 'dtype'> = {}): DownloadBytes {
  const union = supportUnion(layout, dgpUpdates);
  const dgp = encodedSize(layout.map((t, i) => sparseUpdate(t.name, t.shape, union[i]!, new Float32Array(union[i]!.length))), options);
  const positions = common.tensors.map((c, i) => ({ name: c.name, shape: layout[i]!.shape, indices: c.indices }));
  const adgpPositions = encodedPositionsSize(positions);
  const adgpValues = encodedSize(
    positions.map((p) => sparseUpdate(p.name, p.shape, p.indices, new Float32Array(p.indices.length))),
    { ...options, shared: sharedOf(common) },
  );
  return { dgp, adgp: adgpPositions + adgpValues, adgpPositions, adgpValues };
}

/** Bytes one ADGP client uploads per round: its band to the broadcaster, its values to the server. */
export function adgpUploadBytes(layout: Layout, bands: readonly Uint32Array[], update: ClientUpdate, common: CommonSet, options: Pick<EncodeOptions, 'dtype'> = {}): { band: number; values: number } {
  const band = encodedPositionsSize(layout.map((t, i) => ({ name: t.name, shape: t.shape, indices: bands[i]! })));
  return { band, values: encodedSize(update, { ...options, shared: sharedOf(common) }) };
}

/** The common set keyed by tensor name, as the codec's `shared` option wants it. */
export function sharedOf(common: CommonSet): Record<string, Uint32Array> {
  return Object.fromEntries(common.tensors.map((t) => [t.name, t.indices]));
}
