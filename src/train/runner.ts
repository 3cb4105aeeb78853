// Compiled per-model functions: loss and parameter gradients on a batch (with batch-norm batch
// statistics), and evaluation-mode prediction. One ONNX session per model and batch shape serves
// every client and every round, since parameters are inputs.
import { Rng, type TensorList } from '../common/index.js';
import { compile, type Compiled, grad, type Sym } from '../core/index.js';
import { bindParams, type Model, trainingLoss } from '../models/index.js';

export interface LossAndGrad {
  loss: number;
  grads: TensorList;
  /** Batch statistics of each batch-norm layer, in model.buffers order (mean, var pairs). */
  bnStats: { layer: string; mean: Float32Array; variance: Float32Array; count: number }[];
}

export class ModelRunner {
  private readonly gradFn: Compiled;
  private readonly predictFn: Compiled;
  private evalGradFn?: Compiled;
  /** Batch-norm layer names and per-channel element counts, recorded when a shape is traced. */
  private readonly bnMeta = new Map<string, { layer: string; count: number }[]>();

  /** A stochastic model's draws (PRECODE's eps), one per training step, from this seeded stream. */
  private readonly noiseRng: Rng;

  constructor(
    readonly model: Model,
    o: { noiseSeed?: number } = {},
  ) {
    const np = model.params.length;
    this.noiseRng = new Rng(o.noiseSeed ?? 0x9e3779b9);
    const stochastic = model.noise !== undefined;
    this.gradFn = compile(
      (x: Sym, target: Sym, ...rest: Sym[]) => {
        const noise = stochastic ? rest[0] : undefined;
        const p = stochastic ? rest.slice(1) : rest;
        const r = model.forward(bindParams(model.params, p), x, { training: true, noise });
        const { bnStats } = r;
        this.bnMeta.set(x.shape.join('x'), bnStats.map((s) => ({ layer: s.layer, count: s.count })));
        const loss = trainingLoss(r, target);
        return [loss, ...grad(loss, p), ...bnStats.flatMap((s) => [s.mean, s.variance])];
      },
      { name: `${model.name}.lossAndGrad` },
    );
    this.predictFn = compile(
      (x: Sym, ...pb: Sym[]) => {
        const p = bindParams(model.params, pb.slice(0, np));
        const buffers = bindParams(model.buffers, pb.slice(np));
        return model.forward(p, x, { training: false, buffers }).logits;
      },
      { name: `${model.name}.predict` },
    );
  }

  /** `target` holds one row of class probabilities per example (one-hot for hard labels). */
  async lossAndGrad(params: TensorList, x: Float32Array, shape: number[], target: Float32Array): Promise<LossAndGrad> {
    const out = await this.gradFn.run(this.trainingInputs(params, x, shape, target));
    const np = params.length;
    const grads = params.map((t, i) => ({ name: t.name, shape: t.shape, data: out[1 + i]! }));
    const meta = this.bnMeta.get(shape.join('x')) ?? [];
    const bnStats = meta.map(({ layer, count }, k) => ({ layer, count, mean: out[1 + np + 2 * k]!, variance: out[2 + np + 2 * k]! }));
    return { loss: out[0]![0]!, grads, bnStats };
  }

  /** The inputs of a training-step function: the batch, its targets, the noise draw (stochastic models), the parameters. */
  private trainingInputs(params: TensorList, x: Float32Array, shape: number[], target: Float32Array): { data: Float32Array; shape: number[] }[] {
    const b = shape[0]!;
    return [{ data: x, shape }, { data: target, shape: [b, this.model.numClasses] }, ...this.noiseInput(b), ...params.map(hostTensor)];
  }

  /** A fresh standard-normal draw for a stochastic model's training step (none for the others). */
  private noiseInput(batch: number): { data: Float32Array; shape: number[] }[] {
    if (!this.model.noise) return [];
    const shape = this.model.noise.shape(batch);
    const data = new Float32Array(shape.reduce((a, v) => a * v, 1));
    for (let i = 0; i < data.length; i++) data[i] = this.noiseRng.normal();
    return [{ data, shape }];
  }

  /**
   * Loss and parameter gradients with batch norm in evaluation mode on the given running statistics
   * (what a client computes when the server hands it the model's buffers, breaching's
   * `provide_public_buffers`). No batch statistics come back: the buffers are not updated.
   */
  async lossAndGradEval(params: TensorList, buffers: TensorList, x: Float32Array, shape: number[], target: Float32Array): Promise<Omit<LossAndGrad, 'bnStats'>> {
    const np = this.model.params.length;
    this.evalGradFn ??= compile(
      (xs: Sym, t: Sym, ...rest: Sym[]) => {
        const noise = this.model.noise ? rest[0] : undefined;
        const pb = this.model.noise ? rest.slice(1) : rest;
        const p = pb.slice(0, np);
        const r = this.model.forward(bindParams(this.model.params, p), xs, { training: false, buffers: bindParams(this.model.buffers, pb.slice(np)), noise });
        const loss = trainingLoss(r, t);
        return [loss, ...grad(loss, p)];
      },
      { name: `${this.model.name}.lossAndGradEval` },
    );
    const out = await this.evalGradFn.run([...this.trainingInputs(params, x, shape, target), ...buffers.map(hostTensor)]);
    return { loss: out[0]![0]!, grads: params.map((t, i) => ({ name: t.name, shape: t.shape, data: out[1 + i]! })) };
  }

  async predict(params: TensorList, buffers: TensorList, x: Float32Array, shape: number[]): Promise<Float32Array> {
    const [logits] = await this.predictFn.run([
      { data: x, shape },
      ...params.map(hostTensor),
      ...buffers.map(hostTensor),
    ]);
    return logits!;
  }
}

const hostTensor = (t: { data: Float32Array; shape: number[] }) => ({ data: t.data, shape: t.shape });

/** PyTorch's running-statistics update: momentum 0.1 and the unbiased batch variance. */
export function updateRunningStats(buffers: TensorList, stats: LossAndGrad['bnStats'], momentum = 0.1): void {
  const byName = new Map(buffers.map((t) => [t.name, t.data]));
  for (const s of stats) {
    const rm = byName.get(`${s.layer}.running_mean`);
    const rv = byName.get(`${s.layer}.running_var`);
    if (!rm || !rv) throw new Error(`no running statistics for batch-norm layer ${s.layer}`);
    const unbias = s.count > 1 ? s.count / (s.count - 1) : 1;
    for (let c = 0; c < rm.length; c++) {
      rm[c] = (1 - momentum) * rm[c]! + momentum * s.mean[c]!;
      rv[c] = (1 - momentum) * rv[c]! + momentum * s.variance[c]! * unbias;
    }
  }
}
