/** Seeded synthetic clusters and traffic for differential tests and benchmarks. */
export { Rng, rngFor } from './random.js';
export { randomSelector, randomLabelSelector, RICH_SELECTORS, PLAIN_SELECTORS } from './selectors.js';
export type { LabelVocab, SelectorStyle, LeafOp } from './selectors.js';
export {
  TINY,
  SMALL,
  PRESETS,
  calicoScale,
  generateClusterObjects,
  generateCluster,
  loadGeneratedCluster,
  buildGeneratedCluster,
  fileToYaml,
} from './cluster.js';
export type { ClusterSize, GeneratedCluster, GeneratedDoc, GeneratedFile, GeneratedObjects, GeneratedStats, Json } from './cluster.js';
export { TrafficModel, generateTuples, generateTupleBatch, packTuples } from './traffic.js';
export type { TupleBatch, TupleColumns } from './traffic.js';
