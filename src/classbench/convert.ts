/**
 * ClassBench filters → Calico resources, as a user would write them to run a
 * forwarding firewall on a node:
 *
 * - a wildcard HostEndpoint (`interfaceName: "*"`, node `classbench`, no
 *   expectedIPs, label `classbench: "true"`, profile
 *   `projectcalico-default-allow` like Calico's automatic HEPs — the profile
 *   only matters for traffic to/from the host itself, never for forwarded
 *   traffic);
 * - a Tier `classbench` (order 100, defaultAction Deny);
 * - GlobalNetworkPolicies `classbench-0000`, `classbench-0001`, … in that
 *   tier with `applyOnForward: true`, selecting the HEP by its label, one
 *   Allow rule per filter in file order. Calico allows at most 1024 rules per
 *   direction per policy (SEMANTICS.md §8), so the rules are split into
 *   consecutive policies with increasing `order`: first match across them is
 *   the first match of the file, and only the end of the tier (after the last
 *   policy) denies.
 *
 * Direction: the policies police the **egress** side of forwarded traffic
 * (`types: [Egress]`). Transit traffic through a wildcard HEP is evaluated
 * ingress-forward then egress-forward (docs/SEMANTICS-CHOICES.md row 18), and
 * the flow's deciding evaluation is the first deny, else the *last* one — so
 * with ingress-only policies an allowed flow's deciding evaluation is the
 * empty egress-forward one ("no forward policy"), and the engine reports no
 * rule for it. With egress policies the rule that allowed the flow is the
 * deciding rule. `direction: 'Ingress'` is available for completeness; the
 * trace check then needs the reference evaluator (see check.ts).
 *
 * Field mapping per filter:
 * - sip/dip → `source.nets` / `destination.nets`, host bits cleared (Calico
 *   rejects unmasked CIDRs); omitted for /0;
 * - protocol mask 0xFF → `protocol: <n>`; mask 0x00 → no protocol;
 * - port range lo:hi → omitted for 0:65535; `ports: [lo]` or `["lo:hi"]` for
 *   lo ≥ 1; for lo = 0 (Calico ports are 1–65535) `notPorts: ["hi+1:65535"]`,
 *   which is exact because the rule has a port protocol.
 * Filters Calico cannot express exactly are converted as closely as
 * possible and listed in `notes` (the trace check uses ClassBench semantics,
 * so any header they affect shows up as a mismatch):
 * - restricted ports with a wildcard (or partial-mask) protocol: one rule per
 *   port protocol Calico accepts ports with (TCP, UDP, SCTP), in that order;
 *   headers of other protocols whose port fields fall in the ranges match the
 *   filter in ClassBench but not in Calico;
 * - partial protocol masks: one rule per protocol value the mask accepts;
 * - exact protocol 0, or restricted ports with a protocol that has no ports
 *   (e.g. ICMP): no rule at all (Calico rejects both), noted as dropped.
 * The wustl/ and neurocuts/ sets contain none of these.
 */
import type { Filter } from './parse.js';
import { formatIpv4, prefixMask } from './parse.js';

/** Protocols Calico accepts numeric ports with (SEMANTICS.md §4.11). */
export const PORT_PROTOCOLS: readonly number[] = [6, 17, 132];

export const DEFAULT_RULES_PER_POLICY = 1024;

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface ConvertOptions {
  /** Rules per policy before splitting (Calico: 1024 per direction). */
  maxRulesPerPolicy?: number;
  /** Policy direction; default Egress (see the module comment). */
  direction?: 'Ingress' | 'Egress';
  tier?: string;
  tierOrder?: number;
  node?: string;
  /** Policy name prefix: `<prefix>-0000`, … */
  prefix?: string;
  /** Name of the filter file, for comments. */
  source?: string;
}

/** One generated Calico rule and the filter it came from. */
export interface RuleRef {
  policy: string;
  /** Index in the policy's rule list (0-based, as in traces). */
  ruleIndex: number;
  /** 1-based filter number (the trace's rule id space). */
  filter: number;
}

