// PRECODE (Scheliga et al., WACV 2022): a variational bottleneck between a model's feature
// extractor and its classifier. The features f go through an encoder to 2K statistics, mean mu
// and std = softplus(s - 5); the client samples z = mu + std * eps (eps ~ N(0, 1), a fresh draw
// every step, which the server never sees), a decoder maps z back to the features' width and the
// model's own last linear layer classifies it. Training adds beta * KL(N(mu, std^2) || N(0, 1)),
// averaged over the batch, to the loss. Without a noise draw (evaluation, or an attacker who
// does not know eps) z = mu.
import { add, linear, log, mean, mul, sliceAxis, square, sub, sum, type Sym } from '../core/index.js';
import { linearSpecs, type Model, type ParamSpec, softplus } from './model.js';

export interface PrecodeOptions {
  /** Bottleneck width (the paper's K = 256). */
  k?: number;
  /** Weight of the KL term (the paper's 1e-3). */
  beta?: number;
}


/** The model with a variational bottleneck before its last linear layer (the last two parameters). */
export function precode(base: Model, o: PrecodeOptions = {}): Model {
  const k = o.k ?? 256;
  const beta = o.beta ?? 1e-3;
  const head = base.params.slice(-2);
  const [w, b] = head as [ParamSpec, ParamSpec];
  if (head.length !== 2 || w.shape.length !== 2 || w.shape[0] !== base.numClasses || b.shape.join() !== String(base.numClasses)) {
    throw new Error(`precode: the last two parameters of ${base.name} must be its classifier's weight [${base.numClasses}, F] and bias [${base.numClasses}]`);
  }
  const features = w.shape[1]!;
  // The head stays last, so label recovery and Soteria still find it there.
  const params = [...base.params.slice(0, -2), ...linearSpecs('vb.encoder', features, 2 * k), ...linearSpecs('vb.decoder', k, features), w, b];
  return {
    name: `${base.name}+precode`,
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    params,
    buffers: base.buffers,
    noise: { shape: (batch) => [batch, k] },
    forward(p, x, opts) {
      // The base's own logits are computed from f and left unused (not part of any output).
      const r = base.forward(p, x, opts);
      const f = r.features;
      if (!f || f.rank !== 2) throw new Error(`precode: ${base.name} exposes no [batch, features] representation`);
      const stats = linear(f, p['vb.encoder.weight']!, p['vb.encoder.bias']);
      const mu = sliceAxis(stats, 1, 0, k);
      const std = softplus(sub(sliceAxis(stats, 1, k, 2 * k), 5));
      const z = opts.noise ? add(mu, mul(std, opts.noise)) : mu;
      const decoded = linear(z, p['vb.decoder.weight']!, p['vb.decoder.bias']);
      // KL(N(mu, std^2) || N(0, 1)) = 0.5 sum(mu^2 + std^2 - 2 log std - 1) per example.
      const kl = mean(mul(sum(sub(add(square(mu), square(std)), add(mul(log(std), 2), 1)), [1]), 0.5));
      return { logits: linear(decoded, p[w.name]!, p[b.name]), bnStats: r.bnStats, features: decoded, extraLoss: mul(kl, beta) };
    },
  };
}
