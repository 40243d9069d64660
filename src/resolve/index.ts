/**
 * resolve: from the IR to what the data path needs. Which entities exist and
 * what labels they carry, which endpoints are policed (`--node`), which
 * policies apply to each policed endpoint in which order (tiers, §3), the IP
 * sets rules refer to (§4), and service NAT (§6).
 */
import type { IpAddr } from '../net/ip.js';
import type { Selector } from '../parse/selector/types.js';
import type { Cluster, EntityRule, Policy, Profile, Rule, Tier } from '../model/types.js';
import { buildEntities, buildProfiles, cmp, type Entity } from './entities.js';
import { addrKey, IpSetIndex } from './ipsets.js';
import { NatTable } from './services.js';
import { LabelIndex } from './labelindex.js';
import { entityRuleSelectors, policyAppliesTo, type RuleSelectors } from './selectors.js';
import {
  DEFAULT_FAILSAFE_INBOUND,
  DEFAULT_FAILSAFE_OUTBOUND,
  type ResolveOptions,
  type TrafficKey,
} from './options.js';

export * from './entities.js';
export * from './ipsets.js';
export * from './services.js';
export * from './selectors.js';
export * from './options.js';

export interface TierPlan {
  tier: Tier;
  /** Enforced policies of this tier that select the endpoint for the direction, in order. */
  policies: Policy[];
}

export interface DirectionPlans {
  ingress: TierPlan[];
  egress: TierPlan[];
}

export interface EndpointPlan {
  entity: Entity;
  /** Normal tiers (for HEPs: neither preDNAT nor doNotTrack). */
  normal: DirectionPlans;
  /** HEP only: doNotTrack tiers (end in Pass). */
  untracked: DirectionPlans;
  /** HEP only: preDNAT tiers (ingress only, end in Pass). */
  preDNAT: DirectionPlans;
  /** HEP only: applyOnForward subset of the normal tiers. */
  forward: DirectionPlans;
}

/** Where an address belongs, as far as the data path is concerned. */
export interface AddressOwner {
  /** Workload or host endpoint that owns the address. */
  endpoint?: Entity;
  /** Node whose host address this is. */
  hostNode?: string;
  /** Longest-prefix NetworkSet/GlobalNetworkSet containing the address (for naming). */
  networkSet?: Entity;
}

/** Values by address: IPv4 by its number (no string per lookup), IPv6 by `addrKey`. */
class AddrMap<V> {
  private readonly v4 = new Map<number, V>();
  private readonly v6 = new Map<string, V>();
  get(a: IpAddr): V | undefined {
    return a.family === 4 ? this.v4.get(Number(a.value)) : this.v6.get(addrKey(a));
  }
  set(a: IpAddr, v: V): void {
    if (a.family === 4) this.v4.set(Number(a.value), v);
    else this.v6.set(addrKey(a), v);
  }
}

/** An AddressOwner whose network set (display only) is looked up on first use. */
/** Network-set CIDRs per family: by prefix length (longest first), then base address. */
interface SetIndex {
  v4: [number, Map<number, Entity>][];
  v6: [number, Map<bigint, Entity>][];
}

function buildSetIndex(sets: readonly Entity[]): SetIndex {
  const v4 = new Map<number, Map<number, Entity>>();
  const v6 = new Map<number, Map<bigint, Entity>>();
  for (const s of sets) {
    for (const c of s.cidrs) {
      if (c.family === 4) {
        let m = v4.get(c.prefixLen);
        if (!m) v4.set(c.prefixLen, (m = new Map()));
        if (!m.has(Number(c.base))) m.set(Number(c.base), s);
      } else {
        let m = v6.get(c.prefixLen);
        if (!m) v6.set(c.prefixLen, (m = new Map()));
        if (!m.has(c.base)) m.set(c.base, s);
      }
    }
  }
  return { v4: [...v4].sort((a, b) => b[0] - a[0]), v6: [...v6].sort((a, b) => b[0] - a[0]) };
}

class LazyOwner implements AddressOwner {
  private set: Entity | null | undefined;
  constructor(
    private readonly model: ResolvedCluster,
    private readonly addr: IpAddr,
    readonly endpoint: Entity | undefined,
    readonly hostNode: string | undefined,
  ) {}
  get networkSet(): Entity | undefined {
    if (this.set === undefined) this.set = this.model.networkSetAt(this.addr) ?? null;
    return this.set ?? undefined;
  }
}

