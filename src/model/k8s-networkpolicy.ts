/**
 * Kubernetes NetworkPolicy (and Calico StagedKubernetesNetworkPolicy) →
 * Calico policy IR, exactly as libcalico-go's K8sNetworkPolicyToCalico
 * (SEMANTICS.md §5): tier default, order 1000, namespaced semantics, one
 * Allow rule per (protocol group × peer).
 */
import { makeSelector } from '../parse/selector/index.js';
import { sortedUnique } from '../parse/selector/parser.js';
import type { Selector, SelectorNode } from '../parse/selector/types.js';
import { cidrCovers, formatCidr, parseCidr, type Cidr } from '../net/ip.js';
import { formatPath, type FieldPath } from '../parse/documents.js';
import type { Json, ObjectContext } from './context.js';
import type { Meta } from './meta.js';
import type { EntityRule, Policy, PortList, PortRange, Rule } from './types.js';
import { checkLabelKey, checkLabelValue } from './validate.js';
import { Validator } from 'ip-num';

export const KNP_ORDER = 1000;
const ORCHESTRATOR_KEY = 'projectcalico.org/orchestrator';
const K8S_PROTOCOLS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

type SelectorKind = 'pod' | 'namespace';

function andNode(terms: SelectorNode[]): SelectorNode {
  return terms.length === 1 ? terms[0]! : { kind: 'and', exprs: terms };
}

/**
 * k8sSelectorToCalico. `absent` (undefined/null selector): pod → only the
 * orchestrator clause; namespace → undefined (no selector). A namespace
 * selector with no terms → all(). Returns null when invalid (reported).
 */
export function labelSelectorToCalico(ctx: ObjectContext, v: unknown, path: FieldPath, type: SelectorKind): Selector | undefined | null {
  const terms: SelectorNode[] = [];
  const text: string[] = [];
  if (type === 'pod') {
    terms.push({ kind: 'eq', key: ORCHESTRATOR_KEY, value: 'k8s' });
    text.push(`${ORCHESTRATOR_KEY} == 'k8s'`);
  }
  if (v === undefined || v === null) {
    return type === 'pod' ? makeSelector(andNode(terms), text.join(' && ')) : undefined;
  }
  const m = ctx.map(v, path);
  if (!m) return null;
  let ok = true;
  const ml = ctx.map(m.matchLabels, [...path, 'matchLabels']) ?? {};
  const me = ctx.list(m.matchExpressions, [...path, 'matchExpressions']) ?? [];
  if (type === 'namespace' && Object.keys(ml).length === 0 && me.length === 0) {
    return makeSelector({ kind: 'all' }, 'all()');
  }
  const keys = Object.keys(ml).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    const val = ml[k];
    const p = [...path, 'matchLabels', k];
    const ke = checkLabelKey(k);
    if (ke) {
      ctx.error('NV-LABEL', ke, p, { key: true });
      ok = false;
      continue;
    }
    if (typeof val !== 'string') {
      ctx.error('NV-LABEL', `matchLabels value for "${k}" must be a string`, p);
      ok = false;
      continue;
    }
    const ve = checkLabelValue(val);
    if (ve) {
      ctx.error('NV-LABEL', ve, p);
      ok = false;
      continue;
    }
    terms.push({ kind: 'eq', key: k, value: val });
    text.push(`${k} == '${val}'`);
  }
  me.forEach((e, i) => {
    const p = [...path, 'matchExpressions', i];
    const em = ctx.map(e, p);
    if (!em) {
      ok = false;
      return;
    }
    const key = ctx.str(em.key, [...p, 'key']);
    const op = ctx.str(em.operator, [...p, 'operator']);
    const values = ctx.strList(em.values, [...p, 'values']) ?? [];
    if (!key) {
      ctx.error('NV-SELECTOR', 'matchExpressions entry needs a key', p);
      ok = false;
      return;
    }
    const ke = checkLabelKey(key);
    if (ke) {
      ctx.error('NV-LABEL', ke, [...p, 'key']);
      ok = false;
      return;
    }
    switch (op) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) {
          ctx.error('NV-SELECTOR', `operator ${op} needs at least one value`, [...p, 'values']);
          ok = false;
          return;
        }
        const list = values.map((x) => `'${x}'`).join(', ');
        terms.push({ kind: op === 'In' ? 'in' : 'notin', key, values: sortedUnique(values) });
        text.push(`${key} ${op === 'In' ? 'in' : 'not in'} { ${list} }`);
        return;
      }
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          ctx.error('NV-SELECTOR', `operator ${op} must not have values`, [...p, 'values']);
          ok = false;
          return;
        }
        if (op === 'Exists') {
          terms.push({ kind: 'has', key });
          text.push(`has(${key})`);
        } else {
          terms.push({ kind: 'not', expr: { kind: 'has', key } });
          text.push(`! has(${key})`);
        }
        return;
      default:
        ctx.error('NV-SELECTOR', `invalid matchExpressions operator ${JSON.stringify(op)}: must be In, NotIn, Exists or DoesNotExist`, [...p, 'operator']);
        ok = false;
    }
  });
  if (!ok) return null;
  if (terms.length === 0) return makeSelector({ kind: 'all' }, '');
  return makeSelector(andNode(terms), text.join(' && '));
}

