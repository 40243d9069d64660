/**
 * The reference evaluator: one flow at a time, straight from the resolved
 * model, exactly as SEMANTICS.md describes (overview, §3, §6). It powers
 * `explain` and `verify`, and is the oracle for the native engine.
 */
import type { Family, IpAddr } from '../net/ip.js';
import { hasPorts } from '../net/ip.js';
import { tupleHash } from '../net/hash.js';
import type { Tuple } from '../net/tuple.js';
import type { Direction, Origin, Policy, Rule } from '../model/types.js';
import type { AddressOwner, Entity, Frontend, ResolvedCluster, TierPlan } from '../resolve/index.js';
import { policyTraceName } from '../resolve/index.js';
import { matchRule, type CriterionResult, type PolicyPacket } from './rules.js';

export type Verdict = 'allow' | 'deny';

/** One entry of a Calico-style policy trace (`index|tier|name|action|ruleIndex`). */
export interface TraceEntry {
  tier: string;
  /** Trace name: `name` (GNP), `ns/name` (NP), `ns/knp.default.name` (KNP), profile name. */
  name: string;
  action: 'allow' | 'deny' | 'pass' | 'log';
  /** Rule index within the policy's direction list; -1 = end of tier / no rule. */
  ruleIndex: number;
  policy?: Policy;
  rule?: Rule;
  origin?: Origin;
}

export const PROFILE_TIER = '__PROFILE__';
export const NO_MATCH = '__NO_MATCH__';

export type DecisionReason =
  | 'rule'
  | 'end_of_tier'
  | 'profile'
  | 'no_profile_match'
  | 'missing_profile'
  | 'failsafe'
  | 'no_forward_policy'
  | 'all_tiers_passed';

export interface RuleExplanation {
  tier: string;
  policy: string;
  /** Where the rule sits, for people: tier order and default action, policy kind and order. */
  context?: { tierOrder?: number; tierDefault?: 'Deny' | 'Pass'; policyKind?: string; policyOrder?: number };
  ruleIndex: number;
  action: string;
  origin: Origin;
  result: 'match' | 'no-match' | 'not-for-family';
  criteria: CriterionResult[];
}

/** One policy evaluation point on the packet's path. */
export interface Evaluation {
  /** `egress`/`ingress` of a workload or host endpoint. */
  direction: Direction;
  /** `workload`: WEP policy; `host`: HEP normal policy; `forward`: HEP applyOnForward/preDNAT/untracked. */
  point: 'workload' | 'host' | 'forward';
  endpoint: Entity;
  action: Verdict;
  reason: DecisionReason;
  trace: TraceEntry[];
  logged: TraceEntry[];
  /** Only with explain: every rule looked at, in order. */
  rules?: RuleExplanation[];
}

export interface NatResult {
  service: { namespace: string; name: string; port: number; portName?: string };
  frontend: Frontend['kind'];
  preDst: IpAddr;
  preDport: number;
  /** Undefined when the service has no ready backend. */
  postDst?: IpAddr;
  postDport?: number;
  backendCount: number;
}

export type FlowReason =
  | 'policy'
  | 'no_backend'
  | 'host_to_local_workload'
  | 'endpoint_to_host_drop'
  | 'endpoint_to_host_accept'
  | 'not_policed';

export interface FlowResult {
  tuple: Tuple;
  action: Verdict;
  reason: FlowReason;
  nat?: NatResult;
  source: AddressOwner;
  dest: AddressOwner;
  /** Evaluations in path order; the first deny decides, else the flow is allowed. */
  evaluations: Evaluation[];
  /** Workload/host policy at the source (reporter src), when policed. */
  egress?: Evaluation;
  /** Workload/host policy at the destination (reporter dst), when policed. */
  ingress?: Evaluation;
}

export interface EvaluateOptions {
  explain?: boolean;
}

