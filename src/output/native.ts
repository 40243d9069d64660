/**
 * Flow records from the native engine. The engine returns, per tuple, the
 * verdict, the flow reason, the NAT backend and its trace events (every
 * evaluation in path order with its trace entries, Log hits, reason and
 * action; native/include/engine.h); this module turns them into the same
 * FlowResult the reference evaluator produces, so every output format is
 * identical between engines. Only a tuple whose events overflow the per-tuple
 * stride (an image whose worst case exceeds 254 events) is re-evaluated by
 * the reference evaluator (stats.referenceTraces). Both engines are proven
 * equal by test/oracle and test/output/native-records.test.ts.
 */
import { addrToWords, formatIp, type Family } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';
import type { Direction } from '../model/types.js';
import { EV_ENTRY, EV_EVAL, EV_LOG, EVENT_OVERFLOW, EVENT_PAYLOAD, MAX_EVENT_STRIDE, NativeEngine } from '../native/index.js';
import { EVAL_REASONS, FLOW_REASONS, NONE } from '../format/spec.js';
import type { AddressOwner, Entity, ResolvedCluster } from '../resolve/index.js';
import { addrKey } from '../resolve/index.js';
import { ReferenceEvaluator, serviceFrontend, type DecisionReason, type Evaluation, type FlowResult, type NatResult, type TraceEntry } from '../reference/evaluate.js';

const isIcmp = (p: number): boolean => p === 1 || p === 58;

/** Struct-of-arrays for one family's tuples; ICMP type/code travel in the port arrays. */
export function tupleArrays(family: Family, tuples: readonly Tuple[]) {
  const w = family === 4 ? 1 : 4;
  const n = tuples.length;
  const src = new Uint32Array(n * w);
  const dst = new Uint32Array(n * w);
  const sport = new Uint16Array(n);
  const dport = new Uint16Array(n);
  const proto = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = tuples[i]!;
    if (family === 4) {
      src[i] = Number(t.src.value);
      dst[i] = Number(t.dst.value);
    } else {
      addrToWords(t.src, src, 4 * i);
      addrToWords(t.dst, dst, 4 * i);
    }
    proto[i] = t.proto;
    sport[i] = isIcmp(t.proto) ? (t.icmpType ?? 0) : (t.sport ?? 0);
    dport[i] = isIcmp(t.proto) ? (t.icmpCode ?? 0) : (t.dport ?? 0);
  }
  return { src, dst, sport, dport, proto };
}

export interface NativeClassifyStats {
  tuples: number;
  /** Tuples whose trace events overflowed the stride and went to the reference evaluator. */
  referenceTraces: number;
}

/** Tuples per engine call: bounds the event buffer (chunk × stride words). */
const CHUNK = 4096;

/** One engine call's outputs (classifyBatch with trace events). */
export interface ChunkOutputs {
  verdict: Uint8Array;
  reason: Uint8Array;
  natBackend: Uint32Array;
  events: Uint32Array;
  eventCount: Uint8Array;
  eventStride: number;
}

export class NativeFlowClassifier {
  private readonly reference: ReferenceEvaluator;
  private readonly owners = new Map<string, AddressOwner>();
  private readonly entries: (TraceEntry | undefined)[] = [];
  private readonly stride: number;
  readonly stats: NativeClassifyStats = { tuples: 0, referenceTraces: 0 };

  /** `eventStride`: events per tuple (default: the image's bound, at most MAX_EVENT_STRIDE); smaller only in tests of the fallback. */
  constructor(
    readonly model: ResolvedCluster,
    readonly engine: NativeEngine,
    options: { eventStride?: number } = {},
  ) {
    this.reference = new ReferenceEvaluator(model);
    this.stride = Math.max(1, Math.min(options.eventStride ?? engine.info().traceBound, MAX_EVENT_STRIDE));
  }

  private owner(t: Tuple['src']): AddressOwner {
    const k = addrKey(t);
    let o = this.owners.get(k);
    if (!o) {
      o = this.model.owner(t);
      if (this.owners.size > 1_000_000) this.owners.clear();
      this.owners.set(k, o);
    }
    return o;
  }

  /** The trace entry of a rule id (shared between results: never mutated). */
  private entry(ruleId: number): TraceEntry {
    let e = this.entries[ruleId];
    if (!e) {
      const r = this.engine.rules[ruleId];
      if (!r) throw new RangeError(`engine reported rule id ${ruleId} of ${this.engine.rules.length}`);
      e = {
        tier: r.tier,
        name: r.name,
        action: r.action,
        ruleIndex: r.ruleIndex,
        origin: { file: r.file, line: r.line, column: r.column, path: '' },
      };
      this.entries[ruleId] = e;
    }
    return e;
  }