/** Applying-index policy flags: normal (neither preDNAT nor doNotTrack) with an ingress / egress type. */
const NORMAL_INGRESS = 1;
const NORMAL_EGRESS = 2;

export function tierLess(a: Tier, b: Tier): number {
  if (a.defined !== b.defined) return a.defined ? -1 : 1;
  if (a.order !== undefined && b.order !== undefined && a.order !== b.order) return a.order - b.order;
  if (a.order !== undefined && b.order === undefined) return -1;
  if (a.order === undefined && b.order !== undefined) return 1;
  return cmp(a.name, b.name);
}

/** The name part of policyLess's order. */
const policyKey = (p: Policy): string => `${p.name}/${p.namespace ?? ''}/${p.kind}`;

/** v3.32 PolKVLess: order ascending (none = +inf), then `name/namespace/kind`. */
export function policyLess(a: Policy, b: Policy, keyOf: (p: Policy) => string = policyKey): number {
  const ao = a.order ?? Infinity;
  const bo = b.order ?? Infinity;
  if (ao !== bo) return ao < bo ? -1 : 1;
  return cmp(keyOf(a), keyOf(b));
}

/** Sorts by policyLess, each policy's key string made once (not per comparison). */
function sortPolicies(list: Policy[]): void {
  const keys = new Map<Policy, string>();
  for (const p of list) keys.set(p, policyKey(p));
  const keyOf = (p: Policy): string => keys.get(p)!;
  list.sort((a, b) => policyLess(a, b, keyOf));
}

/** The name a policy has in traces (Calico flow-log style). */
export function policyTraceName(p: Policy): string {
  const staged = p.staged ? 'staged:' : '';
  switch (p.kind) {
    case 'GlobalNetworkPolicy':
    case 'StagedGlobalNetworkPolicy':
      return `${staged}${p.name}`;
    case 'KubernetesNetworkPolicy':
    case 'StagedKubernetesNetworkPolicy':
      return `${staged}${p.namespace}/knp.default.${p.name}`;
    default:
      return `${staged}${p.namespace}/${p.name}`;
  }
}

export class ResolvedCluster {
  readonly options: Required<Pick<ResolveOptions, 'endpointToHostAction' | 'failsafeInbound' | 'failsafeOutbound'>> &
    ResolveOptions;
  readonly profiles: Map<string, Profile>;
  readonly entities: Entity[];
  readonly ipsets: IpSetIndex;
  readonly nat: NatTable;
  /** Host addresses by node (Node objects and HEP expectedIPs). */
  readonly nodeAddresses = new Map<string, IpAddr[]>();
  private readonly hostAddr = new AddrMap<string>();
  private readonly endpointByAddr = new AddrMap<Entity>();
  private readonly setEntities: Entity[];
  private readonly tiers: Tier[];
  private readonly policiesByTier = new Map<string, Policy[]>();
  private readonly appliesCache = new Map<Policy, Selector>();
  private readonly ruleSelCache = new Map<EntityRule, RuleSelectors>();
  private readonly planCache = new Map<Entity, EndpointPlan>();
  /** Wildcard HEP per node (interfaceName "*"), used for forwarded traffic. */
  readonly wildcardHeps = new Map<string, Entity>();

  constructor(
    readonly cluster: Cluster,
    options: ResolveOptions = {},
  ) {
    this.options = {
      endpointToHostAction: 'Drop',
      failsafeInbound: DEFAULT_FAILSAFE_INBOUND,
      failsafeOutbound: DEFAULT_FAILSAFE_OUTBOUND,
      ...options,
    };
    this.profiles = buildProfiles(cluster);
    this.entities = buildEntities(cluster, this.profiles);
    this.ipsets = new IpSetIndex(this.entities, cluster.endpointSlices);

    for (const node of cluster.nodes) this.addHostAddrs(node.name, node.addresses);
    for (const e of this.entities) {
      if (e.kind === 'wep' || e.kind === 'hep') {
        for (const c of e.cidrs) {
          const a = { family: c.family, value: c.base };
          const prev = this.endpointByAddr.get(a);
          if (!prev || (prev.kind === 'hep' && e.kind === 'wep')) this.endpointByAddr.set(a, e);
        }
      }
      if (e.kind === 'hep') {
        this.addHostAddrs(e.node!, e.cidrs.map((c) => ({ family: c.family, value: c.base })));
        if (e.hep!.interfaceName === '*' && !this.wildcardHeps.has(e.node!)) this.wildcardHeps.set(e.node!, e);
      }
    }
    this.setEntities = this.entities.filter((e) => e.kind === 'ns' || e.kind === 'gns');
    this.nat = new NatTable(cluster, this.nodeAddresses);

    this.tiers = [...cluster.tiers].sort(tierLess);
    for (const p of cluster.policies) {
      if (p.staged) continue; // never enforced (§3.7)
      let list = this.policiesByTier.get(p.tier);
      if (!list) this.policiesByTier.set(p.tier, (list = []));
      list.push(p);
    }
    for (const list of this.policiesByTier.values()) sortPolicies(list);
    if (options.traffic) this.trafficScope = this.endpointsMet(options.traffic);
  }

