/** `netverdict explain`: the whole decision for one flow, for a person (or --json). */
import type { Command } from 'commander';
import { createReferenceEvaluator, toTuple } from '../api.js';
import { formatIp } from '../net/ip.js';
import type { AddressOwner } from '../resolve/index.js';
import type { Evaluation, FlowResult } from '../reference/evaluate.js';
import { decidingEvaluation, formatTraceEntry } from '../reference/evaluate.js';
import { describeTuple } from '../reference/verify.js';
import { flowRecord } from '../output/records.js';
import { CliExit, DATA_PATH_HELP, EXIT_INPUT, loadOrExit, resolveOptions } from './common.js';

function describeOwner(o: AddressOwner): string {
  const parts: string[] = [];
  const e = o.endpoint;
  if (e) {
    const kind = e.kind === 'wep' ? 'workload (pod)' : 'host endpoint';
    parts.push(`${kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name}${e.node ? ` on node ${e.node}` : ''}`);
    const labels = [...e.ownLabels].map(([k, v]) => `${k}=${v}`).sort();
    if (labels.length) parts.push(`    labels: ${labels.join(', ')}`);
    if (e.profiles.length) parts.push(`    profiles: ${e.profiles.join(', ')}`);
  }
  if (o.hostNode !== undefined) parts.push(`host address of node ${o.hostNode}`);
  if (o.networkSet) {
    const s = o.networkSet;
    parts.push(`${e ? '    also in ' : ''}${s.kind === 'gns' ? 'GlobalNetworkSet' : 'NetworkSet'} ${s.namespace ? `${s.namespace}/` : ''}${s.name} (labels: ${[...s.ownLabels].map(([k, v]) => `${k}=${v}`).join(', ') || 'none'})`);
  }
  if (parts.length === 0) parts.push('not known to Calico (an outside address)');
  return parts.join('\n');
}

function renderEvaluation(ev: Evaluation, lines: string[]): void {
  const who = `${ev.endpoint.namespace ? `${ev.endpoint.namespace}/` : ''}${ev.endpoint.name}`;
  const point = ev.point === 'workload' ? 'workload policy' : ev.point === 'host' ? 'host endpoint policy' : 'host endpoint forward policy';
  lines.push('');
  lines.push(`${ev.direction.toUpperCase()} at ${who} (${point})`);
  if (ev.reason === 'failsafe') {
    lines.push('  failsafe port: host endpoint policy skipped');
  }
  let lastGroup = '';
  for (const r of ev.rules ?? []) {
    const group = `${r.tier}|${r.policy}`;
    if (group !== lastGroup) {
      const c = r.context;
      const tierNote = c ? ` (order ${c.tierOrder ?? 'none'}, end of tier: ${c.tierDefault})` : '';
      const polNote = c ? ` (${c.policyKind}${c.policyOrder !== undefined ? `, order ${c.policyOrder}` : ''})` : '';
      lines.push(r.tier === '__PROFILE__' ? `  profile ${r.policy}` : `  tier ${r.tier}${tierNote} › policy ${r.policy}${polNote}`);
      lastGroup = group;
    }
    const where = r.origin.line > 0 ? ` (${r.origin.file}:${r.origin.line})` : '';
    const verdict = r.result === 'match' ? 'MATCH' : r.result === 'not-for-family' ? 'not in this IP family' : 'no match';
    const then = r.result !== 'match' ? '' : r.action === 'Pass' ? ' → pass to the next tier' : r.action === 'Log' ? ' → logged, evaluation continues' : '';
    lines.push(`    rule ${r.ruleIndex} ${r.action}${where}: ${verdict}${then}`);
    for (const c of r.criteria) lines.push(`      ${c.ok ? '✓' : '✗'} ${c.criterion}: ${c.detail}`);
  }
  if (ev.trace.length === 0 && (ev.rules ?? []).length === 0 && ev.reason !== 'failsafe') lines.push('  no policy applies');
  for (const l of ev.logged) lines.push(`  logged by ${formatTraceEntry(l)}`);
  for (const t of ev.trace) {
    if (t.ruleIndex === -1 && t.tier !== '__PROFILE__') {
      lines.push(`  end of tier ${t.tier}: no rule decided → ${t.action} (tier default action)`);
    }
  }
  const last = ev.trace[ev.trace.length - 1];
  const at = last?.origin && last.origin.line > 0 ? ` at ${last.origin.file}:${last.origin.line}` : '';
  lines.push(`  → ${ev.action.toUpperCase()} (${ev.reason}${last ? `: ${formatTraceEntry(last)}` : ''})${at}`);
  lines.push(`  trace: ${ev.trace.map((t, i) => formatTraceEntry(t, i)).join('  ') || '(none)'}`);
}

