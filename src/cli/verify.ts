/** `netverdict verify`: check `kind: Expectations` flows; exit 1 if any fails. */
import type { Command } from 'commander';
import { checkExpectations, describeTuple, type FlowCheck } from '../reference/verify.js';
import { formatTraceEntry, decidingEvaluation, type Evaluation } from '../reference/evaluate.js';
import { CliExit, DATA_PATH_HELP, EXIT_FAILED, EXIT_INPUT, loadOrExit, resolveOptions } from './common.js';

export function describeDecision(c: FlowCheck): string {
  const r = c.result;
  const fmt = (ev: Evaluation | undefined): string | undefined => {
    const last = ev?.trace[ev.trace.length - 1];
    if (!ev || !last) return ev ? `${ev.direction} ${ev.reason.replace(/_/g, ' ')}` : undefined;
    const where = last.origin && last.origin.line > 0 ? ` (${last.origin.file}:${last.origin.line})` : '';
    return `${ev.direction} ${formatTraceEntry(last)}${where}`;
  };
  if (r.reason !== 'policy') {
    const before = r.evaluations.map(fmt).filter(Boolean).join('; ');
    return r.reason.replace(/_/g, ' ') + (before ? ` after ${before}` : '');
  }
  if (r.action === 'deny') return fmt(decidingEvaluation(r)) ?? 'deny';
  const parts = r.evaluations.map(fmt).filter(Boolean);
  return parts.length ? parts.join('; ') : 'no policy on the path';
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check every flow of the kind: Expectations documents; exit 1 if any expectation fails')
    .argument('<path...>', 'resource files or directories containing resources and Expectations')
    .option('--node <name>', "police only this node's endpoints (an Expectations document's own node: wins)")
    .option('--endpoint-to-host <action>', 'Drop (default), Accept or Return', 'Drop')
    .option('-q, --quiet', 'print only failures and the summary')
    .option('-v, --verbose', 'print every warning')
    .addHelpText(
      'after',
      `
Expectations format:
  kind: Expectations
  node: node-1                 # optional
  flows:
  - {src: 10.0.1.10, dst: 203.0.113.10, proto: TCP, dport: 443, expect: Allow}
  - {src: 10.0.1.10, dst: 198.51.100.66, proto: TCP, dport: 443, expect: Deny,
     egress: "default|frontend-egress-allowlist|deny|-1", ingress: none, why: "free text"}
egress/ingress (optional): "none" (not policed), the deciding entry
"tier|name|action|ruleIndex", or a list of entries (the whole trace).
A flow with todo: "reason" is a known disagreement: printed as TODO, never fails.
Exit codes: 0 all hold, 1 an expectation failed, 2 input error.
${DATA_PATH_HELP}`,
    )
    .action(async (paths: string[], opts: { node?: string; endpointToHost?: string; quiet?: boolean; verbose?: boolean }) => {
      const ropts = resolveOptions(opts);
      const { cluster, expectations } = await loadOrExit(paths, opts.verbose);
      const total = expectations.reduce((n, e) => n + e.flows.length, 0);
      if (total === 0) throw new CliExit(EXIT_INPUT, 'no kind: Expectations flows found in the input');
      const checks = checkExpectations(cluster, expectations, ropts);
      let failed = 0;
      let todo = 0;
      for (const c of checks) {
        if (!c.ok && c.flow.todo !== undefined) {
          todo++;
          process.stdout.write(`TODO  ${describeTuple(c.result.tuple)}  ${c.flow.todo}  [${c.flow.origin.file}:${c.flow.origin.line}]\n`);
          for (const p of c.problems) process.stdout.write(`      ${p}\n`);
          continue;
        }
        if (!c.ok) failed++;
        if (opts.quiet && c.ok) continue;
        const got = c.result.action === 'allow' ? 'Allow' : 'Deny';
        const at = `${c.flow.origin.file}:${c.flow.origin.line}`;
        process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'}  ${describeTuple(c.result.tuple)}  ${got}  by ${describeDecision(c)}  [${at}]\n`);
        if (!c.ok) for (const p of c.problems) process.stdout.write(`      ${p}\n`);
        if (!c.ok && c.flow.why) process.stdout.write(`      why: ${c.flow.why}\n`);
      }
      process.stdout.write(`${checks.length - failed - todo} passed, ${failed} failed${todo ? `, ${todo} todo` : ''}\n`);
      if (failed > 0) process.exitCode = EXIT_FAILED;
    });
}
