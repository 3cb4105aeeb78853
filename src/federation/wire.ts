// The messages a federated round exchanges, as bytes. Each is an envelope around one codec
// message (src/codec), so tensors travel in the toolkit's one wire format and the small control
// part (round, learning rate, a client's metrics) travels beside them:
//
//   magic "DGPF" | version u8 | control length u32 LE | control JSON (UTF-8) | codec message
//
// Four messages: `fit` (server -> client: train this round, no tensors), `result` (client ->
// server: the defended update, kind 'update'), `broadcast` (server -> clients: the round's
// aggregate, kind 'aggregate') and `sync` (server -> one client: the whole model and optimizer
// state, kind 'aggregate', for a client whose replica is behind). ADGP adds `proposal`, `commit`
// and `proposed`; secure aggregation adds `secagg` (a src/secagg message as the payload, both
// ways, through the fit call) and `skip` (a failed round, in place of its broadcast). Bytes counted anywhere in this
// module are the lengths of these envelopes, control part included.
import { z } from 'zod';
import { decodeUpdate, encodeUpdate, WireFormatError } from '../codec/index.js';
import type { ClientUpdate, TensorLayout } from '../common/index.js';
import { createSgd } from '../optim/index.js';

const MAGIC = [0x44, 0x47, 0x50, 0x46]; // "DGPF"
const VERSION = 1;
const HEAD = 9;
/** The clientId in the codec header of a message meant for every client. */
export const EVERYONE = 0xffffffff;

const round = z.number().int().min(0).max(0xfffffffe);
const finite = z.number().finite();

export const fitTaskSchema = z.object({
  /** 'gradient': one gradient at the current model (CL-SGD); 'delta': model minus model after local SGD (FedAvg). */
  payload: z.enum(['gradient', 'delta']),
  localSteps: z.number().int().positive(),
  /** Learning rate and weight decay of the local SGD steps ('delta' only). */
  lr: finite.nonnegative(),
  weightDecay: finite.nonnegative(),
  /** ADGP: answer with a proposal (the DGP band's positions), then upload values at the commit's common set. */
  aligned: z.boolean().optional(),
  /**
   * Secure aggregation: instead of its update, the client answers with its first secure-aggregation
   * message (its keys), then masks its values in the rounds that follow (`secagg` messages).
   */
  secure: z.object({
    threshold: z.number().int().min(2).max(255),
    clip: finite.positive(),
    neighbours: z.number().int().min(2).max(254).optional(),
    /** Examples of a full round's work (batch size x local steps): a client weighs its input by its examples over this. */
    fullBatch: z.number().int().positive(),
  }).strict().optional(),
});
export type FitTask = z.infer<typeof fitTaskSchema>;

const sgdOptionsSchema = z.object({
  lr: finite.positive(),
  momentum: finite.nonnegative(),
  dampening: finite.nonnegative(),
  weightDecay: finite.nonnegative(),
  nesterov: z.boolean(),
}).superRefine((o, ctx) => {
  // The optimizer's own rules (dampening at most 1, Nesterov's conditions), so a sync that breaks them is a format error.
  try {
    createSgd(o);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const controlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('fit'), round, modelRound: round, task: fitTaskSchema }),
  z.object({
    type: z.literal('result'),
    round,
    clientId: round,
    examples: z.number().int().positive(),
    loss: finite,
    /** The defense's report on this update (relGradDistance, keptFraction...). */
    report: z.record(finite),
  }),
  z.object({ type: z.literal('broadcast'), round, lr: finite.nonnegative() }),
  // ADGP: a client's band positions for the broadcaster, and the broadcaster's common set back.
  z.object({ type: z.literal('proposal'), round, clientId: round }),
  z.object({ type: z.literal('commit'), round }),
  // In a deployment the proposal goes to the broadcaster service; the server gets this receipt.
  z.object({ type: z.literal('proposed'), round, clientId: round }),
  // Secure aggregation: one message of src/secagg as the payload, to (server -> client) or from client `clientId`.
  z.object({ type: z.literal('secagg'), round, clientId: round }),
  // A round that failed (secure aggregation with too few clients left): no model update, the round number moves on.
  z.object({ type: z.literal('skip'), round, reason: z.string().max(2000) }),
  z.object({
    type: z.literal('sync'),
    round,
    optimizer: sgdOptionsSchema,
    optimizerStep: z.number().int().nonnegative(),
    /** Per parameter tensor, whether a momentum buffer follows in the payload. */
    momentum: z.array(z.boolean()),
  }),
]);
export type Control = z.infer<typeof controlSchema>;
export type ControlOf<T extends Control['type']> = Extract<Control, { type: T }>;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(control: Control, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = utf8Encoder.encode(JSON.stringify(control));
  const out = new Uint8Array(HEAD + json.length + payload.length);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setUint32(5, json.length, true);
  out.set(json, HEAD);
  out.set(payload, HEAD + json.length);
  return out;
}