interface Walk {
  trace: TraceEntry[];
  logged: TraceEntry[];
  rules?: RuleExplanation[];
}

type TierOutcome = { kind: 'decided'; action: Verdict; reason: DecisionReason } | { kind: 'continue' };

/**
 * The service frontend a tuple's destination hits, and the NAT result without
 * the backend (which the caller chooses: the reference by tuple hash, the
 * native engine from its own output).
 */
export function serviceFrontend(model: ResolvedCluster, t: Tuple): { frontend: Frontend; result: NatResult } | undefined {
  if (!hasPorts(t.proto) || t.dport === undefined) return undefined;
  const frontend = model.nat.lookup(t.dst, t.proto, t.dport);
  if (!frontend) return undefined;
  const sp = frontend.servicePort;
  const result: NatResult = {
    service: { namespace: frontend.service.namespace, name: frontend.service.name, port: sp.port, ...(sp.name ? { portName: sp.name } : {}) },
    frontend: frontend.kind,
    preDst: t.dst,
    preDport: t.dport,
    backendCount: frontend.backends.length,
  };
  return { frontend, result };
}

export class ReferenceEvaluator {
  constructor(readonly model: ResolvedCluster) {}

  /** Matches one rule; with explain, records the rule and every criterion checked. */
  private ruleMatches(
    rule: Rule,
    policyNamespace: string | undefined,
    pkt: PolicyPacket,
    walk: Walk,
    tier: string,
    policy: string,
    context?: RuleExplanation['context'],
  ): boolean {
    const m = matchRule(this.model, rule, policyNamespace, pkt, walk.rules !== undefined);
    if (walk.rules) {
      walk.rules.push({
        tier,
        policy,
        ...(context ? { context } : {}),
        ruleIndex: rule.index,
        action: rule.action,
        origin: rule.origin,
        result: !m.appliesToFamily ? 'not-for-family' : m.matched ? 'match' : 'no-match',
        criteria: m.criteria,
      });
    }
    return m.matched;
  }

  private walkTiers(
    tiers: TierPlan[],
    direction: Direction,
    pkt: PolicyPacket,
    walk: Walk,
    endOfTier: 'tier' | 'pass',
  ): TierOutcome {
    for (const { tier, policies } of tiers) {
      let passed = false;
      for (const policy of policies) {
        const rules = policy[direction];
        for (const rule of rules) {
          const context = walk.rules
            ? { tierOrder: tier.order, tierDefault: endOfTier === 'pass' ? ('Pass' as const) : tier.defaultAction, policyKind: policy.kind, policyOrder: policy.order }
            : undefined;
          if (!this.ruleMatches(rule, policy.namespace, pkt, walk, tier.name, policyTraceName(policy), context)) continue;
          const entry: TraceEntry = {
            tier: tier.name,
            name: policyTraceName(policy),
            action: rule.action.toLowerCase() as TraceEntry['action'],
            ruleIndex: rule.index,
            policy,
            rule,
            origin: rule.origin,
          };
          if (rule.action === 'Log') {
            walk.logged.push(entry);
            continue;
          }
          walk.trace.push(entry);
          if (rule.action === 'Pass') {
            passed = true;
            break;
          }
          return { kind: 'decided', action: rule.action === 'Allow' ? 'allow' : 'deny', reason: 'rule' };
        }
        if (passed) break;
      }
      if (passed) continue;
      const last = policies[policies.length - 1]!;
      const action = endOfTier === 'pass' ? 'Pass' : tier.defaultAction;
      walk.trace.push({
        tier: tier.name,
        name: policyTraceName(last),
        action: action === 'Pass' ? 'pass' : 'deny',
        ruleIndex: -1,
        policy: last,
        origin: last.origin,
      });
      if (action === 'Deny') return { kind: 'decided', action: 'deny', reason: 'end_of_tier' };
    }
    return { kind: 'continue' };
  }

