/**
 * `kind: Expectations`: flows with the verdict (and optionally the deciding
 * rule or whole trace) the user expects.
 */
import type { Json, ObjectContext } from './context.js';
import type { ExpectedFlow, Expectations, TraceExpectation } from './types.js';
import { parseIpChecked } from './validate.js';
import type { FieldPath } from '../parse/documents.js';

const TOP_FIELDS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata', 'name', 'node', 'flows', 'description']);
const FLOW_FIELDS: ReadonlySet<string> = new Set(['src', 'dst', 'proto', 'protocol', 'sport', 'dport', 'icmpType', 'icmpCode', 'expect', 'egress', 'ingress', 'why', 'todo', 'name']);

const PROTO_NAMES: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, udplite: 136 };

/** Trace entry `tier|name|action|ruleIndex`. */
const TRACE_ENTRY = /^[^|]+\|[^|]+\|(allow|deny|pass|log|[A-Za-z-]+)\|-?[0-9]+$/;

function readTrace(ctx: ObjectContext, v: unknown, path: FieldPath): TraceExpectation | undefined {
  if (v === undefined || v === null) return undefined;
  const check = (s: string, p: FieldPath): boolean => {
    if (!TRACE_ENTRY.test(s)) {
      ctx.error('NV-EXPECT', `invalid trace entry "${s}": expected "tier|policy|action|ruleIndex" (ruleIndex -1 for end of tier)`, p);
      return false;
    }
    return true;
  };
  if (typeof v === 'string') {
    if (v.toLowerCase() === 'none') return { kind: 'none' };
    return check(v, path) ? { kind: 'deciding', entry: v } : undefined;
  }
  if (Array.isArray(v)) {
    const entries: string[] = [];
    let ok = true;
    v.forEach((e, i) => {
      if (typeof e !== 'string') {
        ctx.error('NV-TYPE', 'trace entries must be strings', [...path, i]);
        ok = false;
      } else if (!check(e, [...path, i])) ok = false;
      else entries.push(e);
    });
    return ok ? { kind: 'trace', entries } : undefined;
  }
  ctx.error('NV-TYPE', 'expected "none", a trace entry string or a list of trace entries', path);
  return undefined;
}

function readProto(ctx: ObjectContext, v: unknown, path: FieldPath): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  if (typeof v === 'string') {
    if (/^[0-9]+$/.test(v) && Number(v) <= 255) return Number(v);
    const n = PROTO_NAMES[v.toLowerCase()];
    if (n !== undefined) return n;
  }
  ctx.error('NV-PROTOCOL', `invalid proto ${JSON.stringify(v)}: expected TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite (any case) or 0-255`, path);
  return undefined;
}

function readRanged(ctx: ObjectContext, v: unknown, path: FieldPath, max: number, code: string, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    ctx.error(code, `invalid ${what} ${JSON.stringify(v)}: must be 0-${max}`, path);
    return undefined;
  }
  return n;
}

