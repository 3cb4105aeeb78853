// The cases of one ADGP round of N clients (or an undefended one), each with its own batch, as
// two servers see it: one that reads each client's upload (ADGP alone: values at the common set,
// whose positions it knows), and one under secure aggregation, which learns only the mean of the N uploads (made
// here by src/secagg's protocol itself, as the federated round makes it). The attacker of the
// aggregate targets any of the N clients' images: its ground truth holds all of them and each
// reconstruction is scored against the one it matches best (evaluate.ts).
import { type TensorList, denseUpdate, layoutOf, sparseUpdate, type ClientUpdate } from '../common/index.js';
import { type Dataset, getBatch } from '../data/index.js';
import { adgpClient, broadcasterOptionsOf, createBroadcaster, measure } from '../defenses/index.js';
import type { Model } from '../models/index.js';
import { aggregateSecurely, seededRandom } from '../secagg/index.js';
import { oneHotLabels } from '../train/index.js';
import { type AttackCase, type Knowledge, type ModelState, runnerFor, serverView } from './case.js';
import type { ThreatModel } from './threat.js';

export interface RoundCaseSpec {
  model: Model;
  state: ModelState;
  data: Dataset;
  /** Per client, the indices of its batch in `data` (N >= 2 clients, equal batches). */
  batches: readonly (readonly number[])[];
  /**
   * ADGP's options, the clients' and the broadcaster's (pTop, pKeep, protectTop); null: the
   * clients send their raw gradients (undefended, dense), to see what the aggregate alone hides.
   */
  adgp?: Record<string, unknown> | null;
  /** Secure aggregation's clip (every entry is clipped to it before it is quantised). */
  clip: number;
  seed: number;
  knows?: Knowledge;
}

export interface RoundCases {
  /** What a server without secure aggregation sees: each client's upload at the common set. */
  perClient: AttackCase[];
  /** What a server under secure aggregation sees: the mean of the N uploads, nothing else. */
  aggregate: AttackCase;
}

export async function buildRoundCases(spec: RoundCaseSpec): Promise<RoundCases> {
  const n = spec.batches.length;
  if (n < 2) throw new Error(`buildRoundCases: a round needs at least 2 clients, got ${n}`);
  const b = spec.batches[0]!.length;
  if (b === 0 || spec.batches.some((x) => x.length !== b)) throw new Error('buildRoundCases: every client needs a batch of the same, positive size');
  const { model, data } = spec;
  const params = spec.state.params;
  const layout = layoutOf(params);
  const steps = await Promise.all(spec.batches.map(async (indices) => {
    const batch = getBatch(data, [...indices], { normalize: true });
    const { grads } = await runnerFor(model).lossAndGrad(params, batch.x, batch.shape, oneHotLabels(batch.y, model.numClasses));
    return { batch, grads };
  }));
  const { uploads, positions, name } = spec.adgp === null ? undefended(steps.map((s) => s.grads)) : adgpRound(steps.map((s) => s.grads), spec.adgp ?? {}, layout);
  const threatOf = (update: ClientUpdate, labels: Int32Array, aggregateOf?: number): ThreatModel => serverView({
    model, params, state: spec.state, update, defense: aggregateOf ? `${name}, secure aggregate of ${aggregateOf}` : name, knows: spec.knows, labels, data, aggregateOf,
  });
  const perClient = steps.map((s, k): AttackCase => ({
    threat: threatOf(uploads[k]!.update, Int32Array.from(s.batch.y)),
    truth: { x: s.batch.x, labels: Int32Array.from(s.batch.y), shape: s.batch.shape, gradient: s.grads, defense: uploads[k]!.report },
  }));

  // The server's view under secure aggregation: the protocol's sum of the N uploads, over N.
  const inputs = new Map(uploads.map((u, k) => [k, Float32Array.from(u.update.flatMap((t) => Array.from(t.values)))]));
  const threshold = Math.max(2, Math.ceil((2 * n) / 3));
  const { sum, contributors } = await aggregateSecurely(inputs, { round: 1, threshold, clip: spec.clip, random: seededRandom(spec.seed) });
  let at = 0;
  const mean: ClientUpdate = layout.map((t, i) => {
    const sent = positions?.[i];
    const values = new Float32Array(sent ? sent.length : t.shape.reduce((a, d) => a * d, 1));
    for (let j = 0; j < values.length; j++) values[j] = sum[at++]! / contributors.length;
    return sent ? sparseUpdate(t.name, t.shape, sent.slice(), values) : denseUpdate(t.name, t.shape, values);
  });
  const meanGradient: TensorList = steps[0]!.grads.map((g, i) => ({ ...g, shape: [...g.shape], data: g.data.map((_, j) => steps.reduce((a, s) => a + s.grads[i]!.data[j]!, 0) / n) }));
  const x = new Float32Array(steps.reduce((a, s) => a + s.batch.x.length, 0));
  steps.reduce((o, s) => (x.set(s.batch.x, o), o + s.batch.x.length), 0);
  const labels = Int32Array.from(steps.flatMap((s) => Array.from(s.batch.y)));
  const [, c, h, w] = steps[0]!.batch.shape;
  const aggregate: AttackCase = {
    threat: threatOf(mean, labels, n),
    truth: { x, labels, shape: [n * b, c, h, w], gradient: meanGradient, defense: measure(meanGradient, mean), target: 'any' },
  };
  return { perClient, aggregate };
}

/** ADGP's round: each client's band, the broadcaster's common set, each upload at it. */
function adgpRound(grads: readonly TensorList[], options: Record<string, unknown>, layout: ReturnType<typeof layoutOf>) {
  const client = adgpClient(options);
  const proposals = grads.map((g) => client.propose(g, client.init(layout)));
  const common = createBroadcaster(broadcasterOptionsOf(options)).decide(layout, proposals.map((p) => p.bands));
  const uploads = proposals.map((p) => client.upload(p.pending, client.init(layout), common));
  return { uploads, positions: common.tensors.map((t) => t.indices), name: 'adgp' };
}

/** No defense: each client's raw gradient, dense. */
function undefended(grads: readonly TensorList[]) {
  const uploads = grads.map((g) => {
    const update = g.map((t) => denseUpdate(t.name, t.shape, t.data));
    return { update, report: measure(g, update) };
  });
  return { uploads, positions: null, name: 'none' };
}
