/**
 * Rule matching, criterion by criterion, in the order Calico's BPF program
 * checks them (SEMANTICS.md §4, §7.3). Slow and obvious on purpose: this is
 * the oracle the native engine is diffed against.
 */
import type { Cidr, Family, IpAddr } from '../net/ip.js';
import { cidrContains, formatCidr, formatIp } from '../net/ip.js';
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
  /** Every criterion checked, in order, up to and including the first failure. */
  criteria: CriterionResult[];
}

function familyCidrs(list: Cidr[] | undefined, f: Family): Cidr[] | undefined {
  return list?.filter((c) => c.family === f);
}

/** Per-family rule filtering (§4.4): does this rule exist in the family's program? */
export function ruleAppliesToFamily(rule: Rule, f: Family): boolean {
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

function icmpMatches(m: IcmpMatch, pkt: PolicyPacket): boolean {
  if (pkt.icmpType === undefined || pkt.icmpType !== m.type) return false;
  if (m.code !== undefined && pkt.icmpCode !== m.code) return false;
  return true;
}

function describePorts(p: PortList): string {
  const parts = p.ranges.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}:${r.last}`));
  return [...parts, ...p.named].join(',');
}

/**
 * Evaluates one rule. With `explain` false it stops at the first failing
 * criterion and keeps no details (cheap); with `explain` true it records
 * every criterion checked.
 */
export function matchRule(
  model: ResolvedCluster,
  rule: Rule,
  policyNamespace: string | undefined,
  pkt: PolicyPacket,
  explain = false,
): RuleMatch {
  const criteria: CriterionResult[] = [];
  const f = pkt.family;
  if (!ruleAppliesToFamily(rule, f)) {
    if (explain) criteria.push({ criterion: 'ipVersion', ok: false, detail: `rule does not exist for IPv${f}` });
    return { matched: false, appliesToFamily: false, criteria };
  }
  const check = (criterion: string, ok: boolean, detail: () => string): boolean => {
    if (explain) criteria.push({ criterion, ok, detail: detail() });
    return ok;
  };
  const fail = (): RuleMatch => ({ matched: false, appliesToFamily: true, criteria });

  if (rule.protocol !== undefined && !check('protocol', pkt.proto === rule.protocol, () => `packet protocol ${pkt.proto} ${pkt.proto === rule.protocol ? '==' : '!='} ${rule.protocol}`)) return fail();
  if (rule.notProtocol !== undefined && !check('notProtocol', pkt.proto !== rule.notProtocol, () => `packet protocol ${pkt.proto} ${pkt.proto !== rule.notProtocol ? '!=' : '=='} ${rule.notProtocol}`)) return fail();

  const nets = (side: 'source' | 'destination', addr: IpAddr): boolean => {
    const er = rule[side];
    const pos = familyCidrs(er.nets, f);
    if (pos && er.nets!.length > 0) {
      const hit = pos.find((c) => cidrContains(c, addr));
      if (!check(`${side}.nets`, hit !== undefined, () => (hit ? `${formatIp(addr)} in ${formatCidr(hit)}` : `${formatIp(addr)} not in [${pos.map(formatCidr).join(', ')}]`))) return false;
    }
    const neg = familyCidrs(er.notNets, f);
    if (neg && er.notNets!.length > 0) {
      const hit = neg.find((c) => cidrContains(c, addr));
      if (!check(`${side}.notNets`, hit === undefined, () => (hit ? `${formatIp(addr)} in excluded ${formatCidr(hit)}` : `${formatIp(addr)} outside [${neg.map(formatCidr).join(', ')}]`))) return false;
    }
    return true;
  };
  if (!nets('source', pkt.src)) return fail();
  if (!nets('destination', pkt.dst)) return fail();

  const sels = (side: 'source' | 'destination', addr: IpAddr): boolean => {
    const s = model.ruleSelectors(rule[side], policyNamespace);
    if (s.positive) {
      const set = model.ipsets.selectorSet(s.positive);
      const ok = set.has(addr);
      if (!check(`${side}.selector`, ok, () => `${formatIp(addr)} ${ok ? 'is' : 'is not'} in the IP set of ${s.positive!.canonical} (${set.size} members)`)) return false;
    }
    if (s.negative) {
      const set = model.ipsets.selectorSet(s.negative);
      const inSet = set.has(addr);
      if (!check(`${side}.notSelector`, !inSet, () => `${formatIp(addr)} ${inSet ? 'is' : 'is not'} in the IP set of ${s.negative!.canonical}`)) return false;
    }
    return true;
  };
  if (!sels('source', pkt.src)) return fail();
  if (!sels('destination', pkt.dst)) return fail();

  const dstSvc = rule.destination.services;
  if (dstSvc) {
    const set = model.ipsets.serviceSet(dstSvc.namespace, dstSvc.name);
    const ok = pkt.dport !== undefined && set.withPorts.has(addrPortKey(pkt.dst, pkt.proto, pkt.dport));
    if (!check('destination.services', ok, () => `${formatIp(pkt.dst)}:${pkt.dport ?? '-'}/${pkt.proto} ${ok ? 'is' : 'is not'} an endpoint of service ${dstSvc.namespace}/${dstSvc.name}`)) return fail();
  }
  const srcSvc = rule.source.services;
  if (srcSvc) {
    const set = model.ipsets.serviceSet(srcSvc.namespace, srcSvc.name);
    const ok = set.addrs.has(pkt.src);
    if (!check('source.services', ok, () => `${formatIp(pkt.src)} ${ok ? 'is' : 'is not'} an endpoint address of service ${srcSvc.namespace}/${srcSvc.name}`)) return fail();
  }

  const ports = (side: 'source' | 'destination', addr: IpAddr, port: number | undefined): boolean => {
    const er: EntityRule = rule[side];
    const positive = er.ports ? model.ruleSelectors(er, policyNamespace).positive : undefined;
    const inList = (list: PortList): boolean => {
      if (port === undefined) return false;
      if (list.ranges.some((r) => port >= r.first && port <= r.last)) return true;
      for (const name of list.named) {
        const set = model.ipsets.namedPortSet(model.ruleSelectors(er, policyNamespace).positive, name, rule.protocol);
        if (set.has(addrPortKey(addr, pkt.proto, port))) return true;
      }
      return false;
    };
    void positive;
    if (er.ports && (er.ports.ranges.length > 0 || er.ports.named.length > 0)) {
      const ok = inList(er.ports);
      if (!check(`${side}.ports`, ok, () => `port ${port ?? '(none)'} ${ok ? 'in' : 'not in'} [${describePorts(er.ports!)}]`)) return false;
    }
    if (er.notPorts && (er.notPorts.ranges.length > 0 || er.notPorts.named.length > 0)) {
      const hit = inList(er.notPorts);
      if (!check(`${side}.notPorts`, !hit, () => `port ${port ?? '(none)'} ${hit ? 'in' : 'not in'} excluded [${describePorts(er.notPorts!)}]`)) return false;
    }
    return true;
  };
  if (!ports('source', pkt.src, pkt.sport)) return fail();
  if (!ports('destination', pkt.dst, pkt.dport)) return fail();

  if (rule.icmp) {
    const ok = icmpMatches(rule.icmp, pkt);
    if (!check('icmp', ok, () => `ICMP type/code ${pkt.icmpType ?? '-'}/${pkt.icmpCode ?? '-'} ${ok ? 'matches' : 'does not match'} ${rule.icmp!.type}/${rule.icmp!.code ?? '*'}`)) return fail();
  }
  if (rule.notICMP) {
    const hit = icmpMatches(rule.notICMP, pkt);
    if (!check('notICMP', !hit, () => `ICMP type/code ${pkt.icmpType ?? '-'}/${pkt.icmpCode ?? '-'} ${hit ? 'is' : 'is not'} the excluded ${rule.notICMP!.type}/${rule.notICMP!.code ?? '*'}`)) return fail();
  }
  if (explain && criteria.length === 0) criteria.push({ criterion: '(none)', ok: true, detail: 'rule has no match criteria: matches every packet' });
  return { matched: true, appliesToFamily: true, criteria };
}
