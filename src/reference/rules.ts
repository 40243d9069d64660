/**
 * Rule matching, criterion by criterion, in the order Calico's BPF program
 * checks them (SEMANTICS.md §4, §7.3). Slow and obvious on purpose: this is
 * the oracle the native engine is diffed against. One function serves both
 * `explain` (every criterion recorded with a reason) and plain evaluation
 * (stops at the first failure, builds no strings, allocates no closures).
 */
import type { Cidr, Family, IpAddr } from '../net/ip.js';
import { cidrContains, formatCidr, formatIp, protocolName } from '../net/ip.js';
import type { EntityRule, IcmpMatch, PortList, Rule } from '../model/types.js';
import type { ResolvedCluster } from '../resolve/index.js';
import { addrPortKey } from '../resolve/ipsets.js';

/** The packet as policy sees it: post-DNAT destination. */
export interface PolicyPacket {
  family: Family;
  src: IpAddr;
  dst: IpAddr;
  /** Destination before NAT (pre-DNAT policy matches this). */
  preDst: IpAddr;
  preDport?: number;
  proto: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
}

export interface CriterionResult {
  criterion: string;
  ok: boolean;
  detail: string;
}

export interface RuleMatch {
  matched: boolean;
  /** False when the rule does not exist for the packet's IP family (§4.4). */
  appliesToFamily: boolean;
  /** Every criterion checked, in order, up to and including the first failure (explain only). */
  criteria: CriterionResult[];
}

const NO_CRITERIA: CriterionResult[] = [];
const MATCH: RuleMatch = Object.freeze({ matched: true, appliesToFamily: true, criteria: NO_CRITERIA }) as RuleMatch;
const NO_MATCH: RuleMatch = Object.freeze({ matched: false, appliesToFamily: true, criteria: NO_CRITERIA }) as RuleMatch;
const NOT_FOR_FAMILY: RuleMatch = Object.freeze({ matched: false, appliesToFamily: false, criteria: NO_CRITERIA }) as RuleMatch;

/** Per-family rule filtering (§4.4): does this rule exist in the family's program? */
export function ruleAppliesToFamily(rule: Rule, f: Family): boolean {
  let version = rule.ipVersion;
  if (version === undefined) {
    if (rule.protocol === 1) version = 4;
    else if (rule.protocol === 58) version = 6;
  }
  if (version !== undefined && version !== f) return false;
  if (!listHasFamily(rule.source.nets, f)) return false;
  if (!listHasFamily(rule.source.notNets, f)) return false;
  if (!listHasFamily(rule.destination.nets, f)) return false;
  if (!listHasFamily(rule.destination.notNets, f)) return false;
  return true;
}

/** A non-empty CIDR list without any CIDR of the family drops the rule for that family. */
function listHasFamily(list: Cidr[] | undefined, f: Family): boolean {
  if (!list || list.length === 0) return true;
  for (const c of list) if (c.family === f) return true;
  return false;
}

function firstContaining(list: Cidr[], addr: IpAddr): Cidr | undefined {
  for (const c of list) if (c.family === addr.family && cidrContains(c, addr)) return c;
  return undefined;
}

function icmpMatches(m: IcmpMatch, pkt: PolicyPacket): boolean {
  if (pkt.icmpType === undefined || pkt.icmpType !== m.type) return false;
  if (m.code !== undefined && pkt.icmpCode !== m.code) return false;
  return true;
}

/** `TCP (6)`, or just the number for protocols without a name. */
function protoText(n: number): string {
  const name = protocolName(n);
  return name === String(n) ? name : `${name.toUpperCase()} (${n})`;
}

