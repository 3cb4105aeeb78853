// Seeded fuzzing of the federated envelope (wire.ts) and of ADGP's position messages
// (aligned.ts): each message a round exchanges (fit, result, broadcast, sync, proposal, commit) is
// mutated at the byte level, in its codec payload and in its JSON control part, and read back by
// the function its receiver calls. Each must throw the codec's WireFormatError or return what an
// independent check accepts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireFormatError } from '../../src/codec/index.js';
import { Rng } from '../../src/common/rng.js';
import { type ClientUpdate, denseUpdate, sparseUpdate, type TensorLayout } from '../../src/common/update.js';
import { commitDecider, commonSetOf, decodeProposal, proposalMessage } from '../../src/federation/aligned.js';
import { Replica, stateLayout, type ModelLayout } from '../../src/federation/replica.js';
import { type Control, decodeMessage, decodeWithTensors, encodeMessage, encodeWithTensors, EVERYONE } from '../../src/federation/wire.js';
import { createSgd } from '../../src/optim/index.js';
import { fieldsOf, invalidity } from '../codec/fuzz-corpus.js';
import { type Field, mutate, type MutationName, type Specimen } from '../helpers/mutate.js';

const MUTANTS = 20_000;
const HEAD = 9;

const layout: ModelLayout = { params: [{ name: 'w', shape: [3, 4] }, { name: 'b', shape: [4] }], buffers: [{ name: 'bn.mean', shape: [2] }] };
const ROUND = 5;
const CLIENT = 2;

interface Envelope extends Specimen {
  label: string;
  control: Control;
  payload: Uint8Array;
  /** Reads the message as its receiver does; returns why the result is unacceptable, or null. */
  read(bytes: Uint8Array): string | null;
}

/** The envelope's fields (magic, version, control length, control) and the payload's, shifted. */
function envelope(label: string, bytes: Uint8Array, read: Envelope['read']): Envelope {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(5, true);
  const control = JSON.parse(new TextDecoder().decode(bytes.subarray(HEAD, HEAD + length))) as Control;
  const payload = bytes.subarray(HEAD + length);
  const head: Field[] = [
    { at: 0, length: 4, kind: 'bytes', role: 'envelope magic' },
    { at: 4, length: 1, kind: 'u8', role: 'envelope version' },
    { at: 5, length: 4, kind: 'u32', role: 'control length' },
    { at: HEAD, length, kind: 'bytes', role: 'control' },
  ];
  const inner = payload.length ? fieldsOf(payload) : { fields: [], records: [] };
  const shift = HEAD + length;
  const fields = [...head, ...inner.fields.map((f) => ({ ...f, at: f.at + shift }))];
  const records = (inner.records ?? []).map((r) => ({ at: r.at + shift, length: r.length, countField: { ...r.countField, at: r.countField.at + shift } }));
  return { label, bytes, fields, records, control, payload, read };
}

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const u32 = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;

/** Independent checks of a decoded control part, per type (the fields the receiver relies on). */
function controlProblem(c: Control): string | null {
  if (!u32(c.round)) return `round ${c.round}`;
  switch (c.type) {
    case 'fit':
      return u32(c.modelRound) && Number.isInteger(c.task.localSteps) && c.task.localSteps > 0 && finite(c.task.lr) && c.task.lr >= 0 && finite(c.task.weightDecay) && ['gradient', 'delta'].includes(c.task.payload) ? null : `fit task ${JSON.stringify(c)}`;
    case 'result':
      if (!u32(c.clientId) || !Number.isInteger(c.examples) || c.examples <= 0 || !finite(c.loss)) return `result ${JSON.stringify(c)}`;
      return Object.entries(c.report).every(([, v]) => finite(v)) && Object.getPrototypeOf(c.report) === Object.prototype ? null : `report ${JSON.stringify(c.report)}`;
    case 'broadcast':
      return finite(c.lr) && c.lr >= 0 ? null : `lr ${c.lr}`;
    case 'sync': {
      const o = c.optimizer;
      if (!(finite(o.lr) && o.lr > 0 && finite(o.momentum) && o.momentum >= 0 && finite(o.dampening) && o.dampening >= 0 && o.dampening <= 1 && finite(o.weightDecay) && o.weightDecay >= 0)) return `optimizer ${JSON.stringify(o)}`;
      if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) return `nesterov ${JSON.stringify(o)}`;
      return Number.isInteger(c.optimizerStep) && c.optimizerStep >= 0 && c.momentum.every((m) => typeof m === 'boolean') ? null : `sync ${JSON.stringify(c)}`;
    }
    default:
      return null;
  }
}

