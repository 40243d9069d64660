/**
 * The classic ClassBench sets (../shared/classbench/wustl/, read in place,
 * never copied into the repo): every trace header through the native engine
 * must give the first match of an independent linear scan over the filters,
 * with both strategies (decision structure and linear).
 * The 10K sets run too (about 3-6 s each on a 2-core machine, mostly the
 * linear engine and the linear scan over ~95K headers). Skipped with a
 * message when the data is absent.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFilters, parseTrace } from '../../src/classbench/parse.js';
import { convertFilters } from '../../src/classbench/convert.js';
import { conversionCluster } from '../../src/classbench/model.js';
import { checkNative, checkReference, LinearScan } from '../../src/classbench/check.js';
import { compileCluster } from '../../src/compile/index.js';
import { NativeEngine } from '../../src/native/index.js';

const dir = new URL('../../../shared/classbench/wustl/', import.meta.url).pathname;
const SETS = ['acl1_1K', 'fw1_1K', 'ipc1_1K', 'acl1_10K', 'fw1_10K', 'ipc1_10K'];

for (const set of SETS) {
  const rulesPath = join(dir, set);
  const tracePath = join(dir, `${set}_trace`);
  const present = existsSync(rulesPath) && existsSync(tracePath);
  t.test(`${set}: 0 mismatches against the linear first-match scan`, { skip: present ? false : `ClassBench data not found at ${rulesPath} (../shared/classbench/wustl/ relative to the repo root)` }, async (t) => {
    const t0 = performance.now();
    const pf = parseFilters(readFileSync(rulesPath, 'utf8'), set);
    const pt = parseTrace(readFileSync(tracePath, 'utf8'), `${set}_trace`);
    t.same(pf.issues, [], 'filters parse');
    t.same(pt.issues, [], 'trace parses');
    const conv = convertFilters(pf.filters, { source: set });
    t.same(conv.notes, [], 'every filter expressed exactly');
    t.equal(conv.rules.length, pf.filters.length);
    t.equal(conv.policies.length, Math.ceil(pf.filters.length / 1024));
    const { cluster } = conversionCluster(conv, pf.filters, rulesPath);
    const tc = performance.now();
    const { image } = compileCluster(cluster);
    const compileMs = performance.now() - tc;
    const engine = NativeEngine.fromImage(image);
    const ts = performance.now();
    const expected = new LinearScan(pf.filters).matchTrace(pt.trace);
    const scanMs = performance.now() - ts;
    const times: string[] = [];
    let differs = 0;
    for (const s of ['decision', 'linear'] as const) {
      const r = checkNative(engine, conv, pf.filters, pt.trace, s, expected);
      t.equal(r.checked, pt.trace.length);
      t.equal(r.mismatches, 0, `native engine (${s}) = linear scan on every header`, { first: r.firstMismatches });
      times.push(`${s} ${r.engineMs.toFixed(0)} ms`);
      differs = r.traceIdDiffers;
    }
    t.comment(
      `${set}: ${pf.filters.length} filters, ${conv.policies.length} policies, ${pt.trace.length} headers; compile ${compileMs.toFixed(0)} ms, image ${image.length} bytes; ` +
        `engine ${times.join(', ')}, linear scan ${scanMs.toFixed(0)} ms; trace id != true first match: ${differs}; total ${(performance.now() - t0).toFixed(0)} ms`,
    );
    if (pf.filters.length < 2000) {
      const ref = checkReference(cluster, conv, pf.filters, pt.trace, 200);
      t.equal(ref.mismatches, 0, 'reference evaluator = linear scan on a 200-header sample', { first: ref.firstMismatches });
    }
  });
}