/** Merges numeric ranges (SimplifyPorts): sorted, adjacent/overlapping ranges joined. */
export function simplifyRanges(ranges: PortRange[]): PortRange[] {
  if (ranges.length <= 1) return ranges.map((r) => ({ ...r }));
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ first: r.first, last: r.last });
  }
  return out;
}

class DropRule extends Error {}

interface PortGroupEntry {
  ranges: PortRange[];
  named: string[];
  /** null = all ports of the protocol. */
  all: boolean;
}

/** k8sPortToCalico for one port entry: numeric range or named port; throws DropRule on conversion failure. */
function convertPort(port: unknown, endPort: unknown): { range?: PortRange; named?: string } | undefined {
  if (port === undefined || port === null) return undefined;
  let text: string;
  if (typeof port === 'number') text = String(port);
  else if (typeof port === 'string') text = port;
  else throw new DropRule(`invalid port ${JSON.stringify(port)}`);
  if (endPort !== undefined && endPort !== null) text = `${text}:${String(endPort)}`;
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n > 65535) throw new DropRule(`invalid port format (${text})`);
    return { range: { first: n, last: n } };
  }
  const m = /^([0-9]+):([0-9]+)$/.exec(text);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a > 65535 || b > 65535) throw new DropRule(`invalid port range (${text})`);
    if (a > b) throw new DropRule(`minimum port number (${a}) is greater than maximum port number (${b}) in port range`);
    return { range: { first: a, last: b } };
  }
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(text)) throw new DropRule(`invalid name for named port (${text})`);
  return { named: text };
}

interface PeerFields {
  selector?: Selector;
  namespaceSelector?: Selector;
  nets?: Cidr[];
  notNets?: Cidr[];
}

function parseK8sCidr(text: string): Cidr | undefined {
  const p = parseCidr(text);
  if (!p || p.bare) return undefined; // ipBlock needs CIDR notation
  if (!(text.includes(':') && text.includes('.'))) {
    const [valid] = p.cidr.family === 4 ? Validator.isValidIPv4CidrNotation(text) : Validator.isValidIPv6CidrNotation(text);
    if (!valid) return undefined;
  }
  return p.cidr;
}

