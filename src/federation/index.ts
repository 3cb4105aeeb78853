// Collaborative learning in one process: clients and a server that talk only in wire bytes, the
// CL-SGD and FedAvg strategies, checkpoints, and the comparison of defenses on utility and bytes.
export { FederatedClient, inProcess, type ClientProxy, type ClientSetup, type ClientState } from './client.js';
export { FederatedServer, type Dropout, type RoundRecord, type ServerSetup, type ServerState } from './server.js';
export { clientsPerRound, createStrategy, sampleClients, type FitResult, type Strategy, type StrategyOptions } from './strategy.js';
export { Replica, stateLayout, type ModelLayout } from './replica.js';
export { decodeMessage, encodeMessage, EVERYONE, type Control, type FitTask } from './wire.js';
export { loadCheckpoint, saveCheckpoint, type Checkpoint, type HistoryEntry } from './checkpoint.js';
export { lrSchedule, parseSpec, specSchema, type FederatedSpec, type Partition } from './spec.js';
export { createFederation, runFederated, trainingImages, type Federation, type FederatedResult, type RunOptions } from './run.js';
export {
  defenseFromFlags, defenseOptions, defenseShape, FEDERATED_DEFAULTS, parsePartition, refineRunFlags, runOptions, runShape, specFromOptions,
  strategyOptions, strategyShape, trainingOptions, trainingShape, type TrainingDefaults,
  type BaseOptions,
} from './cli-options.js';
export { compareDefenses, comparisonTable, defaultConfigs, type CompareConfig, type CompareRow } from './compare.js';
