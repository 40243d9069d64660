/**
 * Differential harness: compile a cluster, classify tuples natively in
 * batches, evaluate the same tuples with the reference evaluator, compare
 * verdict, flow reason, the egress/ingress/overall deciding entries (with
 * their evaluation reasons) and the NAT backend.
 */
import { compileImage } from '../../src/compile/index.js';
import { NativeEngine, type NativeFlowRecord, type Strategy } from '../../src/native/index.js';
import { formatIp, type Family } from '../../src/net/ip.js';
import type { Tuple } from '../../src/net/tuple.js';
import { decidingEvaluation, formatTraceEntry, ReferenceEvaluator, type Evaluation, type FlowResult } from '../../src/reference/evaluate.js';
import type { ResolvedCluster } from '../../src/resolve/index.js';

const ICMP = (p: number): boolean => p === 1 || p === 58;

function evalRecord(e: Evaluation | undefined): { reason: string; deciding: string | undefined } | undefined {
  if (!e) return undefined;
  const last = e.trace[e.trace.length - 1];
  return { reason: e.reason, deciding: last ? formatTraceEntry(last) : undefined };
}

export function referenceRecord(r: FlowResult): NativeFlowRecord {
  const rec: NativeFlowRecord = { action: r.action, reason: r.reason };
  if (r.egress) rec.egress = evalRecord(r.egress);
  if (r.ingress) rec.ingress = evalRecord(r.ingress);
  const d = decidingEvaluation(r);
  if (d) rec.deciding = evalRecord(d);
  if (r.nat?.postDst) rec.natBackend = { addr: r.nat.postDst, port: r.nat.postDport! };
  return rec;
}

const show = (rec: NativeFlowRecord): string =>
  JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

export function describeTuple(t: Tuple): string {
  const ports = ICMP(t.proto) ? `type ${t.icmpType} code ${t.icmpCode}` : `${t.sport ?? '-'} -> ${t.dport ?? '-'}`;
  return `${formatIp(t.src)} -> ${formatIp(t.dst)} proto ${t.proto} ${ports}`;
}

export interface Mismatch {
  strategy: Strategy;
  tuple: Tuple;
  reference: string;
  native: string;
}

export interface DiffResult {
  tuples: number;
  mismatches: Mismatch[];
  refMs: number;
  nativeMs: number;
  /** Outcome histogram: `action/reason/decidingEvalReason`. */
  outcomes: Record<string, number>;
  /** Programs the engine evaluated by their masks, and whether its batches took the node lane path. */
  pmCount: number;
  pmCut: boolean;
  laneMemoBytes: number;
  nodeLanes: boolean;
}

/** Struct-of-arrays for one family's tuples: the library's own packing (ICMP type/code in the port arrays). */
import { tupleArrays as toArrays } from '../../src/output/native.js';
export { toArrays };

/** Every per-tuple output array of classifyBatch (trace events aside), for n tuples. */
export function allOutputs(n: number) {
  return {
    verdict: new Uint8Array(n),
    reason: new Uint8Array(n),
    egressRule: new Uint32Array(n),
    ingressRule: new Uint32Array(n),
    decidingRule: new Uint32Array(n),
    evalReasons: new Uint32Array(n),
    natBackend: new Uint32Array(n),
    rulesVisited: new Uint32Array(n),
  };
}

export function nativeRecords(engine: NativeEngine, tuples: Tuple[], strategy: Strategy): { records: NativeFlowRecord[]; ms: number } {
  const records: NativeFlowRecord[] = new Array(tuples.length);
  let ms = 0;
  for (const family of [4, 6] as const) {
    const idx: number[] = [];
    tuples.forEach((t, i) => t.src.family === family && idx.push(i));
    if (idx.length === 0) continue;
    const a = toArrays(family, idx.map((i) => tuples[i]!));
    const n = idx.length;
    const out = allOutputs(n);
    const t0 = process.hrtime.bigint();
    engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, out, strategy);
    ms += Number(process.hrtime.bigint() - t0) / 1e6;
    idx.forEach((ti, k) => {
      records[ti] = engine.record(out.verdict[k]!, out.reason[k]!, out.egressRule[k]!, out.ingressRule[k]!, out.decidingRule[k]!, out.evalReasons[k]!, out.natBackend[k]!);
    });
  }
  return { records, ms };
}

export function differential(model: ResolvedCluster, tuples: Tuple[], engine?: NativeEngine): DiffResult {
  const eng = engine ?? NativeEngine.fromImage(compileImage(model).image);
  const ref = new ReferenceEvaluator(model);
  const t0 = process.hrtime.bigint();
  const refRecs = tuples.map((t) => referenceRecord(ref.evaluate(t)));
  const refMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const mismatches: Mismatch[] = [];
  let ms = 0;
  for (const strategy of ['linear', 'decision', 'decision-bitmaps'] as const) {
    const got = nativeRecords(eng, tuples, strategy);
    ms += got.ms;
    tuples.forEach((t, i) => {
      const a = show(refRecs[i]!);
      const b = show(got.records[i]!);
      if (a !== b) mismatches.push({ strategy, tuple: t, reference: a, native: b });
    });
  }
  const outcomes: Record<string, number> = {};
  for (const r of refRecs) {
    const k = `${r.action}/${r.reason}/${r.deciding?.reason ?? '-'}`;
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  const info = eng.info();
  return { tuples: tuples.length, mismatches, refMs, nativeMs: ms, outcomes, pmCount: info.pmCount, pmCut: info.pmCut, laneMemoBytes: info.laneMemoBytes, nodeLanes: info.nodeLanes };
}