export interface ConversionNote {
  filter: number;
  line: number;
  kind: 'expanded' | 'dropped';
  message: string;
}

export interface PolicySummary {
  name: string;
  order: number;
  rules: number;
  firstFilter: number;
  lastFilter: number;
}

export interface Conversion {
  direction: 'Ingress' | 'Egress';
  tier: string;
  node: string;
  hostEndpointName: string;
  /** Calico resources in the order: HostEndpoint, Tier, policies. */
  hostEndpoint: JsonObject;
  tierObject: JsonObject;
  policies: JsonObject[];
  summaries: PolicySummary[];
  /** Every generated rule in evaluation order. */
  rules: RuleRef[];
  notes: ConversionNote[];
  /** Filters whose addresses had host bits set (masked in the output). */
  maskedFilters: number;
  filterCount: number;
  /** 1-based filter number of a (policy, rule index), undefined when not generated here. */
  filterOf(policy: string, ruleIndex: number): number | undefined;
  /** The generated rules of a filter (empty when dropped). */
  rulesOf(filter: number): RuleRef[];
}

interface RulePart {
  protocol?: number;
  rule: JsonObject;
}

function portValue(lo: number, hi: number): Json {
  return lo === hi ? lo : `${lo}:${hi}`;
}

/** The ports criterion of one side: undefined for 0:65535. */
function portCriterion(lo: number, hi: number): JsonObject | undefined {
  if (lo === 0 && hi === 65535) return undefined;
  if (lo >= 1) return { ports: [portValue(lo, hi)] };
  // lo = 0: Calico ports start at 1; "not hi+1..65535" is exact for a port protocol.
  return { notPorts: [portValue(hi + 1, 65535)] };
}

function netOf(addr: number, len: number): string {
  return `${formatIpv4((addr & prefixMask(len)) >>> 0)}/${len}`;
}

