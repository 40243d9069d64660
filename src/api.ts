/**
 * High-level library API: load resources, resolve them for a node (or the
 * whole cluster) and evaluate flows. See README "Library use".
 */
import { InputError, type Diagnostic } from './diag/diagnostic.js';
import { loadCluster, type LoadInput } from './model/load.js';
import type { Cluster, Expectations } from './model/types.js';
import { parseIp } from './net/ip.js';
import type { Tuple } from './net/tuple.js';
import { ReferenceEvaluator, type FlowResult } from './reference/evaluate.js';
import { ResolvedCluster, type ResolveOptions } from './resolve/index.js';
import { parseProtocol } from './io/tuples.js';
import { compileImage, type CompiledImage } from './compile/index.js';
import { NativeEngine, type Strategy } from './native/index.js';
import { NativeFlowClassifier } from './output/native.js';
import { FlowRecordWriter, type RecordFormat } from './output/writer.js';

export interface Loaded {
  cluster: Cluster;
  expectations: Expectations[];
  warnings: Diagnostic[];
}

/**
 * Loads files, directories, `-` (stdin) or in-memory texts. Throws InputError
 * (with every diagnostic: file, line, column, field path) on invalid input.
 */
export async function load(inputs: LoadInput[]): Promise<Loaded> {
  const res = await loadCluster(inputs);
  if (res.diagnostics.some((d) => d.severity === 'error')) throw new InputError(res.diagnostics);
  return { cluster: res.cluster, expectations: res.expectations, warnings: res.diagnostics };
}

/** A reference evaluator over a loaded cluster (one node's data path with `options.node`). */
export function createReferenceEvaluator(cluster: Cluster, options: ResolveOptions = {}): ReferenceEvaluator {
  return new ReferenceEvaluator(new ResolvedCluster(cluster, options));
}

export interface TupleInput {
  src: string;
  dst: string;
  proto: string | number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** Converts a friendly tuple (`{src: '10.0.0.1', dst: ..., proto: 'TCP', dport: 443}`) to a Tuple. */
export function toTuple(t: TupleInput): Tuple {
  const src = parseIp(t.src);
  const dst = parseIp(t.dst);
  if (!src) throw new TypeError(`invalid source address "${t.src}"`);
  if (!dst) throw new TypeError(`invalid destination address "${t.dst}"`);
  if (src.family !== dst.family) throw new TypeError('source and destination are of different IP families');
  const proto = typeof t.proto === 'number' ? t.proto : parseProtocol(t.proto);
  if (proto === undefined || proto < 0 || proto > 255) throw new TypeError(`invalid protocol "${t.proto}"`);
  const out: Tuple = { src, dst, proto };
  if (t.sport !== undefined) out.sport = t.sport;
  if (t.dport !== undefined) out.dport = t.dport;
  if (t.icmpType !== undefined) out.icmpType = t.icmpType;
  if (t.icmpCode !== undefined) out.icmpCode = t.icmpCode;
  return out;
}

/** Evaluates one flow with the reference evaluator. */
export function evaluateFlow(evaluator: ReferenceEvaluator, t: TupleInput | Tuple, explain = false): FlowResult {
  const tuple = typeof (t as TupleInput).src === 'string' ? toTuple(t as TupleInput) : (t as Tuple);
  return evaluator.evaluate(tuple, { explain });
}

/**
 * Compiles a cluster into the versioned flat image the native engine runs
 * (docs/FORMAT.md). Deterministic: the same resources in any order give the
 * same bytes.
 */
export function compile(cluster: Cluster, options: ResolveOptions = {}): CompiledImage {
  return compileImage(new ResolvedCluster(cluster, options));
}

/**
 * A native classifier over a cluster: compiles it, loads the image into the
 * C++ engine and returns FlowResults identical to the reference evaluator's
 * (see src/output/native.ts). For raw typed-array batches use `NativeEngine`.
 */
export function createNativeClassifier(cluster: Cluster, options: ResolveOptions = {}, strategy: Strategy = 'decision'): NativeFlowClassifier {
  const model = new ResolvedCluster(cluster, options);
  const image = compileImage(model);
  return new NativeFlowClassifier(model, NativeEngine.fromImage(image.image, { strategy }));
}

/** Evaluates batches of tuples with the chosen engine; results in input order. */
export function createBatchEvaluator(
  cluster: Cluster,
  options: ResolveOptions,
  engine: 'native' | 'reference',
  strategy: Strategy = 'decision',
): (tuples: Tuple[]) => FlowResult[] {
  if (engine === 'reference') {
    const ev = createReferenceEvaluator(cluster, options);
    return (tuples) => tuples.map((t) => ev.evaluate(t));
  }
  const nc = createNativeClassifier(cluster, options, strategy);
  return (tuples) => nc.classify(tuples);
}

/**
 * JSON Lines or CSV flow records for column batches (`readTupleBatches`,
 * src/io/columns.ts) from the native engine: the same records as
 * `flowRecord` over `createNativeClassifier`'s results, built from parts
 * shared between tuples (what `netverdict classify` uses).
 */
export function createRecordWriter(cluster: Cluster, options: ResolveOptions, format: RecordFormat, strategy: Strategy = 'decision'): FlowRecordWriter {
  const model = new ResolvedCluster(cluster, options);
  return new FlowRecordWriter(model, NativeEngine.fromImage(compileImage(model).image, { strategy }), format);
}
