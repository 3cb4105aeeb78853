// ADGP's broadcaster as its own service (`dgp broadcaster`), and the server's end that talks to
// it: a BroadcasterParty that asks for the common set and learns only that (a client's end is
// proposer.ts). The decision itself is the in-process party's (src/federation/aligned.ts), so a run
// through the service forms the same common sets as a run in one process.
import { Code, ConnectError, createClient, type ConnectRouter, type Transport } from '@connectrpc/connect';
import { broadcasterParty, decodeMessage, modelLayoutOf, parseSpec, type BroadcasterParty, type Decision, type FederatedSpec } from '../federation/index.js';
import { broadcasterOptionsOf } from '../defenses/index.js';
import { BroadcasterService } from './gen/dgp/v1/broadcaster_pb.js';
import { digest } from './protocol.js';
import { DEFAULT_LIMITS, requireClient, requireRole, startServiceServer, type ServiceServer, type ServiceServerOptions } from './http.js';

/** Rounds of proposals kept: the round being decided and the one before (a late retry). */
const KEEP_ROUNDS = 2;

interface Run {
  id: string;
  party: BroadcasterParty;
  /** round -> client -> proposal bytes. */
  proposals: Map<number, Map<number, Uint8Array>>;
  digests: Map<number, Uint8Array>;
}

export interface BroadcasterStats {
  /** Per client, the proposal bytes it sent (payload, for the overhead figure). */
  proposalBytes: Map<number, number>;
  rounds: number;
}


/** The broadcaster's service: bound to one run at a time, opened by the server. */
export function broadcasterService(o: { maxProposalBytes: number; log?: (line: string) => void }) {
  let run: Run | null = null;
  const stats: BroadcasterStats = { proposalBytes: new Map(), rounds: 0 };
  const current = (runId: string): Run => {
    if (!run) throw new ConnectError('no run is open at this broadcaster yet; the server opens it before its first round', Code.FailedPrecondition);
    if (runId !== run.id) throw new ConnectError(`this broadcaster serves run ${run.id}, not ${runId}`, Code.FailedPrecondition);
    return run;
  };
  const routes = (router: ConnectRouter) =>
    router.service(BroadcasterService, {
      open(req, ctx) {
        requireRole(ctx, 'server');
        const spec = parseSpec(JSON.parse(req.specJson));
        if (spec.defense.name !== 'adgp') throw new ConnectError(`run ${req.runId} uses ${spec.defense.name}, not adgp`, Code.InvalidArgument);
        if (run?.id !== req.runId) {
          run = { id: req.runId, party: partyFor(spec), proposals: new Map(), digests: new Map() };
          o.log?.(`broadcaster: opened run ${req.runId} (${spec.clients} clients, ${spec.model.name})`);
        }
        return {};
      },
      propose(req, ctx) {
        requireClient(ctx, req.clientId);
        const r = current(req.runId);
        if (req.proposal.length > o.maxProposalBytes) throw new ConnectError(`a proposal of ${req.proposal.length} bytes exceeds ${o.maxProposalBytes}`, Code.ResourceExhausted);
        const newest = Math.max(0, ...r.proposals.keys());
        if (req.round + KEEP_ROUNDS <= newest) throw new ConnectError(`round ${req.round} is over (the broadcaster is at ${newest})`, Code.FailedPrecondition);
        let round = r.proposals.get(req.round);
        if (!round) {
          round = new Map();
          r.proposals.set(req.round, round);
          for (const k of r.proposals.keys()) if (k + KEEP_ROUNDS <= req.round) r.proposals.delete(k);
        }
        round.set(req.clientId, req.proposal.slice());
        stats.proposalBytes.set(req.clientId, (stats.proposalBytes.get(req.clientId) ?? 0) + req.proposal.length);
        return { bytes: req.proposal.length };
      },
      async decide(req, ctx) {
        requireRole(ctx, 'server');
        const r = current(req.runId);
        const got = r.proposals.get(req.round) ?? new Map<number, Uint8Array>();
        const missing = req.clientIds.filter((c) => !got.has(c));
        const present = req.clientIds.filter((c) => got.has(c)).map((clientId) => ({ clientId, message: got.get(clientId)! }));
        let d: Decision;
        try {
          d = await r.party.commit(req.round, present);
        } catch (e) {
          throw new ConnectError((e as Error).message, Code.FailedPrecondition);
        }
        r.digests.set(req.round, digest(d.commit));
        for (const k of r.digests.keys()) if (k + KEEP_ROUNDS <= req.round) r.digests.delete(k);
        stats.rounds++;
        return {
          commit: d.commit,
          rejected: [...missing.map((clientId) => ({ clientId, reason: 'sent no proposal to the broadcaster' })), ...d.rejected],
          proposalBytes: Object.fromEntries(present.map((p) => [p.clientId, p.message.length])),
        };
      },
      commitDigest(req, ctx) {
        requireClient(ctx, req.clientId);
        const digest = current(req.runId).digests.get(req.round);
        if (!digest) throw new ConnectError(`no commit was decided for round ${req.round}`, Code.NotFound);
        return { sha256: digest };
      },
    });
  return { routes, stats };
}

function partyFor(spec: FederatedSpec): BroadcasterParty {
  return broadcasterParty(modelLayoutOf(spec).params, broadcasterOptionsOf(spec.defense.options));
}

/** The server's end: opens its run at the broadcaster, then asks it for each round's common set. */
export async function remoteBroadcaster(transport: Transport, runId: string, spec: FederatedSpec): Promise<BroadcasterParty> {
  const client = createClient(BroadcasterService, transport);
  await client.open({ runId, specJson: JSON.stringify(spec) });
  const layout = modelLayoutOf(spec).params;
  const local = broadcasterParty(layout, broadcasterOptionsOf(spec.defense.options));
  return {
    async commit(round, receipts) {
      const rejected: Decision['rejected'] = [];
      const proposers: number[] = [];
      for (const r of receipts) {
        try {
          const { control } = decodeMessage(r.message, 'proposed');
          if (control.round !== round || control.clientId !== r.clientId) throw new Error(`receipt of client ${control.clientId} for round ${control.round}`);
          proposers.push(r.clientId);
        } catch (e) {
          rejected.push({ clientId: r.clientId, reason: `receipt: ${(e as Error).message}` });
        }
      }
      if (proposers.length === 0) throw new Error(`round ${round}: no client proposal to form the ADGP common set from`);
      const d = await client.decide({ runId, round, clientIds: proposers });
      return {
        commit: d.commit,
        shared: local.sharedOf(d.commit, round),
        rejected: [...rejected, ...d.rejected.map((x) => ({ clientId: x.clientId, reason: `broadcaster: ${x.reason}` }))],
        proposalBytes: new Map(Object.entries(d.proposalBytes).map(([c, b]) => [Number(c), b])),
      };
    },
    sharedOf: local.sharedOf,
  };
}

/** `dgp broadcaster`: the service on its own server, with its own TLS certificate and access list. */
export async function startBroadcaster(o: Omit<ServiceServerOptions, 'routes'>): Promise<{ server: ServiceServer; stats: BroadcasterStats }> {
  const maxProposalBytes = o.limits?.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes;
  const svc = broadcasterService({ maxProposalBytes, log: o.log });
  const server = await startServiceServer({ ...o, routes: svc.routes });
  return { server, stats: svc.stats };
}