  private nat(t: Tuple, backend: number): NatResult | undefined {
    const found = serviceFrontend(this.model, t);
    if (!found) return undefined;
    if (backend !== NONE) {
      const b = this.engine.backends[backend]!;
      found.result.postDst = b.addr;
      found.result.postDport = b.port;
    }
    return found.result;
  }

  /** Classifies tuples (any mix of families) and returns reference-shaped results, in input order. */
  classify(tuples: readonly Tuple[]): FlowResult[] {
    const out: FlowResult[] = new Array(tuples.length);
    const K = this.stride;
    for (const family of [4, 6] as const) {
      const idx: number[] = [];
      tuples.forEach((t, i) => {
        if (t.src.family === family) idx.push(i);
      });
      for (let from = 0; from < idx.length; from += CHUNK) {
        const part = idx.slice(from, from + CHUNK);
        const batch = part.map((i) => tuples[i]!);
        const a = tupleArrays(family, batch);
        const n = batch.length;
        const o: ChunkOutputs = {
          verdict: new Uint8Array(n),
          reason: new Uint8Array(n),
          natBackend: new Uint32Array(n),
          events: new Uint32Array(n * K),
          eventCount: new Uint8Array(n),
          eventStride: K,
        };
        this.engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, o);
        for (let j = 0; j < n; j++) out[part[j]!] = this.resultOf(batch[j]!, o, j);
      }
    }
    this.stats.tuples += tuples.length;
    return out;
  }

  /** The endpoint and point of an evaluation slot (engine.h EvalSlot), as the reference chooses them. */
  private slotEndpoint(slot: number, source: AddressOwner, dest: AddressOwner): { endpoint: Entity | undefined; point: Evaluation['point']; direction: Direction } {
    switch (slot) {
      case 0: return { endpoint: source.endpoint, point: source.endpoint?.kind === 'hep' ? 'host' : 'workload', direction: 'egress' };
      case 1: return { endpoint: dest.endpoint, point: dest.endpoint?.kind === 'hep' ? 'host' : 'workload', direction: 'ingress' };
      case 2: return { endpoint: this.reference.forwardHep(source.endpoint?.node), point: 'forward', direction: 'egress' };
      case 3: return { endpoint: this.reference.forwardHep(dest.endpoint?.node), point: 'forward', direction: 'ingress' };
      case 4: return { endpoint: this.reference.transitHep(), point: 'forward', direction: 'ingress' };
      case 5: return { endpoint: this.reference.transitHep(), point: 'forward', direction: 'egress' };
      default: return { endpoint: undefined, point: 'forward', direction: 'egress' };
    }
  }

  /** Tuple j of an engine call (`t` itself) as a FlowResult; the reference evaluator's when its events overflowed. */
  resultOf(t: Tuple, o: ChunkOutputs, j: number): FlowResult {
    const count = o.eventCount[j]!;
    if (count === EVENT_OVERFLOW) {
      this.stats.referenceTraces++;
      return this.reference.evaluate(t);
    }
    const nat = this.nat(t, o.natBackend[j]!);
    const dst = nat?.postDst ?? t.dst;
    const source = this.owner(t.src);
    const dest = this.owner(dst);
    const result: FlowResult = {
      tuple: t,
      action: o.verdict[j] ? 'allow' : 'deny',
      reason: FLOW_REASONS[o.reason[j]!]!,
      source,
      dest,
      evaluations: [],
    };
    if (nat) result.nat = nat;
    let trace: TraceEntry[] = [];
    let logged: TraceEntry[] = [];
    const base = j * o.eventStride;
    for (let k = 0; k < count; k++) {
      const w = o.events[base + k]!;
      const payload = w & EVENT_PAYLOAD;
      const kind = w >>> 30;
      if (kind === EV_ENTRY) trace.push(this.entry(payload));
      else if (kind === EV_LOG) logged.push(this.entry(payload));
      else if (kind === EV_EVAL) {
        const slot = payload & 0xff;
        const { endpoint, point, direction } = this.slotEndpoint(slot, source, dest);
        if (!endpoint) throw new Error(`engine reported evaluation slot ${slot} without its endpoint for ${formatIp(t.src)} -> ${formatIp(t.dst)} proto ${t.proto}`);
        const ev: Evaluation = {
          direction,
          point,
          endpoint,
          action: (payload >>> 16) & 1 ? 'allow' : 'deny',
          reason: EVAL_REASONS[(payload >>> 8) & 0xff] as DecisionReason,
          trace,
          logged,
        };
        result.evaluations.push(ev);
        if (slot === 0) result.egress = ev;
        else if (slot === 1) result.ingress = ev;
        trace = [];
        logged = [];
      } else throw new Error(`engine reported unknown trace event ${w >>> 0}`);
    }
    return result;
  }
}