  private walkProfiles(e: Entity, direction: Direction, pkt: PolicyPacket, walk: Walk): { action: Verdict; reason: DecisionReason } {
    for (const name of e.profiles) {
      const profile = this.model.profiles.get(name);
      if (!profile) {
        // felix installs a drop-all stand-in for a missing profile (§2.2).
        walk.trace.push({ tier: PROFILE_TIER, name, action: 'deny', ruleIndex: -1 });
        return { action: 'deny', reason: 'missing_profile' };
      }
      for (const rule of profile[direction]) {
        if (!this.ruleMatches(rule, undefined, pkt, walk, PROFILE_TIER, name)) continue;
        const entry: TraceEntry = {
          tier: PROFILE_TIER,
          name,
          action: rule.action.toLowerCase() as TraceEntry['action'],
          ruleIndex: rule.index,
          rule,
          origin: rule.origin,
        };
        if (rule.action === 'Log') {
          walk.logged.push(entry);
          continue;
        }
        // In a profile, Pass behaves as Deny (BPF dataplane, §3.5).
        if (rule.action === 'Pass') entry.action = 'deny';
        walk.trace.push(entry);
        return { action: rule.action === 'Allow' ? 'allow' : 'deny', reason: 'profile' };
      }
    }
    walk.trace.push({ tier: PROFILE_TIER, name: NO_MATCH, action: 'deny', ruleIndex: -1 });
    return { action: 'deny', reason: 'no_profile_match' };
  }

  private newWalk(explain: boolean): Walk {
    return explain ? { trace: [], logged: [], rules: [] } : { trace: [], logged: [] };
  }

  /** Workload endpoint policy for one direction (tiers, then profiles). */
  evaluateWorkload(e: Entity, direction: Direction, pkt: PolicyPacket, explain = false): Evaluation {
    const walk = this.newWalk(explain);
    const plan = this.model.planFor(e);
    const out = this.walkTiers(plan.normal[direction], direction, pkt, walk, 'tier');
    const decided = out.kind === 'decided' ? out : this.walkProfiles(e, direction, pkt, walk);
    return { direction, point: 'workload', endpoint: e, action: decided.action, reason: decided.reason, ...walk };
  }

  /** Host endpoint policy for host-terminated (ingress) or host-originated (egress) traffic. */
  evaluateHost(e: Entity, direction: Direction, pkt: PolicyPacket, explain = false): Evaluation {
    const walk = this.newWalk(explain);
    const done = (action: Verdict, reason: DecisionReason): Evaluation => ({
      direction,
      point: 'host',
      endpoint: e,
      action,
      reason,
      ...walk,
    });
    const failsafe = direction === 'ingress' ? this.model.options.failsafeInbound : this.model.options.failsafeOutbound;
    if (pkt.dport !== undefined && failsafe.some((f) => f.protocol === pkt.proto && f.port === pkt.dport)) {
      return done('allow', 'failsafe');
    }
    const plan = this.model.planFor(e);
    const pre = this.prePolicy(plan, direction, pkt, walk);
    if (pre) return done(pre.action, pre.reason);
    const out = this.walkTiers(plan.normal[direction], direction, pkt, walk, 'tier');
    if (out.kind === 'decided') return done(out.action, out.reason);
    const prof = this.walkProfiles(e, direction, pkt, walk);
    return done(prof.action, prof.reason);
  }

  /** Host endpoint policy for traffic forwarded through the host (applyOnForward). */
  evaluateForward(e: Entity, direction: Direction, pkt: PolicyPacket, explain = false): Evaluation {
    const walk = this.newWalk(explain);
    const plan = this.model.planFor(e);
    const done = (action: Verdict, reason: DecisionReason): Evaluation => ({
      direction,
      point: 'forward',
      endpoint: e,
      action,
      reason,
      ...walk,
    });
    const pre = this.prePolicy(plan, direction, pkt, walk);
    if (pre) return done(pre.action, pre.reason);
    const tiers = plan.forward[direction];
    if (tiers.length === 0) return done('allow', 'no_forward_policy');
    const out = this.walkTiers(tiers, direction, pkt, walk, 'tier');
    if (out.kind === 'decided') return done(out.action, out.reason);
    return done('allow', 'all_tiers_passed');
  }