function describePorts(p: PortList): string {
  const parts = p.ranges.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}:${r.last}`));
  return [...parts, ...p.named].join(',');
}

function familyList(list: Cidr[], f: Family): string {
  return list.filter((c) => c.family === f).map(formatCidr).join(', ');
}

/** Is `port` in the list (numeric ranges, or a named port of the endpoint owning `addr`)? */
function portInList(
  model: ResolvedCluster,
  er: EntityRule,
  policyNamespace: string | undefined,
  list: PortList,
  rule: Rule,
  addr: IpAddr,
  proto: number,
  port: number | undefined,
): boolean {
  if (port === undefined) return false;
  for (const r of list.ranges) if (port >= r.first && port <= r.last) return true;
  if (list.named.length === 0) return false;
  const positive = model.ruleSelectors(er, policyNamespace).positive;
  const key = addrPortKey(addr, proto, port);
  for (const name of list.named) {
    if (model.ipsets.namedPortSet(positive, name, rule.protocol).has(key)) return true;
  }
  return false;
}

function failed(explain: boolean, criteria: CriterionResult[]): RuleMatch {
  return explain ? { matched: false, appliesToFamily: true, criteria } : NO_MATCH;
}

const nonEmpty = (l: PortList | undefined): l is PortList => l !== undefined && (l.ranges.length > 0 || l.named.length > 0);

/**
 * Evaluates one rule. With `explain` false it stops at the first failing
 * criterion and keeps no details; with `explain` true it records every
 * criterion checked.
 */
export function matchRule(
  model: ResolvedCluster,
  rule: Rule,
  policyNamespace: string | undefined,
  pkt: PolicyPacket,
  explain = false,
): RuleMatch {
  const f = pkt.family;
  if (!ruleAppliesToFamily(rule, f)) {
    if (!explain) return NOT_FOR_FAMILY;
    return { matched: false, appliesToFamily: false, criteria: [{ criterion: 'ipVersion', ok: false, detail: `rule does not exist for IPv${f}` }] };
  }
  const criteria: CriterionResult[] = explain ? [] : NO_CRITERIA;

  // Protocol.
  if (rule.protocol !== undefined) {
    const ok = pkt.proto === rule.protocol;
    if (explain) criteria.push({ criterion: 'protocol', ok, detail: `packet protocol ${protoText(pkt.proto)} ${ok ? '==' : '!='} ${protoText(rule.protocol)}` });
    if (!ok) return failed(explain, criteria);
  }
  if (rule.notProtocol !== undefined) {
    const ok = pkt.proto !== rule.notProtocol;
    if (explain) criteria.push({ criterion: 'notProtocol', ok, detail: `packet protocol ${protoText(pkt.proto)} ${ok ? '!=' : '=='} ${protoText(rule.notProtocol)}` });
    if (!ok) return failed(explain, criteria);
  }

  // CIDRs: source, then destination.
  for (let side = 0; side < 2; side++) {
    const name = side === 0 ? 'source' : 'destination';
    const er = side === 0 ? rule.source : rule.destination;
    const addr = side === 0 ? pkt.src : pkt.dst;
    if (er.nets && er.nets.length > 0) {
      const hit = firstContaining(er.nets, addr);
      if (explain) {
        criteria.push({
          criterion: `${name}.nets`,
          ok: hit !== undefined,
          detail: hit ? `${formatIp(addr)} in ${formatCidr(hit)}` : `${formatIp(addr)} not in [${familyList(er.nets, f)}]`,
        });
      }
      if (!hit) return failed(explain, criteria);
    }
    if (er.notNets && er.notNets.length > 0) {
      const hit = firstContaining(er.notNets, addr);
      if (explain) {
        criteria.push({
          criterion: `${name}.notNets`,
          ok: hit === undefined,
          detail: hit ? `${formatIp(addr)} in excluded ${formatCidr(hit)}` : `${formatIp(addr)} outside [${familyList(er.notNets, f)}]`,
        });
      }
      if (hit) return failed(explain, criteria);
    }
  }

  // Selector IP sets: source, then destination.
  for (let side = 0; side < 2; side++) {
    const name = side === 0 ? 'source' : 'destination';
    const er = side === 0 ? rule.source : rule.destination;
    const addr = side === 0 ? pkt.src : pkt.dst;
    const s = model.ruleSelectors(er, policyNamespace);
    if (s.positive) {
      const set = model.ipsets.selectorSet(s.positive);
      const ok = set.has(addr);
      if (explain) criteria.push({ criterion: `${name}.selector`, ok, detail: `${formatIp(addr)} ${ok ? 'is' : 'is not'} in the IP set of ${s.positive.canonical} (${set.size} members)` });
      if (!ok) return failed(explain, criteria);
    }
    if (s.negative) {
      const inSet = model.ipsets.selectorSet(s.negative).has(addr);
      if (explain) criteria.push({ criterion: `${name}.notSelector`, ok: !inSet, detail: `${formatIp(addr)} ${inSet ? 'is' : 'is not'} in the IP set of ${s.negative.canonical}` });
      if (inSet) return failed(explain, criteria);
    }
  }

  // Services.
  const dstSvc = rule.destination.services;
  if (dstSvc) {
    const set = model.ipsets.serviceSet(dstSvc.namespace, dstSvc.name);
    const ok = pkt.dport !== undefined && set.withPorts.has(addrPortKey(pkt.dst, pkt.proto, pkt.dport));
    if (explain) {
      criteria.push({
        criterion: 'destination.services',
        ok,
        detail: `${formatIp(pkt.dst)}:${pkt.dport ?? '-'}/${pkt.proto} ${ok ? 'is' : 'is not'} an endpoint of service ${dstSvc.namespace}/${dstSvc.name}`,
      });
    }
    if (!ok) return failed(explain, criteria);
  }
  const srcSvc = rule.source.services;
  if (srcSvc) {
    const ok = model.ipsets.serviceSet(srcSvc.namespace, srcSvc.name).addrs.has(pkt.src);
    if (explain) criteria.push({ criterion: 'source.services', ok, detail: `${formatIp(pkt.src)} ${ok ? 'is' : 'is not'} an endpoint address of service ${srcSvc.namespace}/${srcSvc.name}` });
    if (!ok) return failed(explain, criteria);
  }

  // Ports: source, then destination.
  for (let side = 0; side < 2; side++) {
    const name = side === 0 ? 'source' : 'destination';
    const er = side === 0 ? rule.source : rule.destination;
    const addr = side === 0 ? pkt.src : pkt.dst;
    const port = side === 0 ? pkt.sport : pkt.dport;
    if (nonEmpty(er.ports)) {
      const ok = portInList(model, er, policyNamespace, er.ports, rule, addr, pkt.proto, port);
      if (explain) criteria.push({ criterion: `${name}.ports`, ok, detail: `port ${port ?? '(none)'} ${ok ? 'in' : 'not in'} [${describePorts(er.ports)}]` });
      if (!ok) return failed(explain, criteria);
    }
    if (nonEmpty(er.notPorts)) {
      const hit = portInList(model, er, policyNamespace, er.notPorts, rule, addr, pkt.proto, port);
      if (explain) criteria.push({ criterion: `${name}.notPorts`, ok: !hit, detail: `port ${port ?? '(none)'} ${hit ? 'in' : 'not in'} excluded [${describePorts(er.notPorts)}]` });
      if (hit) return failed(explain, criteria);
    }
  }

  // ICMP.
  if (rule.icmp) {
    const ok = icmpMatches(rule.icmp, pkt);
    if (explain) {
      criteria.push({
        criterion: 'icmp',
        ok,
        detail: `ICMP type/code ${pkt.icmpType ?? '-'}/${pkt.icmpCode ?? '-'} ${ok ? 'matches' : 'does not match'} ${rule.icmp.type}/${rule.icmp.code ?? '*'}`,
      });
    }
    if (!ok) return failed(explain, criteria);
  }
  if (rule.notICMP) {
    const hit = icmpMatches(rule.notICMP, pkt);
    if (explain) {
      criteria.push({
        criterion: 'notICMP',
        ok: !hit,
        detail: `ICMP type/code ${pkt.icmpType ?? '-'}/${pkt.icmpCode ?? '-'} ${hit ? 'is' : 'is not'} the excluded ${rule.notICMP.type}/${rule.notICMP.code ?? '*'}`,
      });
    }
    if (hit) return failed(explain, criteria);
  }
  if (!explain) return MATCH;
  if (criteria.length === 0) criteria.push({ criterion: '(none)', ok: true, detail: 'rule has no match criteria: matches every packet' });
  return { matched: true, appliesToFamily: true, criteria };
}
