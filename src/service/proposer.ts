// A client's end of ADGP's broadcaster: it hands its band to the broadcaster directly (the server
// gets only a receipt), and checks the commit the server relays against the broadcaster's digest
// before it uploads a value. Free of Node built-ins: browser clients use it as it is.
import { createClient, type Transport } from '@connectrpc/connect';
import { decodeMessage, encodeMessage } from '../federation/index.js';
import { BroadcasterService } from './gen/dgp/v1/broadcaster_pb.js';
import { digest, sameBytes } from './protocol.js';

export function broadcasterProposer(transport: Transport, runId: string, clientId: number) {
  const client = createClient(BroadcasterService, transport);
  return {
    /** Sends the proposal; the receipt that answers the server's fit call instead of it. */
    async propose(proposal: Uint8Array): Promise<Uint8Array> {
      const { control } = decodeMessage(proposal, 'proposal');
      await client.propose({ runId, clientId, round: control.round, proposal });
      return encodeMessage({ type: 'proposed', round: control.round, clientId });
    },
    async verify(commit: Uint8Array): Promise<void> {
      const { control } = decodeMessage(commit, 'commit');
      const { sha256: want } = await client.commitDigest({ runId, clientId, round: control.round });
      if (!sameBytes(want, digest(commit))) {
        throw new Error(`the common set the server sent for round ${control.round} is not the one the broadcaster decided: refusing to upload`);
      }
    },
  };
}
