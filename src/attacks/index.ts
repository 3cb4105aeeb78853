// The attacks' public face. A case (case.ts) turns data, a model at some round and a defense into
// a ThreatModel (what the attacker sees) and the ground truth (kept for scoring); an attack
// (registry.ts) turns a ThreatModel into a reconstruction; evaluate.ts alone scores it.
export { type ImprintSecrets, type Need, type ThreatModel, has, imageShape, isSparse, observedGradient, requireThreat, sentMasks } from './threat.js';
export { type AttackCase, BATCH_NORM_MODES, type BatchNormMode, buildCase, type CaseSpec, type GroundTruth, type MaliciousServer, modelAtRound, type ModelState, type TrainingSpec } from './case.js';
export type { Attack, AttackOptions, AttackResult } from './types.js';
export { ATTACK_NAMES, createAttack, describeAttacks, ROBBING_THE_FED } from './registry.js';
export { DLG, DLG_ADAM, GRADINVERSION, IDLG, INVERTING_GRADIENTS, MATCHING_ATTACKS, matchingAttack, type MatchingAttackDef, settingsFor } from './optimization.js';
export { argmaxRows, LABEL_STRATEGIES, type LabelStrategy, oneHot, recoverLabels } from './labels.js';
export { clampToBox, imprintReadout, imprintServer, type ImprintOptions, invertLinear, withImprint } from './imprint.js';
export { MatchingProblem, type MatchingSpec } from './matching.js';
export { type AdamSnapshot, optimize, type OptimizeOptions, type OptimizeResult, type SnapshotStore } from './optimize.js';
export { type CaseStore, snapshotFromJson, snapshotToJson, type StoredCase } from './resume.js';
export { lbfgs, type LbfgsOptions, type LbfgsResult, strongWolfe } from './lbfgs.js';
export { learningRate, type Schedule } from '../optim/index.js';
export { bnPrior, cosineMatching, forwardAndGradients, l2Matching, parameterGradients } from './objectives.js';
export { type AttackRecord, scoreAttack } from './evaluate.js';
export { type ExperimentResult, type ExperimentSpec, type ExperimentSummary, runExperiment } from './experiment.js';
export { adaptiveSpec, GglProblem, type GglSpec } from './ggl.js';
export { adamSearch, cmaesSearch, GGL_ATTACKS, GGL_LATENT_WEIGHT, GGL_SEARCHES, gglAttack, type GglSearch, type SearchResult } from './ggl-attack.js';
export { cmaes, type CmaesOptions, type CmaesResult, symmetricEigen } from './cmaes.js';