  /** doNotTrack then preDNAT tiers; both end in Pass (§3.10). */
  private prePolicy(
    plan: ReturnType<ResolvedCluster['planFor']>,
    direction: Direction,
    pkt: PolicyPacket,
    walk: Walk,
  ): { action: Verdict; reason: DecisionReason } | undefined {
    const untracked = this.walkTiers(plan.untracked[direction], direction, pkt, walk, 'pass');
    if (untracked.kind === 'decided') return untracked;
    if (direction === 'ingress' && plan.preDNAT.ingress.length > 0) {
      const prePkt: PolicyPacket = { ...pkt, dst: pkt.preDst, dport: pkt.preDport };
      const out = this.walkTiers(plan.preDNAT.ingress, direction, prePkt, walk, 'pass');
      if (out.kind === 'decided' && out.action === 'deny') return out;
    }
    return undefined;
  }

  /** Applies service DNAT (§6): returns the NAT result, or undefined when the destination is no frontend. */
  nat(t: Tuple): NatResult | undefined {
    const found = serviceFrontend(this.model, t);
    if (!found) return undefined;
    const { frontend, result } = found;
    if (frontend.backends.length > 0) {
      const b = frontend.backends[tupleHash(t) % frontend.backends.length]!;
      result.postDst = b.addr;
      result.postDport = b.port;
    }
    return result;
  }

