// Optimizers over plain Float32Array parameters.
export { createSgd, type Sgd, type SgdOptions, type SgdOptionsInput, type SgdState } from './sgd.js';
export { stepSchedule, type StepScheduleOptions } from './schedule.js';
export { createAdam, type Adam, type AdamOptions, type AdamOptionsInput, type AdamState } from './adam.js';