/** The Calico rules of one filter (several when expanded, none when dropped). */
function filterRules(f: Filter, notes: ConversionNote[]): RulePart[] {
  const note = (kind: ConversionNote['kind'], message: string): void => {
    notes.push({ filter: f.id, line: f.line, kind, message });
  };
  const source: JsonObject = {};
  const destination: JsonObject = {};
  if (f.srcLen > 0) source.nets = [netOf(f.src, f.srcLen)];
  if (f.dstLen > 0) destination.nets = [netOf(f.dst, f.dstLen)];
  const sp = portCriterion(f.spLo, f.spHi);
  const dp = portCriterion(f.dpLo, f.dpHi);
  if (sp) Object.assign(source, sp);
  if (dp) Object.assign(destination, dp);
  const hasPortCriteria = sp !== undefined || dp !== undefined;

  let protocols: (number | undefined)[];
  const mask = f.protoMask;
  const value = f.proto & mask;
  if (mask === 0xff) {
    if (value === 0) {
      note('dropped', 'exact protocol 0 cannot be expressed in Calico (protocol must be 1-255); no rule generated');
      return [];
    }
    if (hasPortCriteria && !PORT_PROTOCOLS.includes(value)) {
      note('dropped', `restricted ports with protocol ${value}: Calico accepts ports only with TCP, UDP or SCTP; no rule generated`);
      return [];
    }
    protocols = [value];
  } else if (mask === 0) {
    if (hasPortCriteria) {
      note(
        'expanded',
        'restricted ports with any protocol: one rule each for TCP, UDP and SCTP; headers of other protocols with matching port fields match in ClassBench but not here',
      );
      protocols = [...PORT_PROTOCOLS];
    } else protocols = [undefined];
  } else {
    const accepted: number[] = [];
    for (let p = 1; p < 256; p++) if ((p & mask) === value && (!hasPortCriteria || PORT_PROTOCOLS.includes(p))) accepted.push(p);
    const lost = (0 & mask) === value ? ' (protocol 0 cannot be expressed)' : '';
    note(
      accepted.length ? 'expanded' : 'dropped',
      `protocol mask 0x${hex2(mask)} is neither 0x00 nor 0xFF: ${accepted.length} rule(s), one per accepted protocol${hasPortCriteria ? ' with ports' : ''}${lost}`,
    );
    protocols = accepted;
  }
  return protocols.map((protocol) => {
    const rule: JsonObject = { action: 'Allow' };
    if (protocol !== undefined) rule.protocol = protocol;
    if (Object.keys(source).length) rule.source = structuredClone(source);
    if (Object.keys(destination).length) rule.destination = structuredClone(destination);
    return protocol === undefined ? { rule } : { protocol, rule };
  });
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

export const HEP_LABEL = 'classbench';

/** Converts filters (in file order) into Calico resources and the rule ↔ filter map. */
export function convertFilters(filters: readonly Filter[], options: ConvertOptions = {}): Conversion {
  const max = options.maxRulesPerPolicy ?? DEFAULT_RULES_PER_POLICY;
  if (!Number.isInteger(max) || max < 1 || max > DEFAULT_RULES_PER_POLICY) throw new RangeError(`maxRulesPerPolicy must be 1-${DEFAULT_RULES_PER_POLICY}`);
  const direction = options.direction ?? 'Egress';
  const dirKey = direction === 'Ingress' ? 'ingress' : 'egress';
  const tier = options.tier ?? 'classbench';
  const node = options.node ?? 'classbench';
  const prefix = options.prefix ?? 'classbench';
  const notes: ConversionNote[] = [];
  const hepName = `${node}-all-interfaces`;
  const hostEndpoint: JsonObject = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'HostEndpoint',
    metadata: { name: hepName, labels: { [HEP_LABEL]: 'true' } },
    spec: { node, interfaceName: '*', profiles: ['projectcalico-default-allow'] },
  };
  const tierObject: JsonObject = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Tier',
    metadata: { name: tier },
    spec: { order: options.tierOrder ?? 100, defaultAction: 'Deny' },
  };

  let maskedFilters = 0;
  const all: { filter: Filter; rule: JsonObject }[] = [];
  for (const f of filters) {
    if ((f.src & ~prefixMask(f.srcLen)) !== 0 || (f.dst & ~prefixMask(f.dstLen)) !== 0) maskedFilters++;
    for (const part of filterRules(f, notes)) all.push({ filter: f, rule: part.rule });
  }

  const policies: JsonObject[] = [];
  const summaries: PolicySummary[] = [];
  const rules: RuleRef[] = [];
  const byPolicy = new Map<string, Int32Array>();
  const byFilter = new Map<number, RuleRef[]>();
  const count = Math.max(1, Math.ceil(all.length / max));
  const width = Math.max(4, String(count - 1).length);
  for (let p = 0; p < count; p++) {
    const name = `${prefix}-${String(p).padStart(width, '0')}`;
    const chunk = all.slice(p * max, (p + 1) * max);
    const index = new Int32Array(chunk.length);
    chunk.forEach((c, i) => {
      const ref: RuleRef = { policy: name, ruleIndex: i, filter: c.filter.id };
      rules.push(ref);
      index[i] = c.filter.id;
      let list = byFilter.get(c.filter.id);
      if (!list) byFilter.set(c.filter.id, (list = []));
      list.push(ref);
    });
    byPolicy.set(name, index);
    policies.push({
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name },
      spec: {
        tier,
        order: p,
        selector: `${HEP_LABEL} == 'true'`,
        applyOnForward: true,
        types: [direction],
        [dirKey]: chunk.map((c) => c.rule),
      },
    });
    summaries.push({
      name,
      order: p,
      rules: chunk.length,
      firstFilter: chunk[0]?.filter.id ?? 0,
      lastFilter: chunk[chunk.length - 1]?.filter.id ?? 0,
    });
  }

  return {
    direction,
    tier,
    node,
    hostEndpointName: hepName,
    hostEndpoint,
    tierObject,
    policies,
    summaries,
    rules,
    notes,
    maskedFilters,
    filterCount: filters.length,
    filterOf(policy, ruleIndex) {
      const idx = byPolicy.get(policy);
      if (!idx || ruleIndex < 0 || ruleIndex >= idx.length) return undefined;
      return idx[ruleIndex];
    },
    rulesOf(filter) {
      return byFilter.get(filter) ?? [];
    },
  };
}

