// The four rounds run in one process: N client objects and one server object exchanging the
// real message bytes. For tests, benchmarks and the federation's in-process rounds; a test can
// drop any client after any step.
import { SecAggClient } from './client.js';
import type { RandomSource } from './crypto.js';
import { checkClientId, SecAggError } from './errors.js';
import { SecAggServer, type SecureSum } from './server.js';

export interface SecureAggregationOptions {
  /** Aggregation round (default 0); keys and masks are fresh per call whatever it is. */
  round?: number;
  threshold: number;
  clip: number;
  /** SecAgg+: neighbours per client (see RoundOptions); default all. */
  neighbours?: number;
  /** Shared by every party, drawn from in a fixed order: a seeded source repeats a round exactly. */
  random?: RandomSource;
  /**
   * Clients that drop after sending the named step's message: they send nothing more and receive
   * nothing more. `advertiseKeys`: before ShareKeys; `shareKeys`: after ShareKeys, before their
   * masked input (their pairwise masks are removed with their reconstructed key); `maskedInput`:
   * after their masked input, before the unmasking round (their input stays in the sum).
   */
  dropAfter?: { advertiseKeys?: readonly number[]; shareKeys?: readonly number[]; maskedInput?: readonly number[] };
  /** Milliseconds for `time` (default performance.now; a benchmark may pass a CPU clock). */
  clock?: () => number;
}

export interface Traffic {
  /** Bytes this client sent. */
  up: number;
  /** Bytes this client received. */
  down: number;
}

export interface SecureAggregationResult extends SecureSum {
  /** Per client id, the bytes it sent and received in the four rounds. */
  readonly traffic: ReadonlyMap<number, Traffic>;
  /** Compute time, ms by `clock`: all clients' steps added up, and the server's. */
  readonly time: { readonly clientsMs: number; readonly serverMs: number };
}

type Step = 'advertiseKeys' | 'shareKeys' | 'maskedInput';

/**
 * Runs one round over `inputs` (client id -> vector, all of one length; the ids are the
 * participant set) and returns the sum over the clients that sent a masked input. Throws a
 * SecAggError('too-few') when fewer than `threshold` clients remain at any step.
 */
export async function aggregateSecurely(inputs: ReadonlyMap<number, Float32Array>, options: SecureAggregationOptions): Promise<SecureAggregationResult> {
  if (!(inputs instanceof Map)) throw new SecAggError('options', 'aggregateSecurely: inputs must be a Map from client id to Float32Array');
  const ids = [...inputs.keys()].map((id) => checkClientId(id, 'aggregateSecurely: client id')).sort((a, b) => a - b);
  const dropsAfter = dropSchedule(options, new Set(ids));
  const round = options.round ?? 0;
  const { threshold, clip, neighbours, random } = options;
  const traffic = new Map(ids.map((id) => [id, { up: 0, down: 0 }]));
  const time = { clientsMs: 0, serverMs: 0 };
  const clock = options.clock ?? (() => performance.now());
  const onServer = <T>(f: () => T): T => timed(clock, f, (ms) => (time.serverMs += ms));
  const onClient = <T>(f: () => T): T => timed(clock, f, (ms) => (time.clientsMs += ms));
  const send = (id: number, bytes: Uint8Array): Uint8Array => ((traffic.get(id)!.up += bytes.length), bytes);
  const deliver = (id: number, bytes: Uint8Array): Uint8Array => ((traffic.get(id)!.down += bytes.length), bytes);

  const server = new SecAggServer({ round, threshold, clip, neighbours, participants: ids });
  const clients = new Map(ids.map((id) => [id, new SecAggClient({ id, round, threshold, clip, neighbours, random })]));
  let live = ids;
  const survive = (step: Step) => (live = live.filter((id) => dropsAfter.get(id) !== step));

  for (const id of live) {
    const m = send(id, onClient(() => clients.get(id)!.advertiseKeys()));
    onServer(() => server.receiveAdvertisement(m));
  }
  survive('advertiseKeys');
  const roster = onServer(() => server.closeAdvertising());
  for (const id of live) {
    const r = deliver(id, roster);
    const t0 = clock();
    const m = send(id, await clients.get(id)!.shareKeys(r));
    time.clientsMs += clock() - t0;
    onServer(() => server.receiveShares(m));
  }
  survive('shareKeys');
  const relays = onServer(() => server.closeShareKeys());
  for (const id of live) {
    const r = deliver(id, relays.get(id)!);
    const m = send(id, onClient(() => clients.get(id)!.maskInput(r, inputs.get(id)!)));
    onServer(() => server.receiveMaskedInput(m));
  }
  survive('maskedInput');
  const request = onServer(() => server.closeMaskedInput());
  for (const id of live) {
    const m = send(id, onClient(() => clients.get(id)!.unmask(deliver(id, request))));
    onServer(() => server.receiveUnmaskResponse(m));
  }
  const t0 = clock();
  const result = await server.finish();
  time.serverMs += clock() - t0;
  return { ...result, traffic, time };
}

function dropSchedule(options: SecureAggregationOptions, ids: ReadonlySet<number>): Map<number, Step> {
  const out = new Map<number, Step>();
  for (const [step, list] of Object.entries(options.dropAfter ?? {}) as [Step, readonly number[] | undefined][]) {
    if (!['advertiseKeys', 'shareKeys', 'maskedInput'].includes(step)) throw new SecAggError('options', `dropAfter.${step}: unknown step (advertiseKeys, shareKeys or maskedInput)`);
    for (const id of list ?? []) {
      if (!ids.has(id)) throw new SecAggError('options', `dropAfter.${step}: client ${id} has no input`);
      if (out.has(id)) throw new SecAggError('options', `dropAfter: client ${id} drops after both ${out.get(id)} and ${step}`);
      out.set(id, step);
    }
  }
  return out;
}

function timed<T>(clock: () => number, f: () => T, add: (ms: number) => void): T {
  const t0 = clock();
  try {
    return f();
  } finally {
    add(clock() - t0);
  }
}
