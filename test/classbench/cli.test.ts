/** `netverdict classbench` end to end: exit codes, JSON report, --emit output usable by explain. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'nv-classbench-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const rules = join(dir, 'small.rules');
const trace = join(dir, 'small.trace');
writeFileSync(rules, ['@10.0.0.0/8\t192.168.1.0/24\t0 : 65535\t80 : 80\t0x06/0xFF', '@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t53 : 53\t0x11/0xFF', ''].join('\n'));
// 10.1.2.3 -> 192.168.1.9 tcp 80 (filter 1); 1.1.1.1 -> 8.8.8.8 udp 53 (filter 2); tcp 22 (no filter)
writeFileSync(trace, ['167838211 3232235785 5000 80 6 1', '16843009 134744072 9 53 17 2', '16843009 134744072 9 22 6 0', ''].join('\n'));

t.test('check passes: exit 0, text and JSON reports', async (t) => {
  const r = run(['classbench', rules, '--trace', trace, '--reps', '1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /2 filters/);
  t.match(r.stdout, /2 Calico rules in 1 policy \(classbench-0000\)/);
  t.match(r.stdout, /compile: .* image [\d,]+ bytes/);
  t.match(r.stdout, /engine: [\d.]+ MiB loaded; \d+ block\(s\) with RFC tables .* decision batches take the (general path|fast transit path, RFC tables|fast transit path, decision trees)|native engine not usable/);
  t.match(r.stdout, /check \((native engine, decision strategy|reference evaluator).*\): 0 mismatches/);
  const j = run(['classbench', rules, '--trace', trace, '--json', '--no-bench']);
  t.equal(j.code, 0, j.stderr);
  const rep = JSON.parse(j.stdout) as { filters: number; mismatches: number; checks: { mismatches: number; checked: number; noMatch: number }[]; image: { bytes: number }; policies: unknown[]; engine?: { memoryBytes: number; rfcCount: number } };
  t.equal(rep.filters, 2);
  t.equal(rep.mismatches, 0);
  t.ok(rep.checks.length >= 1);
  for (const c of rep.checks) {
    t.equal(c.mismatches, 0);
    t.equal(c.noMatch, 1);
  }
  t.ok(rep.image.bytes > 0);
  t.equal(rep.policies.length, 1);
  if (rep.engine) t.ok(rep.engine.memoryBytes > 0 && rep.engine.rfcCount >= 0, 'engine summary in the JSON report');
});

t.test('a mismatch exits 1 and lists the tuple, expected and got', async (t) => {
  const inexact = join(dir, 'inexact.rules');
  writeFileSync(inexact, '@0.0.0.0/0 0.0.0.0/0 0 : 65535 53 : 53 0x00/0x00\n');
  const tr = join(dir, 'inexact.trace');
  writeFileSync(tr, '16843009 134744072 9 53 47 1\n');
  const r = run(['classbench', inexact, '--trace', tr, '--no-bench']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /1 filter\(s\) not expressible exactly/);
  t.match(r.stdout, /: 1 mismatch\n/);
  t.match(r.stdout, /trace line 1: 1\.1\.1\.1 8\.8\.8\.8 9 53 proto 47: expected filter 1 \(line 1\), got none/);
});

t.test('bad input exits 2 with file:line messages', async (t) => {
  const bad = join(dir, 'bad.rules');
  writeFileSync(bad, '@10.0.0.0/8 192.168.1.0/24 0 : 65535 80 : 80 0x06/0xFF\n@10.0.0.0/40 1.2.3.4/32 0 : 65535 80 : 80 0x06/0xFF\n');
  const r = run(['classbench', bad]);
  t.equal(r.code, 2);
  t.match(r.stderr, /bad\.rules:2: prefix length out of range/);
  const badTrace = join(dir, 'bad.trace');
  writeFileSync(badTrace, '1 2 3\n');
  const r2 = run(['classbench', rules, '--trace', badTrace]);
  t.equal(r2.code, 2);
  t.match(r2.stderr, /bad\.trace:1: expected 6 or 7 columns/);
  t.equal(run(['classbench', join(dir, 'missing.rules')]).code, 2);
  t.equal(run(['classbench', rules, '--engine', 'fast']).code, 2);
});

t.test('--emit writes YAML that explain loads; the deciding rule is the filter', async (t) => {
  const out = join(dir, 'emitted');
  const r = run(['classbench', rules, '--emit', out]);
  t.equal(r.code, 0, r.stderr);
  t.same(readdirSync(out).sort(), ['00-classbench-base.yaml', 'classbench-0000.yaml']);
  const e = run(['explain', '-p', out, '--src', '1.1.1.1', '--dst', '8.8.8.8', '--proto', 'UDP', '--sport', '9', '--dport', '53', '--json']);
  t.equal(e.code, 0, e.stderr);
  t.match(e.stdout, /classbench\|classbench-0000\|allow\|1/);
});
