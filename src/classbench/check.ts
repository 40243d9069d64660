/**
 * Trace checks: the engine's first match for every trace header, mapped back
 * to a filter number, against an independent linear first-match scan over
 * the parsed filters (the ground truth, exactly like
 * ../shared/peers/dpdk-acl/acl_bench.c). The trace's own last column is only
 * the filter the header was generated from — the true first match can be an
 * earlier filter — so it is compared with the scan for information only.
 *
 * Filter numbers are 1-based; 0 means "no filter matched" (the end of the
 * tier denies).
 */
import { hasPorts, type IpAddr } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';
import { NativeEngine, type BatchOutputs, type Strategy } from '../native/index.js';
import { NONE, RULE_KIND_END_OF_TIER, RULE_KIND_POLICY } from '../format/spec.js';
import { ReferenceEvaluator } from '../reference/evaluate.js';
import { ResolvedCluster } from '../resolve/index.js';
import type { Cluster } from '../model/types.js';
import type { Conversion } from './convert.js';
import { prefixMask, traceColumns, type Filter, type Trace } from './parse.js';

/** Packed filters for the linear scan (ClassBench semantics, as acl_bench.c). */
export class LinearScan {
  private readonly n: number;
  private readonly smask: Int32Array;
  private readonly sip: Int32Array;
  private readonly dmask: Int32Array;
  private readonly dip: Int32Array;
  private readonly ports: Uint16Array;
  private readonly proto: Uint8Array;
  private readonly pmask: Uint8Array;

  constructor(filters: readonly Filter[]) {
    const n = (this.n = filters.length);
    this.smask = new Int32Array(n);
    this.sip = new Int32Array(n);
    this.dmask = new Int32Array(n);
    this.dip = new Int32Array(n);
    this.ports = new Uint16Array(4 * n);
    this.proto = new Uint8Array(n);
    this.pmask = new Uint8Array(n);
    filters.forEach((f, i) => {
      this.smask[i] = prefixMask(f.srcLen) | 0;
      this.sip[i] = f.src & this.smask[i]!;
      this.dmask[i] = prefixMask(f.dstLen) | 0;
      this.dip[i] = f.dst & this.dmask[i]!;
      this.ports.set([f.spLo, f.spHi, f.dpLo, f.dpHi], 4 * i);
      this.pmask[i] = f.protoMask;
      this.proto[i] = f.proto & f.protoMask;
    });
  }

  /** 1-based number of the first matching filter, 0 for none. */
  match(src: number, dst: number, sport: number, dport: number, proto: number): number {
    const s = src | 0;
    const d = dst | 0;
    const { smask, sip, dmask, dip, ports, pmask } = this;
    for (let i = 0; i < this.n; i++) {
      if ((s & smask[i]!) !== sip[i]) continue;
      if ((d & dmask[i]!) !== dip[i]) continue;
      const k = 4 * i;
      if (sport < ports[k]! || sport > ports[k + 1]!) continue;
      if (dport < ports[k + 2]! || dport > ports[k + 3]!) continue;
      if ((proto & pmask[i]!) !== this.proto[i]) continue;
      return i + 1;
    }
    return 0;
  }

  /** First matches of a whole trace (or of the given header indices). */
  matchTrace(trace: Trace, indices?: ArrayLike<number>): Uint32Array {
    const m = indices ? indices.length : trace.length;
    const out = new Uint32Array(m);
    for (let j = 0; j < m; j++) {
      const i = indices ? indices[j]! : j;
      out[j] = this.match(trace.src[i]!, trace.dst[i]!, trace.sport[i]!, trace.dport[i]!, trace.proto[i]!);
    }
    return out;
  }
}

export interface Mismatch {
  /** 0-based header index; `line` is its line in the trace file. */
  index: number;
  line: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  proto: number;
  /** Linear scan's first match (0 = none). */
  expected: number;
  /** Engine's first match (0 = none), or -1 when its deciding rule is not a classbench rule. */
  got: number;
  /** What the engine said, for -1 and verdict disagreements. */
  detail: string;
}

export interface CheckResult {
  engine: 'native' | 'reference';
  /** Native engine strategy. */
  strategy?: Strategy;
  /** Headers checked (the whole trace for native, a sample for reference). */
  checked: number;
  mismatches: number;
  firstMismatches: Mismatch[];
  /** Headers whose trace id differs from the true first match (informational). */
  traceIdDiffers: number;
  /** Headers no filter matches (denied by the end of the tier). */
  noMatch: number;
  engineMs: number;
  linearMs: number;
  /** Linear strategy: mean match records tested per header (a model of what rule count costs Calico). */
  meanRulesVisited?: number;
}

