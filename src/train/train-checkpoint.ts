// Checkpoints of a centralised run (the folder: checkpoints.ts):
//   DIR/step-001234/  model.safetensors (parameters, buffers, the optimizer's buffers), state.json
// state.json holds the run's spec, the step, epoch and sampler position, the loss average, the
// history and the optimizer's state with its buffers replaced by references into the tensors.
// Loading checks the structure of both files against the spec's model and optimizer.
import { join } from 'node:path';
import { z } from 'zod';
import type { TensorList } from '../common/index.js';
import { decodeSafetensors, encodeSafetensors, type Model, matchLayout } from '../models/index.js';
import { CHECKPOINT_FORMAT, folderSummary, issueText, latestRoundFolder, readRoundFolder, writeRoundFolder } from './checkpoints.js';
import type { TrainState } from './train.js';

/** What decides a centralised run's result: a resumed run must have the same (epochs may grow unless the schedule is cosine). */
export const centralisedSpecSchema = z.object({
  dataset: z.enum(['mnist', 'cifar10']),
  trainImages: z.number().int().positive(),
  testLimit: z.number().int().positive().optional(),
  model: z.object({ name: z.string(), width: z.number().positive(), init: z.enum(['dlg', 'torch', 'xavier']), precode: z.object({ k: z.number().int().positive(), beta: z.number().min(0) }).optional() }),
  optimizer: z.enum(['sgd', 'adam']),
  lr: z.number().positive(),
  batchSize: z.number().int().positive(),
  epochs: z.number().int().positive(),
  schedule: z.enum(['step', 'cosine', 'constant']),
  lrSteps: z.array(z.tuple([z.number().int().min(0), z.number().positive()])),
  momentum: z.number().min(0).max(1),
  weightDecay: z.number().min(0),
  seed: z.number().int(),
  evalEvery: z.number().int().min(0),
}).strict();
export type CentralisedSpec = z.infer<typeof centralisedSpecSchema>;

const finite = z.number().finite();
const count = z.number().int().min(0);
const word = z.number().int().min(-(2 ** 31)).max(0xffffffff);
const TENSOR_REF = '$tensor';

const stateSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  kind: z.literal('centralised'),
  spec: centralisedSpecSchema,
  step: count,
  epoch: count,
  stepInEpoch: count,
  epochRng: z.object({ s: z.tuple([word, word, word, word]), spareNormal: finite.nullable() }),
  lossAvg: finite.nullable(),
  history: z.array(z.object({ step: count, epoch: count, trainLoss: finite.nullable(), testAccuracy: finite.min(0).max(1).optional() }).strict()),
  optimizer: z.unknown(),
});

export function saveTrainCheckpoint(dir: string, spec: CentralisedSpec, s: TrainState, totalSteps: number): string {
  const tensors: TensorList = [...s.params, ...s.buffers];
  // The optimizer's buffers go with the model's tensors; its JSON keeps a reference to each.
  const optimizer = JSON.parse(JSON.stringify(s.optimizer, function (key, value: unknown) {
    if (value instanceof Float32Array) {
      const name = `optimizer/${tensors.length}`;
      tensors.push({ name, shape: [value.length], data: value });
      return { [TENSOR_REF]: name };
    }
    if (ArrayBuffer.isView(value)) throw new Error(`train checkpoint: cannot store a ${value.constructor.name} at ${key}`);
    return value;
  }));
  const state = { format: CHECKPOINT_FORMAT, kind: 'centralised', spec, step: s.step, epoch: s.epoch, stepInEpoch: s.stepInEpoch, epochRng: s.epochRng, lossAvg: s.lossAvg, history: s.history, optimizer };
  const files = {
    'model.safetensors': encodeSafetensors(tensors, { step: String(s.step) }),
    'state.json': Buffer.from(JSON.stringify(state)),
  };
  const summary = { kind: 'centralised' as const, done: s.step, planned: totalSteps, dataset: spec.dataset, model: spec.model.name, writtenAt: new Date().toISOString() };
  return writeRoundFolder(dir, s.step, files, { format: CHECKPOINT_FORMAT, keep: 1, unit: 'step', summary });
}

/**
 * The state in dir's checkpoint, checked: the files against the manifest, state.json against its
 * schema, the tensors against `model`'s layout, and the optimizer's state against `template`
 * (optimizerTemplate: the same keys, buffers of the same length).
 */
