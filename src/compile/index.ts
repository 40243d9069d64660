/**
 * compile: from the resolved model to the flat tables of the image
 * (docs/FORMAT.md). Every semantic decision is made here, so the native engine
 * stays a table interpreter:
 *
 * - every address criterion (selector sets, nets, notNets, source service
 *   addresses) becomes an *address set* bit; an address lookup yields an
 *   address class whose identity row says which sets contain the address;
 * - named-port and destination-service sets become (proto, port, set)
 *   memberships listed per address class;
 * - per-family rule filtering (SEMANTICS.md §4.4) happens here: every tier
 *   and profile block has a v4 and a v6 rule list;
 * - evaluations (workload, host, forward) become small op programs, shared by
 *   endpoints with the same plan;
 * - the flow-level facts the evaluator needs (owner endpoint kind/node,
 *   policed, host node, wildcard HEP per node, transit HEP) are class, node
 *   and config fields.
 *
 * Deterministic: everything is visited in sorted order (entity ids, tiers,
 * policyLess), sets and classes are numbered in first-use order of that walk.
 */
import type { Cidr, Family, IpAddr } from '../net/ip.js';
import { hasPorts, isIcmp } from '../net/ip.js';
import type { EntityRule, Policy, PortList, Profile, Rule } from '../model/types.js';
import type { Direction } from '../model/types.js';
import type { Entity, Frontend, ResolvedCluster, TierPlan } from '../resolve/index.js';
import { policyTraceName, ResolvedCluster as ResolvedClusterCtor } from '../resolve/index.js';
import { StringTable, writeImage, type Rec, type SectionData } from '../format/image.js';
import * as S from '../format/spec.js';
import { NONE } from '../format/spec.js';

/** Trace conventions shared with the reference evaluator's output. */
export const PROFILE_TIER = '__PROFILE__';
export const NO_MATCH = '__NO_MATCH__';

interface PortMemberKey {
  family: Family;
  value: bigint;
  proto: number;
  port: number;
}

interface AddrSetDef {
  key: string;
  members: Cidr[];
}

interface PortSetDef {
  key: string;
  members: PortMemberKey[];
}

export interface CompileStats {
  addrSets: number;
  portSets: number;
  identities: number;
  classes: number;
  v4Intervals: number;
  v6Intervals: number;
  programs: number;
  tierBlocks: number;
  matches: number;
  rules: number;
  natFrontends: number;
  natBackends: number;
  dblocks: number;
  dbitsWords: number;
}

export interface CompiledImage {
  image: Uint8Array;
  stats: CompileStats;
}

const ACTION_CODE: Record<string, number> = { allow: S.ACTION_ALLOW, deny: S.ACTION_DENY, pass: S.ACTION_PASS, log: S.ACTION_LOG };

function parsePortMemberKey(k: string): PortMemberKey {
  const [fam, value, proto, port] = k.split(':');
  return { family: Number(fam) as Family, value: BigInt(value!), proto: Number(proto), port: Number(port) };
}

