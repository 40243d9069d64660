/**
 * projectcalico.org/v3 resources → IR: policies (incl. staged), rules,
 * tiers, network sets, host endpoints, profiles. Validation per
 * SEMANTICS.md §8; defaulting per §3.2.
 */
import { formatCidr, type Cidr, type IpAddr } from '../net/ip.js';
import type { FieldPath } from '../parse/documents.js';
import type { Selector } from '../parse/selector/types.js';
import { isMapValue, type Json, type ObjectContext } from './context.js';
import { readLabelMap, type Meta } from './meta.js';
import { selectorField } from './selectors.js';
import type {
  Action,
  EntityRule,
  HostEndpoint,
  IcmpMatch,
  NamedPort,
  NetworkSet,
  Policy,
  PolicyKind,
  PortList,
  Profile,
  Rule,
  Tier,
} from './types.js';
import { checkPortName, parseCidrChecked, parseIpChecked, parsePort, parseProtocol } from './validate.js';

const set = (...xs: string[]): ReadonlySet<string> => new Set(xs);

const GNP_SPEC_FIELDS = set(
  'tier',
  'order',
  'ingress',
  'egress',
  'selector',
  'types',
  'doNotTrack',
  'preDNAT',
  'applyOnForward',
  'serviceAccountSelector',
  'namespaceSelector',
  'performanceHints',
);
const NP_SPEC_FIELDS = set('tier', 'order', 'ingress', 'egress', 'selector', 'types', 'serviceAccountSelector', 'performanceHints');
const RULE_FIELDS = set('action', 'ipVersion', 'protocol', 'icmp', 'notProtocol', 'notICMP', 'source', 'destination', 'http', 'metadata');
const ENTITY_FIELDS = set('nets', 'selector', 'namespaceSelector', 'services', 'ports', 'notNets', 'notSelector', 'notPorts', 'serviceAccounts');
const ICMP_FIELDS = set('type', 'code');
const HTTP_FIELDS = set('methods', 'paths');
const HTTP_PATH_FIELDS = set('exact', 'prefix');
const SERVICES_FIELDS = set('name', 'namespace');
const SA_FIELDS = set('names', 'selector');
const RULE_METADATA_FIELDS = set('annotations');
const TIER_SPEC_FIELDS = set('order', 'defaultAction');
const NETSET_SPEC_FIELDS = set('nets');
const HEP_SPEC_FIELDS = set('node', 'interfaceName', 'expectedIPs', 'profiles', 'ports');
const HEP_PORT_FIELDS = set('name', 'protocol', 'port');
const PROFILE_SPEC_FIELDS = set('ingress', 'egress', 'labelsToApply');

const ACTIONS: ReadonlySet<string> = new Set(['Allow', 'Deny', 'Log', 'Pass']);
const STAGED_ACTIONS: ReadonlySet<string> = new Set(['Set', 'Delete', 'Learn', 'Ignore']);

const MAX_RULES = 1024;
const MAX_NETS = 256;
const MAX_PORTS = 50;

const supportsPorts = (p: number): boolean => p === 6 || p === 17 || p === 132;

/** What a rule's scope is, for the scope-dependent checks and defaults. */
export interface RuleScope {
  direction: 'ingress' | 'egress';
  /** Namespace of a namespaced policy; undefined for GNPs and profiles. */
  namespace?: string;
  /** Needs services.namespace (GNP / profile). */
  global: boolean;
}

export function readSpec(ctx: ObjectContext, value: Json, required = true): Json | undefined {
  const spec = ctx.map(value.spec, ['spec']);
  if (!spec && required && value.spec === undefined) return {};
  return spec;
}

/**
 * Calico policy kinds. `kind` is the IR kind; staged kinds carry
 * `stagedAction`. Returns undefined only for unusable objects.
 */
