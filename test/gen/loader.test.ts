/** Every generated object passes the loader's validation; YAML and direct builds agree. */
import t from 'tap';
import { formatDiagnostic } from '../../src/diag/diagnostic.js';
import {
  SMALL,
  TINY,
  buildGeneratedCluster,
  calicoScale,
  fileToYaml,
  generateCluster,
  generateClusterObjects,
  loadGeneratedCluster,
} from '../../src/gen/index.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import { normalise } from './helpers.js';

/** Warnings the generator produces on purpose (modelled behaviour, not mistakes). */
const EXPECTED_WARNINGS = new Set(['NV-NAMESPACE-MISSING', 'NV-KNP-PEER', 'NV-HTTP-IGNORED']);

t.test('tiny: 0 errors over 30 seeds, only expected warnings', async (t) => {
  const warnings = new Map<string, number>();
  for (let seed = 1; seed <= 30; seed++) {
    const g = generateCluster(seed, TINY);
    const r = loadGeneratedCluster(g);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    t.same(errors.map(formatDiagnostic), [], `seed ${seed}: no errors`);
    for (const d of r.diagnostics) if (d.severity === 'warning') warnings.set(d.code, (warnings.get(d.code) ?? 0) + 1);
    t.ok(r.cluster.policies.length >= TINY.policies * 0.9, `seed ${seed}: policies kept (${r.cluster.policies.length})`);
    t.equal(r.cluster.pods.length, TINY.pods);
  }
  t.same([...warnings.keys()].filter((k) => !EXPECTED_WARNINGS.has(k)), [], `warnings: ${JSON.stringify([...warnings])}`);
});

t.test('small: 0 errors over 3 seeds', async (t) => {
  for (let seed = 1; seed <= 3; seed++) {
    const r = loadGeneratedCluster(generateCluster(seed, SMALL));
    t.same(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), [], `seed ${seed}`);
    t.equal(r.cluster.policies.length, SMALL.policies);
  }
});

t.test('YAML path and direct build give the same IR (origins aside)', async (t) => {
  for (const seed of [1, 7]) {
    const objs = generateClusterObjects(seed, TINY);
    const viaYaml = loadClusterFromTexts(objs.files.map((f) => ({ name: f.name, text: fileToYaml(f) })));
    const direct = buildGeneratedCluster(objs);
    t.same(direct.diagnostics.filter((d) => d.severity === 'error'), []);
    t.same(
      direct.diagnostics.map((d) => d.code),
      viaYaml.diagnostics.map((d) => d.code),
      'same diagnostics',
    );
    t.same(normalise(direct.cluster), normalise(viaYaml.cluster), `seed ${seed}`);
  }
});

t.test('direct build keeps object positions usable', async (t) => {
  const r = buildGeneratedCluster(generateClusterObjects(2, TINY));
  const p = r.cluster.policies[0]!;
  t.match(p.origin.file, /^gen-2\//);
  t.ok(p.origin.line >= 1);
});

t.test('calicoScale: exact rule count, 0 errors, YAML and direct agree', async (t) => {
  const size = calicoScale(2000, 1000);
  const objs = generateClusterObjects(3, size);
  t.equal(objs.stats.rules, 2000, 'rule entries as requested');
  const direct = buildGeneratedCluster(objs);
  t.same(direct.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  t.equal(direct.cluster.pods.length, 1000);
  const irRules = direct.cluster.policies.reduce((a, p) => a + p.ingress.length + p.egress.length, 0);
  // KNP rules with several peers/protocols expand to several IR rules (SEMANTICS.md §5).
  t.ok(irRules >= 2000 && irRules < 2300, `IR rules ${irRules}`);
  const viaYaml = loadGeneratedCluster(generateCluster(3, size));
  t.same(normalise(direct.cluster), normalise(viaYaml.cluster));
});

t.test('calicoScale(10k rules, 10k pods) builds without errors and with the exact rule count', async (t) => {
  const t0 = performance.now();
  const objs = generateClusterObjects(1, calicoScale(10_000, 10_000));
  const t1 = performance.now();
  const r = buildGeneratedCluster(objs);
  const t2 = performance.now();
  t.equal(r.diagnostics.filter((d) => d.severity === 'error').length, 0);
  t.equal(objs.stats.rules, 10_000);
  t.comment(`calicoScale(10000, 10000): generate ${(t1 - t0).toFixed(0)} ms, build IR ${(t2 - t1).toFixed(0)} ms, ${objs.stats.objects} objects`);
});