/** v4: [addr, 0, 0, 0]; v6: four 32-bit words, most significant first. */
export function addrWords(family: Family, value: bigint): number[] {
  if (family === 4) return [Number(value), 0, 0, 0];
  return [3, 2, 1, 0].map((i) => Number((value >> BigInt(32 * i)) & 0xffffffffn));
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class Compiler {
  readonly strings = new StringTable();
  readonly ruleMeta: Rec[] = [];
  private readonly ruleIdByRule = new Map<Rule, number>();
  private readonly ruleIdByKey = new Map<string, number>();

  readonly addrSets: AddrSetDef[] = [];
  private readonly addrSetIds = new Map<string, number>();
  readonly portSets: PortSetDef[] = [];
  private readonly portSetIds = new Map<string, number>();

  readonly matches: Rec[] = [];
  private readonly matchCache = new Map<Rule, Map<string, number>>();
  readonly addrTests: Rec[] = [];
  readonly portLists: Rec[] = [];
  readonly portRanges: Rec[] = [];
  readonly namedRefs: number[] = [];

  readonly ruleRefs: number[] = [];
  readonly tierBlocks: Rec[] = [];
  private readonly tierBlockIds = new Map<string, number>();
  readonly tierRefs: number[] = [];
  readonly profileBlocks: Rec[] = [];
  private readonly profileBlockIds = new Map<string, number>();
  readonly profileRefs: number[] = [];
  readonly programs: Rec[] = [];
  readonly ops: Rec[] = [];
  private readonly programIds = new Map<string, number>();
  private readonly policyIds = new Map<Policy, number>();

  constructor(readonly model: ResolvedCluster) {}

  // ---- rule map -------------------------------------------------------------

  private newRule(meta: { tier: string; name: string; action: string; ruleIndex: number; kind: number; file?: string; line?: number; column?: number }): number {
    const id = this.ruleMeta.length;
    this.ruleMeta.push({
      tier: this.strings.ref(meta.tier),
      name: this.strings.ref(meta.name),
      file: this.strings.ref(meta.file ?? ''),
      line: meta.line ?? 0,
      column: meta.column ?? 0,
      ruleIndex: meta.ruleIndex,
      action: ACTION_CODE[meta.action]!,
      kind: meta.kind,
    });
    return id;
  }

  pseudoRule(tier: string, name: string, action: 'deny' | 'pass', kind: number, origin?: { file: string; line: number; column: number }): number {
    const key = `${kind}|${tier}|${name}|${action}`;
    let id = this.ruleIdByKey.get(key);
    if (id === undefined) {
      id = this.newRule({ tier, name, action, ruleIndex: -1, kind, file: origin?.file, line: origin?.line, column: origin?.column });
      this.ruleIdByKey.set(key, id);
    }
    return id;
  }

  private ruleId(rule: Rule, tier: string, name: string, inProfile: boolean): number {
    let id = this.ruleIdByRule.get(rule);
    if (id === undefined) {
      let action = rule.action.toLowerCase();
      if (inProfile && action === 'pass') action = 'deny'; // Pass in a profile acts as Deny (§3.5).
      id = this.newRule({
        tier,
        name,
        action,
        ruleIndex: rule.index,
        kind: inProfile ? S.RULE_KIND_PROFILE : S.RULE_KIND_POLICY,
        file: rule.origin.file,
        line: rule.origin.line,
        column: rule.origin.column,
      });
      this.ruleIdByRule.set(rule, id);
    }
    return id;
  }

  // ---- sets -----------------------------------------------------------------

  private addrSet(key: string, members: () => Cidr[]): number {
    let id = this.addrSetIds.get(key);
    if (id === undefined) {
      id = this.addrSets.length;
      this.addrSets.push({ key, members: members() });
      this.addrSetIds.set(key, id);
    }
    return id;
  }

  private portSet(key: string, members: () => Iterable<string>): number {
    let id = this.portSetIds.get(key);
    if (id === undefined) {
      id = this.portSets.length;
      this.portSets.push({ key, members: [...members()].map(parsePortMemberKey) });
      this.portSetIds.set(key, id);
    }
    return id;
  }

  // ---- rules ----------------------------------------------------------------

  /** Per-family rule filtering (§4.4). */
  private ruleExists(rule: Rule, f: Family): boolean {
    let version = rule.ipVersion;
    if (version === undefined) {
      if (rule.protocol === 1) version = 4;
      else if (rule.protocol === 58) version = 6;
    }
    if (version !== undefined && version !== f) return false;
    for (const list of [rule.source.nets, rule.source.notNets, rule.destination.nets, rule.destination.notNets]) {
      if (list && list.length > 0 && !list.some((c) => c.family === f)) return false;
    }
    return true;
  }

  private portList(er: EntityRule, list: PortList | undefined, rule: Rule, ns: string | undefined): number {
    if (!list || (list.ranges.length === 0 && list.named.length === 0)) return NONE;
    const rec: Rec = { rangeStart: this.portRanges.length, rangeCount: list.ranges.length, namedStart: this.namedRefs.length, namedCount: list.named.length };
    for (const r of list.ranges) this.portRanges.push({ first: r.first, last: r.last });
    const positive = this.model.ruleSelectors(er, ns).positive;
    for (const name of list.named) {
      const key = `np|${positive?.canonical ?? '<all>'}|${name}|${rule.protocol ?? '*'}`;
      this.namedRefs.push(this.portSet(key, () => this.model.ipsets.namedPortSet(positive, name, rule.protocol)));
    }
    this.portLists.push(rec);
    return this.portLists.length - 1;
  }

  /** Match record index of `rule` for family `f` (NONE when the rule does not exist for f). */
  private match(rule: Rule, f: Family, ns: string | undefined, ruleId: number, inProfile: boolean): number {
    const ctx = `${f}|${ns ?? ''}|${inProfile ? 1 : 0}`;
    let byCtx = this.matchCache.get(rule);
    if (!byCtx) this.matchCache.set(rule, (byCtx = new Map()));
    const have = byCtx.get(ctx);
    if (have !== undefined) return have;
    if (!this.ruleExists(rule, f)) {
      byCtx.set(ctx, NONE);
      return NONE;
    }
    let flags = 0;
    const rec: Rec = { ruleId };
    let action = ACTION_CODE[rule.action.toLowerCase()]!;
    if (inProfile && action === S.ACTION_PASS) action = S.ACTION_DENY;
    rec.action = action;
    if (rule.protocol !== undefined) {
      flags |= S.M_PROTO;
      rec.proto = rule.protocol;
    }
    if (rule.notProtocol !== undefined) {
      flags |= S.M_NOT_PROTO;
      rec.notProto = rule.notProtocol;
    }
    if (rule.icmp) {
      flags |= S.M_ICMP_TYPE;
      rec.icmpType = rule.icmp.type;
      if (rule.icmp.code !== undefined) {
        flags |= S.M_ICMP_CODE;
        rec.icmpCode = rule.icmp.code;
      }
    }
    if (rule.notICMP) {
      flags |= S.M_NOT_ICMP_TYPE;
      rec.notIcmpType = rule.notICMP.type;
      if (rule.notICMP.code !== undefined) {
        flags |= S.M_NOT_ICMP_CODE;
        rec.notIcmpCode = rule.notICMP.code;
      }
    }
    rec.flags = flags;
    rec.addrTestStart = this.addrTests.length;
    const test = (side: number, negate: boolean, setId: number): void => {
      this.addrTests.push({ setId, side, negate: negate ? 1 : 0 });
    };
    for (const [sideName, side] of [['source', S.SIDE_SRC], ['destination', S.SIDE_DST]] as const) {
      const er = rule[sideName];
      for (const [field, negate] of [['nets', false], ['notNets', true]] as const) {
        const list = er[field];
        if (!list || list.length === 0) continue;
        const fam = list.filter((c) => c.family === f);
        const key = `nets|${f}|${fam.map((c) => `${c.base}/${c.prefixLen}`).sort().join(',')}`;
        test(side, negate, this.addrSet(key, () => fam));
      }
      const sels = this.model.ruleSelectors(er, ns);
      if (sels.positive) {
        const sel = sels.positive;
        test(side, false, this.addrSet(`sel|${sel.canonical}`, () => this.model.ipsets.selectorSet(sel).members));
      }
      if (sels.negative) {
        const sel = sels.negative;
        test(side, true, this.addrSet(`sel|${sel.canonical}`, () => this.model.ipsets.selectorSet(sel).members));
      }
    }
    const srcSvc = rule.source.services;
    if (srcSvc) {
      test(S.SIDE_SRC, false, this.addrSet(`svc|${srcSvc.namespace}/${srcSvc.name}`, () => this.model.ipsets.serviceSet(srcSvc.namespace, srcSvc.name).addrs.members));
    }
    rec.addrTestCount = this.addrTests.length - (rec.addrTestStart as number);
    const dstSvc = rule.destination.services;
    rec.dstSvcSet = dstSvc
      ? this.portSet(`svcp|${dstSvc.namespace}/${dstSvc.name}`, () => this.model.ipsets.serviceSet(dstSvc.namespace, dstSvc.name).withPorts)
      : NONE;
    rec.srcPorts = this.portList(rule.source, rule.source.ports, rule, ns);
    rec.srcNotPorts = this.portList(rule.source, rule.source.notPorts, rule, ns);
    rec.dstPorts = this.portList(rule.destination, rule.destination.ports, rule, ns);
    rec.dstNotPorts = this.portList(rule.destination, rule.destination.notPorts, rule, ns);
    const idx = this.matches.length;
    this.matches.push(rec);
    byCtx.set(ctx, idx);
    return idx;
  }

  private pushRuleLists(items: { rule: Rule; ns: string | undefined; id: number; inProfile: boolean }[]): Rec {
    const out: Rec = {};
    for (const f of [4, 6] as const) {
      const start = this.ruleRefs.length;
      for (const it of items) {
        const m = this.match(it.rule, f, it.ns, it.id, it.inProfile);
        if (m !== NONE) this.ruleRefs.push(m);
      }
      out[`v${f}Start`] = start;
      out[`v${f}Count`] = this.ruleRefs.length - start;
    }
    return out;
  }

  // ---- tiers, profiles, programs ---------------------------------------------

  private policyId(p: Policy): number {
    let id = this.policyIds.get(p);
    if (id === undefined) this.policyIds.set(p, (id = this.policyIds.size));
    return id;
  }

  private tierBlock(tp: TierPlan, dir: Direction, endMode: 'tier' | 'pass'): number {
    const endAction = endMode === 'pass' || tp.tier.defaultAction === 'Pass' ? 'pass' : 'deny';
    const key = `${dir}|${endAction}|${tp.tier.name}|${tp.policies.map((p) => this.policyId(p)).join(',')}`;
    let id = this.tierBlockIds.get(key);
    if (id !== undefined) return id;
    const items: { rule: Rule; ns: string | undefined; id: number; inProfile: boolean }[] = [];
    for (const p of tp.policies) {
      const name = policyTraceName(p);
      for (const rule of p[dir]) items.push({ rule, ns: p.namespace, id: this.ruleId(rule, tp.tier.name, name, false), inProfile: false });
    }
    const rec = this.pushRuleLists(items);
    const last = tp.policies[tp.policies.length - 1]!;
    rec.endRule = this.pseudoRule(tp.tier.name, policyTraceName(last), endAction, S.RULE_KIND_END_OF_TIER, last.origin);
    rec.endAction = endAction === 'pass' ? S.ACTION_PASS : S.ACTION_DENY;
    id = this.tierBlocks.length;
    this.tierBlocks.push(rec);
    this.tierBlockIds.set(key, id);
    return id;
  }

  private tierOp(opcode: number, arg: number, tiers: TierPlan[], dir: Direction, endMode: 'tier' | 'pass'): Rec {
    const ids = tiers.map((tp) => this.tierBlock(tp, dir, endMode));
    return { opcode, arg, refs: ids };
  }

  private profileBlock(name: string, dir: Direction): number {
    const key = `${dir}|${name}`;
    let id = this.profileBlockIds.get(key);
    if (id !== undefined) return id;
    const profile: Profile | undefined = this.model.profiles.get(name);
    let rec: Rec;
    if (!profile) {
      rec = { v4Start: 0, v4Count: 0, v6Start: 0, v6Count: 0, missingRule: this.pseudoRule(PROFILE_TIER, name, 'deny', S.RULE_KIND_MISSING_PROFILE) };
    } else {
      rec = this.pushRuleLists(profile[dir].map((rule) => ({ rule, ns: undefined, id: this.ruleId(rule, PROFILE_TIER, name, true), inProfile: true })));
      rec.missingRule = NONE;
    }
    id = this.profileBlocks.length;
    this.profileBlocks.push(rec);
    this.profileBlockIds.set(key, id);
    return id;
  }

  private program(ops: Rec[]): number {
    const key = JSON.stringify(ops);
    let id = this.programIds.get(key);
    if (id !== undefined) return id;
    id = this.programs.length;
    this.programs.push({ opStart: this.ops.length, opCount: ops.length });
    for (const op of ops) {
      const refs = op.refs as number[] | undefined;
      let start = 0;
      let count = 0;
      if (refs) {
        const target = op.opcode === S.OP_PROFILES ? this.profileRefs : this.tierRefs;
        start = target.length;
        count = refs.length;
        target.push(...refs);
      }
      this.ops.push({ opcode: op.opcode, arg: op.arg, start, count });
    }
    this.programIds.set(key, id);
    return id;
  }

  private profilesOp(e: Entity, dir: Direction): Rec {
    return { opcode: S.OP_PROFILES, arg: 0, refs: e.profiles.map((n) => this.profileBlock(n, dir)) };
  }

  private prePolicyOps(e: Entity, dir: Direction): Rec[] {
    const plan = this.model.planFor(e);
    const ops: Rec[] = [];
    if (plan.untracked[dir].length) ops.push(this.tierOp(S.OP_TIERS, S.TIERS_UNTRACKED, plan.untracked[dir], dir, 'pass'));
    if (dir === 'ingress' && plan.preDNAT.ingress.length) ops.push(this.tierOp(S.OP_TIERS, S.TIERS_PREDNAT, plan.preDNAT.ingress, dir, 'pass'));
    return ops;
  }

  workloadProgram(e: Entity, dir: Direction): number {
    const plan = this.model.planFor(e);
    const ops: Rec[] = [];
    if (plan.normal[dir].length) ops.push(this.tierOp(S.OP_TIERS, S.TIERS_NORMAL, plan.normal[dir], dir, 'tier'));
    ops.push(this.profilesOp(e, dir));
    return this.program(ops);
  }

  hostProgram(e: Entity, dir: Direction): number {
    const plan = this.model.planFor(e);
    const ops: Rec[] = [{ opcode: S.OP_FAILSAFE, arg: dir === 'ingress' ? S.DIR_INGRESS : S.DIR_EGRESS }];
    ops.push(...this.prePolicyOps(e, dir));
    if (plan.normal[dir].length) ops.push(this.tierOp(S.OP_TIERS, S.TIERS_NORMAL, plan.normal[dir], dir, 'tier'));
    ops.push(this.profilesOp(e, dir));
    return this.program(ops);
  }

  forwardProgram(e: Entity, dir: Direction): number {
    const plan = this.model.planFor(e);
    const ops = this.prePolicyOps(e, dir);
    ops.push(this.tierOp(S.OP_FORWARD_TIERS, 0, plan.forward[dir], dir, 'tier'));
    return this.program(ops);
  }
}

interface ExactProps {
  epKind: number;
  epNode: number;
  hostNode: number;
  policed: boolean;
  egressProg: number;
  ingressProg: number;
  /** (port set id, proto, port) memberships of this exact address. */
  ports: [number, number, number][];
}

/** Compiles a resolved cluster into image bytes. */
export function compileImage(model: ResolvedCluster): CompiledImage {
  const c = new Compiler(model);

  // 1. Programs of every policed endpoint (entity id order).
  const progs = new Map<Entity, { egress: number; ingress: number }>();
  for (const e of model.entities) {
    if (!model.isPoliced(e)) continue;
    if (e.kind === 'wep') progs.set(e, { egress: c.workloadProgram(e, 'egress'), ingress: c.workloadProgram(e, 'ingress') });
    else if (e.kind === 'hep') progs.set(e, { egress: c.hostProgram(e, 'egress'), ingress: c.hostProgram(e, 'ingress') });
  }

  // 2. Nodes (sorted names) and their wildcard-HEP forward programs.
  const nodeNames = new Set<string>();
  for (const e of model.entities) if (e.node !== undefined) nodeNames.add(e.node);
  for (const n of model.nodeAddresses.keys()) nodeNames.add(n);
  for (const n of model.wildcardHeps.keys()) nodeNames.add(n);
  const nodes = [...nodeNames].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const nodeId = new Map(nodes.map((n, i) => [n, i]));
  const nodeRecs: Rec[] = nodes.map((n) => {
    const fwd = model.isPolicedNode(n) ? model.wildcardHeps.get(n) : undefined;
    return fwd
      ? { fwdEgressProg: c.forwardProgram(fwd, 'egress'), fwdIngressProg: c.forwardProgram(fwd, 'ingress') }
      : { fwdEgressProg: NONE, fwdIngressProg: NONE };
  });
  let transit: Entity | undefined;
  if (model.options.node !== undefined) transit = model.wildcardHeps.get(model.options.node);
  else if (model.wildcardHeps.size === 1) transit = [...model.wildcardHeps.values()][0];
  const transitIngressProg = transit ? c.forwardProgram(transit, 'ingress') : NONE;
  const transitEgressProg = transit ? c.forwardProgram(transit, 'egress') : NONE;
  const noProfileMatchRule = c.pseudoRule(PROFILE_TIER, NO_MATCH, 'deny', S.RULE_KIND_NO_PROFILE_MATCH);

  // 3. Exact addresses: owners (endpoints, host addresses) and port-set members.
  //    Keyed by the u32 value for IPv4 and the decimal string for IPv6 (no
  //    BigInt work on the IPv4 path).
  const exact: Map<number | string, ExactProps>[] = [];
  const exactFor = (f: Family): Map<number | string, ExactProps> => (exact[f] ??= new Map());
  const exactKey = (f: Family, v: bigint): number | string => (f === 4 ? Number(v) : v.toString());
  const blank = (): ExactProps => ({ epKind: S.EP_NONE, epNode: NONE, hostNode: NONE, policed: false, egressProg: NONE, ingressProg: NONE, ports: [] });
  const ownerAddrs: IpAddr[] = [];
  for (const e of model.entities) if (e.kind === 'wep' || e.kind === 'hep') for (const cidr of e.cidrs) ownerAddrs.push({ family: cidr.family, value: cidr.base });
  for (const addrs of model.nodeAddresses.values()) ownerAddrs.push(...addrs);
  for (const a of ownerAddrs) {
    const m = exactFor(a.family);
    const k = exactKey(a.family, a.value);
    if (m.has(k)) continue;
    const ep = model.endpointAt(a);
    const hostNode = model.hostNodeAt(a);
    const p = blank();
    if (ep && (ep.kind === 'wep' || ep.kind === 'hep')) {
      p.epKind = ep.kind === 'wep' ? S.EP_WEP : S.EP_HEP;
      p.epNode = ep.node !== undefined ? nodeId.get(ep.node)! : NONE;
      const pr = progs.get(ep);
      if (pr) {
        p.policed = true;
        p.egressProg = pr.egress;
        p.ingressProg = pr.ingress;
      }
    }
    if (hostNode !== undefined) p.hostNode = nodeId.get(hostNode)!;
    m.set(k, p);
  }
  c.portSets.forEach((ps, setId) => {
    for (const mem of ps.members) {
      const m = exactFor(mem.family);
      const k = exactKey(mem.family, mem.value);
      let p = m.get(k);
      if (!p) m.set(k, (p = blank()));
      p.ports.push([setId, mem.proto, mem.port]);
    }
  });

  // 4. Address classes per family: sweep over every set member's range.
  const identityIds = new Map<string, number>();
  const identityRows: number[][] = [];
  const classIds = new Map<string, number>();
  const classRecs: Rec[] = [];
  const portMembers: Rec[] = [];
  const identityOf = (sets: number[]): number => {
    const key = sets.join(',');
    let id = identityIds.get(key);
    if (id === undefined) {
      id = identityRows.length;
      identityRows.push(sets);
      identityIds.set(key, id);
    }
    return id;
  };
  identityOf([]);
  const classOf = (identity: number, p: ExactProps | undefined): number => {
    let ports: [number, number, number][] = [];
    if (p && p.ports.length) {
      ports = [...p.ports].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
      ports = ports.filter((m, i) => i === 0 || m[0] !== ports[i - 1]![0] || m[1] !== ports[i - 1]![1] || m[2] !== ports[i - 1]![2]);
    }
    const key = `${identity}|${p ? `${p.epKind},${p.epNode},${p.hostNode},${p.policed ? 1 : 0},${p.egressProg},${p.ingressProg}` : '-'}|${ports.join(';')}`;
    let id = classIds.get(key);
    if (id !== undefined) return id;
    id = classRecs.length;
    const portStart = portMembers.length;
    for (const [setId, proto, port] of ports) portMembers.push({ setId, proto, port });
    classRecs.push({
      identity,
      portStart,
      portCount: ports.length,
      epNode: p?.epNode ?? NONE,
      hostNode: p?.hostNode ?? NONE,
      egressProg: p?.egressProg ?? NONE,
      ingressProg: p?.ingressProg ?? NONE,
      epKind: p?.epKind ?? S.EP_NONE,
      flags: p?.policed ? S.CLASS_POLICED : 0,
    });
    classIds.set(key, id);
    return id;
  };
  classOf(0, undefined);

  /**
   * Interval sweep. Events (position, set, ±1) sorted by position; the active
   * set counts give each interval's identity. IPv4 positions are plain
   * numbers (exact up to 2^53); IPv6 uses BigInt (few members in practice).
   */
  const sweep = <P extends number | bigint>(f: Family, events: { pos: P; set: number; d: number }[], cmpPos: (a: P, b: P) => number, keyOf: (p: P) => number | string): { starts: P[]; classes: number[] } => {
    events.sort((a, b) => cmpPos(a.pos, b.pos));
    const ex = exact[f] ?? new Map<number | string, ExactProps>();
    const count = new Int32Array(c.addrSets.length);
    const active = new Set<number>();
    const starts: P[] = [];
    const classes: number[] = [];
    let i = 0;
    let identity = -1;
    while (i < events.length) {
      const pos = events[i]!.pos;
      let changed = identity < 0;
      for (; i < events.length && cmpPos(events[i]!.pos, pos) === 0; i++) {
        const ev = events[i]!;
        if (ev.set < 0) continue;
        const n = (count[ev.set]! += ev.d);
        if (n === 0) active.delete(ev.set);
        else active.add(ev.set);
        changed = true;
      }
      // The active sets only change at set events: keep the identity otherwise.
      if (changed) identity = identityOf([...active].sort((a, b) => a - b));
      const cls = classOf(identity, ex.get(keyOf(pos)));
      if (classes.length > 0 && classes[classes.length - 1] === cls) continue;
      starts.push(pos);
      classes.push(cls);
    }
    return { starts, classes };
  };
  const v4Events: { pos: number; set: number; d: number }[] = [{ pos: 0, set: -1, d: 0 }];
  const v6Events: { pos: bigint; set: number; d: number }[] = [{ pos: 0n, set: -1, d: 0 }];
  const TOP6 = 1n << 128n;
  c.addrSets.forEach((s, id) => {
    for (const cidr of s.members) {
      if (cidr.family === 4) {
        const base = Number(cidr.base);
        const end = base + 2 ** (32 - cidr.prefixLen);
        v4Events.push({ pos: base, set: id, d: 1 });
        if (end < 2 ** 32) v4Events.push({ pos: end, set: id, d: -1 });
      } else {
        const end = cidr.base + (1n << BigInt(128 - cidr.prefixLen));
        v6Events.push({ pos: cidr.base, set: id, d: 1 });
        if (end < TOP6) v6Events.push({ pos: end, set: id, d: -1 });
      }
    }
  });
  for (const k of (exact[4] ?? new Map()).keys()) {
    const v = k as number;
    v4Events.push({ pos: v, set: -1, d: 0 });
    if (v + 1 < 2 ** 32) v4Events.push({ pos: v + 1, set: -1, d: 0 });
  }
  for (const k of (exact[6] ?? new Map()).keys()) {
    const v = BigInt(k as string);
    v6Events.push({ pos: v, set: -1, d: 0 });
    if (v + 1n < TOP6) v6Events.push({ pos: v + 1n, set: -1, d: 0 });
  }
  const v4 = sweep<number>(4, v4Events, (a, b) => a - b, (p) => p);
  const v6 = sweep<bigint>(6, v6Events, cmpBig, (p) => p.toString());

  // Sparse identity rows: each identity's sorted address-set ids.
  const identitySets: number[] = [];
  const identityRowRecs: Rec[] = identityRows.map((row) => {
    const rec = { setStart: identitySets.length, setCount: row.length };
    for (const x of row) identitySets.push(x);
    return rec;
  });

  const decision = buildDecision(c);

  // 5. NAT: every exact frontend key of the model's NAT table, sorted, and its
  //    NodePort table (applies to every node address, after an exact miss);
  //    frontends of one service port and family share one backend list.
  const backends: Rec[] = [];
  const backendStart = new Map<unknown, Map<number, number>>();
  const natEntries = [...model.nat.entries()];
  const natAddr = natEntries.map((e) => addrWords(e.addr.family, e.addr.value));
  const natOrder = natEntries.map((_e, i) => i);
  natOrder.sort((i, j) => {
    const a = natEntries[i]!;
    const b = natEntries[j]!;
    if (a.addr.family !== b.addr.family) return a.addr.family - b.addr.family;
    const wa = natAddr[i]!;
    const wb = natAddr[j]!;
    for (let k = 0; k < 4; k++) if (wa[k] !== wb[k]) return wa[k]! - wb[k]!;
    return a.proto - b.proto || a.port - b.port;
  });
  const backendsOf = (frontend: Frontend, family: Family): { backendStart: number; backendCount: number } => {
    const bl = frontend.backends;
    let byFam = backendStart.get(frontend.servicePort);
    if (!byFam) backendStart.set(frontend.servicePort, (byFam = new Map()));
    let start = byFam.get(family);
    if (start === undefined) {
      start = backends.length;
      for (const b of bl) backends.push({ addr: addrWords(b.addr.family, b.addr.value), port: b.port, family: b.addr.family });
      byFam.set(family, start);
    }
    return { backendStart: bl.length ? start : 0, backendCount: bl.length };
  };
  const feRecs: Rec[] = natOrder.map((i) => {
    const fe = natEntries[i]!;
    return { addr: natAddr[i]!, family: fe.addr.family, proto: fe.proto, port: fe.port, ...backendsOf(fe.frontend, fe.addr.family) };
  });
  // NodePorts: one record per (family with node addresses, proto, port), sorted.
  const nodePortRecs: Rec[] = [...model.nat.nodePortEntries()]
    .sort((a, b) => a.family - b.family || a.proto - b.proto || a.port - b.port)
    .map((np) => ({ family: np.family, proto: np.proto, port: np.port, ...backendsOf(np.frontend, np.family) }));

  // 6. Failsafe ports and protocol flags.
  const failsafe: Rec[] = [
    ...model.options.failsafeInbound.map((f) => ({ dir: S.DIR_INGRESS, proto: f.protocol, port: f.port })),
    ...model.options.failsafeOutbound.map((f) => ({ dir: S.DIR_EGRESS, proto: f.protocol, port: f.port })),
  ];
  const protoFlags = new Uint8Array(256);
  for (let p = 0; p < 256; p++) protoFlags[p] = (hasPorts(p) ? S.PROTO_HAS_PORTS : 0) | (isIcmp(p) ? S.PROTO_IS_ICMP : 0);

  const e2h = model.options.endpointToHostAction;
  const config: Rec = {
    identitySetCount: identitySets.length,
    addrSetCount: c.addrSets.length,
    portSetCount: c.portSets.length,
    transitIngressProg,
    transitEgressProg,
    noProfileMatchRule,
    endpointToHostAction: e2h === 'Drop' ? S.E2H_DROP : e2h === 'Accept' ? S.E2H_ACCEPT : S.E2H_RETURN,
    identityCount: identityRows.length,
    nodeCount: nodes.length,
  };

  const data: SectionData = {
    CONFIG: [config],
    PROTO_FLAGS: protoFlags,
    V4_STARTS: v4.starts,
    V4_CLASS: v4.classes,
    V6_STARTS: v6.starts.map((s) => ({ w: addrWords(6, s) })),
    V6_CLASS: v6.classes,
    CLASSES: classRecs,
    IDENTITY_ROWS: identityRowRecs,
    PORT_MEMBERS: portMembers,
    NODES: nodeRecs,
    PROGRAMS: c.programs,
    OPS: c.ops,
    TIER_BLOCKS: c.tierBlocks,
    PROFILE_BLOCKS: c.profileBlocks,
    TIER_REFS: c.tierRefs,
    PROFILE_REFS: c.profileRefs,
    RULE_REFS: c.ruleRefs,
    MATCHES: c.matches,
    ADDR_TESTS: c.addrTests,
    PORT_LISTS: c.portLists,
    PORT_RANGES: c.portRanges,
    NAMED_REFS: c.namedRefs,
    FAILSAFE: failsafe,
    NAT_FRONTENDS: feRecs,
    NAT_BACKENDS: backends,
    NAT_NODEPORTS: nodePortRecs,
    RULE_META: c.ruleMeta,
    STRINGS: c.strings.bytes(),
    IDENTITY_SETS: identitySets,
    DBLOCKS: decision.blocks,
    DRULES: decision.rules,
    DSETS: decision.sets,
    DLISTS: decision.lists,
    DPORTS: decision.ports,
    DBITS: decision.bits,
  };
  return {
    image: writeImage(data),
    stats: {
      addrSets: c.addrSets.length,
      portSets: c.portSets.length,
      identities: identityRows.length,
      classes: classRecs.length,
      v4Intervals: v4.starts.length,
      v6Intervals: v6.starts.length,
      programs: c.programs.length,
      tierBlocks: c.tierBlocks.length,
      matches: c.matches.length,
      rules: c.ruleMeta.length,
      natFrontends: feRecs.length,
      natBackends: backends.length,
      dblocks: decision.blocks.length,
      dbitsWords: decision.bits.length,
    },
  };
}

/** Library entry for `netverdict compile`: resolve (optionally for one node) and compile. */
export function compileCluster(cluster: import('../model/types.js').Cluster, options: import('../resolve/index.js').ResolveOptions = {}): CompiledImage {
  return compileImage(new ResolvedClusterCtor(cluster, options));
}

// ---- decision structure (docs/FORMAT.md §4 "Decision blocks") --------------

interface DecisionTables {
  blocks: Rec[];
  rules: Rec[];
  sets: Rec[];
  lists: number[];
  ports: Rec[];
  bits: bigint[];
}

const PORT_PROTOS: number[] = [];
for (let p = 0; p < 256; p++) if (hasPorts(p)) PORT_PROTOS.push(p);

/**
 * One decision block per tier block and family: the family's rule list
 * without Log rules (a matching Log rule never decides nor records), and per
 * field a bitmap of the rules that field lets through:
 *  - source / destination address: the rules with no single-set test on that
 *    side pass by default (`base` row); a rule with exactly one test (set s,
 *    positive or negative) is listed under s, and the engine sets (positive)
 *    or clears (negative) its bit when the address's identity contains s;
 *  - source port and destination (protocol, port): interval tables keyed by
 *    proto << 16 | port (port 0 for protocols without ports), each interval
 *    with the row of rules whose protocol and port-range criteria hold there.
 * Criteria that no field captures exactly (named ports, service sets, ICMP
 * type/code, several address tests on one side) are left to a full check of
 * the candidate (`verify`). The deciding rule is the first candidate that
 * passes its check — the same rule the linear walk finds first.
 */
function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function buildDecision(c: Compiler): DecisionTables {
  const out: DecisionTables = { blocks: [], rules: [], sets: [], lists: [], ports: [], bits: [] };
  const rowIds = new Map<string, number>();
  const row = (words: Uint32Array): number => {
    const key = words.join(',');
    let at = rowIds.get(key);
    if (at === undefined) {
      at = out.bits.length;
      for (let w = 0; w < words.length; w += 2) out.bits.push((BigInt(words[w + 1]!) << 32n) | BigInt(words[w]!));
      rowIds.set(key, at);
    }
    return at;
  };
  const rangesOf = (listIdx: number): { ranges: [number, number][]; named: boolean } => {
    const l = c.portLists[listIdx]!;
    const ranges: [number, number][] = [];
    for (let i = 0; i < (l.rangeCount as number); i++) {
      const r = c.portRanges[(l.rangeStart as number) + i]!;
      ranges.push([r.first as number, r.last as number]);
    }
    return { ranges, named: (l.namedCount as number) > 0 };
  };
  const inRanges = (ranges: [number, number][], port: number): boolean => ranges.some(([a, b]) => port >= a && port <= b);

  for (const tb of c.tierBlocks) {
    for (const f of [4, 6] as const) {
      const refStart = tb[`v${f}Start`] as number;
      const refCount = tb[`v${f}Count`] as number;
      const ms: number[] = [];
      for (let i = 0; i < refCount; i++) {
        const m = c.ruleRefs[refStart + i]!;
        if (c.matches[m]!.action !== S.ACTION_LOG) ms.push(m);
      }
      const n = ms.length;
      const words = Math.ceil(n / 64);
      const halves = words * 2;
      const ruleStart = out.rules.length;
      const base = [new Uint32Array(halves), new Uint32Array(halves)];
      const bySet = [new Map<number, { pos: number[]; neg: number[] }>(), new Map<number, { pos: number[]; neg: number[] }>()];
      const sportLists: { ranges: [number, number][]; not: boolean; idx: number }[] = [];
      const dportInfo: { idx: number; rec: Rec; ports?: [number, number][]; notPorts?: [number, number][] }[] = [];
      const setBit = (a: Uint32Array, i: number): void => {
        a[i >> 5]! |= 1 << (i & 31);
      };
      ms.forEach((m, i) => {
        const rec = c.matches[m]!;
        let verify = false;
        const flags = rec.flags as number;
        if (flags & (S.M_ICMP_TYPE | S.M_NOT_ICMP_TYPE)) verify = true;
        if (rec.dstSvcSet !== NONE) verify = true;
        for (const side of [S.SIDE_SRC, S.SIDE_DST]) {
          const tests: Rec[] = [];
          for (let k = 0; k < (rec.addrTestCount as number); k++) {
            const t = c.addrTests[(rec.addrTestStart as number) + k]!;
            if (t.side === side) tests.push(t);
          }
          if (tests.length === 1) {
            const t = tests[0]!;
            let e = bySet[side]!.get(t.setId as number);
            if (!e) bySet[side]!.set(t.setId as number, (e = { pos: [], neg: [] }));
            if (t.negate) {
              e.neg.push(i);
              setBit(base[side]!, i);
            } else e.pos.push(i);
          } else {
            setBit(base[side]!, i);
            if (tests.length > 1) verify = true;
          }
        }
        const dp: (typeof dportInfo)[number] = { idx: i, rec };
        for (const [field, not] of [['srcPorts', false], ['srcNotPorts', true]] as const) {
          if (rec[field] === NONE) continue;
          const r = rangesOf(rec[field] as number);
          if (r.named) verify = true;
          // A `ports` list with named ports: any port may hit (checked by verify).
          sportLists.push({ ranges: r.named && !not ? [[0, 65535]] : r.ranges, not, idx: i });
        }
        if (rec.dstPorts !== NONE) {
          const r = rangesOf(rec.dstPorts as number);
          if (r.named) verify = true;
          dp.ports = r.named ? [[0, 65535]] : r.ranges;
        }
        if (rec.dstNotPorts !== NONE) {
          const r = rangesOf(rec.dstNotPorts as number);
          if (r.named) verify = true;
          dp.notPorts = r.ranges;
        }
        dportInfo.push(dp);
        out.rules.push({ ruleId: rec.ruleId as number, matchIdx: m, action: rec.action as number, verify: verify ? 1 : 0 });
      });
      // Address fields.
      const sideSets = [S.SIDE_SRC, S.SIDE_DST].map((side) => {
        const start = out.sets.length;
        const ids = [...bySet[side]!.keys()].sort((a, b) => a - b);
        for (const id of ids) {
          const e = bySet[side]!.get(id)!;
          out.sets.push({ setId: id, listStart: out.lists.length, posCount: e.pos.length, negCount: e.neg.length });
          out.lists.push(...e.pos, ...e.neg);
        }
        return { start, count: ids.length };
      });
      // Port fields: interval tables over proto << 16 | port.
      const table = (keys: Set<number>, evalAt: (proto: number, port: number, hasP: boolean) => Uint32Array): { start: number; count: number } => {
        const sorted = [...keys].sort((a, b) => a - b);
        const start = out.ports.length;
        let prevWords: Uint32Array | undefined;
        for (const k of sorted) {
          const proto = k >>> 16;
          const hasP = hasPorts(proto);
          const words = evalAt(proto, hasP ? k & 0xffff : 0, hasP);
          // Same words as the previous interval: same row (rows are deduplicated by content).
          if (prevWords && sameWords(words, prevWords)) continue;
          out.ports.push({ key: k, row: row(words) });
          prevWords = words;
        }
        return { start, count: out.ports.length - start };
      };
      const protoBounds = (keys: Set<number>, p: number): void => {
        keys.add(p << 16);
        if (p < 255) keys.add((p + 1) << 16);
      };
      const rangeBounds = (keys: Set<number>, ranges: [number, number][]): void => {
        for (const q of PORT_PROTOS) {
          for (const [a, b] of ranges) {
            keys.add((q << 16) | a);
            if (b < 65535) keys.add((q << 16) | (b + 1));
          }
        }
      };
      const sKeys = new Set<number>([0]);
      const dKeys = new Set<number>([0]);
      for (const q of PORT_PROTOS) {
        protoBounds(sKeys, q);
        protoBounds(dKeys, q);
      }
      for (const l of sportLists) rangeBounds(sKeys, l.ranges);
      for (const d of dportInfo) {
        const fl = d.rec.flags as number;
        if (fl & S.M_PROTO) protoBounds(dKeys, d.rec.proto as number);
        if (fl & S.M_NOT_PROTO) protoBounds(dKeys, d.rec.notProto as number);
        if (d.ports) rangeBounds(dKeys, d.ports);
        if (d.notPorts) rangeBounds(dKeys, d.notPorts);
      }
      const sport = table(sKeys, (_proto, port, hasP) => {
        const r = new Uint32Array(halves);
        for (let i = 0; i < n; i++) setBit(r, i);
        for (const l of sportLists) {
          const hit = hasP && inRanges(l.ranges, port);
          if (l.not ? hit : !hit) r[l.idx >> 5]! &= ~(1 << (l.idx & 31));
        }
        return r;
      });
      const dport = table(dKeys, (proto, port, hasP) => {
        const r = new Uint32Array(halves);
        for (const d of dportInfo) {
          const fl = d.rec.flags as number;
          if (fl & S.M_PROTO && proto !== d.rec.proto) continue;
          if (fl & S.M_NOT_PROTO && proto === d.rec.notProto) continue;
          if (d.ports && !(hasP && inRanges(d.ports, port))) continue;
          if (d.notPorts && hasP && inRanges(d.notPorts, port)) continue;
          setBit(r, d.idx);
        }
        return r;
      });
      out.blocks.push({
        ruleStart,
        ruleCount: n,
        words,
        srcBase: row(base[0]!),
        dstBase: row(base[1]!),
        srcSetStart: sideSets[0]!.start,
        srcSetCount: sideSets[0]!.count,
        dstSetStart: sideSets[1]!.start,
        dstSetCount: sideSets[1]!.count,
        sportStart: sport.start,
        sportCount: sport.count,
        dportStart: dport.start,
        dportCount: dport.count,
      });
    }
  }
  return out;
}
