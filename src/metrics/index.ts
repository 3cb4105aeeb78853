// Metrics: how close an attack's reconstruction is to the data it tried to recover, and how far
// a shared update is from the true gradient. Definitions follow breaching's analysis so that the
// numbers compare with the Python tools (see each file for the exact definition).
export { checkImages, denormalize, imageAt, reorderImages, type ImageShape, type Normalization } from './images.js';
export { msePerImage, psnr, psnrFromMse, psnrPerImage, summarizePsnr } from './psnr.js';
export { gaussianWindow, ssim, ssimPerImage, ssimPlane, type SsimOptions } from './ssim.js';
export { cwSsim, cwSsimPerImage, type CwSsimOptions } from './cwssim.js';
export { dtcwt2d, symmetricIndices, DEFAULT_FILTERS, type DtcwtFilters, type DtcwtLevel } from './dtcwt.js';
export { NEAR_SYM_B, QSHIFT_B } from './dtcwt-filters.js';
export { labelAccuracy } from './labels.js';
export { relativeGradientDistance, type GradientTensors } from './gradients.js';
export { linearSumAssignment, type Assignment, type CostMatrix } from './assignment.js';
export {
  LPIPS_NO_WEIGHTS,
  isLpipsBackend,
  lpips,
  lpipsDistance,
  lpipsFeatures,
  lpipsWith,
  normalizeFeatures,
  openLpips,
  toSignedRange,
  type FeatureMap,
  type LpipsBackend,
  type LpipsBackendFactory,
  type LpipsNotComputed,
  type LpipsOptions,
  type LpipsResult,
  type NormalizedFeatures,
} from './lpips.js';
export {
  matchImages,
  mseCostMatrix,
  scoreReconstruction,
  scoreWithLpips,
  type ReconstructionScore,
  type ScoreInput,
} from './score.js';
export { alexnetLpips, LPIPS_SCALE, LPIPS_SHIFT } from './lpips-alexnet.js';
