/** `netverdict demo`: the founding scenario (examples/egress-allowlist), told as a story. */
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { checkExpectations } from '../reference/verify.js';
import { flowRecord } from '../output/records.js';
import { describeDecision } from './verify.js';
import { EXIT_FAILED, loadOrExit, packageRoot } from './common.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the founding scenario: an egress allowlist that stops data exfiltration')
    .option('--dir <path>', 'scenario directory', join(packageRoot(), 'examples', 'egress-allowlist'))
    .action(async (opts: { dir: string }) => {
      const dir = relative(process.cwd(), opts.dir) || '.';
      const { cluster, expectations } = await loadOrExit([dir]);
      const checks = checkExpectations(cluster, expectations);
      const out = (s = ''): void => void process.stdout.write(s + '\n');
      out('netverdict demo — egress to named destinations: stop the data exfil path');
      out(`scenario: ${dir}  (${cluster.pods.length} pods, ${cluster.services.length} service, ${cluster.networkSets.length} network sets, ${cluster.policies.length} policy)`);
      out('policy:   GlobalNetworkPolicy frontend-egress-allowlist selects prod/frontend (Egress);');
      out("          rule 0 allows scope == 'approved-egress', rule 1 allows TCP to Service prod/backend-svc;");
      out('          everything else ends the default tier: deny.');
      const name = (type: string, ns: string, n: string): string => (type === 'net' ? `${n === 'pub' ? 'public' : 'private'} address` : ns === '-' ? n : `${ns}/${n}`);
      for (const verdict of ['allow', 'deny'] as const) {
        out();
        out(verdict === 'allow' ? 'ALLOWED' : 'STOPPED');
        for (const c of checks.filter((c) => c.result.action === verdict)) {
          const r = flowRecord(c.result);
          const via = r.dest_service_name ? ` via Service ${r.dest_service_namespace}/${r.dest_service_name} (${r.nat!.pre_dest_ip}:${r.nat!.pre_dest_port} → ${r.dest_ip}:${r.dest_port})` : '';
          const port = r.dest_port !== null && !via ? `:${r.dest_port}` : '';
          out(`  ${c.ok ? '✓' : '✗'} ${name(r.source_type, r.source_namespace, r.source_name)} → ${name(r.dest_type, r.dest_namespace, r.dest_name)} ${r.dest_ip}${port}/${r.proto}${via}`);
          out(`      decided by ${describeDecision(c)}`);
          if (c.flow.why) out(`      ${c.flow.why}`);
          for (const p of c.problems) out(`      UNEXPECTED: ${p}`);
        }
      }
      const failed = checks.filter((c) => !c.ok).length;
      out();
      out(`${checks.length - failed} of ${checks.length} outcomes as the tutorial promises.`);
      out(`Next: netverdict explain -p ${dir} --src 10.0.1.10 --dst 198.51.100.66 --proto TCP --dport 443`);
      if (failed > 0) process.exitCode = EXIT_FAILED;
    });
}