/** k8sPeerToCalicoFields; null when invalid (reported). */
function convertPeer(ctx: ObjectContext, v: unknown, path: FieldPath): PeerFields | null {
  const m = ctx.map(v, path);
  if (!m) return v === null || v === undefined ? {} : null;
  const ipBlock = ctx.map(m.ipBlock, [...path, 'ipBlock']);
  if (ipBlock) {
    if (m.podSelector !== undefined || m.namespaceSelector !== undefined) {
      ctx.error('NV-RULE', 'a peer with ipBlock may not have podSelector or namespaceSelector', [...path, 'ipBlock']);
      return null;
    }
    const cidrText = ctx.str(ipBlock.cidr, [...path, 'ipBlock', 'cidr']);
    const cidr = cidrText ? parseK8sCidr(cidrText) : undefined;
    if (!cidr) {
      ctx.error('NV-CIDR', cidrText ? `invalid ipBlock cidr "${cidrText}"` : 'ipBlock.cidr is required', [...path, 'ipBlock', cidrText ? 'cidr' : '']
        .filter((x) => x !== ''));
      return null;
    }
    const notNets: Cidr[] = [];
    let ok = true;
    (ctx.strList(ipBlock.except, [...path, 'ipBlock', 'except']) ?? []).forEach((e, i) => {
      const c = parseK8sCidr(e);
      const p = [...path, 'ipBlock', 'except', i];
      if (!c) {
        ctx.error('NV-CIDR', `invalid ipBlock except "${e}"`, p);
        ok = false;
      } else if (!cidrCovers(cidr, c) || c.prefixLen === cidr.prefixLen) {
        ctx.error('NV-CIDR', `ipBlock except "${e}" must be a strict subset of cidr ${formatCidr(cidr)}`, p);
        ok = false;
      } else notNets.push(c);
    });
    if (!ok) return null;
    const out: PeerFields = { nets: [cidr] };
    if (notNets.length) out.notNets = notNets;
    return out;
  }
  if (m.podSelector === undefined && m.namespaceSelector === undefined) {
    ctx.warning('NV-KNP-PEER', 'empty peer (no podSelector, namespaceSelector or ipBlock; the API server rejects it): converted as Calico does, to all pods of the policy namespace', path);
  }
  const sel = labelSelectorToCalico(ctx, m.podSelector, [...path, 'podSelector'], 'pod');
  const ns = labelSelectorToCalico(ctx, m.namespaceSelector, [...path, 'namespaceSelector'], 'namespace');
  if (sel === null || ns === null) return null;
  const out: PeerFields = {};
  if (sel) out.selector = sel;
  if (ns) out.namespaceSelector = ns;
  return out;
}

/**
 * k8sRuleToCalico for one k8s rule. Returns the generated Calico rules
 * (without final indexes), or undefined when the rule was dropped.
 */
