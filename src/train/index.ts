// Training a model: its compiled loss, gradients and predictions (ModelRunner), evaluation on a
// test set, and centralised training.
export { ModelRunner, updateRunningStats, type LossAndGrad } from './runner.js';
export { evaluate, oneHotLabels, type Evaluation } from './evaluate.js';
export { trainCentralized, type TrainHistoryEntry, type TrainOptions, type TrainResult } from './train.js';
