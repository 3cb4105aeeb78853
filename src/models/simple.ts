// The small models of the reference (../shared/reference/models.py): MLP, the DLG LeNet, ConvNet.
import { conv2dBias, flatten, globalAvgPool, linear, relu, sigmoid, type Sym } from '../core/index.js';
import { convSpecs, type Init, linearSpecs, type Model, type ParamSpec } from './model.js';

export function mlp(opts: { hidden?: number; inputShape?: [number, number, number] } = {}): Model {
  const inputShape = opts.inputShape ?? [1, 28, 28];
  const fin = inputShape[0] * inputShape[1] * inputShape[2];
  const hidden = opts.hidden ?? 256;
  return {
    name: 'mlp',
    inputShape,
    numClasses: 10,
    params: [...linearSpecs('fc1', fin, hidden), ...linearSpecs('fc2', hidden, 10)],
    buffers: [],
    forward(p, x) {
      const h = relu(linear(flatten(x), p['fc1.weight']!, p['fc1.bias']));
      return { logits: linear(h, p['fc2.weight']!, p['fc2.bias']), bnStats: [], features: h };
    },
  };
}

/**
 * The LeNet of DLG (Zhu et al. 2019): three 5x5 convs with 12 channels and sigmoid, strides 2, 2, 1,
 * then one linear layer. DLG initialises every weight and bias uniformly in [-0.5, 0.5].
 */
export function lenet(opts: { inputShape?: [number, number, number]; init?: 'dlg' | 'torch' | 'xavier' } = {}): Model {
  const inputShape = opts.inputShape ?? [3, 32, 32];
  const [c, h, w] = inputShape;
  const hOut = Math.ceil(Math.ceil(h / 2) / 2);
  const wOut = Math.ceil(Math.ceil(w / 2) / 2);
  const fin = 12 * hOut * wOut;
  let params: ParamSpec[] = [...convSpecs('conv1', c, 12, 5), ...convSpecs('conv2', 12, 12, 5), ...convSpecs('conv3', 12, 12, 5), ...linearSpecs('fc', fin, 10)];
  const init = opts.init ?? 'dlg';
  if (init === 'dlg') params = params.map((s) => ({ ...s, init: { kind: 'uniform', bound: 0.5 } }));
  if (init === 'xavier') params = params.map((s) => ({ ...s, init: xavier(s.shape) }));
  return {
    name: 'lenet',
    inputShape,
    numClasses: 10,
    params,
    buffers: [],
    forward(p, x) {
      let y: Sym = sigmoid(conv2dBias(x, p['conv1.weight']!, p['conv1.bias'], { stride: [2, 2], padding: 2 }));
      y = sigmoid(conv2dBias(y, p['conv2.weight']!, p['conv2.bias'], { stride: [2, 2], padding: 2 }));
      y = sigmoid(conv2dBias(y, p['conv3.weight']!, p['conv3.bias'], { stride: [1, 1], padding: 2 }));
      const f = flatten(y);
      return { logits: linear(f, p['fc.weight']!, p['fc.bias']), bnStats: [], features: f };
    },
  };
}

/** Glorot uniform for weights (suits sigmoid units), zero biases. */
function xavier(shape: number[]): Init {
  if (shape.length === 1) return { kind: 'const', value: 0 };
  const field = shape.slice(2).reduce((a, b) => a * b, 1);
  return { kind: 'uniform', bound: Math.sqrt(6 / (shape[1]! * field + shape[0]! * field)) };
}

/** The Inverting-Gradients style ConvNet of the reference, with a width multiplier. */
/**
 * 'gap': global average pooling before the linear layer (the reference ConvNet); 'flatten': the
 * last feature map flattened, so the linear layer sees every position (as the ConvNets of the
 * Inverting Gradients code keep a small spatial map before theirs).
 */
export type ConvnetHead = 'gap' | 'flatten';

export function convnet(opts: { width?: number; inputShape?: [number, number, number]; head?: ConvnetHead } = {}): Model {
  const inputShape = opts.inputShape ?? [3, 32, 32];
  const w = opts.width ?? 1;
  const head = opts.head ?? 'gap';
  const [c1, c2, c3] = [32, 64, 128].map((c) => Math.max(1, Math.round(c * w))) as [number, number, number];
  // Two stride-2 convolutions (padding 1, kernel 3) leave ceil(H/4) x ceil(W/4) positions.
  const positions = Math.ceil(inputShape[1] / 4) * Math.ceil(inputShape[2] / 4);
  return {
    name: head === 'gap' ? 'convnet' : 'convnet-flat',
    inputShape,
    numClasses: 10,
    params: [
      ...convSpecs('conv1', inputShape[0], c1, 3), ...convSpecs('conv2', c1, c2, 3), ...convSpecs('conv3', c2, c3, 3),
      ...linearSpecs('fc', head === 'gap' ? c3 : c3 * positions, 10),
    ],
    buffers: [],
    forward(p, x) {
      let y = relu(conv2dBias(x, p['conv1.weight']!, p['conv1.bias'], { stride: [1, 1], padding: 1 }));
      y = relu(conv2dBias(y, p['conv2.weight']!, p['conv2.bias'], { stride: [2, 2], padding: 1 }));
      y = relu(conv2dBias(y, p['conv3.weight']!, p['conv3.bias'], { stride: [2, 2], padding: 1 }));
      const f = head === 'gap' ? globalAvgPool(y) : flatten(y);
      return { logits: linear(f, p['fc.weight']!, p['fc.bias']), bnStats: [], features: f };
    },
  };
}