function convertRule(ctx: ObjectContext, v: unknown, path: FieldPath, ingress: boolean): Omit<Rule, 'index'>[] | undefined {
  const m = ctx.map(v, path) ?? {};
  const peerField = ingress ? 'from' : 'to';
  const peersRaw = ctx.list(m[peerField], [...path, peerField]) ?? [];
  const portsRaw = ctx.list(m.ports, [...path, 'ports']) ?? [];
  const origin = ctx.origin(path);

  // Peers.
  const peers: PeerFields[] = [];
  let invalid = false;
  peersRaw.forEach((p, i) => {
    const pf = convertPeer(ctx, p, [...path, peerField, i]);
    if (pf === null) invalid = true;
    else peers.push(pf);
  });
  if (invalid) return undefined;
  if (peers.length === 0) peers.push({});

  // Ports grouped by protocol.
  const groups = new Map<string, PortGroupEntry>();
  let allowAll = false;
  try {
    for (let i = 0; i < portsRaw.length; i++) {
      const pp = [...path, 'ports', i];
      const pm = ctx.map(portsRaw[i], pp) ?? {};
      let proto = 'TCP';
      if (pm.protocol !== undefined && pm.protocol !== null) {
        if (typeof pm.protocol !== 'string' || K8S_PROTOCOLS[pm.protocol] === undefined) {
          ctx.error('NV-PROTOCOL', `invalid protocol ${JSON.stringify(pm.protocol)}: must be TCP, UDP or SCTP`, [...pp, 'protocol']);
          return undefined;
        }
        proto = pm.protocol;
      }
      let conv: { range?: PortRange; named?: string } | undefined;
      try {
        conv = convertPort(pm.port, pm.endPort);
      } catch (e) {
        if (e instanceof DropRule) throw new DropRule(`${e.message} (at ${formatPath(pp)})`);
        throw e;
      }
      const g = groups.get(proto);
      if (!conv) {
        // Protocol without port: all ports of the protocol.
        groups.set(proto, { ranges: [], named: [], all: true });
        continue;
      }
      if (g && g.all) continue; // don't narrow an "all ports" group
      const entry = g ?? { ranges: [], named: [], all: false };
      if (conv.range) entry.ranges.push(conv.range);
      if (conv.named) entry.named.push(conv.named);
      groups.set(proto, entry);
    }
  } catch (e) {
    if (e instanceof DropRule) {
      ctx.warning('NV-KNP-RULE-DROPPED', `Kubernetes NetworkPolicy rule dropped (as Calico does): failed to parse k8s port: ${e.message}`, path);
      return undefined;
    }
    throw e;
  }
  if (portsRaw.length === 0) allowAll = true;

  const protocols = allowAll ? [''] : [...groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rules: Omit<Rule, 'index'>[] = [];
  for (const proto of protocols) {
    const g = groups.get(proto);
    let ports: PortList | undefined;
    if (g && !g.all) ports = { ranges: simplifyRanges(g.ranges), named: [...g.named] };
    for (const peer of peers) {
      const peerRule: EntityRule = {};
      if (peer.selector) peerRule.selector = peer.selector;
      if (peer.namespaceSelector) peerRule.namespaceSelector = peer.namespaceSelector;
      if (peer.nets) peerRule.nets = peer.nets;
      if (peer.notNets) peerRule.notNets = peer.notNets;
      const rule: Omit<Rule, 'index'> = {
        action: 'Allow',
        source: ingress ? peerRule : {},
        destination: ingress ? {} : peerRule,
        origin,
      };
      if (ports) rule.destination.ports = ports;
      if (proto !== '') rule.protocol = K8S_PROTOCOLS[proto]!;
      rules.push(rule);
    }
  }
  return rules;
}

function convertRules(ctx: ObjectContext, v: unknown, path: FieldPath, ingress: boolean): Rule[] {
  const list = ctx.list(v, path) ?? [];
  const out: Rule[] = [];
  list.forEach((r, i) => {
    const rules = convertRule(ctx, r, [...path, i], ingress);
    if (!rules) return;
    for (const rule of rules) out.push({ ...rule, index: out.length } as Rule);
  });
  return out;
}

const STAGED_KNP_SPEC_FIELDS: ReadonlySet<string> = new Set(['stagedAction', 'podSelector', 'ingress', 'egress', 'policyTypes']);

/** Converts a networking.k8s.io/v1 NetworkPolicy (or a StagedKubernetesNetworkPolicy). */
export function buildK8sNetworkPolicy(ctx: ObjectContext, value: Json, meta: Meta, staged: boolean): Policy | undefined {
  const spec = ctx.map(value.spec, ['spec']) ?? {};
  if (staged) {
    ctx.checkFields(spec, STAGED_KNP_SPEC_FIELDS, ['spec'], 'StagedKubernetesNetworkPolicy spec');
    const sa = ctx.str(spec.stagedAction, ['spec', 'stagedAction']);
    if (sa !== undefined && !['Set', 'Delete', 'Learn', 'Ignore'].includes(sa))
      ctx.error('NV-ACTION', `invalid stagedAction "${sa}": must be Set, Delete, Learn or Ignore`, ['spec', 'stagedAction']);
  }
  const selector = labelSelectorToCalico(ctx, spec.podSelector ?? {}, ['spec', 'podSelector'], 'pod');
  const ingress = convertRules(ctx, spec.ingress, ['spec', 'ingress'], true);
  const egress = convertRules(ctx, spec.egress, ['spec', 'egress'], false);

  // policyTypes: API-server defaulting when absent (Ingress, plus Egress if egress rules exist).
  const typesRaw = ctx.list(spec.policyTypes, ['spec', 'policyTypes']);
  let types = { ingress: false, egress: false };
  if (!typesRaw || typesRaw.length === 0) {
    const hasEgressRules = Array.isArray(spec.egress) && spec.egress.length > 0;
    types = { ingress: true, egress: hasEgressRules };
  } else {
    typesRaw.forEach((t, i) => {
      if (t === 'Ingress') types.ingress = true;
      else if (t === 'Egress') types.egress = true;
      else ctx.error('NV-TYPE', `invalid policyType ${JSON.stringify(t)}: must be Ingress or Egress`, ['spec', 'policyTypes', i]);
    });
    if (!types.egress && egress.length > 0)
      ctx.warning('NV-KNP-TYPES', "policyTypes doesn't include Egress but the policy has egress rules: they are ignored", ['spec', 'policyTypes']);
    if (!types.ingress && !types.egress) types.ingress = true;
  }
  if (!selector) return undefined;
  return {
    kind: staged ? 'StagedKubernetesNetworkPolicy' : 'KubernetesNetworkPolicy',
    name: meta.name,
    namespace: meta.namespace,
    tier: 'default',
    order: KNP_ORDER,
    selector,
    types,
    ingress,
    egress,
    staged,
    applyOnForward: false,
    preDNAT: false,
    doNotTrack: false,
    origin: ctx.origin([]),
  };
}
