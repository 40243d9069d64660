/**
 * `verify`: checks `kind: Expectations` flows (verdict, and optionally the
 * deciding trace entry or whole trace per direction) against an evaluator.
 */
import { formatIp, protocolName } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';
import type { Cluster, ExpectedFlow, Expectations, TraceExpectation } from '../model/types.js';
import { ResolvedCluster, type ResolveOptions } from '../resolve/index.js';
import { formatTraceEntry, ReferenceEvaluator, type Evaluation, type FlowResult } from './evaluate.js';

export interface FlowCheck {
  expectations: Expectations;
  flow: ExpectedFlow;
  result: FlowResult;
  ok: boolean;
  problems: string[];
}

export function expectedFlowTuple(f: ExpectedFlow): Tuple {
  const t: Tuple = { src: f.src, dst: f.dst, proto: f.proto };
  if (f.sport !== undefined) t.sport = f.sport;
  if (f.dport !== undefined) t.dport = f.dport;
  if (f.icmpType !== undefined) t.icmpType = f.icmpType;
  if (f.icmpCode !== undefined) t.icmpCode = f.icmpCode;
  return t;
}

function checkTrace(name: string, exp: TraceExpectation | undefined, ev: Evaluation | undefined, problems: string[]): void {
  if (!exp) return;
  const actual = ev ? ev.trace.map((e) => formatTraceEntry(e)) : [];
  if (exp.kind === 'none') {
    if (ev) problems.push(`${name}: expected not policed, got ${actual.join(' → ') || ev.reason}`);
    return;
  }
  if (!ev) {
    problems.push(`${name}: expected ${exp.kind === 'deciding' ? exp.entry : exp.entries.join(' → ')}, but this direction is not policed`);
    return;
  }
  if (exp.kind === 'deciding') {
    const last = actual[actual.length - 1] ?? `(${ev.reason})`;
    if (last !== exp.entry) problems.push(`${name}: expected deciding ${exp.entry}, got ${last}`);
  } else if (actual.join('\n') !== exp.entries.join('\n')) {
    problems.push(`${name}: expected trace ${exp.entries.join(' → ')}, got ${actual.join(' → ') || '(empty)'}`);
  }
}

export function checkFlow(evaluator: ReferenceEvaluator, expectations: Expectations, flow: ExpectedFlow): FlowCheck {
  const result = evaluator.evaluate(expectedFlowTuple(flow));
  const problems: string[] = [];
  const want = flow.expect.toLowerCase();
  if (result.action !== want) problems.push(`expected ${flow.expect}, got ${result.action === 'allow' ? 'Allow' : 'Deny'}`);
  checkTrace('egress', flow.egress, result.egress, problems);
  checkTrace('ingress', flow.ingress, result.ingress, problems);
  return { expectations, flow, result, ok: problems.length === 0, problems };
}

/** Checks every flow of every Expectations document; a document's `node` overrides `options.node`. */
export function checkExpectations(cluster: Cluster, all: Expectations[], options: ResolveOptions = {}): FlowCheck[] {
  const evaluators = new Map<string, ReferenceEvaluator>();
  const evaluatorFor = (node: string | undefined): ReferenceEvaluator => {
    const key = node ?? '\0all';
    let ev = evaluators.get(key);
    if (!ev) {
      ev = new ReferenceEvaluator(new ResolvedCluster(cluster, { ...options, node }));
      evaluators.set(key, ev);
    }
    return ev;
  };
  const out: FlowCheck[] = [];
  for (const exp of all) {
    const ev = evaluatorFor(exp.node ?? options.node);
    for (const flow of exp.flows) out.push(checkFlow(ev, exp, flow));
  }
  return out;
}

export function describeTuple(t: Tuple): string {
  const proto = protocolName(t.proto).toUpperCase();
  if (t.icmpType !== undefined) return `${formatIp(t.src)} -> ${formatIp(t.dst)} ${proto} type ${t.icmpType}${t.icmpCode !== undefined ? ` code ${t.icmpCode}` : ''}`;
  const sp = t.sport !== undefined ? `:${t.sport}` : '';
  const dp = t.dport !== undefined ? `:${t.dport}` : '';
  return `${formatIp(t.src)}${sp} -> ${formatIp(t.dst)}${dp} ${proto}`;
}