export function buildExpectations(ctx: ObjectContext, value: Json): Expectations | undefined {
  ctx.checkFields(value, TOP_FIELDS, [], 'Expectations');
  const md = ctx.map(value.metadata, ['metadata']);
  const name = (md && typeof md.name === 'string' ? md.name : undefined) ?? ctx.str(value.name, ['name']);
  if (name) ctx.object = `Expectations/${name}`;
  const node = ctx.str(value.node, ['node']) || undefined;
  const flowsRaw = ctx.list(value.flows, ['flows']);
  if (!flowsRaw) ctx.error('NV-EXPECT', 'Expectations needs a flows list', []);
  const flows: ExpectedFlow[] = [];
  (flowsRaw ?? []).forEach((f, i) => {
    const p: FieldPath = ['flows', i];
    const m = ctx.map(f, p);
    if (!m) return;
    const before = ctx.diags.items.length;
    ctx.checkFields(m, FLOW_FIELDS, p, 'expected flow');
    const ip = (field: 'src' | 'dst') => {
      const s = ctx.str(m[field], [...p, field]);
      if (s === undefined) {
        ctx.error('NV-EXPECT', `flow needs ${field}`, p);
        return undefined;
      }
      const a = parseIpChecked(s);
      if (!a) ctx.error('NV-IP', `invalid IP address "${s}"`, [...p, field]);
      return a;
    };
    const src = ip('src');
    const dst = ip('dst');
    if (src && dst && src.family !== dst.family) ctx.error('NV-EXPECT', 'src and dst must be the same IP family', [...p, 'dst']);
    const protoField = m.proto !== undefined ? 'proto' : 'protocol';
    const protoRaw = m[protoField];
    if (protoRaw === undefined) ctx.error('NV-EXPECT', 'flow needs proto', p);
    const proto = protoRaw === undefined ? undefined : readProto(ctx, protoRaw, [...p, protoField]);
    const sport = readRanged(ctx, m.sport, [...p, 'sport'], 65535, 'NV-PORT', 'port');
    const dport = readRanged(ctx, m.dport, [...p, 'dport'], 65535, 'NV-PORT', 'port');
    const icmpType = readRanged(ctx, m.icmpType, [...p, 'icmpType'], 255, 'NV-ICMP', 'ICMP type');
    const icmpCode = readRanged(ctx, m.icmpCode, [...p, 'icmpCode'], 255, 'NV-ICMP', 'ICMP code');
    if (proto === 1 || proto === 58) {
      if (sport !== undefined || dport !== undefined) ctx.error('NV-EXPECT', 'ICMP flows take icmpType/icmpCode, not ports', [...p, dport !== undefined ? 'dport' : 'sport']);
    } else if (proto !== undefined && (icmpType !== undefined || icmpCode !== undefined)) {
      ctx.error('NV-EXPECT', 'icmpType/icmpCode need proto ICMP or ICMPv6', [...p, icmpType !== undefined ? 'icmpType' : 'icmpCode']);
    }
    if (icmpCode !== undefined && icmpType === undefined) ctx.error('NV-ICMP', 'icmpCode needs icmpType', [...p, 'icmpCode']);
    let expect: 'Allow' | 'Deny' | undefined;
    const e = m.expect;
    if (typeof e === 'string' && (e.toLowerCase() === 'allow' || e.toLowerCase() === 'deny')) expect = e.toLowerCase() === 'allow' ? 'Allow' : 'Deny';
    else ctx.error('NV-EXPECT', e === undefined ? 'flow needs expect: Allow or Deny' : `invalid expect ${JSON.stringify(e)}: must be Allow or Deny`, e === undefined ? p : [...p, 'expect']);
    const egress = readTrace(ctx, m.egress, [...p, 'egress']);
    const ingress = readTrace(ctx, m.ingress, [...p, 'ingress']);
    const why = m.why === undefined ? undefined : ctx.str(m.why, [...p, 'why']);
    const todo = m.todo === undefined ? undefined : ctx.str(m.todo, [...p, 'todo']);
    if (ctx.diags.items.slice(before).some((d) => d.severity === 'error')) return;
    const flow: ExpectedFlow = { src: src!, dst: dst!, proto: proto!, expect: expect!, origin: ctx.origin(p) };
    if (sport !== undefined) flow.sport = sport;
    if (dport !== undefined) flow.dport = dport;
    if (icmpType !== undefined) flow.icmpType = icmpType;
    if (icmpCode !== undefined) flow.icmpCode = icmpCode;
    if (egress) flow.egress = egress;
    if (ingress) flow.ingress = ingress;
    if (why !== undefined) flow.why = why;
    if (todo !== undefined) flow.todo = todo;
    flows.push(flow);
  });
  const out: Expectations = { flows, origin: ctx.origin([]) };
  if (name) out.name = name;
  if (node) out.node = node;
  return out;
}
