// The attack objective itself, differentiated twice through a (tiny) CIFAR ResNet-18, checked by
// central differences in float64: cosine matching + TV (Inverting Gradients) and L2 matching + the
// batch-norm prior (GradInversion), with batch norm in training mode and in evaluation mode on
// running statistics. A wrong second-order rule anywhere in conv / batch norm / ReLU / pooling
// would show up here as an O(1) error, and the ONNX lowering must agree with the float64 value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/common/rng.js';
import { compile, crossEntropy, grad, type Sym } from '../../src/core/index.js';
import { type MatchingSpec, matchingObjective } from '../../src/attacks/matching.js';
import { bindParams, initParams, resnet18 } from '../../src/models/index.js';
import { checkGrad, randn, type T64 } from '../core/fd.js';

const model = resnet18({ width: 1 / 16, inputShape: [3, 8, 8], numClasses: 4 });

/** Parameters with non-trivial batch-norm affine terms, and running statistics away from 0 / 1. */
function setting(seed: number) {
  const rng = new Rng(seed);
  const params = initParams(model.params, seed).map((t) => ({
    ...t,
    data: /bn|shortcut\.1/.test(t.name) ? t.data.map((v) => v + 0.3 * rng.normal()) : t.data,
  }));
  const buffers = initParams(model.buffers, seed).map((t) => ({
    ...t,
    data: t.name.endsWith('running_var') ? t.data.map(() => 0.5 + rng.uniform()) : t.data.map(() => 0.2 * rng.normal()),
  }));
  return { params, buffers, rng };
}

/** The model's gradient at another image: the target a candidate is matched against. */
function targetGradient(params: Float64Array[], buffers: Float64Array[], training: boolean, x: T64, y: T64): Float64Array[] {
  const np = model.params.length;
  const f = compile((xs: Sym, ys: Sym, ...pb: Sym[]) => {
    const p = pb.slice(0, np);
    const { logits } = model.forward(bindParams(model.params, p), xs, { training, buffers: bindParams(model.buffers, pb.slice(np)) });
    return grad(crossEntropy(logits, ys), p);
  });
  return f.eval64([x, y, ...params.map((d, i) => ({ data: d, shape: model.params[i]!.shape })), ...buffers.map((d, i) => ({ data: d, shape: model.buffers[i]!.shape }))]);
}

const specs: Record<string, MatchingSpec> = {
  'cosine + TV 0.2': { objective: 'cosine', maskAware: false, labelMode: 'fixed', tv: 0.2 },
  'L2 + TV + BN prior': { objective: 'l2', maskAware: false, labelMode: 'fixed', tv: 1e-2, bn: 0.1 },
};

for (const training of [false, true]) {
  for (const [label, spec] of Object.entries(specs)) {
    test(`attack objective ${label}, batch norm in ${training ? 'training' : 'evaluation'} mode: gradient w.r.t. the images matches central differences`, async () => {
      const batch = 2;
      const { params, buffers, rng } = setting(training ? 3 : 4);
      const y: T64 = { data: Float64Array.from([1, 0, 0, 0, 0, 0, 1, 0]), shape: [batch, 4] };
      const truth = randn(rng, [batch, 3, 8, 8]);
      const p64 = params.map((t) => Float64Array.from(t.data));
      const b64 = buffers.map((t) => Float64Array.from(t.data));
      const target = targetGradient(p64, b64, training, truth, y);
      // Constants in MatchingProblem's order: parameters, target gradient, (no masks), running statistics.
      const consts: T64[] = [
        ...p64.map((d, i) => ({ data: d, shape: model.params[i]!.shape })),
        ...target.map((d, i) => ({ data: d, shape: model.params[i]!.shape })),
        ...(training && !spec.bn ? [] : b64.map((d, i) => ({ data: d, shape: model.buffers[i]!.shape }))),
      ];
      const objective = matchingObjective(model, spec, training, 0);
      const f = (x: Sym, lab: Sym, ...rest: Sym[]) => objective(x, lab, x, rest).total;
      const x0 = randn(rng, [batch, 3, 8, 8]);
      const r = checkGrad(f, [x0, y, ...consts], { wrt: [0], h: 1e-5, rtol: 1e-5, directions: 4, coords: 4 });
      assert.ok(r.worst < 1e-5);
      // The ONNX session computes the same value in float32.
      const c = compile((x: Sym, lab: Sym, ...rest: Sym[]) => objective(x, lab, x, rest).total);
      const xs = [x0, y, ...consts];
      const v64 = c.eval64(xs)[0]![0]!;
      const v32 = (await c.run(xs.map((t) => ({ data: Float32Array.from(t.data), shape: t.shape }))))[0]![0]!;
      assert.ok(Math.abs(v64 - v32) <= 1e-4 * Math.max(1, Math.abs(v64)), `float64 ${v64} vs ONNX ${v32}`);
    });
  }
}
