/**
 * Flow records from the native engine. The engine returns, per tuple, the
 * verdict, the flow reason, the deciding rule id of each direction and the
 * NAT backend; this module turns them into the same FlowResult the reference
 * evaluator produces, so every output format is identical between engines.
 *
 * The engine reports deciding entries, not whole traces. Where a trace can
 * hold more than the deciding entry (an endpoint whose direction has several
 * tiers, so Pass entries may precede it; Log rules; host endpoints), the
 * tuple is re-evaluated by the reference evaluator for its trace — exact, and
 * rare in typical clusters. Both engines are proven equal by test/oracle.
 */
import type { Family } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';
import type { Direction } from '../model/types.js';
import { NativeEngine, type BatchOutputs } from '../native/index.js';
import { EVAL_REASONS, FLOW_REASONS, NONE } from '../format/spec.js';
import type { AddressOwner, Entity, ResolvedCluster } from '../resolve/index.js';
import { addrKey } from '../resolve/index.js';
import { ReferenceEvaluator, serviceFrontend, type DecisionReason, type Evaluation, type FlowResult, type NatResult, type TraceEntry, type Verdict } from '../reference/evaluate.js';

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
      for (let k = 0; k < 4; k++) {
        const shift = BigInt(96 - 32 * k);
        src[i * 4 + k] = Number((t.src.value >> shift) & 0xffffffffn);
        dst[i * 4 + k] = Number((t.dst.value >> shift) & 0xffffffffn);
      }
    }
    proto[i] = t.proto;
    sport[i] = isIcmp(t.proto) ? (t.icmpType ?? 0) : (t.sport ?? 0);
    dport[i] = isIcmp(t.proto) ? (t.icmpCode ?? 0) : (t.dport ?? 0);
  }
  return { src, dst, sport, dport, proto };
}

export interface NativeClassifyStats {
  tuples: number;
  /** Tuples whose trace needed the reference evaluator. */
  referenceTraces: number;
}

export class NativeFlowClassifier {
  private readonly reference: ReferenceEvaluator;
  private readonly owners = new Map<string, AddressOwner>();
  private readonly simple = new Map<string, boolean>();
  private readonly noHostEndpoints: boolean;
  readonly stats: NativeClassifyStats = { tuples: 0, referenceTraces: 0 };

  constructor(
    readonly model: ResolvedCluster,
    readonly engine: NativeEngine,
  ) {
    this.reference = new ReferenceEvaluator(model);
    this.noHostEndpoints = !model.entities.some((e) => e.kind === 'hep');
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

  /** True when this endpoint's trace in this direction is exactly its deciding entry. */
  private simpleTrace(e: Entity, direction: Direction, decidingTier: string): boolean {
    const key = `${e.id}|${direction}|${decidingTier}`;
    let s = this.simple.get(key);
    if (s === undefined) {
      const tiers = this.model.planFor(e).normal[direction];
      const hasLog = tiers.some((tp) => tp.policies.some((p) => p[direction].some((r) => r.action === 'Log')));
      const profileLog = e.profiles.some((n) => this.model.profiles.get(n)?.[direction].some((r) => r.action === 'Log'));
      s = e.kind === 'wep' && !hasLog && !profileLog && (tiers.length === 0 || (tiers.length === 1 && tiers[0]!.tier.name === decidingTier));
      this.simple.set(key, s);
    }
    return s;
  }

  private entry(ruleId: number): TraceEntry {
    const r = this.engine.rules[ruleId]!;
    return {
      tier: r.tier,
      name: r.name,
      action: r.action,
      ruleIndex: r.ruleIndex,
      origin: { file: r.file, line: r.line, column: r.column, path: '' },
    };
  }

  private evaluation(direction: Direction, endpoint: Entity, ruleId: number, reasonCode: number): Evaluation {
    const reason = EVAL_REASONS[reasonCode] as DecisionReason;
    const trace = ruleId === NONE ? [] : [this.entry(ruleId)];
    let action: Verdict;
    if (reason === 'rule' || reason === 'profile') action = trace[0]?.action === 'allow' ? 'allow' : 'deny';
    else if (reason === 'failsafe' || reason === 'no_forward_policy' || reason === 'all_tiers_passed') action = 'allow';
    else action = 'deny';
    return { direction, point: 'workload', endpoint, action, reason, trace, logged: [] };
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
    for (const family of [4, 6] as const) {
      const idx: number[] = [];
      tuples.forEach((t, i) => {
        if (t.src.family === family) idx.push(i);
      });
      if (idx.length === 0) continue;
      const batch = idx.map((i) => tuples[i]!);
      const a = tupleArrays(family, batch);
      const n = batch.length;
      const o: Required<Pick<BatchOutputs, 'verdict' | 'reason' | 'egressRule' | 'ingressRule' | 'decidingRule' | 'evalReasons' | 'natBackend'>> = {
        verdict: new Uint8Array(n),
        reason: new Uint8Array(n),
        egressRule: new Uint32Array(n),
        ingressRule: new Uint32Array(n),
        decidingRule: new Uint32Array(n),
        evalReasons: new Uint32Array(n),
        natBackend: new Uint32Array(n),
      };
      this.engine.classifyBatch(family, a.src, a.dst, a.sport, a.dport, a.proto, o);
      for (let j = 0; j < n; j++) out[idx[j]!] = this.result(batch[j]!, o, j);
    }
    this.stats.tuples += tuples.length;
    return out;
  }

  private result(t: Tuple, o: Required<Pick<BatchOutputs, 'verdict' | 'reason' | 'egressRule' | 'ingressRule' | 'decidingRule' | 'evalReasons' | 'natBackend'>>, j: number): FlowResult {
    const nat = this.nat(t, o.natBackend[j]!);
    const dst = nat?.postDst ?? t.dst;
    const source = this.owner(t.src);
    const dest = this.owner(dst);
    const reasons = o.evalReasons[j]!;
    const egReason = reasons & 0xff;
    const inReason = (reasons >>> 8) & 0xff;
    const fallback = (): FlowResult => {
      this.stats.referenceTraces++;
      return this.reference.evaluate(t);
    };
    if (!this.noHostEndpoints) return fallback();
    const result: FlowResult = {
      tuple: t,
      action: o.verdict[j] ? 'allow' : 'deny',
      reason: FLOW_REASONS[o.reason[j]!]!,
      source,
      dest,
      evaluations: [],
    };
    if (nat) result.nat = nat;
    if (egReason) {
      const e = source.endpoint;
      const rule = o.egressRule[j]!;
      if (!e || (rule !== NONE && !this.simpleTrace(e, 'egress', this.engine.rules[rule]!.tier))) return fallback();
      result.egress = this.evaluation('egress', e, rule, egReason);
      result.evaluations.push(result.egress);
    }
    if (inReason) {
      const e = dest.endpoint;
      const rule = o.ingressRule[j]!;
      if (!e || (rule !== NONE && !this.simpleTrace(e, 'ingress', this.engine.rules[rule]!.tier))) return fallback();
      result.ingress = this.evaluation('ingress', e, rule, inReason);
      result.evaluations.push(result.ingress);
    }
    return result;
  }
}