function tensorsProblem(tensors: ClientUpdate, want: readonly TensorLayout[], payload: Uint8Array): string | null {
  return invalidity({ header: { kind: 'update', round: 0, clientId: 0 }, tensors }, payload, { layout: want }, false);
}

function positionsProblem(sets: readonly Uint32Array[], want: readonly TensorLayout[]): string | null {
  if (sets.length !== want.length) return `${sets.length} position sets for ${want.length} tensors`;
  const tensors = sets.map((indices, i) => ({ name: want[i]!.name, shape: want[i]!.shape, indices }));
  return invalidity({ header: { kind: 'positions', round: 0, clientId: 0 }, tensors }, new Uint8Array(0), { layout: want }, true);
}

function specimens(): Envelope[] {
  const r = new Rng(3);
  const values = (n: number) => Float32Array.from({ length: n }, () => r.normal());
  const params = layout.params;
  const state = stateLayout(layout);
  const out: Envelope[] = [];
  const fit = encodeMessage({ type: 'fit', round: ROUND, modelRound: ROUND - 1, task: { payload: 'delta', localSteps: 2, lr: 0.1, weightDecay: 1e-4, aligned: true } });
  out.push(envelope('fit', fit, (b) => controlProblem(decodeMessage(b, ['fit', 'commit']).control)));
  const update = [sparseUpdate('w', [3, 4], Uint32Array.from([1, 5, 11]), values(3)), denseUpdate('b', [4], values(4))];
  const result = encodeWithTensors({ type: 'result', round: ROUND, clientId: CLIENT, examples: 32, loss: 0.7, report: { relGradDistance: 0.4, keptFraction: 0.2 } }, CLIENT, 'update', update);
  const readResult = (shared?: Record<string, Uint32Array>) => (b: Uint8Array) => {
    const { control, tensors } = decodeWithTensors(b, 'result', 'update', params, { round: ROUND, clientId: CLIENT }, shared);
    return controlProblem(control) ?? (control.round === ROUND ? null : `round ${control.round}`) ?? tensorsProblem(tensors, params, b);
  };
  out.push(envelope('result', result, readResult()));
  const common = { w: Uint32Array.from([1, 5, 11]), b: Uint32Array.from([0, 3]) };
  const aligned = [sparseUpdate('w', [3, 4], common.w, values(3)), sparseUpdate('b', [4], common.b, values(2))];
  const adgpResult = encodeWithTensors({ type: 'result', round: ROUND, clientId: CLIENT, examples: 8, loss: 1.5, report: {} }, CLIENT, 'update', aligned, common);
  out.push(envelope('result, ADGP values only', adgpResult, readResult(common)));
  const aggregate = state.map((t, i) => (i === 0 ? sparseUpdate(t.name, t.shape, Uint32Array.from([0, 7]), values(2)) : denseUpdate(t.name, t.shape, values(t.shape.reduce((a, d) => a * d, 1)))));
  const broadcast = encodeWithTensors({ type: 'broadcast', round: ROUND, lr: 0.05 }, EVERYONE, 'aggregate', aggregate);
  out.push(envelope('broadcast', broadcast, (b) => {
    const { control, tensors } = decodeWithTensors(b, 'broadcast', 'aggregate', state, { round: ROUND });
    return controlProblem(control) ?? tensorsProblem(tensors, state, b);
  }));
  const sgd = createSgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const replica = new Replica(layout, state.slice(0, 2).map((t) => ({ ...t, data: values(t.shape.reduce((a, d) => a * d, 1)) })), [{ ...layout.buffers[0]!, data: values(2) }], sgd.options, { step: 3, momentumBuffers: [values(12), null] }, ROUND);
  out.push(envelope('sync', replica.syncMessage(CLIENT), (b) => {
    const got = Replica.fromSync(b, layout, CLIENT);
    const all = got.allTensors();
    for (const t of all) if (!t.data.every(Number.isFinite)) return `sync: ${t.name} not finite`;
    const problem = tensorsProblem([...got.params, ...got.buffers].map((t) => denseUpdate(t.name, t.shape, t.data)), state, b);
    return problem ?? controlProblem({ type: 'sync', round: got.round, optimizer: got.optimizerOptions, optimizerStep: got.meta.step, momentum: got.meta.momentum });
  }));
  const bands = [Uint32Array.from([0, 9]), Uint32Array.from([1])];
  out.push(envelope('proposal', proposalMessage(ROUND, CLIENT, params, bands), (b) => positionsProblem(decodeProposal(b, params, ROUND, CLIENT), params)));
  const { commit } = commitDecider(params, {})(ROUND, [{ clientId: CLIENT, message: proposalMessage(ROUND, CLIENT, params, bands) }]);
  out.push(envelope('commit', commit, (b) => {
    const { common: set } = commonSetOf(b, params, ROUND);
    return positionsProblem(set.tensors.map((t) => t.indices), params);
  }));
  return out;
}