// ---------------------------------------------------------------- YAML

const PLAIN_SAFE = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

function scalar(v: Json): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  if (typeof v === 'string') {
    // Plain only when it cannot read as anything but this string.
    if (PLAIN_SAFE.test(v) && !/^(?:true|false|null|yes|no|on|off|~|[-+]?[0-9][0-9_.:eE+-]*|0x.*|0o.*)$/i.test(v)) return v;
    return JSON.stringify(v);
  }
  throw new TypeError('not a scalar');
}

function isScalar(v: Json): boolean {
  return v === null || typeof v !== 'object';
}

/** Block YAML of a JSON value at `indent`; scalar lists are written in flow style. */
function emit(v: Json, indent: string, out: string[], comments?: (index: number) => string | undefined): void {
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const c = comments?.(i);
      if (c !== undefined) out.push(`${indent}# ${c}`);
      if (isScalar(item)) out.push(`${indent}- ${scalar(item)}`);
      else {
        const sub: string[] = [];
        emit(item, indent + '  ', sub);
        out.push(`${indent}- ${sub[0]!.slice(indent.length + 2)}`, ...sub.slice(1));
      }
    });
    return;
  }
  if (v === null || typeof v !== 'object') throw new TypeError('emit expects a collection');
  for (const [k, val] of Object.entries(v)) {
    if (isScalar(val)) out.push(`${indent}${k}: ${scalar(val)}`);
    else if (Array.isArray(val) && val.every(isScalar)) out.push(`${indent}${k}: [${val.map(scalar).join(', ')}]`);
    else {
      out.push(`${indent}${k}:`);
      emit(val, indent + '  ', out);
    }
  }
}

function docYaml(obj: JsonObject, ruleComments?: { key: string; comment: (i: number) => string }): string {
  const out: string[] = [];
  for (const [k, val] of Object.entries(obj)) {
    if (k === 'spec' && ruleComments && val && typeof val === 'object' && !Array.isArray(val)) {
      out.push('spec:');
      for (const [sk, sv] of Object.entries(val)) {
        if (sk === ruleComments.key && Array.isArray(sv)) {
          out.push(`  ${sk}:`);
          emit(sv, '    ', out, ruleComments.comment);
        } else emit({ [sk]: sv }, '  ', out);
      }
    } else emit({ [k]: val }, '', out);
  }
  return out.join('\n') + '\n';
}

export interface EmittedFile {
  name: string;
  text: string;
}

/**
 * YAML files for `netverdict classify/explain/compile -p DIR`: the HostEndpoint
 * and Tier in `00-classbench-base.yaml`, each policy in its own file with a
 * comment naming the filter (number, line, text) above every rule.
 */
export function conversionYaml(conv: Conversion, filters: readonly Filter[], source = 'filters'): EmittedFile[] {
  const byId = new Map(filters.map((f) => [f.id, f]));
  const header = (what: string): string =>
    `# Generated by netverdict classbench from ${source} (${conv.filterCount} filters, ${conv.rules.length} rules, ${conv.policies.length} policies).\n# ${what}\n`;
  const files: EmittedFile[] = [
    {
      name: '00-classbench-base.yaml',
      text: header('Wildcard HostEndpoint and the tier the policies live in.') + docYaml(conv.hostEndpoint) + '---\n' + docYaml(conv.tierObject),
    },
  ];
  const dirKey = conv.direction === 'Ingress' ? 'ingress' : 'egress';
  conv.policies.forEach((p, i) => {
    const s = conv.summaries[i]!;
    const refs = conv.rules.filter((r) => r.policy === s.name);
    const comment = (k: number): string => {
      const f = byId.get(refs[k]!.filter)!;
      return `filter ${f.id} (${source}:${f.line}) ${f.text.replace(/\s+/g, ' ')}`;
    };
    files.push({ name: `${s.name}.yaml`, text: header(`Filters ${s.firstFilter}-${s.lastFilter}.`) + docYaml(p, { key: dirKey, comment }) });
  });
  return files;
}
