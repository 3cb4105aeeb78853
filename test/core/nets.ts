// Small networks shared by the core's derivative and lowering tests.
import { type Sym, conv2d, conv2dBias, crossEntropy, globalAvgPool, linear, maxPool2d, relu, tanh } from '../../src/core/index.js';

/** conv -> relu -> maxpool -> depthwise conv (stride 2) -> tanh -> global pool -> linear -> CE. */
export function smallNet(x: Sym, w1: Sym, b1: Sym, w2: Sym, wl: Sym, t: Sym): Sym {
  const h1 = maxPool2d(relu(conv2dBias(x, w1, b1, { padding: 1 })), 2);
  const h2 = tanh(conv2d(h1, w2, { stride: [2, 2], pads: [1, 1, 1, 1], groups: 4 }));
  return crossEntropy(linear(globalAvgPool(h2), wl), t);
}

/** x, w1, b1, w2, wl, one-hot targets. */
export const smallNetShapes = [[2, 3, 6, 6], [4, 3, 3, 3], [4], [4, 1, 3, 3], [5, 4], [2, 5]];
