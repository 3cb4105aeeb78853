// AlexNet's convolutional features (torchvision's `alexnet().features`) as LPIPS taps them: the
// output of each of the five ReLUs. Parameter names are torchvision's (`features.0.weight`, ...),
// so its pretrained weights load by name from a safetensors file. Inference only: LPIPS scores
// images, nothing is trained through it.
import { conv2dBias, maxPool2dStrided, relu, type Sym } from '../core/index.js';
import { convSpecs, type ParamSpec } from './model.js';

/** The five convolutions: torchvision's index in `features`, channels, kernel, stride, padding, and whether a 3x3/2 max pool precedes it. */
export const ALEXNET_CONVS = [
  { index: 0, cin: 3, cout: 64, k: 11, stride: 4, pad: 2, poolBefore: false },
  { index: 3, cin: 64, cout: 192, k: 5, stride: 1, pad: 2, poolBefore: true },
  { index: 6, cin: 192, cout: 384, k: 3, stride: 1, pad: 1, poolBefore: true },
  { index: 8, cin: 384, cout: 256, k: 3, stride: 1, pad: 1, poolBefore: false },
  { index: 10, cin: 256, cout: 256, k: 3, stride: 1, pad: 1, poolBefore: false },
] as const;

export function alexnetFeatureSpecs(): ParamSpec[] {
  return ALEXNET_CONVS.flatMap((c) => convSpecs(`features.${c.index}`, c.cin, c.cout, c.k));
}

/** The five ReLU outputs for NCHW images (3 channels, at least 11x11 after the first stride). */
export function alexnetTaps(p: Record<string, Sym>, x: Sym): Sym[] {
  const taps: Sym[] = [];
  let h = x;
  for (const c of ALEXNET_CONVS) {
    if (c.poolBefore) h = maxPool2dStrided(h, 3, 2);
    h = relu(conv2dBias(h, p[`features.${c.index}.weight`]!, p[`features.${c.index}.bias`], { stride: [c.stride, c.stride], padding: c.pad }));
    taps.push(h);
  }
  return taps;
}
