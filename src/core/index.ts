// The compute core's public surface: symbolic ops, grad, compile, and the engine that runs the graphs.
export { Graph, Sym, type Shape, type Primitive, sizeOf } from './graph.js';
export { grad } from './grad.js';
export { compile, trace, Compiled, sessionSettings, type Input, type TracedFn, type CompileOptions } from './compile.js';
export { currentEngine, nodeEngine, setEngine, webEngine, type Engine, type EngineSession, type EngineTensor, type SessionSettings } from './engine.js';
export { interpret } from './interpret.js';
export { lowerToOnnx } from './onnx.js';
export * from './ops/elementwise.js';
export { sum, max, mean, broadcastTo, sumToShape } from './ops/reduce.js';
export { reshape, transpose, slice, sliceAxis, pad, concat, flatten } from './ops/shape.js';
export { matmul } from './ops/linalg.js';
export { conv2d, convTranspose2d, convWeightGrad, type ConvParams } from './ops/conv.js';
export { logSoftmax, softmax } from './ops/softmax.js';
export * from './nn.js';
