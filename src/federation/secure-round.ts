// The server's side of secure aggregation in a federated round: it feeds one SecAggServer (one
// per round, its participants the sampled clients) with the clients' messages and relays its
// answers through the clients' fit calls, so the deployment service carries them as it carries
// any fit. What comes out is the SecureSum and nothing else; the round's aggregate is made from
// that alone (secure-vector.ts). A client whose message is refused, or that fails a call, has
// dropped: before its masked input it is left out, after it its input is recovered.
import { SecAggError, SecAggServer, type SecureSum } from '../secagg/index.js';
import { openSecagg, secaggMessage } from './secure-client.js';
import type { SecureTask } from './secure-client.js';

/** The four steps, as the server names them in a dropout's reason. */
export type SecureStep = 'keys' | 'shares' | 'masked input' | 'unmasking';

export interface SecureRoundSetup {
  round: number;
  task: SecureTask;
  /** The clients sampled this round. */
  participants: readonly number[];
  vectorLength: number;
  /** Answers to the fit call (or ADGP's commit), each a client's keys. */
  keys: readonly (readonly [number, Uint8Array])[];
  /** Sends each client its message through its fit call; the answers of those that answered (the others dropped). */
  exchange: (clients: readonly number[], message: (client: number) => Uint8Array, step: SecureStep) => Promise<[number, Uint8Array][]>;
  /** A client whose message the protocol refused: it has dropped from the round. */
  refuse: (client: number, step: SecureStep, e: unknown) => void;
}

/** A secure round that cannot finish (too few clients left, a share that does not combine): nothing is revealed. */
export class SecureRoundFailed extends Error {}

/** Runs the protocol's four steps; the sum over the clients whose masked input is in it. */
export async function secureSum(o: SecureRoundSetup): Promise<SecureSum> {
  const { round, task } = o;
  const server = new SecAggServer({ round, threshold: task.threshold, clip: task.clip, neighbours: task.neighbours, participants: o.participants, vectorLength: o.vectorLength });
  const feed = (answers: readonly (readonly [number, Uint8Array])[], step: SecureStep, receive: (m: Uint8Array) => void): void => {
    for (const [c, bytes] of answers) {
      try {
        const message = openSecagg(bytes, round, c);
        // Every client message names its sender first: it must be the client that sent it.
        if (message.length >= 12 && new DataView(message.buffer, message.byteOffset, 12).getUint32(8, true) !== c) throw new Error(`client ${c} sent a message in another client's name`);
        receive(message);
      } catch (e) {
        o.refuse(c, step, e);
      }
    }
  };
  const close = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw e instanceof SecAggError ? new SecureRoundFailed(e.message) : e;
    }
  };
  feed(o.keys, 'keys', (m) => server.receiveAdvertisement(m));
  const roster = close(() => server.closeAdvertising());
  feed(await o.exchange(server.progress().advertised, (c) => secaggMessage(round, c, roster), 'shares'), 'shares', (m) => server.receiveShares(m));
  const relays = close(() => server.closeShareKeys());
  feed(await o.exchange([...relays.keys()], (c) => secaggMessage(round, c, relays.get(c)!), 'masked input'), 'masked input', (m) => server.receiveMaskedInput(m));
  const request = close(() => server.closeMaskedInput());
  feed(await o.exchange(server.progress().masked, (c) => secaggMessage(round, c, request), 'unmasking'), 'unmasking', (m) => server.receiveUnmaskResponse(m));
  try {
    return await server.finish();
  } catch (e) {
    throw e instanceof SecAggError ? new SecureRoundFailed(e.message) : e;
  }
}
