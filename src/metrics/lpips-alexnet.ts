// LPIPS v0.1 with AlexNet features, run by the compute core, from one safetensors file the user
// supplies: torchvision's AlexNet feature weights (`features.{0,3,6,8,10}.{weight,bias}`) and
// LPIPS' learned channel weights (`lin{0..4}.model.1.weight`, shape [1, C, 1, 1]), as
// scripts/lpips-alexnet-weights.py writes them. The arithmetic after the features is lpips.ts.
import { compile, type Compiled, div, sub, type Sym } from '../core/index.js';
import { bindParams, loadSafetensors, alexnetFeatureSpecs, alexnetTaps, ALEXNET_CONVS } from '../models/index.js';
import type { ImageShape } from './images.js';
import type { FeatureMap, LpipsBackend } from './lpips.js';

/** lpips' ScalingLayer: inputs in [-1, 1] are shifted and scaled per channel before AlexNet. */
export const LPIPS_SHIFT = [-0.03, -0.088, -0.188];
export const LPIPS_SCALE = [0.458, 0.448, 0.45];

export function alexnetLpips(path: string): LpipsBackend {
  const { tensors } = loadSafetensors(path);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const take = (name: string, shape: readonly number[]) => {
    const t = byName.get(name);
    if (!t) throw new Error(`${path}: LPIPS weights lack tensor "${name}" (see scripts/lpips-alexnet-weights.py)`);
    if (t.shape.join() !== shape.join()) throw new Error(`${path}: tensor "${name}" has shape [${t.shape}], AlexNet needs [${shape}]`);
    return t;
  };
  const specs = alexnetFeatureSpecs();
  const params = specs.map((s) => take(s.name, s.shape));
  const linearWeights = ALEXNET_CONVS.map((c, k) => take(`lin${k}.model.1.weight`, [1, c.cout, 1, 1]).data);
  const features: Compiled = compile((x: Sym, ...p: Sym[]) => {
    const per = (v: number[]) => x.graph.constant(Float64Array.from(v), [1, 3, 1, 1]);
    return alexnetTaps(bindParams(specs, p), div(sub(x, per(LPIPS_SHIFT)), per(LPIPS_SCALE)));
  }, { name: 'lpips.alexnet' });
  const inputs = params.map((t) => ({ data: t.data, shape: t.shape }));
  return {
    net: 'alex',
    linearWeights,
    async extract(images: Float32Array, shape: ImageShape): Promise<FeatureMap[]> {
      const [n, c, h, w] = shape;
      if (c !== 1 && c !== 3) throw new Error(`lpips: images with ${c} channels (1 or 3 can be scored)`);
      // Gray images go in as three equal channels, as one would show them.
      const rgb = c === 3 ? images : new Float32Array(n * 3 * h * w).map((_, i) => images[Math.floor(i / (3 * h * w)) * h * w + (i % (h * w))]!);
      const x = { data: rgb, shape: [n, 3, h, w] };
      const outs = await features.run([x, ...inputs]);
      const shapes = features.traced([x.shape, ...inputs.map((t) => t.shape)]).outputs.map((o) => o.shape);
      return outs.map((data, i) => ({ data, shape: shapes[i] as [number, number, number, number] }));
    },
  };
}
