/**
 * The CLI end to end, as a user runs it: exit codes, outputs and diagnostics
 * for bad input (every error names file, line, column and field; exit 2).
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const example = join(root, 'examples/egress-allowlist');

function run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

t.test('demo shows the founding scenario outcomes', async (t) => {
  const r = run(['demo']);
  t.equal(r.code, 0, r.stderr);
  const allowed = r.stdout.slice(r.stdout.indexOf('ALLOWED'), r.stdout.indexOf('STOPPED'));
  const stopped = r.stdout.slice(r.stdout.indexOf('STOPPED'));
  t.match(allowed, /approved-egress 203\.0\.113\.10:443\/tcp\n\s+decided by egress default\|frontend-egress-allowlist\|allow\|0/);
  t.match(allowed, /via Service prod\/backend-svc \(10\.96\.0\.20:80 → 10\.0\.2\.2[01]:8080\)\n\s+decided by egress default\|frontend-egress-allowlist\|allow\|1/);
  t.match(stopped, /internet 198\.51\.100\.66:443\/tcp\n\s+decided by egress default\|frontend-egress-allowlist\|deny\|-1/);
  t.match(stopped, /prod\/database-0 10\.0\.3\.30:5432\/tcp\n\s+decided by egress default\|frontend-egress-allowlist\|deny\|-1/);
  t.match(r.stdout, /7 of 7 outcomes as the tutorial promises/);
});

t.test('verify: 0 when all expectations hold, 1 when one fails', async (t) => {
  const ok = run(['verify', example]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^7 passed, 0 failed$/m);
  const dir = mkdtempSync(join(tmpdir(), 'nv-verify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'wrong.yaml'),
    'kind: Expectations\nflows:\n- {src: 10.0.1.10, dst: 198.51.100.66, proto: TCP, dport: 443, expect: Allow, why: wrong on purpose}\n',
  );
  const bad = run(['verify', example + '/00-namespaces.yaml', example + '/10-pods.yaml', example + '/30-network-sets.yaml', example + '/40-policy.yaml', dir]);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /FAIL .*198\.51\.100\.66:443 TCP\s+Deny/);
  t.match(bad.stdout, /expected Allow, got Deny/);
  t.match(bad.stdout, /^0 passed, 1 failed$/m);
});

t.test('classify: one record per tuple in input order, jsonl/csv/table', async (t) => {
  const r = run(['classify', '-p', example, '--tuples', join(example, 'flows.csv'), '--format', 'jsonl']);
  t.equal(r.code, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(recs.map((x) => x.action), ['allow', 'allow', 'deny', 'deny']);
  t.same(recs.map((x) => x.source_name), Array(4).fill('frontend-7d9f8b6c5-x2k4q'));
  t.equal(recs[0].dest_type, 'ns');
  t.equal(recs[0].dest_name, 'approved-egress');
  t.same(recs[0].egress.policies.enforced_policies, ['0|default|frontend-egress-allowlist|allow|0']);
  t.equal(recs[0].ingress, undefined, 'external destination: no ingress policy');
  t.equal(recs[1].dest_service_name, 'backend-svc');
  t.equal(recs[1].nat.pre_dest_ip, '10.96.0.20');
  t.match(recs[1].dest_ip, /^10\.0\.2\.2[01]$/);
  t.equal(recs[1].dest_port, 8080);
  t.same(recs[1].ingress.policies.enforced_policies, ['0|__PROFILE__|kns.prod|allow|0']);
  t.same(recs[2].egress.policies.enforced_policies, ['0|default|frontend-egress-allowlist|deny|-1']);
  t.equal(recs[3].dest_name, 'database-0');
  for (const k of ['source_ip', 'source_port', 'dest_ip', 'dest_port', 'proto', 'action', 'source_namespace', 'source_name', 'source_type', 'dest_namespace', 'dest_name', 'dest_type']) {
    t.ok(k in recs[0], `record has ${k}`);
  }
  const csv = run(['classify', '-p', example, '--tuples', '-', '--format', 'csv'], 'src,dst,proto,dport\n10.0.1.10,203.0.113.10,tcp,443\n');
  t.equal(csv.code, 0, csv.stderr);
  const [header, row] = csv.stdout.trim().split('\n');
  t.match(header!, /^source_ip,source_port,dest_ip/);
  t.match(row!, /^10\.0\.1\.10,,203\.0\.113\.10,443,tcp,wep,prod,frontend/);
  const table = run(['classify', '-p', example, '--tuples', join(example, 'flows.csv'), '--format', 'table']);
  t.equal(table.code, 0);
  t.match(table.stdout, /TRAFFIC\s+\| VERDICT/);
  t.match(table.stdout, /DENY/);
});

t.test('classify: native (default) and reference engines print identical records', async (t) => {
  const args = ['classify', '-p', example, '--tuples', join(example, 'flows.csv'), '--format', 'jsonl'];
  const native = run([...args, '--engine', 'native']);
  const reference = run([...args, '--engine', 'reference']);
  t.equal(native.code, 0, native.stderr);
  t.equal(reference.code, 0, reference.stderr);
  t.equal(native.stdout, reference.stdout);
  const decision = run([...args, '--engine', 'native', '--strategy', 'decision']);
  t.equal(decision.stdout, reference.stdout);
  t.equal(run([...args, '--engine', 'warp']).code, 2);
  t.equal(run([...args, '--strategy', 'guess']).code, 2);
});

t.test('classify: Ctrl-C writes the records classified so far and exits 130; no progress bar off a terminal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nv-int-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.csv');
  const lines = ['src,dst,proto,sport,dport'];
  for (let i = 0; i < 300_000; i++) lines.push(`10.0.${i % 4}.${1 + (i % 250)},203.0.113.${1 + (i % 200)},tcp,${1024 + (i % 60000)},443`);
  writeFileSync(file, lines.join('\n') + '\n');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'classify', '-p', example, '-t', file, '-f', 'jsonl'], { cwd: root });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!sent) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.equal(code, 130, stderr);
  const m = /interrupted: the first ([\d,]+) records were written/.exec(stderr);
  t.ok(m, stderr);
  const records = stdout.trimEnd().split('\n');
  t.equal(records.length, Number(m![1]!.replace(/,/g, '')), 'every classified record was written, whole');
  t.ok(records.length < 300_000, `stopped early (${records.length} records)`);
  t.ok(records.every((r) => JSON.parse(r).action !== undefined), 'each line a complete record');
  t.notMatch(stderr, /%|\u001b\[/, 'no progress bar or escape codes on a pipe');
});

t.test('classify --scope traffic: the same records; a file is required', async (t) => {
  const args = ['classify', '-p', example, '--tuples', join(example, 'flows.csv'), '--format', 'jsonl'];
  const all = run(args);
  const scoped = run([...args, '--scope', 'traffic']);
  t.equal(scoped.code, 0, scoped.stderr);
  t.ok(all.stdout.split('\n').length > 3, 'several records');
  t.equal(scoped.stdout, all.stdout);
  t.equal(run([...args, '--scope', 'nodes']).code, 2);
  // compile --traffic: the same scope for an image; a single tuple polices fewer endpoints.
  const dir = mkdtempSync(join(tmpdir(), 'nv-scope-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const one = join(dir, 'one.csv');
  writeFileSync(one, readFileSync(join(example, 'flows.csv'), 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
  const whole = run(['compile', '-p', example, '-o', join(dir, 'all.nvt')]);
  const scopedImage = run(['compile', '-p', example, '-o', join(dir, 'one.nvt'), '--traffic', one]);
  t.equal(scopedImage.code, 0, scopedImage.stderr);
  const programs = (r: { stderr: string }): number => Number(/(\d+) programs/.exec(r.stderr)![1]);
  t.ok(programs(scopedImage) < programs(whole), `${programs(scopedImage)} < ${programs(whole)} programs`);
  t.equal(run(['inspect', join(dir, 'one.nvt')]).code, 0);
  t.equal(run(['compile', '-p', example, '-o', join(dir, 'x.nvt'), '--traffic', join(dir, 'missing.csv')]).code, 2);
  const stdin = run(['classify', '-p', example, '--tuples', '-', '--scope', 'traffic'], 'src,dst\n10.0.0.1,10.0.0.2\n');
  t.equal(stdin.code, 2);
  t.match(stdin.stderr, /give a file/);
});

t.test('compile writes an image that inspect verifies; a corrupted image is rejected', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nv-img-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'e.nvt');
  const c = run(['compile', '-p', example, '-o', file]);
  t.equal(c.code, 0, c.stderr);
  t.match(c.stderr, /wrote .*e\.nvt: \d+ bytes/);
  const i = run(['inspect', file]);
  t.equal(i.code, 0, i.stderr);
  t.match(i.stdout, /NVTIMAGE format \d+\.\d+/);
  t.match(i.stdout, /RULE_META/);
  t.match(i.stdout, /engine +[\d.]+ MiB loaded/);
  t.match(i.stdout, /fast transit +no/, 'the founding example is policed workloads, not a transit-only ACL');
  const j = JSON.parse(run(['inspect', file, '--json']).stdout);
  t.ok(j.counts.rules > 0);
  t.ok(j.engine.memoryBytes >= j.totalLength, 'the engine holds at least the image');
  t.equal(j.engine.fastTransit, false);
  const bytes = readFileSync(file);
  bytes[bytes.length - 5] ^= 0xff;
  writeFileSync(file, bytes);
  const bad = run(['inspect', file]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /invalid image: BAD_CRC/);
  t.equal(run(['inspect', join(dir, 'missing.nvt')]).code, 2);
});

t.test('classify: a malformed tuple line is reported in place and exits 2', async (t) => {
  const r = run(['classify', '-p', example, '--tuples', '-', '--format', 'jsonl'], 'src,dst,proto,dport\n10.0.1.10,203.0.113.10,tcp,443\n10.0.1.10,nope,tcp,443\n10.0.1.10,198.51.100.66,tcp,443\n');
  t.equal(r.code, 2);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 3);
  t.equal(lines[0].action, 'allow');
  t.same(lines[1], { line: 3, error: 'dst: invalid IP address "nope"' });
  t.equal(lines[2].action, 'deny');
  t.match(r.stderr, /<stdin>:3:1: error NV-TUPLE: dst: invalid IP address "nope"/);
});

t.test('explain names NAT, endpoints, criteria and the deciding rule with file and line', async (t) => {
  const r = run(['explain', '-p', example, '--src', '10.0.1.10', '--dst', '198.51.100.66', '--proto', 'tcp', '--dport', '443']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Source 10\.0\.1\.10: workload \(pod\) prod\/frontend-7d9f8b6c5-x2k4q on node node-1/);
  t.match(r.stdout, /Destination 198\.51\.100\.66: GlobalNetworkSet internet/);
  t.match(r.stdout, /rule 0 Allow \(.*40-policy\.yaml:10\): no match\n\s+✗ destination\.selector: 198\.51\.100\.66 is not in the IP set of scope == "approved-egress"/);
  t.match(r.stdout, /end of tier default: no rule decided → deny/);
  t.match(r.stdout, /VERDICT: DENY — decided by egress default\|frontend-egress-allowlist\|deny\|-1 at .*40-policy\.yaml:1/);
  const j = run(['explain', '-p', example, '--src', '10.0.1.10', '--dst', '10.96.0.20', '--proto', 'TCP', '--dport', '80', '--json']);
  t.equal(j.code, 0);
  const rec = JSON.parse(j.stdout);
  t.equal(rec.action, 'allow');
  t.equal(rec.nat.frontend, 'clusterIP');
  t.equal(rec.evaluations[0].rules[1].result, 'match');
  t.equal(rec.deciding.file.endsWith('00-namespaces.yaml'), true);
});

t.test('every command has --help', async (t) => {
  for (const cmd of ['classify', 'explain', 'verify', 'demo', 'compile', 'inspect']) {
    const r = run([cmd, '--help']);
    t.equal(r.code, 0, cmd);
    t.match(r.stdout, /Usage: netverdict/, cmd);
  }
  t.match(run(['classify', '--help']).stdout, /v3\.30–v3\.32/);
});

const BAD: { name: string; yaml: string; expect: RegExp[] }[] = [
  { name: 'broken YAML', yaml: 'kind: Namespace\nmetadata:\n  name: [a\n', expect: [/bad\.yaml:\d+:\d+: error NV-YAML/] },
  {
    name: 'unknown field',
    yaml: 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  selector: all()\n  ingres: []\n',
    expect: [/bad\.yaml:7:3: error NV-UNKNOWN-FIELD: .*ingres.*field spec\.ingres/],
  },
  {
    name: 'invalid selector points at the character',
    yaml: "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  selector: app == 'x' && env = 'y'\n",
    expect: [/bad\.yaml:6:31: error NV-SELECTOR-SYNTAX: .*expected "=="/],
  },
  {
    name: 'invalid CIDR',
    yaml: 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  ingress:\n  - action: Allow\n    source:\n      nets: [10.0.0.0/33]\n',
    expect: [/bad\.yaml:9:14: error NV-CIDR: .*field spec\.ingress\[0\]\.source\.nets\[0\]/],
  },
  {
    name: 'invalid port',
    yaml: 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination:\n      ports: [0]\n',
    expect: [/bad\.yaml:10:15: error NV-PORT: .*field spec\.ingress\[0\]\.destination\.ports\[0\]/],
  },
  {
    name: 'policy naming a missing tier',
    yaml: 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: security.p\nspec:\n  tier: security\n  selector: all()\n',
    expect: [/bad\.yaml:6:9: error NV-TIER-MISSING: tier "security"/],
  },
  {
    name: 'several errors are all reported',
    yaml: 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  ingress:\n  - action: allow\n    protocol: tcp\n',
    expect: [/bad\.yaml:7:\d+: error NV-ACTION/, /bad\.yaml:8:\d+: error NV-PROTOCOL/],
  },
];

for (const c of BAD) {
  t.test(`bad input: ${c.name} → clear diagnostic, exit 2, no stack trace`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nv-bad-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'bad.yaml'), c.yaml);
    writeFileSync(join(dir, 'flows.yaml'), 'kind: Expectations\nflows:\n- {src: 10.0.0.1, dst: 10.0.0.2, proto: TCP, dport: 80, expect: Allow}\n');
    const r = run(['verify', dir]);
    t.equal(r.code, 2);
    for (const re of c.expect) t.match(r.stderr, re);
    t.notMatch(r.stderr, /\n\s+at .*\.(ts|js):\d+/, 'no stack trace');
    t.match(r.stderr, /nothing was evaluated/);
  });
}

t.test('usage errors exit 2', async (t) => {
  t.equal(run(['classify', '-p', example]).code, 2, 'missing --tuples');
  t.equal(run(['explain', '-p', example, '--src', 'x', '--dst', '1.1.1.1', '--proto', 'tcp']).code, 2, 'bad address');
  t.equal(run(['verify', '/nonexistent/path']).code, 2, 'missing path');
});

t.test('classify: a capture given as tuples is named, on every output path; exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nv-cli-pcap-'));
  const file = join(dir, 'capture.pcap');
  // A pcap global header (little-endian magic) and a few bytes of packet data.
  writeFileSync(file, Buffer.concat([Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]), Buffer.alloc(16), Buffer.from('\n,,\n')]));
  try {
    for (const extra of [['--format', 'jsonl'], ['--format', 'table'], ['--engine', 'reference', '--format', 'csv']]) {
      const r = run(['classify', '-p', example, '--tuples', file, ...extra]);
      t.equal(r.code, 2, `${extra.join(' ')}: exit 2`);
      t.match(r.stderr, /error NV-TUPLE-HEADER: this is a pcap capture, not a tuple CSV/, `${extra.join(' ')}: named`);
      t.notMatch(r.stderr, /at .*\.ts:\d+/, `${extra.join(' ')}: no stack trace`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
