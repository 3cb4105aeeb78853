// A small DCGAN (Radford et al. 2016) for the generative prior of GGL (Li et al. 2022): the
// generator maps a latent z ~ N(0, I) to an image with pixels in [0, 1]; the discriminator maps an
// image to one logit (real or generated). No batch norm in either, so the generator's image does
// not depend on the rest of its batch (an attack generates one candidate batch at a time).
//   generator:     z -> linear -> [4w, s/4, s/4] -> ReLU -> convT 4x4 s2 -> [2w, s/2, s/2] -> ReLU
//                  -> convT 4x4 s2 -> [w, s, s]... until the image size, a last 3x3 conv to the
//                  channels, sigmoid.
//   discriminator: conv 4x4 s2 (w) -> LeakyReLU 0.2 -> conv 4x4 s2 (2w) -> LeakyReLU -> linear -> 1.
import { add, conv2dBias, convTranspose2d, flatten, linear, maximum, mul, relu, reshape, sigmoid, type Sym } from '../core/index.js';
import { convSpecs, fanInBound, linearSpecs, type ParamSpec } from './model.js';

export interface GeneratorOptions {
  latent?: number;
  /** Image channels and size (square, divisible by 4). */
  channels: number;
  size: number;
  /** Base width w. */
  width?: number;
}

export interface Generator {
  name: string;
  latent: number;
  /** Base width w. */
  width: number;
  /** [C, H, W] of what it generates. */
  imageShape: [number, number, number];
  params: ParamSpec[];
  /** [B, latent] -> [B, C, H, W] pixels in [0, 1]. */
  generate(p: Record<string, Sym>, z: Sym): Sym;
}

export interface Discriminator {
  params: ParamSpec[];
  /** [B, C, H, W] pixels in [0, 1] -> [B, 1] logits (real: high). */
  score(p: Record<string, Sym>, x: Sym): Sym;
}

function convTSpecs(name: string, cin: number, cout: number, k: number): ParamSpec[] {
  // ConvTranspose weights are [Cin, Cout, k, k]; PyTorch's default bound uses Cout k k as fan-in.
  const init = fanInBound(cout * k * k);
  return [
    { name: `${name}.weight`, shape: [cin, cout, k, k], init },
    { name: `${name}.bias`, shape: [cout], init },
  ];
}

function check(o: GeneratorOptions): { latent: number; w: number; s0: number } {
  if (!Number.isInteger(o.size) || o.size % 4 !== 0 || o.size < 8) throw new Error(`dcgan: image size ${o.size} must be a multiple of 4, at least 8`);
  return { latent: o.latent ?? 64, w: o.width ?? 32, s0: o.size / 4 };
}

export function dcganGenerator(o: GeneratorOptions): Generator {
  const { latent, w, s0 } = check(o);
  const params: ParamSpec[] = [
    ...linearSpecs('g.fc', latent, 4 * w * s0 * s0),
    ...convTSpecs('g.up1', 4 * w, 2 * w, 4),
    ...convTSpecs('g.up2', 2 * w, w, 4),
    ...convSpecs('g.out', w, o.channels, 3),
  ];
  return {
    name: `dcgan-${o.channels}x${o.size}`,
    latent,
    width: w,
    imageShape: [o.channels, o.size, o.size],
    params,
    generate(p, z) {
      const b = z.shape[0]!;
      let h = relu(reshape(linear(z, p['g.fc.weight']!, p['g.fc.bias']), [b, 4 * w, s0, s0]));
      const up = (name: string, x: Sym, cout: number) => {
        const [, , hh, ww] = x.shape as [number, number, number, number];
        const y = convTranspose2d(x, p[`${name}.weight`]!, { stride: [2, 2], pads: [1, 1, 1, 1] }, [b, cout, 2 * hh, 2 * ww]);
        return relu(add(y, reshape(p[`${name}.bias`]!, [1, cout, 1, 1])));
      };
      h = up('g.up1', h, 2 * w);
      h = up('g.up2', h, w);
      return sigmoid(conv2dBias(h, p['g.out.weight']!, p['g.out.bias'], { padding: 1 }));
    },
  };
}

export function dcganDiscriminator(o: GeneratorOptions): Discriminator {
  const { w } = check(o);
  const q = o.size / 4;
  const leaky = (x: Sym) => maximum(x, mul(x, 0.2));
  return {
    params: [...convSpecs('d.c1', o.channels, w, 4), ...convSpecs('d.c2', w, 2 * w, 4), ...linearSpecs('d.fc', 2 * w * q * q, 1)],
    score(p, x) {
      let h = leaky(conv2dBias(x, p['d.c1.weight']!, p['d.c1.bias'], { stride: [2, 2], padding: 1 }));
      h = leaky(conv2dBias(h, p['d.c2.weight']!, p['d.c2.bias'], { stride: [2, 2], padding: 1 }));
      return linear(flatten(h), p['d.fc.weight']!, p['d.fc.bias']);
    },
  };
}