export function buildCalicoPolicy(ctx: ObjectContext, value: Json, meta: Meta, kind: PolicyKind): Policy | undefined {
  const spec = readSpec(ctx, value);
  if (!spec) return undefined;
  const global = kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy';
  const staged = kind.startsWith('Staged');
  const allowed = new Set(global ? GNP_SPEC_FIELDS : NP_SPEC_FIELDS);
  if (staged) allowed.add('stagedAction');
  ctx.checkFields(spec, allowed, ['spec'], `${kind} spec`);

  if (staged) {
    const sa = ctx.str(spec.stagedAction, ['spec', 'stagedAction']);
    if (sa !== undefined && !STAGED_ACTIONS.has(sa)) ctx.error('NV-ACTION', `invalid stagedAction "${sa}": must be Set, Delete, Learn or Ignore`, ['spec', 'stagedAction']);
  }

  let tier = ctx.str(spec.tier, ['spec', 'tier']);
  if (tier === undefined || tier === '') tier = 'default';
  const order = ctx.num(spec.order, ['spec', 'order']);

  const selector = selectorField(ctx, spec.selector ?? '', ['spec', 'selector']);
  const saSel = spec.serviceAccountSelector ? selectorField(ctx, spec.serviceAccountSelector, ['spec', 'serviceAccountSelector']) : undefined;
  const nsSel = global && spec.namespaceSelector ? selectorField(ctx, spec.namespaceSelector, ['spec', 'namespaceSelector']) : undefined;

  const doNotTrack = global ? (ctx.bool(spec.doNotTrack, ['spec', 'doNotTrack']) ?? false) : false;
  const preDNAT = global ? (ctx.bool(spec.preDNAT, ['spec', 'preDNAT']) ?? false) : false;
  const applyOnForward = global ? (ctx.bool(spec.applyOnForward, ['spec', 'applyOnForward']) ?? false) : false;

  const hints = ctx.strList(spec.performanceHints, ['spec', 'performanceHints']);
  hints?.forEach((h, i) => {
    if (h !== 'AssumeNeededOnEveryNode') ctx.error('NV-TYPE', `invalid performance hint "${h}": only AssumeNeededOnEveryNode`, ['spec', 'performanceHints', i]);
  });

  const ingress = readRules(ctx, spec.ingress, ['spec', 'ingress'], { direction: 'ingress', namespace: meta.namespace, global });
  const egress = readRules(ctx, spec.egress, ['spec', 'egress'], { direction: 'egress', namespace: meta.namespace, global });

  // types (SEMANTICS.md §3.2).
  let types: { ingress: boolean; egress: boolean };
  const typesList = ctx.list(spec.types, ['spec', 'types']);
  if (typesList === undefined || typesList.length === 0) {
    const hasEgress = Array.isArray(spec.egress) && spec.egress.length > 0;
    const hasIngress = Array.isArray(spec.ingress) && spec.ingress.length > 0;
    types = hasEgress ? { ingress: hasIngress, egress: true } : { ingress: true, egress: false };
  } else {
    types = { ingress: false, egress: false };
    if (typesList.length > 2) ctx.error('NV-TYPE', 'types must have 1 or 2 entries', ['spec', 'types']);
    typesList.forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') {
        ctx.error('NV-TYPE', `invalid policy type ${JSON.stringify(t)}: must be Ingress or Egress`, ['spec', 'types', i]);
        return;
      }
      const k = t === 'Ingress' ? 'ingress' : 'egress';
      if (types[k]) ctx.error('NV-DUPLICATE', `'${t}' type specified more than once`, ['spec', 'types', i]);
      types[k] = true;
    });
  }

  if (global) {
    if (preDNAT && doNotTrack) ctx.error('NV-POLICY', 'preDNAT and doNotTrack cannot both be true', ['spec', 'preDNAT']);
    if (preDNAT && Array.isArray(spec.egress) && spec.egress.length > 0) ctx.error('NV-POLICY', 'preDNAT policy cannot have any egress rules', ['spec', 'egress']);
    if (preDNAT && Array.isArray(typesList) && typesList.includes('Egress')) ctx.error('NV-POLICY', "preDNAT policy cannot have 'Egress' type", ['spec', 'types']);
    if ((preDNAT || doNotTrack) && !applyOnForward)
      ctx.error('NV-POLICY', 'applyOnForward must be true if either preDNAT or doNotTrack is true', [
        'spec',
        spec.applyOnForward === undefined ? (preDNAT ? 'preDNAT' : 'doNotTrack') : 'applyOnForward',
      ]);
  }

  if (!selector) return undefined;
  return {
    kind,
    name: meta.name,
    namespace: global ? undefined : meta.namespace,
    tier,
    order,
    selector,
    namespaceSelector: nsSel,
    serviceAccountSelector: saSel,
    types,
    ingress,
    egress,
    staged,
    applyOnForward,
    preDNAT,
    doNotTrack,
    origin: ctx.origin([]),
  };
}