  private addHostAddrs(node: string, addrs: IpAddr[]): void {
    let list = this.nodeAddresses.get(node);
    if (!list) this.nodeAddresses.set(node, (list = []));
    for (const a of addrs) {
      if (this.hostAddr.get(a) !== undefined) continue;
      this.hostAddr.set(a, node);
      list.push(a);
    }
  }

  /** Tiers in evaluation order. */
  get orderedTiers(): readonly Tier[] {
    return this.tiers;
  }

  /** Is this endpoint's data path modelled (all endpoints, or those on `--node`)? */
  isPoliced(e: Entity): boolean {
    if (e.kind !== 'wep' && e.kind !== 'hep') return false;
    if (this.trafficScope !== undefined && !this.trafficScope.has(e.id)) return false;
    return this.options.node === undefined || e.node === this.options.node;
  }

  /** Ids of the endpoints `options.traffic` meets (undefined: no traffic scope). */
  private readonly trafficScope?: ReadonlySet<number>;

  private endpointsMet(traffic: readonly TrafficKey[]): Set<number> {
    const ids = new Set<number>();
    const add = (a: IpAddr): void => {
      const e = this.endpointAt(a);
      if (e) ids.add(e.id);
    };
    for (const t of traffic) {
      add(t.src);
      add(t.dst);
      if (t.dport === undefined) continue;
      const fe = this.nat.lookup(t.dst, t.proto, t.dport);
      if (fe) for (const b of fe.backends) add(b.addr);
    }
    return ids;
  }

  isPolicedNode(node: string | undefined): boolean {
    return node !== undefined && (this.options.node === undefined || node === this.options.node);
  }

  /** The WEP/HEP owning `addr` (as `owner(addr).endpoint`, without the network-set scan). */
  endpointAt(addr: IpAddr): Entity | undefined {
    return this.endpointByAddr.get(addr);
  }

  /** The node whose host address `addr` is (as `owner(addr).hostNode`). */
  hostNodeAt(addr: IpAddr): string | undefined {
    return this.hostAddr.get(addr);
  }

  owner(addr: IpAddr): AddressOwner {
    return new LazyOwner(this, addr, this.endpointByAddr.get(addr), this.hostAddr.get(addr));
  }

  /**
   * Longest-prefix NetworkSet/GlobalNetworkSet containing `addr` (for naming
   * only). Of equally long matching CIDRs, the first in entity order, then CIDR
   * order. A lookup per distinct prefix length (longest first) in a map of the
   * CIDRs of that length, built on first use (was a scan of every CIDR per
   * address: the cost of naming flows to many distinct external addresses).
   */
  networkSetAt(addr: IpAddr): Entity | undefined {
    const index = (this.setIndex ??= buildSetIndex(this.setEntities));
    if (addr.family === 4) {
      const v = Number(addr.value);
      for (const [len, byBase] of index.v4) {
        // The base as an unsigned 32-bit number (no BigInt per length).
        const e = byBase.get(len === 0 ? 0 : ((v >>> (32 - len)) << (32 - len)) >>> 0);
        if (e) return e;
      }
      return undefined;
    }
    for (const [len, byBase] of index.v6) {
      const host = BigInt(128 - len);
      const e = byBase.get(len === 0 ? 0n : (addr.value >> host) << host);
      if (e) return e;
    }
    return undefined;
  }

  private setIndex?: SetIndex;

  appliesTo(p: Policy): Selector {
    let s = this.appliesCache.get(p);
    if (!s) this.appliesCache.set(p, (s = policyAppliesTo(p)));
    return s;
  }

  ruleSelectors(r: EntityRule, policyNamespace: string | undefined): RuleSelectors {
    let s = this.ruleSelCache.get(r);
    if (!s) this.ruleSelCache.set(r, (s = entityRuleSelectors(r, policyNamespace)));
    return s;
  }