export function loadTrainCheckpoint(dir: string, model: Model, template: unknown): { spec: CentralisedSpec; state: TrainState } {
  const fail = (why: string): never => {
    throw new Error(`checkpoint ${dir}: ${why}`);
  };
  const folder = latestRoundFolder(dir, fail);
  const files = readRoundFolder(folder, ['model.safetensors', 'state.json'], fail);
  const summary = folderSummary(folder, fail);
  if (summary && summary.kind !== 'centralised') fail(`it holds a ${summary.kind} run's checkpoint; resume it with the options of that run`);
  const stateFile = join(folder, 'state.json');
  let raw: unknown;
  try {
    raw = JSON.parse(files['state.json']!.toString('utf8'));
  } catch (e) {
    return fail(`${stateFile} is not JSON (${(e as Error).message})`);
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) return fail(`${stateFile}: ${issueText(parsed.error)}`);
  const st = parsed.data;
  const modelFile = join(folder, 'model.safetensors');
  const { tensors, metadata } = decodeSafetensors(files['model.safetensors']!, modelFile);
  if (metadata['step'] !== String(st.step)) fail(`${modelFile} is of step ${metadata['step']}, state.json of step ${st.step}`);
  const layout = [...model.params, ...model.buffers].map((t) => ({ name: t.name, shape: [...t.shape] }));
  const ordered = matchLayout(tensors, layout, modelFile);
  const byName = new Map(tensors.map((t) => [t.name, t.data]));
  const optimizer = restoreTensors(st.optimizer, template, byName, 'optimizer', (why) => fail(`${stateFile}: ${why}`));
  const np = model.params.length;
  return {
    spec: st.spec,
    state: {
      step: st.step, epoch: st.epoch, stepInEpoch: st.stepInEpoch, epochRng: st.epochRng as TrainState['epochRng'], lossAvg: st.lossAvg,
      history: st.history.map((e) => ({ ...e, trainLoss: e.trainLoss ?? NaN })), params: ordered.slice(0, np), buffers: ordered.slice(np), optimizer,
    },
  };
}

/** In a template of the optimizer's state: a slot that may also be null (SGD's momentum before its first step). */
export class Nullable {
  constructor(readonly value: unknown) {}
}

/** The saved optimizer state with its tensor references resolved, shaped like `template` (the same keys, buffers of the same length). */
function restoreTensors(saved: unknown, template: unknown, tensors: Map<string, Float32Array>, path: string, fail: (why: string) => never): unknown {
  const at = `field "${path}"`;
  if (template instanceof Nullable) return saved === null ? null : restoreTensors(saved, template.value, tensors, path, fail);
  if (template instanceof Float32Array) {
    const ref = saved && typeof saved === 'object' ? (saved as Record<string, unknown>)[TENSOR_REF] : undefined;
    const data = typeof ref === 'string' && ref.startsWith('optimizer/') ? tensors.get(ref) : undefined;
    if (!data) return fail(`${at}: expected a reference to an optimizer tensor`);
    if (data.length !== template.length) return fail(`${at}: ${data.length} entries, expected ${template.length}`);
    if (!data.every(Number.isFinite)) return fail(`${at}: not finite`);
    return data;
  }
  if (Array.isArray(template)) {
    if (!Array.isArray(saved) || saved.length !== template.length) return fail(`${at}: expected a list of ${template.length}`);
    return template.map((t, i) => restoreTensors(saved[i], t, tensors, `${path}.${i}`, fail));
  }
  if (template !== null && typeof template === 'object') {
    if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) return fail(`${at}: expected an object`);
    const extra = Object.keys(saved).find((k) => !(k in template));
    if (extra !== undefined) return fail(`${at}: unexpected key "${extra}"`);
    return Object.fromEntries(Object.entries(template).map(([k, t]) => [k, restoreTensors((saved as Record<string, unknown>)[k], t, tensors, `${path}.${k}`, fail)]));
  }
  if (typeof template === 'number') return Number.isSafeInteger(saved) && (saved as number) >= 0 ? saved : fail(`${at}: expected a count, got ${JSON.stringify(saved)}`);
  return saved === template || typeof saved === typeof template ? saved : fail(`${at}: expected ${template === null ? 'null' : `a ${typeof template}`}`);
}
