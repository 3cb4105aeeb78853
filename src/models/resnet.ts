// CIFAR-style ResNet-18 (3x3 stem, no max-pool, BasicBlocks 2-2-2-2, batch norm), width configurable.
import { add, batchNorm, conv2dBias, globalAvgPool, linear, mean, mul, relu, reshape, sub, type Sym } from '../core/index.js';
import { bnSpecs, convSpecs, linearSpecs, type BnStat, type Model, type ParamSpec } from './model.js';

interface Block {
  prefix: string;
  cin: number;
  cout: number;
  stride: number;
  shortcut: boolean;
}

export function resnet18(opts: { width?: number; inputShape?: [number, number, number]; numClasses?: number } = {}): Model {
  const inputShape = opts.inputShape ?? [3, 32, 32];
  const numClasses = opts.numClasses ?? 10;
  const base = Math.max(1, Math.round(64 * (opts.width ?? 1)));
  const params: ParamSpec[] = [];
  const buffers: ParamSpec[] = [];
  const addBn = (name: string, c: number) => {
    const s = bnSpecs(name, c);
    params.push(...s.params);
    buffers.push(...s.buffers);
  };
  params.push(...convSpecs('conv1', inputShape[0], base, 3, false));
  addBn('bn1', base);
  const blocks: Block[] = [];
  let cin = base;
  [1, 2, 4, 8].forEach((mult, stage) => {
    const cout = base * mult;
    for (let b = 0; b < 2; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const prefix = `layer${stage + 1}.${b}`;
      const shortcut = stride !== 1 || cin !== cout;
      blocks.push({ prefix, cin, cout, stride, shortcut });
      params.push(...convSpecs(`${prefix}.conv1`, cin, cout, 3, false));
      addBn(`${prefix}.bn1`, cout);
      params.push(...convSpecs(`${prefix}.conv2`, cout, cout, 3, false));
      addBn(`${prefix}.bn2`, cout);
      if (shortcut) {
        params.push(...convSpecs(`${prefix}.shortcut.0`, cin, cout, 1, false));
        addBn(`${prefix}.shortcut.1`, cout);
      }
      cin = cout;
    }
  });
  params.push(...linearSpecs('linear', cin, numClasses));

  return {
    name: 'resnet18',
    inputShape,
    numClasses,
    params,
    buffers,
    forward(p, x, { training, buffers: bufs, batchStats }) {
      const stats: BnStat[] = [];
      const bn = (name: string, y: Sym): Sym => {
        const r = batchNorm(y, p[`${name}.weight`]!, p[`${name}.bias`]!, {
          training,
          runningMean: bufs?.[`${name}.running_mean`],
          runningVar: bufs?.[`${name}.running_var`],
        });
        const count = y.size / y.shape[1]!;
        if (r.batchMean && r.batchVar) stats.push({ layer: name, mean: r.batchMean, variance: r.batchVar, count });
        else if (batchStats) stats.push({ layer: name, ...channelStats(y), count });
        return r.y;
      };
      const conv = (name: string, y: Sym, stride: number, k: number) =>
        conv2dBias(y, p[`${name}.weight`]!, undefined, { stride: [stride, stride], padding: k === 3 ? 1 : 0 });
      let y = relu(bn('bn1', conv('conv1', x, 1, 3)));
      for (const b of blocks) {
        let h = relu(bn(`${b.prefix}.bn1`, conv(`${b.prefix}.conv1`, y, b.stride, 3)));
        h = bn(`${b.prefix}.bn2`, conv(`${b.prefix}.conv2`, h, 1, 3));
        const sc = b.shortcut ? bn(`${b.prefix}.shortcut.1`, conv(`${b.prefix}.shortcut.0`, y, b.stride, 1)) : y;
        y = relu(add(h, sc));
      }
      const f = globalAvgPool(y);
      return { logits: linear(f, p['linear.weight']!, p['linear.bias']), bnStats: stats, features: f };
    },
  };
}

/** Per-channel mean and biased variance of an NCHW tensor (what a training-mode batch norm would use). */
function channelStats(y: Sym): { mean: Sym; variance: Sym } {
  const c = y.shape[1]!;
  const m = mean(y, [0, 2, 3], true);
  const d = sub(y, m);
  return { mean: reshape(m, [c]), variance: reshape(mean(mul(d, d), [0, 2, 3], true), [c]) };
}