  /**
   * Applying policies of the policed endpoints, built at once: per tier, the
   * (endpoint, policy) pairs as a CSR over the policed endpoints (typed
   * arrays, policies in tier order), so a 100k-endpoint cluster costs no
   * per-endpoint maps and a `--node` model indexes only its own endpoints.
   */
  private applying?: { slot: Int32Array; byTier: Map<string, { start: Int32Array; policy: Int32Array; normal: Uint8Array }> };

  /**
   * Per endpoint and tier, the policies whose selector matches it, in tier
   * order: the same lists as filtering every tier's policies with
   * `appliesTo(p).matches(e.labels)`, computed once per policy through a
   * label index instead of once per (endpoint, policy). An entity outside the
   * policed population (e.g. asked for by a caller) is filtered directly.
   */
  private applyingPolicies(e: Entity, tier: string): Policy[] {
    const list = this.policiesByTier.get(tier);
    if (!list) return [];
    const applying = this.applyingIndex();
    const at = this.entities[e.id] === e ? applying.slot[e.id]! : -1;
    if (at < 0) return list.filter((p) => this.appliesTo(p).matches(e.labels));
    const t = applying.byTier.get(tier)!;
    const out: Policy[] = [];
    for (let k = t.start[at]!; k < t.start[at + 1]!; k++) out.push(list[t.policy[k]!]!);
    return out;
  }

  private applyingIndex(): NonNullable<ResolvedCluster['applying']> {
    if (!this.applying) {
      const population = this.entities.filter((x) => this.isPoliced(x));
      const slot = new Int32Array(this.entities.length).fill(-1);
      population.forEach((x, i) => (slot[x.id] = i));
      // Most entities policed (a whole cluster): the population's index is
      // taken from the index over every entity (which selector sets use).
      const index =
        population.length * 2 > this.entities.length
          ? new LabelIndex(population, { index: this.ipsets.entityLabelIndex(), basePositions: Int32Array.from(population, (x) => x.id) })
          : new LabelIndex(population);
      const byTier = new Map<string, { start: Int32Array; policy: Int32Array; normal: Uint8Array }>();
      for (const [tierName, policies] of this.policiesByTier) {
        const matched = policies.map((p) => index.matchingPositions(this.appliesTo(p)));
        const start = new Int32Array(population.length + 1);
        for (const m of matched) for (let k = 0; k < m.length; k++) start[m[k]! + 1]!++;
        for (let i = 0; i < population.length; i++) start[i + 1]! += start[i]!;
        const fill = start.slice(0, population.length);
        const policy = new Int32Array(start[population.length]!);
        matched.forEach((m, pi) => {
          for (let k = 0; k < m.length; k++) policy[fill[m[k]!]!++] = pi;
        });
        // Per policy: a normal (neither preDNAT nor doNotTrack) ingress / egress policy.
        const normal = Uint8Array.from(policies, (p) => (p.preDNAT || p.doNotTrack ? 0 : (p.types.ingress ? NORMAL_INGRESS : 0) | (p.types.egress ? NORMAL_EGRESS : 0)));
        byTier.set(tierName, { start, policy, normal });
      }
      this.applying = { slot, byTier };
    }
    return this.applying;
  }

  /**
   * Rule entries the policed endpoints' tier lists hold, each distinct
   * (tier, applying policies) list counted once with both directions' rules:
   * what a compiled image grows with (every distinct list is its own tier
   * block). Lists are told apart by a 52-bit hash, so this is an estimate.
   */
  tierListRules(): number {
    const applying = this.applyingIndex();
    let total = 0;
    for (const [tierName, t] of applying.byTier) {
      const rules = Int32Array.from(this.policiesByTier.get(tierName)!, (p) => p.ingress.length + p.egress.length);
      const seen = new Set<number>();
      for (let i = 0; i + 1 < t.start.length; i++) {
        let h1 = 0x811c9dc5;
        let h2 = t.start[i + 1]! - t.start[i]!;
        let n = 0;
        for (let k = t.start[i]!; k < t.start[i + 1]!; k++) {
          const p = t.policy[k]!;
          h1 = Math.imul(h1 ^ p, 0x01000193);
          h2 = Math.imul(h2 ^ p, 0x5bd1e995) ^ (h2 >>> 15);
          n += rules[p]!;
        }
        const key = (h1 >>> 0) * 2 ** 20 + (h2 & 0xfffff);
        if (n === 0 || seen.has(key)) continue;
        seen.add(key);
        total += n;
      }
    }
    return total;
  }

