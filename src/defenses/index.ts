// Gradient defenses: what a client does to its gradient before it leaves (optax-style
// init/apply pairs over plain Float32Array tensors), the ADGP protocol, and the RDP accountant.
export type { ApplyContext, Defense, DefenseReport, DefenseResult, Layout } from './types.js';
export {
  ADGP, checkFederatedDefense, createDefense, describeDefenses, DEFENSE_NAMES, effectiveDefenseOptions, FEDERATED_DEFENSE_NAMES, updateSupport, type DefenseName,
} from './registry.js';
export { chain, named, none, perTensor, withErrorFeedback, type ErrorFeedbackState } from './compose.js';
export { dgp, dgpBand, dgpCounts, dgpSplit, parseDgpOptions, type DgpOptions, type DgpOptionsInput } from './dgp.js';
export { topk, randomk, keepCount, type TopkOptionsInput, type RandomkOptionsInput } from './sparsify.js';
export { qsgd, scaledSign, type QsgdOptionsInput } from './quantize.js';
export { dp, clipByNorm, addNoise, type DpOptionsInput } from './dp.js';
export { outpost, outpostRisk, percentile, type OutpostOptionsInput, type OutpostState } from './outpost.js';
export {
  computeRdp, rdpToEpsilon, dpSgdEpsilon, DEFAULT_RDP_ORDERS, type RdpConversion, type DpSgdAccounting,
} from './rdp.js';
export {
  adgpClient, broadcasterOptionsOf, createBroadcaster, voteCommonSet, downloadBytes, adgpUploadBytes, sharedOf,
  type AdgpClient, type AdgpClientState, type AdgpPending, type Broadcaster, type CommonSet, type CommonSetPolicy,
  type DownloadBytes, type AdgpClientOptionsInput, type AdgpBroadcasterOptionsInput,
} from './adgp.js';
export { measure } from './report.js';
export { magnitudeRange, rankRange, nthLargest, type RankOptions } from './select.js';
export { stateToJSON, stateFromJSON } from './state.js';
