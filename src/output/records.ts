/**
 * Flow records in Calico flow-log vocabulary (ECOSYSTEM.md §3.5): JSON Lines
 * with stable field order, a flat CSV subset, and a terminal table for people.
 */
import type { IpAddr } from '../net/ip.js';
import { formatIp, parseCidr, cidrContains, protocolName } from '../net/ip.js';
import type { AddressOwner } from '../resolve/index.js';
import type { Evaluation, FlowResult, NatResult, TraceEntry } from '../reference/evaluate.js';
import { decidingEvaluation, formatTraceEntry } from '../reference/evaluate.js';

const PRIVATE = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
].map((c) => parseCidr(c)!.cidr);

export function isPrivate(a: IpAddr): boolean {
  return PRIVATE.some((c) => cidrContains(c, a));
}

export interface EndpointFields {
  type: 'wep' | 'hep' | 'ns' | 'net';
  namespace: string;
  name: string;
  labels?: string[];
}

/** Sorted `key=value` labels of an entity, built once per entity and shared (frozen) by its records. */
const labelLists = new WeakMap<object, string[]>();
function labels(e: { ownLabels: ReadonlyMap<string, string> }): string[] {
  let l = labelLists.get(e);
  if (!l) labelLists.set(e, (l = Object.freeze([...e.ownLabels].map(([k, v]) => `${k}=${v}`).sort()) as string[]));
  return l;
}

export function endpointFields(addr: IpAddr, owner: AddressOwner): EndpointFields {
  const ep = owner.endpoint;
  if (ep) return { type: ep.kind === 'wep' ? 'wep' : 'hep', namespace: ep.namespace ?? '-', name: ep.name, labels: labels(ep) };
  if (owner.networkSet) {
    const s = owner.networkSet;
    return { type: 'ns', namespace: s.namespace ?? '-', name: s.name, labels: labels(s) };
  }
  return { type: 'net', namespace: '-', name: isPrivate(addr) ? 'pvt' : 'pub' };
}

export interface DirectionRecord {
  action: 'allow' | 'deny';
  reporter: 'src' | 'dst';
  reason: string;
  endpoint: string;
  policies: { enforced_policies: string[] };
  logged?: string[];
  deciding?: DecidingRecord;
}

export interface DecidingRecord {
  tier: string;
  policy: string;
  action: string;
  rule_index: number;
  file?: string;
  line?: number;
}

export function decidingRecord(e: TraceEntry | undefined): DecidingRecord | undefined {
  if (!e) return undefined;
  const rec: DecidingRecord = { tier: e.tier, policy: e.name, action: e.action, rule_index: e.ruleIndex };
  if (e.origin && e.origin.line > 0) {
    rec.file = e.origin.file;
    rec.line = e.origin.line;
  }
  return rec;
}

/** An endpoint as evaluation records name it: `namespace/name`, or the name of a cluster-scoped one. */
export function endpointName(e: { namespace?: string | undefined; name: string }): string {
  return e.namespace ? `${e.namespace}/${e.name}` : e.name;
}

function directionRecord(ev: Evaluation, reporter: 'src' | 'dst'): DirectionRecord {
  const rec: DirectionRecord = {
    action: ev.action,
    reporter,
    reason: ev.reason,
    endpoint: endpointName(ev.endpoint),
    policies: { enforced_policies: ev.trace.map((t, i) => formatTraceEntry(t, i)) },
  };
  if (ev.logged.length) rec.logged = ev.logged.map((t) => formatTraceEntry(t));
  const d = decidingRecord(ev.trace[ev.trace.length - 1]);
  if (d) rec.deciding = d;
  return rec;
}

export interface FlowRecord {
  source_ip: string;
  source_port: number | null;
  dest_ip: string;
  dest_port: number | null;
  proto: string;
  icmp_type?: number;
  icmp_code?: number;
  source_type: string;
  source_namespace: string;
  source_name: string;
  source_labels?: string[];
  dest_type: string;
  dest_namespace: string;
  dest_name: string;
  dest_labels?: string[];
  dest_service_namespace?: string;
  dest_service_name?: string;
  dest_service_port?: number;
  nat?: {
    frontend: string;
    pre_dest_ip: string;
    pre_dest_port: number;
    post_dest_ip: string | null;
    post_dest_port: number | null;
    backends: number;
  };
  action: 'allow' | 'deny';
  reason: string;
  egress?: DirectionRecord;
  ingress?: DirectionRecord;
  host_policies?: (DirectionRecord & { point: string; direction: string })[];
  deciding?: DecidingRecord & { direction: string };
}

export function flowRecord(r: FlowResult): FlowRecord {
  const t = r.tuple;
  const dst = r.nat?.postDst ?? t.dst;
  const s = endpointFields(t.src, r.source);
  const d = endpointFields(dst, r.dest);
  const rec: FlowRecord = {
    source_ip: formatIp(t.src),
    source_port: t.sport ?? null,
    dest_ip: formatIp(dst),
    dest_port: r.nat?.postDport ?? t.dport ?? null,
    proto: protocolName(t.proto),
    source_type: s.type,
    source_namespace: s.namespace,
    source_name: s.name,
    dest_type: d.type,
    dest_namespace: d.namespace,
    dest_name: d.name,
    action: r.action,
    reason: r.reason,
  };
  if (t.icmpType !== undefined) rec.icmp_type = t.icmpType;
  if (t.icmpCode !== undefined) rec.icmp_code = t.icmpCode;
  if (s.labels) rec.source_labels = s.labels;
  if (d.labels) rec.dest_labels = d.labels;
  if (r.nat) Object.assign(rec, natFields(r.nat));
  return Object.assign(rec, evaluationFields(r));
}

