export { validate, mutate } from './engine.js';
export { resolveConfig, defaultConfig, type PolicyConfig, type ConfigResult } from './config.js';
export * from './types.js';
export { type ClusterView, readClusterView, imageVersion } from './cluster-view.js';
