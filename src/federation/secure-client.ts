// A client's side of secure aggregation in a federated round: instead of its update it answers
// the fit call (or ADGP's commit) with its keys, then each `secagg` message the server relays
// with the next step of src/secagg's protocol. Its vector exists only here, until it is masked.
import { peekMessage, SecAggClient } from '../secagg/index.js';
import { decodeMessage, encodeMessage, type FitTask } from './wire.js';

export type SecureTask = NonNullable<FitTask['secure']>;

/** The envelope of one src/secagg message, to or from client `clientId`. */
export function secaggMessage(round: number, clientId: number, message: Uint8Array): Uint8Array {
  return encodeMessage({ type: 'secagg', round, clientId }, message);
}

/** The src/secagg message inside an envelope, checked to be of `round` and to or from `clientId`. */
export function openSecagg(bytes: Uint8Array, round: number, clientId: number): Uint8Array {
  const { control, payload } = decodeMessage(bytes, 'secagg');
  if (control.round !== round || control.clientId !== clientId) {
    throw new Error(`secagg message of client ${control.clientId}, round ${control.round}, where client ${clientId}, round ${round} was expected`);
  }
  return payload;
}

export class SecureUpload {
  private readonly client: SecAggClient;
  private input: Float32Array | null;

  /** Holds `input` for `round` and makes this client's keys; `advertisement()` is its first message. */
  constructor(readonly round: number, private readonly id: number, task: SecureTask, input: Float32Array) {
    this.client = new SecAggClient({ id, round, threshold: task.threshold, clip: task.clip, neighbours: task.neighbours });
    this.input = input;
  }

  advertisement(): Uint8Array {
    return secaggMessage(this.round, this.id, this.client.advertiseKeys());
  }

  /** The answer to the server's next message (roster, relay, unmask request); `done` after the last. */
  async answer(envelope: Uint8Array): Promise<{ reply: Uint8Array; done: boolean }> {
    const message = openSecagg(envelope, this.round, this.id);
    const { kind } = peekMessage(message);
    if (kind === 'roster') return { reply: secaggMessage(this.round, this.id, await this.client.shareKeys(message)), done: false };
    if (kind === 'relay') {
      if (!this.input) throw new Error(`client ${this.id}: masked its input of round ${this.round} already`);
      const masked = this.client.maskInput(message, this.input);
      this.input.fill(0);
      this.input = null;
      return { reply: secaggMessage(this.round, this.id, masked), done: false };
    }
    if (kind === 'unmask-request') return { reply: secaggMessage(this.round, this.id, this.client.unmask(message)), done: true };
    throw new Error(`client ${this.id}: a secure-aggregation "${kind}" message is not for a client`);
  }
}