  /**
   * The tiers of `planFor(e).normal[dir]` without building the plan (nor
   * caching it): `visit(tier, policies, count, positions)` per tier in
   * order, with the tier's applying policies that are neither preDNAT nor
   * doNotTrack and have type `dir`, as `policies[0, count)` (count > 0), and
   * their `tierPosition`s as `positions[0, count)` (scratch arrays, valid
   * during the call).
   */
  forEachNormalTier(
    e: Entity,
    dir: 'ingress' | 'egress',
    visit: (tier: Tier, policies: readonly Policy[], count: number, positions: Int32Array) => void,
  ): void {
    const applying = this.applyingIndex();
    const at = this.entities[e.id] === e ? applying.slot[e.id]! : -1;
    if (at < 0) {
      for (const tp of this.planFor(e).normal[dir]) {
        const positions = Int32Array.from(tp.policies, (p) => this.tierPosition(p));
        visit(tp.tier, tp.policies, tp.policies.length, positions);
      }
      return;
    }
    const scratch: Policy[] = [];
    const bit = dir === 'ingress' ? NORMAL_INGRESS : NORMAL_EGRESS;
    for (const tier of this.tiers) {
      const list = this.policiesByTier.get(tier.name);
      if (!list) continue;
      const t = applying.byTier.get(tier.name)!;
      let n = 0;
      for (let k = t.start[at]!; k < t.start[at + 1]!; k++) {
        const pi = t.policy[k]!;
        if (t.normal[pi]! & bit) {
          scratch[n] = list[pi]!;
          this.positionScratch[n++] = pi;
        }
      }
      if (n > 0) visit(tier, scratch, n, this.positionScratch);
    }
  }

  /** Scratch for forEachNormalTier's positions (one per policy at most). */
  private positionScratchArray?: Int32Array;
  private get positionScratch(): Int32Array {
    let max = 0;
    if (!this.positionScratchArray) {
      for (const list of this.policiesByTier.values()) max = Math.max(max, list.length);
      this.positionScratchArray = new Int32Array(max);
    }
    return this.positionScratchArray;
  }

  private positions?: Map<Policy, number>;

  /** A policy's position in its tier's policy list (policyLess order); -1 for a staged policy (never enforced). */
  tierPosition(p: Policy): number {
    if (!this.positions) {
      this.positions = new Map();
      for (const list of this.policiesByTier.values()) list.forEach((q, i) => this.positions!.set(q, i));
    }
    return this.positions.get(p) ?? -1;
  }

  /** Tiers → policies that apply to a policed endpoint, per direction (§3). */
  planFor(e: Entity): EndpointPlan {
    let plan = this.planCache.get(e);
    if (plan) return plan;
    const isHep = e.kind === 'hep';
    const empty = (): DirectionPlans => ({ ingress: [], egress: [] });
    plan = { entity: e, normal: empty(), untracked: empty(), preDNAT: empty(), forward: empty() };
    for (const tier of this.tiers) {
      const policies = this.applyingPolicies(e, tier.name);
      if (policies.length === 0) continue;
      const push = (dp: DirectionPlans, list: Policy[]): void => {
        const ing = list.filter((p) => p.types.ingress);
        const eg = list.filter((p) => p.types.egress);
        if (ing.length) dp.ingress.push({ tier, policies: ing });
        if (eg.length) dp.egress.push({ tier, policies: eg });
      };
      if (!isHep) {
        push(plan.normal, policies.filter((p) => !p.preDNAT && !p.doNotTrack));
      } else {
        const normal = policies.filter((p) => !p.preDNAT && !p.doNotTrack);
        push(plan.normal, normal);
        push(plan.forward, normal.filter((p) => p.applyOnForward));
        push(plan.untracked, policies.filter((p) => p.doNotTrack));
        const pre = policies.filter((p) => p.preDNAT);
        const preIngress = pre.filter((p) => p.types.ingress);
        if (preIngress.length) plan.preDNAT.ingress.push({ tier, policies: preIngress });
      }
    }
    this.planCache.set(e, plan);
    return plan;
  }
}

export function resolveCluster(cluster: Cluster, options: ResolveOptions = {}): ResolvedCluster {
  return new ResolvedCluster(cluster, options);
}

export type { Rule };
