// Server-side aggregation of client updates.
export { meanUpdates, supportUnion, restrictToSupport, type MeanOptions } from './mean.js';
