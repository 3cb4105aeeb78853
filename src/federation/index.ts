// Collaborative learning: clients and a server that talk only in wire bytes (in one process, or
// through the deployment service in src/service), the CL-SGD and FedAvg strategies, ADGP rounds,
// checkpoints, and the comparison of defenses on utility and bytes.
export { FederatedClient, inProcess, type ClientProxy, type ClientSetup, type ClientState } from './client.js';
export { FederatedServer, type Dropout, type RoundRecord, type ServerSetup, type ServerState } from './server.js';
export {
  aggregateRound, clientsPerRound, configureRound, createStrategy, sampleClients, weightedMean, type FitConfig, type FitResult, type Strategy, type StrategyOptions,
} from './strategy.js';
export { runParts, type RunObjects, type RunParts } from './parts.js';
export { Replica, stateLayout, type ModelLayout } from './replica.js';
export { decodeMessage, encodeMessage, EVERYONE, type Control, type ControlOf, type FitTask } from './wire.js';
export { loadCheckpoint, saveCheckpoint, type Checkpoint, type HistoryEntry } from './checkpoint.js';
export { CUSTOM, DEFAULT_SECURE_CLIP, lrSchedule, parseSpec, secureAggregationProblem, specSchema, type FederatedSpec, type Partition } from './spec.js';
export {
  clientStream, createClient, createFederation, DATASET_SHAPES, lastImages, modelLayoutOf, runFederated, trainingImages,
  type ClientSource, type Federation, type FederatedResult, type FederationOptions, type RemoteClients, type RunData, type RunOptions,
} from './run.js';
export { broadcasterParty, commitDecider, commonSetOf, decodeProposal, proposalMessage, type BroadcasterParty, type Decision } from './aligned.js';
export {
  compareDefenses, comparisonTable, defaultConfigs, EXTRA_COMPARE_ROWS, extraConfigs, pairedDifference, selectConfigs,
  type CompareConfig, type CompareOptions, type CompareRow, type PairedDifference,
} from './compare.js';
export { fullLayout, type ReplicaMeta } from './replica.js';
export { aggregateOfSum, BUFFER_RANGE, secureInput, secureLength, type SecureAggregate, type SecureInput } from './secure-vector.js';
export { SecureRoundFailed, secureSum, type SecureRoundSetup, type SecureStep } from './secure-round.js';
export { openSecagg, secaggMessage, SecureUpload, type SecureTask } from './secure-client.js';
export { ClientHost, ModelView, type HostSetup } from './client-host.js';
export { ClientStore, clientStateFile } from './client-store.js';
export { clientLevelPrivacy, type ClientLevelPrivacy } from './accounting.js';
