// Optimizers over plain Float32Array parameters.
export { createSgd, type Sgd, type SgdOptions, type SgdOptionsInput, type SgdState } from './sgd.js';
export { cosineSchedule, decaySchedule, learningRate, parseLrSteps, type Schedule, stepSchedule, type StepScheduleOptions } from './schedule.js';
export {
  adamConstants, adamRule, adamScalars, createAdam, type Adam, type AdamArithmetic, type AdamConstants, type AdamOptions, type AdamOptionsInput, type AdamState,
} from './adam.js';