export function readRules(ctx: ObjectContext, v: unknown, path: FieldPath, scope: RuleScope): Rule[] {
  const list = ctx.list(v, path);
  if (!list) return [];
  if (list.length > MAX_RULES) ctx.error('NV-RULE', `too many rules (${list.length} > ${MAX_RULES})`, path);
  const out: Rule[] = [];
  list.forEach((r, i) => {
    const rule = readRule(ctx, r, [...path, i], i, scope);
    if (rule) out.push(rule);
  });
  return out;
}

function readProtocolField(ctx: ObjectContext, v: unknown, path: FieldPath): number | undefined {
  if (v === undefined || v === null) return undefined;
  const p = parseProtocol(v);
  if (!p.ok) {
    ctx.error('NV-PROTOCOL', p.message, path);
    return undefined;
  }
  return p.value;
}

function readIcmp(ctx: ObjectContext, v: unknown, path: FieldPath): IcmpMatch | undefined {
  const m = ctx.map(v, path);
  if (!m) return undefined;
  ctx.checkFields(m, ICMP_FIELDS, path, 'ICMP match');
  const type = ctx.int(m.type, [...path, 'type']);
  const code = ctx.int(m.code, [...path, 'code']);
  if (type !== undefined && (type < 0 || type > 254)) ctx.error('NV-ICMP', `ICMP type ${type} out of range 0-254`, [...path, 'type']);
  if (code !== undefined && (code < 0 || code > 255)) ctx.error('NV-ICMP', `ICMP code ${code} out of range 0-255`, [...path, 'code']);
  if (code !== undefined && type === undefined) {
    ctx.error('NV-ICMP', 'ICMP code specified without an ICMP type', [...path, 'code']);
    return undefined;
  }
  if (type === undefined) return undefined;
  return code === undefined ? { type } : { type, code };
}