/** Hostile JSON for one value of the control part: wrong types, extremes, 1e999 (Infinity once parsed). */
const HOSTILE_JSON = ['1e999', '-1e999', '-1', '0', '-0', '0.5', '4294967295', '4294967296', '9007199254740993', 'null', 'true', '"x"', '[]', '{}', '{"__proto__":{"x":1}}', '[1e999]', '"fit"', '"result"'];

/** The control part changed (a value replaced, a key removed or added), re-framed with its right length. */
function mutateControl(r: Rng, s: Envelope): Uint8Array {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (path.length) paths.push(path);
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, Array.isArray(v) ? Number(k) : k]);
  };
  walk(s.control, []);
  const copy = structuredClone(s.control) as unknown as Record<string, unknown>;
  const path = paths[r.int(paths.length)]!;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path.at(-1)!;
  const MARK = '\u0001HOSTILE\u0001';
  const op = r.int(4);
  if (op === 0) delete parent[key];
  else if (op === 1) parent[pickOf(r, ['__proto__', 'constructor', 'extra', 'type'])] = MARK;
  else parent[key] = MARK;
  const json = JSON.stringify(copy).replace(JSON.stringify(MARK), pickOf(r, HOSTILE_JSON));
  return frame(new TextEncoder().encode(json), s.payload);
}

function frame(json: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD + json.length + payload.length);
  out.set([0x44, 0x47, 0x50, 0x46, 1], 0);
  new DataView(out.buffer).setUint32(5, json.length, true);
  out.set(json, HEAD);
  out.set(payload, HEAD + json.length);
  return out;
}

function pickOf<T>(r: Rng, xs: readonly T[]): T {
  return xs[r.int(xs.length)]!;
}

test(`fuzz: ${MUTANTS} mutants of every federated message are refused with a WireFormatError or read back valid`, (t) => {
  const corpus = specimens();
  for (const s of corpus) assert.equal(s.read(s.bytes), null, `${s.label}: the unmutated message`);
  const rng = new Rng(77);
  const failures: string[] = [];
  const accepted = new Map<string, number>();
  for (let i = 0; i < MUTANTS; i++) {
    const s = corpus[i % corpus.length]!;
    const mutations: MutationName[] = [];
    const control = rng.uniform() < 0.3;
    let bytes = control ? mutateControl(rng, s) : mutate(rng, s, corpus, mutations);
    if (control && rng.uniform() < 0.3) bytes = mutate(rng, { ...s, bytes }, corpus, mutations);
    let problem: string | null;
    try {
      problem = s.read(bytes);
      if (problem === null) accepted.set(s.label, (accepted.get(s.label) ?? 0) + 1);
    } catch (e) {
      problem = e instanceof WireFormatError ? null : `threw ${(e as Error).name}: ${(e as Error).message}`;
    }
    if (problem !== null && failures.length < 10) failures.push(`mutant ${i} of ${s.label} (${control ? 'control, ' : ''}${mutations.join(', ')}): ${problem}`);
  }
  assert.deepEqual(failures, []);
  t.diagnostic(`accepted per message: ${[...accepted].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const s of corpus) assert.ok((accepted.get(s.label) ?? 0) > 20, `${s.label}: only ${accepted.get(s.label) ?? 0} mutants read back; the run does not test the checks`);
});