  evaluate(t: Tuple, options: EvaluateOptions = {}): FlowResult {
    const explain = options.explain ?? false;
    const model = this.model;
    const nat = this.nat(t);
    const dst = nat?.postDst ?? t.dst;
    const pkt: PolicyPacket = {
      family: t.src.family as Family,
      src: t.src,
      dst,
      preDst: t.dst,
      preDport: t.dport,
      proto: t.proto,
      sport: t.sport,
      dport: nat?.postDport ?? t.dport,
      icmpType: t.icmpType,
      icmpCode: t.icmpCode,
    };
    const source = model.owner(t.src);
    const dest = model.owner(dst);
    const result: FlowResult = { tuple: t, action: 'allow', reason: 'policy', source, dest, evaluations: [] };
    if (nat) result.nat = nat;
    if (nat && nat.postDst === undefined) {
      result.action = 'deny';
      result.reason = 'no_backend';
      return result;
    }
    const evaluations = result.evaluations;
    const stop = (): boolean => evaluations.length > 0 && evaluations[evaluations.length - 1]!.action === 'deny';

    const srcEp = source.endpoint;
    const dstEp = dest.endpoint;
    const srcWep = srcEp?.kind === 'wep' && model.isPoliced(srcEp) ? srcEp : undefined;
    const dstWep = dstEp?.kind === 'wep' && model.isPoliced(dstEp) ? dstEp : undefined;
    const srcHostNode = source.hostNode;
    const dstHostNode = dest.hostNode;
    const srcHep = srcEp?.kind === 'hep' && model.isPoliced(srcEp) ? srcEp : undefined;
    const dstHep = dstEp?.kind === 'hep' && model.isPoliced(dstEp) ? dstEp : undefined;

    // Host → workload on the same host is never policed (§3.10).
    if (srcHostNode !== undefined && dstEp?.kind === 'wep' && dstEp.node === srcHostNode && !srcWep) {
      result.reason = 'host_to_local_workload';
      return result;
    }

    // ---- source side -------------------------------------------------------
    if (srcWep) {
      const ev = this.evaluateWorkload(srcWep, 'egress', pkt, explain);
      evaluations.push(ev);
      result.egress = ev;
      if (stop()) return this.finish(result);
      if (dstHostNode !== undefined && dstHostNode === srcWep.node) {
        // Workload → its own host: DefaultEndpointToHostAction (§3.10).
        const action = model.options.endpointToHostAction;
        if (action === 'Drop') {
          result.action = 'deny';
          result.reason = 'endpoint_to_host_drop';
          return result;
        }
        if (action === 'Accept') {
          result.reason = 'endpoint_to_host_accept';
          return result;
        }
        if (dstHep) {
          const hev = this.evaluateHost(dstHep, 'ingress', pkt, explain);
          evaluations.push(hev);
          result.ingress = hev;
        }
        return this.finish(result);
      }
      const fwd = this.forwardHep(srcWep.node);
      if (fwd && !(dstEp?.kind === 'wep' && dstEp.node === srcWep.node) && dstHostNode !== srcWep.node) {
        evaluations.push(this.evaluateForward(fwd, 'egress', pkt, explain));
        if (stop()) return this.finish(result);
      }
    } else if (srcHep && srcHostNode !== undefined) {
      const ev = this.evaluateHost(srcHep, 'egress', pkt, explain);
      evaluations.push(ev);
      result.egress = ev;
      if (stop()) return this.finish(result);
    }

    // ---- destination side ----------------------------------------------------
    if (dstWep) {
      const sameNode = (srcEp?.kind === 'wep' && srcEp.node === dstWep.node) || srcHostNode === dstWep.node;
      const fwd = this.forwardHep(dstWep.node);
      if (fwd && !sameNode) {
        evaluations.push(this.evaluateForward(fwd, 'ingress', pkt, explain));
        if (stop()) return this.finish(result);
      }
      const ev = this.evaluateWorkload(dstWep, 'ingress', pkt, explain);
      evaluations.push(ev);
      result.ingress = ev;
    } else if (dstHep && dstHostNode !== undefined) {
      const ev = this.evaluateHost(dstHep, 'ingress', pkt, explain);
      evaluations.push(ev);
      result.ingress = ev;
    } else if (!srcWep && !srcHep && srcHostNode === undefined && dstHostNode === undefined) {
      // Transit traffic forwarded through a node with a wildcard host endpoint.
      const transit = this.transitHep();
      if (transit) {
        evaluations.push(this.evaluateForward(transit, 'ingress', pkt, explain));
        if (!stop()) evaluations.push(this.evaluateForward(transit, 'egress', pkt, explain));
      }
    }
    if (evaluations.length === 0) result.reason = 'not_policed';
    return this.finish(result);
  }

  /** The wildcard host endpoint whose forward policy a policed node applies (also used by src/output/native.ts). */
  forwardHep(node: string | undefined): Entity | undefined {
    if (node === undefined || !this.model.isPolicedNode(node)) return undefined;
    return this.model.wildcardHeps.get(node);
  }

  /** Node that transit traffic crosses: `--node`, or the only node with a wildcard HEP. */
  transitHep(): Entity | undefined {
    const node = this.model.options.node;
    if (node !== undefined) return this.model.wildcardHeps.get(node);
    if (this.model.wildcardHeps.size === 1) return [...this.model.wildcardHeps.values()][0];
    return undefined;
  }

  private finish(result: FlowResult): FlowResult {
    const denied = result.evaluations.find((e) => e.action === 'deny');
    result.action = denied ? 'deny' : 'allow';
    return result;
  }
}

/** The evaluation that decided the flow: the first deny, else the last allow. */
export function decidingEvaluation(r: FlowResult): Evaluation | undefined {
  return r.evaluations.find((e) => e.action === 'deny') ?? r.evaluations[r.evaluations.length - 1];
}

export function formatTraceEntry(e: TraceEntry, index?: number): string {
  const body = `${e.tier}|${e.name}|${e.action}|${e.ruleIndex}`;
  return index === undefined ? body : `${index}|${body}`;
}
