// Training: compiled per-model functions, evaluation, centralised training and its checkpoints,
// and the checkpoint folder both centralised and federated runs write.
export { evaluate, oneHotLabels, type Evaluation } from './evaluate.js';
export { ModelRunner, updateRunningStats, type LossAndGrad } from './runner.js';
export { optimizerTemplate, trainCentralized, type TrainHistoryEntry, type TrainOptions, type TrainResult, type TrainState } from './train.js';
export { centralisedSpecSchema, loadTrainCheckpoint, saveTrainCheckpoint, type CentralisedSpec } from './train-checkpoint.js';
export {
  checkCheckpointTarget, CheckpointExistsError, CHECKPOINT_FORMAT, describeCheckpoint, folderSummary, issueText, latestRoundFolder, readRoundFolder,
  resumeRefusal, ROUND_DIR, roundFolderName, savedFolders, specDifference, writeRoundFolder,
  type CheckpointSummary,
} from './checkpoints.js';
export { type PriorOptions, trainPrior, type TrainedPrior } from './prior.js';