const MAX_LISTED = 10;

/** Maps every engine rule id to a filter number: ≥1 rule, 0 end of the classbench tier, -1 anything else. */
export function ruleIdToFilter(engine: NativeEngine, conv: Conversion): Int32Array {
  const map = new Int32Array(engine.rules.length).fill(-1);
  for (const r of engine.rules) {
    if (r.tier !== conv.tier) continue;
    if (r.kind === RULE_KIND_POLICY) map[r.id] = conv.filterOf(r.name, r.ruleIndex) ?? -1;
    else if (r.kind === RULE_KIND_END_OF_TIER) map[r.id] = 0;
  }
  return map;
}

function v4(value: number): IpAddr {
  return { family: 4, value: BigInt(value >>> 0) };
}

/** The header as a Tuple (ports only for protocols that have them, like the reference expects). */
export function headerTuple(trace: Trace, i: number): Tuple {
  const t: Tuple = { src: v4(trace.src[i]!), dst: v4(trace.dst[i]!), proto: trace.proto[i]! };
  if (hasPorts(t.proto)) {
    t.sport = trace.sport[i]!;
    t.dport = trace.dport[i]!;
  }
  return t;
}

class Collector {
  mismatches = 0;
  readonly first: Mismatch[] = [];
  traceIdDiffers = 0;
  noMatch = 0;

  constructor(private readonly trace: Trace) {}

  add(i: number, expected: number, got: number, detail: string, ok: boolean): void {
    const tr = this.trace;
    if (tr.ruleId[i] !== expected) this.traceIdDiffers++;
    if (expected === 0) this.noMatch++;
    if (ok) return;
    this.mismatches++;
    if (this.first.length < MAX_LISTED) {
      this.first.push({
        index: i,
        line: tr.line[i]!,
        src: tr.src[i]!,
        dst: tr.dst[i]!,
        sport: tr.sport[i]!,
        dport: tr.dport[i]!,
        proto: tr.proto[i]!,
        expected,
        got,
        detail,
      });
    }
  }
}

/** Every header through the native engine, compared with the linear scan. */
export function checkNative(engine: NativeEngine, conv: Conversion, filters: readonly Filter[], trace: Trace, strategy: Strategy = engine.strategy, expectedIn?: Uint32Array): CheckResult {
  const map = ruleIdToFilter(engine, conv);
  const n = trace.length;
  const out: BatchOutputs = { verdict: new Uint8Array(n), decidingRule: new Uint32Array(n) };
  if (strategy === 'linear') out.rulesVisited = new Uint32Array(n);
  let t0 = performance.now();
  engine.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, out, strategy);
  const engineMs = performance.now() - t0;
  t0 = performance.now();
  const expected = expectedIn ?? new LinearScan(filters).matchTrace(trace);
  const linearMs = expectedIn ? 0 : performance.now() - t0;
  const c = new Collector(trace);
  for (let i = 0; i < n; i++) {
    const rid = out.decidingRule![i]!;
    const got = rid === NONE ? -1 : map[rid]!;
    const exp = expected[i]!;
    const verdictOk = out.verdict[i] === (exp > 0 ? 1 : 0);
    const ok = got === exp && verdictOk;
    let detail = '';
    if (!ok) {
      const rule = rid === NONE ? 'no deciding rule' : (engine.traceString(rid) ?? '?');
      detail = `verdict ${out.verdict[i] ? 'allow' : 'deny'}, deciding ${rule}`;
    }
    c.add(i, exp, got, detail, ok);
  }
  const res: CheckResult = { engine: 'native', strategy, checked: n, mismatches: c.mismatches, firstMismatches: c.first, traceIdDiffers: c.traceIdDiffers, noMatch: c.noMatch, engineMs, linearMs };
  if (out.rulesVisited && n > 0) res.meanRulesVisited = out.rulesVisited.reduce((a, b) => a + b, 0) / n;
  return res;
}

/** Evenly spaced header indices (all of them when `sample` ≥ the trace length). */
export function sampleIndices(length: number, sample: number): Uint32Array {
  if (sample >= length) return Uint32Array.from({ length }, (_, i) => i);
  const out = new Uint32Array(sample);
  for (let j = 0; j < sample; j++) out[j] = Math.floor((j * length) / sample);
  return out;
}

/**
 * A sample of headers through the reference evaluator (the oracle; slow),
 * compared with the linear scan. The filter is read from the forward
 * evaluation of the conversion's direction, so this works for both
 * directions.
 */