/** The service and NAT fields of a record whose destination was a service frontend (in record order). */
export function natFields(nat: NatResult): Pick<FlowRecord, 'dest_service_namespace' | 'dest_service_name' | 'dest_service_port' | 'nat'> {
  return {
    dest_service_namespace: nat.service.namespace,
    dest_service_name: nat.service.name,
    dest_service_port: nat.service.port,
    nat: {
      frontend: nat.frontend,
      pre_dest_ip: formatIp(nat.preDst),
      pre_dest_port: nat.preDport,
      post_dest_ip: nat.postDst ? formatIp(nat.postDst) : null,
      post_dest_port: nat.postDport ?? null,
      backends: nat.backendCount,
    },
  };
}

/** The evaluation fields of a record (egress, ingress, host_policies, deciding; those present, in record order). */
export function evaluationFields(r: FlowResult): Pick<FlowRecord, 'egress' | 'ingress' | 'host_policies' | 'deciding'> {
  const rec: Pick<FlowRecord, 'egress' | 'ingress' | 'host_policies' | 'deciding'> = {};
  if (r.egress) rec.egress = directionRecord(r.egress, 'src');
  if (r.ingress) rec.ingress = directionRecord(r.ingress, 'dst');
  const host = r.evaluations.filter((e) => e !== r.egress && e !== r.ingress);
  if (host.length) {
    rec.host_policies = host.map((e) => ({ ...directionRecord(e, e.direction === 'egress' ? 'src' : 'dst'), point: e.point, direction: e.direction }));
  }
  const dec = decidingEvaluation(r);
  const decEntry = dec?.trace[dec.trace.length - 1];
  if (dec && decEntry) rec.deciding = { direction: dec.direction, ...decidingRecord(decEntry)! };
  return rec;
}

export const CSV_COLUMNS = [
  'source_ip',
  'source_port',
  'dest_ip',
  'dest_port',
  'proto',
  'source_type',
  'source_namespace',
  'source_name',
  'dest_type',
  'dest_namespace',
  'dest_name',
  'dest_service_namespace',
  'dest_service_name',
  'action',
  'reason',
  'egress_action',
  'ingress_action',
  'deciding_direction',
  'deciding_tier',
  'deciding_policy',
  'rule_index',
] as const;

const CSV_SPECIAL = /[",\n\r]/;

export function csvField(v: string | number | null | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return String(v);
  return CSV_SPECIAL.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One CSV line in CSV_COLUMNS order. */
export function csvRow(rec: FlowRecord): string {
  const dec = rec.deciding;
  const values: (string | number | null | undefined)[] = [
    rec.source_ip,
    rec.source_port,
    rec.dest_ip,
    rec.dest_port,
    rec.proto,
    rec.source_type,
    rec.source_namespace,
    rec.source_name,
    rec.dest_type,
    rec.dest_namespace,
    rec.dest_name,
    rec.dest_service_namespace,
    rec.dest_service_name,
    rec.action,
    rec.reason,
    rec.egress?.action,
    rec.ingress?.action,
    dec?.direction,
    dec?.tier,
    dec?.policy,
    dec?.rule_index,
  ];
  let line = csvField(values[0]);
  for (let i = 1; i < values.length; i++) line += ',' + csvField(values[i]);
  return line;
}

/** Short human description of one direction's decision. */
export function describeDirection(d: DirectionRecord | undefined): string {
  if (!d) return '-';
  const dec = d.deciding;
  if (!dec) return `${d.action} (${d.reason})`;
  const chain = d.policies.enforced_policies.map((p) => {
    const [, tier, name, action, rule] = p.split('|');
    if (tier === '__PROFILE__') return name === '__NO_MATCH__' ? 'no profile matched: deny' : `profile ${name} ${rule === '-1' ? '(missing) ' : ''}${action}`;
    return rule === '-1' ? `[${tier}] ${name} end-of-tier ${action}` : `[${tier}] ${name} rule ${rule} ${action}`;
  });
  return chain.join(' → ');
}

export function tableRows(records: FlowRecord[]): string[] {
  const header = ['TRAFFIC', 'VERDICT', 'EGRESS (src)', 'INGRESS (dst)'];
  const rows = records.map((r) => {
    const who = (type: string, ns: string, name: string): string => (type === 'net' ? name : ns === '-' ? name : `${ns}/${name}`);
    const port = r.dest_port !== null ? `:${r.dest_port}` : '';
    const svc = r.dest_service_name ? ` via svc ${r.dest_service_namespace}/${r.dest_service_name}` : '';
    const traffic = `${who(r.source_type, r.source_namespace, r.source_name)} (${r.source_ip}) -> ${who(r.dest_type, r.dest_namespace, r.dest_name)} (${r.dest_ip}${port}/${r.proto})${svc}`;
    const verdict = r.action === 'allow' ? 'ALLOW' : `DENY${r.reason !== 'policy' ? ` (${r.reason})` : ''}`;
    return [traffic, verdict, describeDirection(r.egress), describeDirection(r.ingress)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(fmt)];
}