/** Splits an envelope and checks its control part; `type` is the message (or messages) the receiver expects. */
export function decodeMessage<T extends Control['type']>(bytes: Uint8Array, type: T | readonly T[]): { control: ControlOf<T>; payload: Uint8Array } {
  const types: readonly string[] = typeof type === 'string' ? [type] : type;
  const fail = (why: string): never => {
    throw new WireFormatError(`${types.join(' or ')} message: ${why}`);
  };
  if (bytes.length < HEAD) fail(`${bytes.length} bytes, shorter than the ${HEAD}-byte envelope`);
  if (MAGIC.some((b, i) => bytes[i] !== b)) fail('bad magic (expected "DGPF")');
  if (bytes[4] !== VERSION) fail(`unsupported envelope version ${bytes[4]} (this reader knows ${VERSION})`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5, true);
  if (length > bytes.length - HEAD) fail(`control part of ${length} bytes exceeds the message`);
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Decoder.decode(bytes.subarray(HEAD, HEAD + length)));
  } catch (e) {
    return fail(`control part is not JSON (${(e as Error).message})`);
  }
  const parsed = controlSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(`control field "${issue.path.join('.')}": ${issue.message}`);
  }
  if (!types.includes(parsed.data.type)) fail(`got a "${parsed.data.type}" message`);
  return { control: parsed.data as ControlOf<T>, payload: bytes.subarray(HEAD + length) };
}

/** An envelope with tensors: the codec message is checked against `layout` and the round. */
export function encodeWithTensors(control: Control, clientId: number, kind: 'update' | 'aggregate', tensors: ClientUpdate, shared?: SharedPositions): Uint8Array {
  return encodeMessage(control, encodeUpdate({ kind, round: control.round, clientId }, tensors, { shared }));
}

/** ADGP's common set by tensor name: tensors at exactly these positions travel as values only. */
export type SharedPositions = Readonly<Record<string, Uint32Array>>;

export function decodeWithTensors<T extends Control['type']>(
  bytes: Uint8Array,
  type: T,
  kind: 'update' | 'aggregate',
  layout: readonly TensorLayout[],
  expect: { round: number; clientId?: number },
  shared?: SharedPositions,
): { control: ControlOf<T>; tensors: ClientUpdate } {
  const { control, payload } = decodeMessage(bytes, type);
  const { header, update } = decodeUpdate(payload, { kind, layout, shared });
  if (control.round !== expect.round || header.round !== expect.round) {
    throw new WireFormatError(`${type} message: round ${control.round} (tensors: ${header.round}) where ${expect.round} was expected`);
  }
  if (expect.clientId !== undefined && header.clientId !== expect.clientId) {
    throw new WireFormatError(`${type} message: from client ${header.clientId} where ${expect.clientId} was expected`);
  }
  return { control, tensors: update };
}