export function readRule(ctx: ObjectContext, v: unknown, path: FieldPath, index: number, scope: RuleScope): Rule | undefined {
  const m = ctx.map(v, path);
  if (!m) {
    if (v === null || v === undefined) ctx.error('NV-RULE', 'empty rule (a rule needs at least an action)', path);
    return undefined;
  }
  const errorsBefore = ctx.diags.items.length;
  ctx.checkFields(m, RULE_FIELDS, path, 'rule');
  const action = ctx.str(m.action, [...path, 'action']);
  if (action === undefined) {
    ctx.error('NV-ACTION', 'rule action is required (Allow, Deny, Log or Pass)', m.action === undefined ? path : [...path, 'action']);
  } else if (!ACTIONS.has(action)) {
    const ci = [...ACTIONS].find((a) => a.toLowerCase() === action.toLowerCase());
    ctx.error('NV-ACTION', `invalid action "${action}": must be Allow, Deny, Log or Pass (case-sensitive)${ci ? ` (did you mean "${ci}"?)` : ''}`, [...path, 'action']);
  }
  let ipVersion: 4 | 6 | undefined;
  if (m.ipVersion !== undefined && m.ipVersion !== null) {
    if (m.ipVersion === 4 || m.ipVersion === 6) ipVersion = m.ipVersion;
    else ctx.error('NV-TYPE', `invalid ipVersion ${JSON.stringify(m.ipVersion)}: must be 4 or 6`, [...path, 'ipVersion']);
  }
  const protocol = readProtocolField(ctx, m.protocol, [...path, 'protocol']);
  const notProtocol = readProtocolField(ctx, m.notProtocol, [...path, 'notProtocol']);
  const icmp = readIcmp(ctx, m.icmp, [...path, 'icmp']);
  const notICMP = readIcmp(ctx, m.notICMP, [...path, 'notICMP']);
  if (m.icmp !== undefined && m.icmp !== null && protocol !== 1 && protocol !== 58 && (m.protocol === undefined || protocol !== undefined)) {
    ctx.error('NV-ICMP', 'ICMP fields require protocol to be ICMP or ICMPv6', [...path, 'icmp']);
  }
  for (const [p, field] of [
    [protocol, 'protocol'],
    [notProtocol, 'notProtocol'],
  ] as const) {
    if (p === 1 && ipVersion === 6) ctx.error('NV-PROTOCOL', `${field} ICMP requires ipVersion 4`, [...path, field]);
    if (p === 58 && ipVersion === 4) ctx.error('NV-PROTOCOL', `${field} ICMPv6 requires ipVersion 6`, [...path, field]);
  }

  const source = readEntityRule(ctx, m.source, [...path, 'source'], scope);
  const destination = readEntityRule(ctx, m.destination, [...path, 'destination'], scope);

  // Ports vs protocol (SEMANTICS.md §4.11, v3.30–3.32 behaviour).
  for (const [side, er] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    for (const field of ['ports', 'notPorts'] as const) {
      const pl = er[field];
      if (!pl) continue;
      const p = [...path, side, field];
      if (m.protocol === undefined || m.protocol === null) {
        if (pl.ranges.length > 0) ctx.error('NV-PORT', 'rules with numeric port or port range must set protocol to TCP or UDP or SCTP', p);
      } else if (protocol !== undefined && !supportsPorts(protocol)) {
        if (pl.ranges.length + pl.named.length > 0) ctx.error('NV-PORT', 'rules that specify ports must set protocol to TCP or UDP or SCTP', p);
      }
    }
  }

  // Services placement (§4.9).
  if (scope.direction === 'egress' && source.services) ctx.error('NV-RULE', 'services are not allowed in egress rule source', [...path, 'source', 'services']);
  if (scope.direction === 'ingress' && destination.services) ctx.error('NV-RULE', 'services are not allowed in ingress rule destination', [...path, 'destination', 'services']);
  if (destination.services && (destination.ports || destination.notPorts)) {
    ctx.error('NV-RULE', 'ports and notPorts cannot be specified with services', [...path, 'destination', destination.ports ? 'ports' : 'notPorts']);
  }

  // Nets: families must agree across the four fields and with ipVersion (§8).
  let seen4 = false;
  let seen6 = false;
  for (const [side, er] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    for (const field of ['nets', 'notNets'] as const) {
      const nets = er[field];
      if (!nets || nets.length === 0) continue;
      const v4 = nets.some((c) => c.family === 4);
      const v6 = nets.some((c) => c.family === 6);
      const p = [...path, side, field];
      if (ipVersion !== undefined && ((v4 && ipVersion !== 4) || (v6 && ipVersion !== 6))) ctx.error('NV-CIDR', "rule IP version doesn't match CIDR version", p);
      if ((v4 && seen6) || (v6 && seen4) || (v4 && v6)) ctx.error('NV-CIDR', 'rule contains both IPv4 and IPv6 CIDRs', p);
      seen4 ||= v4;
      seen6 ||= v6;
    }
  }

  // HTTP (§4.10).
  let hasHttp = false;
  if (m.http !== undefined && m.http !== null) {
    const hp = [...path, 'http'];
    const h = ctx.map(m.http, hp);
    if (h) {
      hasHttp = true;
      ctx.checkFields(h, HTTP_FIELDS, hp, 'http match');
      const methods = ctx.strList(h.methods, [...hp, 'methods']);
      if (methods && new Set(methods).size !== methods.length) ctx.error('NV-RULE', 'http methods contain duplicates', [...hp, 'methods']);
      const paths = ctx.list(h.paths, [...hp, 'paths']);
      paths?.forEach((pv, i) => {
        const pp = [...hp, 'paths', i];
        const pm = ctx.map(pv, pp);
        if (!pm) return;
        ctx.checkFields(pm, HTTP_PATH_FIELDS, pp, 'http path');
        const exact = ctx.str(pm.exact, [...pp, 'exact']);
        const prefix = ctx.str(pm.prefix, [...pp, 'prefix']);
        if (exact && prefix) ctx.error('NV-RULE', "invalid path match: both 'exact' and 'prefix' are set", pp);
        const val = exact || prefix;
        if (!val) ctx.error('NV-RULE', "invalid path match: either 'exact' or 'prefix' must be set", pp);
        else if (!val.startsWith('/') || /[? #]/.test(val)) ctx.error('NV-RULE', `invalid path ${val} (must start with / and not contain ?, # or space)`, pp);
      });
      if (scope.direction === 'egress') ctx.error('NV-RULE', 'http match is not allowed in egress rules', hp);
      if (action !== undefined && action !== 'Allow') ctx.error('NV-RULE', 'http match is only valid on Allow rules', hp);
      if (m.protocol !== undefined && protocol !== 6) ctx.error('NV-RULE', 'rules with http match must have protocol TCP or unset', hp);
      ctx.warning('NV-HTTP-IGNORED', 'L7 (http) criteria are ignored at L4; with application layer policy enabled this Allow may be narrower', hp);
    }
  }

  if (m.metadata !== undefined && m.metadata !== null) {
    const mp = ctx.map(m.metadata, [...path, 'metadata']);
    if (mp) ctx.checkFields(mp, RULE_METADATA_FIELDS, [...path, 'metadata'], 'rule metadata');
  }

  if (ctx.diags.items.slice(errorsBefore).some((d) => d.severity === 'error')) return undefined;
  const rule: Rule = {
    action: action as Action,
    source,
    destination,
    index,
    origin: ctx.origin(path),
  };
  if (ipVersion !== undefined) rule.ipVersion = ipVersion;
  if (protocol !== undefined) rule.protocol = protocol;
  if (notProtocol !== undefined) rule.notProtocol = notProtocol;
  if (icmp) rule.icmp = icmp;
  if (notICMP) rule.notICMP = notICMP;
  if (hasHttp) rule.hasHttp = true;
  return rule;
}

function readNets(ctx: ObjectContext, v: unknown, path: FieldPath, negated: boolean): Cidr[] | undefined {
  const list = ctx.list(v, path);
  if (!list) return undefined;
  if (list.length > MAX_NETS) ctx.error('NV-CIDR', `too many CIDRs (${list.length} > ${MAX_NETS})`, path);
  const out: Cidr[] = [];
  list.forEach((x, i) => {
    const p = [...path, i];
    const s = ctx.str(x, p);
    if (s === undefined) return;
    const r = parseCidrChecked(s, { masked: true });
    if (!r.ok) {
      ctx.error('NV-CIDR', r.message, p);
      return;
    }
    if (negated && r.cidr.prefixLen === 0) {
      ctx.error('NV-CIDR', `catch-all CIDR ${formatCidr(r.cidr)} in notNets matches no traffic`, p);
      return;
    }
    out.push(r.cidr);
  });
  return out;
}

function readPorts(ctx: ObjectContext, v: unknown, path: FieldPath): PortList | undefined {
  const list = ctx.list(v, path);
  if (!list) return undefined;
  if (list.length > MAX_PORTS) ctx.error('NV-PORT', `too many ports (${list.length} > ${MAX_PORTS})`, path);
  const out: PortList = { ranges: [], named: [] };
  list.forEach((x, i) => {
    const r = parsePort(x);
    if (!r.ok) {
      ctx.error('NV-PORT', r.message, [...path, i]);
      return;
    }
    if (r.value.kind === 'range') out.ranges.push(r.value.range);
    else out.named.push(r.value.name);
  });
  return out;
}

export function readEntityRule(ctx: ObjectContext, v: unknown, path: FieldPath, scope: RuleScope): EntityRule {
  const er: EntityRule = {};
  const m = ctx.map(v, path);
  if (!m) return er;
  ctx.checkFields(m, ENTITY_FIELDS, path, 'entity rule');
  const nets = readNets(ctx, m.nets, [...path, 'nets'], false);
  const notNets = readNets(ctx, m.notNets, [...path, 'notNets'], true);
  if (nets && nets.length) er.nets = nets;
  if (notNets && notNets.length) er.notNets = notNets;
  const nonEmpty = (x: unknown) => typeof x === 'string' && x.length > 0;
  let selector: Selector | undefined;
  if (nonEmpty(m.selector)) selector = selectorField(ctx, m.selector, [...path, 'selector']);
  else if (m.selector !== undefined && m.selector !== null && m.selector !== '') ctx.str(m.selector, [...path, 'selector']);
  if (selector) er.selector = selector;
  if (nonEmpty(m.notSelector)) {
    const s = selectorField(ctx, m.notSelector, [...path, 'notSelector']);
    if (s) er.notSelector = s;
  } else if (m.notSelector !== undefined && m.notSelector !== null && m.notSelector !== '') ctx.str(m.notSelector, [...path, 'notSelector']);
  if (nonEmpty(m.namespaceSelector)) {
    const s = selectorField(ctx, m.namespaceSelector, [...path, 'namespaceSelector'], { global: 'entire' });
    if (s) er.namespaceSelector = s;
  } else if (m.namespaceSelector !== undefined && m.namespaceSelector !== null && m.namespaceSelector !== '')
    ctx.str(m.namespaceSelector, [...path, 'namespaceSelector']);

  const sap = [...path, 'serviceAccounts'];
  const sa = ctx.map(m.serviceAccounts, sap);
  if (sa) {
    ctx.checkFields(sa, SA_FIELDS, sap, 'serviceAccounts match');
    const names = ctx.strList(sa.names, [...sap, 'names']);
    const sel = nonEmpty(sa.selector) ? selectorField(ctx, sa.selector, [...sap, 'selector']) : undefined;
    const o: { names?: string[]; selector?: Selector } = {};
    if (names && names.length) o.names = names;
    if (sel) o.selector = sel;
    er.serviceAccounts = o;
  }

  const svp = [...path, 'services'];
  const sv = ctx.map(m.services, svp);
  if (sv) {
    ctx.checkFields(sv, SERVICES_FIELDS, svp, 'services match');
    const name = ctx.str(sv.name, [...svp, 'name']);
    let namespace = ctx.str(sv.namespace, [...svp, 'namespace']);
    if (!name) ctx.error('NV-RULE', 'services must specify a service name', sv.name === undefined ? svp : [...svp, 'name']);
    if (m.selector || m.notSelector) ctx.error('NV-RULE', 'cannot specify selector/notSelector and services on the same rule', svp);
    if (m.namespaceSelector) ctx.error('NV-RULE', 'cannot specify namespaceSelector and services on the same rule', svp);
    if (m.serviceAccounts) ctx.error('NV-RULE', 'cannot specify serviceAccounts and services on the same rule', svp);
    if ((Array.isArray(m.nets) && m.nets.length) || (Array.isArray(m.notNets) && m.notNets.length))
      ctx.error('NV-RULE', 'cannot specify nets/notNets and services on the same rule', svp);
    if (!namespace) {
      if (scope.global) ctx.error('NV-RULE', 'services in a global policy or profile must specify a namespace', svp);
      else if (scope.namespace !== undefined) {
        namespace = scope.namespace;
        ctx.warning(
          'NV-SERVICE-NAMESPACE',
          `services.namespace is empty: using the policy namespace "${scope.namespace}" as documented (felix itself would match nothing); set it explicitly`,
          svp,
        );
      }
    }
    if (name && namespace) er.services = { name, namespace };
  }

  const ports = readPorts(ctx, m.ports, [...path, 'ports']);
  const notPorts = readPorts(ctx, m.notPorts, [...path, 'notPorts']);
  if (ports && (ports.ranges.length || ports.named.length)) er.ports = ports;
  if (notPorts && (notPorts.ranges.length || notPorts.named.length)) er.notPorts = notPorts;
  return er;
}

// ---------------------------------------------------------------- tiers

export interface BuiltinTierSpec {
  order: number;
  defaultAction: 'Deny' | 'Pass';
}

/** Built-in tiers (2026 names) and their v3.30–3.31 aliases. */
export const BUILTIN_TIERS: ReadonlyMap<string, BuiltinTierSpec & { alwaysPresent: boolean }> = new Map([
  ['default', { order: 1_000_000, defaultAction: 'Deny', alwaysPresent: true }],
  ['kube-admin', { order: 1_000, defaultAction: 'Pass', alwaysPresent: true }],
  ['kube-baseline', { order: 10_000_000, defaultAction: 'Pass', alwaysPresent: true }],
  ['adminnetworkpolicy', { order: 1_000, defaultAction: 'Pass', alwaysPresent: false }],
  ['baselineadminnetworkpolicy', { order: 10_000_000, defaultAction: 'Pass', alwaysPresent: false }],
] as const);

export function buildTier(ctx: ObjectContext, value: Json, meta: Meta): Tier | undefined {
  const spec = readSpec(ctx, value);
  if (!spec) return undefined;
  ctx.checkFields(spec, TIER_SPEC_FIELDS, ['spec'], 'Tier spec');
  const order = ctx.num(spec.order, ['spec', 'order']);
  const da = ctx.str(spec.defaultAction, ['spec', 'defaultAction']);
  let defaultAction: 'Deny' | 'Pass' = 'Deny';
  if (da !== undefined) {
    if (da === 'Deny' || da === 'Pass') defaultAction = da;
    else ctx.error('NV-ACTION', `invalid tier defaultAction "${da}": must be Deny or Pass`, ['spec', 'defaultAction']);
  }
  const builtin = BUILTIN_TIERS.get(meta.name);
  if (builtin) {
    if (order !== undefined && order !== builtin.order)
      ctx.error('NV-TIER', `the "${meta.name}" tier must have order ${builtin.order}`, ['spec', 'order']);
    if (da !== undefined && defaultAction !== builtin.defaultAction)
      ctx.error('NV-TIER', `the "${meta.name}" tier must have defaultAction ${builtin.defaultAction}`, ['spec', 'defaultAction']);
    return { name: meta.name, order: builtin.order, defaultAction: builtin.defaultAction, defined: true, builtin: true, origin: ctx.origin([]) };
  }
  return { name: meta.name, order, defaultAction, defined: true, builtin: false, origin: ctx.origin([]) };
}

// ---------------------------------------------------------------- network sets, HEPs, profiles

export function buildNetworkSet(ctx: ObjectContext, value: Json, meta: Meta, global: boolean): NetworkSet | undefined {
  const spec = readSpec(ctx, value);
  if (!spec) return undefined;
  ctx.checkFields(spec, NETSET_SPEC_FIELDS, ['spec'], `${global ? 'GlobalNetworkSet' : 'NetworkSet'} spec`);
  if (meta.labels.has('projectcalico.org/namespace'))
    ctx.error('NV-LABEL', 'projectcalico.org/namespace is not a valid label name on a network set', ['metadata', 'labels', 'projectcalico.org/namespace'], { key: true });
  const nets: Cidr[] = [];
  const list = ctx.list(spec.nets, ['spec', 'nets']) ?? [];
  list.forEach((x, i) => {
    const p = ['spec', 'nets', i];
    const s = ctx.str(x, p);
    if (s === undefined) return;
    const r = parseCidrChecked(s, { masked: false });
    if (!r.ok) ctx.error('NV-CIDR', r.message, p);
    else nets.push(r.cidr);
  });
  return { name: meta.name, namespace: global ? undefined : meta.namespace, labels: meta.labels, nets, origin: ctx.origin([]) };
}

export function readEndpointPorts(ctx: ObjectContext, v: unknown, path: FieldPath): NamedPort[] {
  const out: NamedPort[] = [];
  const list = ctx.list(v, path) ?? [];
  list.forEach((x, i) => {
    const p = [...path, i];
    const m = ctx.map(x, p);
    if (!m) return;
    ctx.checkFields(m, HEP_PORT_FIELDS, p, 'endpoint port');
    const name = ctx.str(m.name, [...p, 'name']);
    const nameErr = name === undefined ? 'port name is required' : checkPortName(name);
    if (nameErr) ctx.error('NV-PORT', nameErr, name === undefined ? p : [...p, 'name']);
    const proto = parseProtocol(m.protocol);
    let protocol: number | undefined;
    if (!proto.ok) ctx.error('NV-PROTOCOL', proto.message, m.protocol === undefined ? p : [...p, 'protocol']);
    else if (!supportsPorts(proto.value)) ctx.error('NV-PROTOCOL', 'endpoint port protocol must be TCP, UDP or SCTP', [...p, 'protocol']);
    else protocol = proto.value;
    const port = ctx.int(m.port, [...p, 'port']);
    if (port === undefined || port < 1 || port > 65535) {
      if (port !== undefined || m.port === undefined) ctx.error('NV-PORT', 'endpoint port must be 1-65535', m.port === undefined ? p : [...p, 'port']);
      return;
    }
    if (name && !nameErr && protocol !== undefined) out.push({ name, protocol, port });
  });
  return out;
}

export function buildHostEndpoint(ctx: ObjectContext, value: Json, meta: Meta): HostEndpoint | undefined {
  const spec = readSpec(ctx, value);
  if (!spec) return undefined;
  ctx.checkFields(spec, HEP_SPEC_FIELDS, ['spec'], 'HostEndpoint spec');
  const node = ctx.str(spec.node, ['spec', 'node']);
  if (!node) ctx.error('NV-HEP', 'HostEndpoint spec.node is required', spec.node === undefined ? ['spec'] : ['spec', 'node']);
  const interfaceName = ctx.str(spec.interfaceName, ['spec', 'interfaceName']) || undefined;
  if (interfaceName !== undefined && interfaceName !== '*' && !/^[a-zA-Z0-9_.-]{1,15}$/.test(interfaceName))
    ctx.error('NV-HEP', `invalid interfaceName "${interfaceName}"`, ['spec', 'interfaceName']);
  const expectedIPs: IpAddr[] = [];
  (ctx.strList(spec.expectedIPs, ['spec', 'expectedIPs']) ?? []).forEach((s, i) => {
    const ip = parseIpChecked(s);
    if (!ip) ctx.error('NV-IP', `invalid IP address "${s}"`, ['spec', 'expectedIPs', i]);
    else expectedIPs.push(ip);
  });
  if (!interfaceName && !(Array.isArray(spec.expectedIPs) && spec.expectedIPs.length))
    ctx.error('NV-HEP', 'HostEndpoint needs interfaceName or expectedIPs', ['spec']);
  const profiles = ctx.strList(spec.profiles, ['spec', 'profiles']) ?? [];
  const ports = readEndpointPorts(ctx, spec.ports, ['spec', 'ports']);
  if (!node) return undefined;
  const hep: HostEndpoint = { name: meta.name, node, expectedIPs, profiles, labels: meta.labels, ports, origin: ctx.origin([]) };
  if (interfaceName) hep.interfaceName = interfaceName;
  return hep;
}

export function buildProfile(ctx: ObjectContext, value: Json, meta: Meta): Profile | undefined {
  const spec = readSpec(ctx, value);
  if (!spec) return undefined;
  ctx.checkFields(spec, PROFILE_SPEC_FIELDS, ['spec'], 'Profile spec');
  const labelsToApply = readLabelMap(ctx, spec.labelsToApply, ['spec', 'labelsToApply'], true);
  const ingress = readRules(ctx, spec.ingress, ['spec', 'ingress'], { direction: 'ingress', global: true });
  const egress = readRules(ctx, spec.egress, ['spec', 'egress'], { direction: 'egress', global: true });
  return { name: meta.name, labelsToApply, ingress, egress, synthetic: false, origin: ctx.origin([]) };
}

export { isMapValue };
