/**
 * Runs the native tests (native/test, no Node) under ASan/UBSan, and pins
 * the golden image: the founding scenario must compile to exactly the bytes
 * of native/test/fixtures/egress-allowlist.nvt (regenerate deliberately with
 * NETVERDICT_UPDATE_GOLDEN=1 when the format or compiler output changes),
 * and the other two fixtures engine_test reads (trace events, fast transit).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { compileImage } from '../../src/compile/index.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { generateCluster, loadGeneratedCluster, TINY } from '../../src/gen/cluster.js';
import { parseFilters } from '../../src/classbench/parse.js';
import { convertFilters } from '../../src/classbench/convert.js';
import { conversionCluster } from '../../src/classbench/model.js';
import { compileCluster } from '../../src/compile/index.js';
import { randomSet } from '../classbench/random-set.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const golden = join(root, 'native/test/fixtures/egress-allowlist.nvt');

t.test('golden image: the founding scenario compiles to the pinned bytes', (tt) => {
  const dir = join(root, 'examples/egress-allowlist');
  const texts = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  const image = compileImage(new ResolvedCluster(loadClusterFromTexts(texts).cluster)).image;
  if (process.env.NETVERDICT_UPDATE_GOLDEN === '1') writeFileSync(golden, image);
  tt.ok(Buffer.from(image).equals(readFileSync(golden)), 'bytes equal native/test/fixtures/egress-allowlist.nvt');
  tt.end();
});

// The trace-event fixture: src/gen preset tiny, seed 6 (host endpoints with
// untracked, pre-DNAT and forward policy, tiers with Pass, Log rules, missing
// profiles), whole-cluster view. engine_test compares its trace events across
// strategies and between the batch and single-tuple paths.
const tracesFixture = join(root, 'native/test/fixtures/traces.nvt');
t.test('trace fixture: src/gen tiny seed 6 compiles to the pinned bytes', (tt) => {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(6, TINY)).cluster, {});
  const image = compileImage(model).image;
  if (process.env.NETVERDICT_UPDATE_GOLDEN === '1') writeFileSync(tracesFixture, image);
  tt.ok(Buffer.from(image).equals(readFileSync(tracesFixture)), 'bytes equal native/test/fixtures/traces.nvt (regenerate with NETVERDICT_UPDATE_GOLDEN=1)');
  tt.end();
});

// The transit fixture: a random ClassBench-style set (test/classbench/random-set.ts
// seed 3, 500 filters, 90 per policy; some rules are not exact boxes), i.e. a
// transit-only image whose decision batches take the fast transit path.
// engine_test compares that path with its twin (NV_FAST_TRANSIT=0) under the sanitizers.
const transitFixture = join(root, 'native/test/fixtures/transit.nvt');
t.test('transit fixture: a random ClassBench-style set compiles to the pinned bytes', (tt) => {
  const { filters } = parseFilters(randomSet(3, 500).lines.join('\n'), 'random.rules');
  const conv = convertFilters(filters, { maxRulesPerPolicy: 90 });
  const image = compileCluster(conversionCluster(conv, filters, 'random.rules').cluster).image;
  if (process.env.NETVERDICT_UPDATE_GOLDEN === '1') writeFileSync(transitFixture, image);
  tt.ok(Buffer.from(image).equals(readFileSync(transitFixture)), 'bytes equal native/test/fixtures/transit.nvt (regenerate with NETVERDICT_UPDATE_GOLDEN=1)');
  tt.end();
});

t.test('native engine tests under ASan/UBSan', (tt) => {
  const probe = spawnSync('make', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    tt.comment('make not available: native sanitizer tests not run');
    tt.end();
    return;
  }
  const r = spawnSync('make', ['-s', '-C', join(root, 'native/test'), 'check'], { encoding: 'utf8', timeout: 300_000 });
  tt.equal(r.status, 0, `make check exit status\n${r.stdout}\n${r.stderr}`);
  tt.match(r.stdout, /engine_test: ok/);
  tt.end();
});