export function renderExplanation(r: FlowResult): string {
  const lines: string[] = [];
  lines.push(`Flow: ${describeTuple(r.tuple)}`);
  if (r.nat) {
    const n = r.nat;
    lines.push(
      `NAT: ${n.frontend} of service ${n.service.namespace}/${n.service.name} port ${n.service.port}` +
        (n.postDst
          ? ` → backend ${formatIp(n.postDst)}:${n.postDport} (chosen among ${n.backendCount} by tuple hash); policy sees the backend`
          : ' → no ready backend: denied'),
    );
  } else lines.push('NAT: none (destination is not a service address)');
  lines.push(`Source ${formatIp(r.tuple.src)}: ${describeOwner(r.source)}`);
  const dst = r.nat?.postDst ?? r.tuple.dst;
  lines.push(`Destination ${formatIp(dst)}: ${describeOwner(r.dest)}`);
  for (const ev of r.evaluations) renderEvaluation(ev, lines);
  if (!r.egress) lines.push('', 'EGRESS: source is not a policed endpoint (no egress policy runs)');
  if (!r.ingress) lines.push('', 'INGRESS: destination is not a policed endpoint (no ingress policy runs)');
  lines.push('');
  const dec = decidingEvaluation(r);
  const last = dec?.trace[dec.trace.length - 1];
  const reason = r.reason === 'policy' ? '' : ` (${r.reason.replace(/_/g, ' ')})`;
  const by = last ? ` — decided by ${dec!.direction} ${formatTraceEntry(last)}${last.origin && last.origin.line > 0 ? ` at ${last.origin.file}:${last.origin.line}` : ''}` : '';
  lines.push(`VERDICT: ${r.action.toUpperCase()}${reason}${by}`);
  return lines.join('\n');
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('explain the whole decision for one flow: NAT, endpoints, every tier, policy and rule')
    .requiredOption('-p, --policies <path...>', 'resource files or directories, or - for stdin')
    .requiredOption('--src <ip>', 'source address')
    .requiredOption('--dst <ip>', 'destination address (before NAT)')
    .requiredOption('--proto <proto>', 'TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or a number')
    .option('--sport <n>', 'source port')
    .option('--dport <n>', 'destination port')
    .option('--icmp-type <n>', 'ICMP type')
    .option('--icmp-code <n>', 'ICMP code')
    .option('--node <name>', "police only this node's endpoints")
    .option('--endpoint-to-host <action>', 'Drop (default), Accept or Return', 'Drop')
    .option('--json', 'print the flow record with the full explanation as JSON')
    .option('-v, --verbose', 'print every warning')
    .addHelpText('after', DATA_PATH_HELP)
    .action(async (opts: Record<string, string | boolean | string[] | undefined>) => {
      const num = (name: string, max: number): number | undefined => {
        const v = opts[name];
        if (v === undefined) return undefined;
        if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || Number(v) > max) throw new CliExit(EXIT_INPUT, `--${name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} must be 0–${max} (got "${String(v)}")`);
        return Number(v);
      };
      let tuple;
      try {
        tuple = toTuple({
          src: opts.src as string,
          dst: opts.dst as string,
          proto: opts.proto as string,
          sport: num('sport', 65535),
          dport: num('dport', 65535),
          icmpType: num('icmpType', 255),
          icmpCode: num('icmpCode', 255),
        });
      } catch (e) {
        throw new CliExit(EXIT_INPUT, (e as Error).message);
      }
      const ropts = resolveOptions(opts as { node?: string; endpointToHost?: string });
      const { cluster } = await loadOrExit(opts.policies as string[], Boolean(opts.verbose));
      const r = createReferenceEvaluator(cluster, ropts).evaluate(tuple, { explain: true });
      if (opts.json) {
        const rec = flowRecord(r);
        const evaluations = r.evaluations.map((ev) => ({
          direction: ev.direction,
          point: ev.point,
          endpoint: ev.endpoint.namespace ? `${ev.endpoint.namespace}/${ev.endpoint.name}` : ev.endpoint.name,
          action: ev.action,
          reason: ev.reason,
          trace: ev.trace.map((t, i) => formatTraceEntry(t, i)),
          rules: ev.rules,
        }));
        process.stdout.write(JSON.stringify({ ...rec, evaluations }, null, 2) + '\n');
      } else {
        process.stdout.write(renderExplanation(r) + '\n');
      }
    });
}
