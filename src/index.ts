/** netverdict public API (re-exports only). */
export {
  load,
  createReferenceEvaluator,
  evaluateFlow,
  toTuple,
  compile,
  createNativeClassifier,
  createBatchEvaluator,
  createRecordWriter,
  type Loaded,
  type TupleInput,
} from './api.js';
export { NativeEngine, ImageLoadError, NativeUnavailableError, type BatchOutputs, type RuleInfo } from './native/index.js';
export { NativeFlowClassifier, tupleArrays } from './output/native.js';
export { FlowRecordWriter, type RecordFormat } from './output/writer.js';
export { readTupleBatches, TupleBatch, ENTRY_ERROR, type BatchReaderOptions } from './io/columns.js';
export type { CompiledImage, CompileStats } from './compile/index.js';
export { inspectImage, formatInspect, type ImageSummary } from './format/inspect.js';
export { loadCluster, type LoadInput, type LoadResult } from './model/load.js';
export { parseSelector, SelectorSyntaxError } from './parse/selector/index.js';
export type { Selector, SelectorNode, LabelSource } from './parse/selector/types.js';
export { InputError, formatDiagnostic, type Diagnostic } from './diag/diagnostic.js';
export { ResolvedCluster, resolveCluster, type ResolveOptions } from './resolve/index.js';
export {
  ReferenceEvaluator,
  formatTraceEntry,
  decidingEvaluation,
  type FlowResult,
  type Evaluation,
  type TraceEntry,
  type NatResult,
} from './reference/evaluate.js';
export { checkExpectations, type FlowCheck } from './reference/verify.js';
export { flowRecord, csvRow, CSV_COLUMNS, type FlowRecord } from './output/records.js';
export { parseIp, formatIp, parseCidr, type IpAddr, type Cidr } from './net/ip.js';
export type { Tuple } from './net/tuple.js';
export type * from './model/types.js';