export function checkReference(cluster: Cluster, conv: Conversion, filters: readonly Filter[], trace: Trace, sample: number): CheckResult {
  const ev = new ReferenceEvaluator(new ResolvedCluster(cluster));
  const idx = sampleIndices(trace.length, sample);
  const dir = conv.direction === 'Ingress' ? 'ingress' : 'egress';
  let t0 = performance.now();
  const got = new Int32Array(idx.length);
  const verdicts = new Uint8Array(idx.length);
  const details: string[] = [];
  for (let j = 0; j < idx.length; j++) {
    const r = ev.evaluate(headerTuple(trace, idx[j]!));
    verdicts[j] = r.action === 'allow' ? 1 : 0;
    const fwd = r.evaluations.find((e) => e.point === 'forward' && e.direction === dir);
    const last = fwd?.trace[fwd.trace.length - 1];
    let g = -1;
    if (last && last.tier === conv.tier) g = last.ruleIndex === -1 ? 0 : (conv.filterOf(last.name, last.ruleIndex) ?? -1);
    got[j] = g;
    details[j] = `verdict ${r.action}, ${fwd ? `forward ${dir} ${fwd.reason}${last ? ` ${last.tier}|${last.name}|${last.action}|${last.ruleIndex}` : ''}` : `no forward ${dir} evaluation (${r.reason})`}`;
  }
  const engineMs = performance.now() - t0;
  t0 = performance.now();
  const expected = new LinearScan(filters).matchTrace(trace, idx);
  const linearMs = performance.now() - t0;
  const c = new Collector(trace);
  for (let j = 0; j < idx.length; j++) {
    const exp = expected[j]!;
    const ok = got[j] === exp && verdicts[j] === (exp > 0 ? 1 : 0);
    c.add(idx[j]!, exp, got[j]!, ok ? '' : details[j]!, ok);
  }
  return { engine: 'reference', checked: idx.length, mismatches: c.mismatches, firstMismatches: c.first, traceIdDiffers: c.traceIdDiffers, noMatch: c.noMatch, engineMs, linearMs };
}

export interface Throughput {
  strategy: Strategy;
  batch: number;
  repetitions: number;
  tuplesPerRep: number;
  /** Median over repetitions. */
  tuplesPerSecond: number;
  nsPerTuple: number;
  minTuplesPerSecond: number;
  maxTuplesPerSecond: number;
}

/**
 * A quick single-core figure: batches of `batch` headers (cycling through the
 * trace, caller-owned outputs: verdict and deciding rule) after a warm-up;
 * each repetition runs about `repMs` milliseconds; the median is reported.
 * Not the benchmark (bench/ runs fresh processes against the peer).
 */
export function quickThroughput(engine: NativeEngine, trace: Trace, opts: { batch?: number; repetitions?: number; repMs?: number; strategy?: Strategy } = {}): Throughput {
  const strategy = opts.strategy ?? engine.strategy;
  const batch = opts.batch ?? 4096;
  const reps = opts.repetitions ?? 5;
  const repMs = opts.repMs ?? 200;
  // Headers repeated until there are at least `batch` of them, so every batch is full.
  const n = Math.max(batch, trace.length);
  const { src, dst, sport, dport, proto } = traceColumns(trace, n);
  const nb = Math.floor(n / batch);
  const views = Array.from({ length: nb }, (_, b) => {
    const s = b * batch;
    const e = s + batch;
    return { src: src.subarray(s, e), dst: dst.subarray(s, e), sport: sport.subarray(s, e), dport: dport.subarray(s, e), proto: proto.subarray(s, e) };
  });
  const out: BatchOutputs = { verdict: new Uint8Array(batch), decidingRule: new Uint32Array(batch) };
  const runBatches = (count: number): number => {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < count; k++) {
      const v = views[k % nb]!;
      engine.classifyBatch(4, v.src, v.dst, v.sport, v.dport, v.proto, out, strategy);
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // Warm-up: at least one pass over the trace and ~repMs of work, which also sizes the repetitions.
  let warmBatches = nb;
  let secs = runBatches(warmBatches);
  while (secs * 1000 < repMs / 2) {
    warmBatches *= 2;
    secs = runBatches(warmBatches);
  }
  const perBatch = secs / warmBatches;
  const batchesPerRep = Math.max(1, Math.round(repMs / 1000 / perBatch));
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) rates.push((batchesPerRep * batch) / runBatches(batchesPerRep));
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(reps / 2)]!;
  return {
    strategy,
    batch,
    repetitions: reps,
    tuplesPerRep: batchesPerRep * batch,
    tuplesPerSecond: median,
    nsPerTuple: 1e9 / median,
    minTuplesPerSecond: rates[0]!,
    maxTuplesPerSecond: rates[reps - 1]!,
  };
}
