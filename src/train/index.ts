// Training: compiled per-model functions, evaluation, centralised training and its checkpoints,
// and the checkpoint folder both centralised and federated runs write.
export { evaluate, oneHotLabels, type Evaluation } from './evaluate.js';
export { ModelRunner, updateRunningStats, type LossAndGrad } from './runner.js';
export { trainCentralized, type TrainHistoryEntry, type TrainOptions, type TrainResult } from './train.js';
export {
  checkCheckpointTarget, CheckpointExistsError, CHECKPOINT_FORMAT, describeCheckpoint, issueText, readCheckpointFolder, writeCheckpointFolder,
  type CheckpointSummary,
} from './checkpoints.js';
