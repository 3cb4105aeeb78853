// What every folder shares, with no engine and no Node built-in (it bundles for browsers): plain
// named tensors, the client-update type (dense or sparse per tensor), the seeded generator, and
// the option parsing that defenses, optimizers and runs share.
export { randn, Rng, type RngState } from './rng.js';
export { assertSameLayout, cloneTensors, sizeOf, totalSize, zerosLike, type NamedTensor, type TensorList } from './tensors.js';
export {
  addInto, checkPositions, checkUpdate, checkUpdateTensor, countNonzeros, denseUpdate, densify, densifyTensor, layoutOf, sentEntries, sparseUpdate,
  type ClientUpdate, type DenseUpdate, type Levels, type SparseUpdate, type TensorLayout, type UpdateTensor,
} from './update.js';
export { parseOptions } from './options.js';
