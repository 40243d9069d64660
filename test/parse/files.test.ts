/** parse/files.ts and loadCluster inputs: directories, ordering, stdin, missing paths. */
import t from 'tap';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCluster } from '../../src/model/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'load');

t.test('directory: recursive, *.yaml/*.yml/*.json only, sorted by path, dot-dirs skipped', async (t) => {
  const r = await loadCluster([path.join(fixtures, 'dir')]);
  t.same(r.diagnostics.filter((d) => d.severity === 'error'), []);
  t.same(
    r.cluster.namespaces.map((n) => n.name),
    ['from-a-x', 'from-a-y', 'from-b'],
  );
  t.equal(r.cluster.namespaces[1]!.origin.file, path.join(fixtures, 'dir', 'a', 'y.json'));
  t.equal(r.cluster.namespaces[1]!.labels.get('team'), 'json');
});

t.test('missing path is an error diagnostic, other inputs still load', async (t) => {
  const r = await loadCluster(['/nonexistent/nowhere.yaml', { name: 'mem.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n' }]);
  const errs = r.diagnostics.filter((d) => d.severity === 'error');
  t.equal(errs.length, 1);
  t.equal(errs[0]!.code, 'NV-INPUT');
  t.equal(errs[0]!.file, '/nonexistent/nowhere.yaml');
  t.same(
    r.cluster.namespaces.map((n) => n.name),
    ['ok'],
  );
});

t.test('stdin via "-" and options.stdin; file name <stdin>', async (t) => {
  const r = await loadCluster(['-'], { stdin: () => 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: piped\n' });
  t.same(r.diagnostics, []);
  t.equal(r.cluster.namespaces[0]!.name, 'piped');
  t.same(r.cluster.namespaces[0]!.origin, { file: '<stdin>', line: 1, column: 1, path: '' });
  const bad = await loadCluster(['-'], { stdin: async () => 'kind: Namespace\nmetadata: {name: [x\n' });
  t.equal(bad.diagnostics[0]!.code, 'NV-YAML');
  t.equal(bad.diagnostics[0]!.file, '<stdin>');
});

t.test('in-memory text inputs keep their given order', async (t) => {
  const ns = (n: string) => ({ name: `${n}.yaml`, text: `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}\n` });
  const r = await loadCluster([ns('zz'), ns('aa')]);
  t.same(
    r.cluster.namespaces.map((n) => n.name),
    ['zz', 'aa'],
  );
});
