// Soteria (Sun et al., CVPR 2021): prune the gradient of the layer right after the data
// representation r, column by column, keeping the features whose representation is hardest to
// invert. It needs the model and the client's batch, so it lives apart from the core-free defenses:
// it computes a mask through the compute core, then hands a plain Defense that applies it.
//
// Score of feature f, as in the authors' code: sum over the batch of ||d r_f / d x_b|| / r_f(x_b);
// columns whose score is below the `percent`-th percentile are zeroed.
import { type Rng, type TensorList, denseUpdate } from '../common/index.js';
import { broadcastTo, compile, div, grad, mul, reshape, sqrt, sum, type Sym, trace } from '../core/index.js';
import { measure } from '../defenses/index.js';
import type { Defense } from '../defenses/index.js';
import { bindParams, type Model } from '../models/index.js';

export interface SoteriaMask {
  /** Parameter whose columns are pruned (the linear layer after the representation). */
  layer: string;
  /** 1 = keep this feature's column, 0 = prune it. */
  keep: Uint8Array;
  scores: Float64Array;
}

/** Width of the representation feeding the model's last linear layer. */
function featureWidth(model: Model, batchShape: number[]): number {
  const t = trace((x: Sym, ...p: Sym[]) => {
    const f = model.forward(bindParams(model.params, p), x, { training: false, buffers: {} }).features;
    if (!f || f.rank !== 2) throw new Error(`soteria: model ${model.name} exposes no [batch, features] representation`);
    return f;
  }, [batchShape, ...model.params.map((s) => s.shape)]);
  return t.outputs[0]!.shape[1]!;
}

/** The head parameter: the last weight of shape [classes, features]. */
export function headLayer(model: Model, features: number): string {
  const spec = [...model.params].reverse().find((s) => s.shape.length === 2 && s.shape[0] === model.numClasses && s.shape[1] === features);
  if (!spec) throw new Error(`soteria: model ${model.name} has no [${model.numClasses}, ${features}] head layer`);
  return spec.name;
}

const scoreFns = new WeakMap<Model, Map<string, { fn: ReturnType<typeof compile>; features: number }>>();

/** Per-feature scores for the batch x (NCHW), computed with one backward pass over F copies of it. */
export async function soteriaScores(model: Model, params: TensorList, x: Float32Array, shape: number[]): Promise<{ scores: Float64Array; features: number }> {
  if (model.buffers.length > 0) throw new Error(`soteria: models with batch norm (${model.name}) are not supported yet`);
  let perModel = scoreFns.get(model);
  if (!perModel) scoreFns.set(model, (perModel = new Map()));
  const key = shape.join('x');
  let entry = perModel.get(key);
  if (!entry) {
    const F = featureWidth(model, shape);
    const [b, ...rest] = shape as [number, ...number[]];
    const select = new Float64Array(F * b * F);
    for (let f = 0; f < F; f++) for (let i = 0; i < b; i++) select[(f * b + i) * F + f] = 1;
    const fn = compile((xs: Sym, ...p: Sym[]) => {
      // Copy f of the batch carries the cotangent of feature f, so one vjp gives every d r_f / d x.
      const xr = reshape(broadcastTo(reshape(xs, [1, b, ...rest]), [F, b, ...rest]), [F * b, ...rest]);
      const r = model.forward(bindParams(model.params, p), xr, { training: false, buffers: {} }).features!;
      const picked = mul(r, xs.graph.constant(select, [F * b, F]));
      const [g] = grad(sum(picked), [xr]);
      const norms = sqrt(sum(mul(g!, g!), rest.map((_, i) => i + 1)));
      return reshape(div(norms, sum(picked, [1])), [F, b]);
    }, { name: `${model.name}.soteria` });
    entry = { fn, features: F };
    perModel.set(key, entry);
  }
  const [ratio] = await entry.fn.run([{ data: x, shape }, ...params.map((t) => ({ data: t.data, shape: t.shape }))]);
  const b = shape[0]!;
  const scores = new Float64Array(entry.features);
  for (let f = 0; f < entry.features; f++) for (let i = 0; i < b; i++) scores[f] += ratio![f * b + i]!;
  return { scores, features: entry.features };
}

/** Which columns to keep: scores at or above the `percent`-th percentile (numpy's linear method). */
export function soteriaKeep(scores: Float64Array, percent: number): Uint8Array {
  if (!(percent >= 0 && percent <= 100)) throw new Error(`soteria: percent must be in [0, 100], got ${percent}`);
  const sorted = Float64Array.from(scores).map(Math.abs).sort();
  const pos = (percent / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const thresh = sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
  return Uint8Array.from(scores, (s) => (Math.abs(s) < thresh ? 0 : 1));
}

export async function soteriaMask(model: Model, params: TensorList, x: Float32Array, shape: number[], percent = 80): Promise<SoteriaMask> {
  const { scores, features } = await soteriaScores(model, params, x, shape);
  return { layer: headLayer(model, features), keep: soteriaKeep(scores, percent), scores };
}

/** A plain defense that zeroes the pruned columns of the head's gradient and sends the rest dense. */
export function soteriaDefense(mask: SoteriaMask): Defense<null> {
  return {
    name: 'soteria',
    init: () => null,
    apply(g: TensorList, _state: null, _rng: Rng) {
      const update = g.map((t) => {
        const values = new Float32Array(t.data);
        if (t.name === mask.layer) {
          const cols = t.shape[1]!;
          if (cols !== mask.keep.length) throw new Error(`soteria: mask has ${mask.keep.length} columns, ${t.name} has ${cols}`);
          for (let i = 0; i < values.length; i++) if (!mask.keep[i % cols]) values[i] = 0;
        }
        return denseUpdate(t.name, t.shape, values);
      });
      return { update, state: null, report: measure(g, update, { prunedFeatures: mask.keep.length - mask.keep.reduce((a, v) => a + v, 0) }) };
    },
  };
}
