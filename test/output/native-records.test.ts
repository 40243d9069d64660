/**
 * `classify --engine native` must print exactly what `--engine reference`
 * prints: the native results are turned into FlowResults (src/output/native.ts)
 * and every output record is compared field by field, for every strategy,
 * with no tuple re-evaluated by the reference for its trace.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCluster } from '../../src/model/load.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { compileImage } from '../../src/compile/index.js';
import { NativeEngine } from '../../src/native/index.js';
import { NativeFlowClassifier } from '../../src/output/native.js';
import { ReferenceEvaluator } from '../../src/reference/evaluate.js';
import { flowRecord, csvRow } from '../../src/output/records.js';
import { expectedFlowTuple } from '../../src/reference/verify.js';
import { generateTuples } from '../oracle/tuples.js';
import { listResourceFiles } from '../../src/parse/files.js';
import { generateCluster, loadGeneratedCluster, TINY } from '../../src/gen/cluster.js';
import type { ResolveOptions } from '../../src/resolve/index.js';
import type { Strategy } from '../../src/native/index.js';
import type { Tuple } from '../../src/net/tuple.js';

const root = fileURLToPath(new URL('../../', import.meta.url));


const inputs = [[join(root, 'examples/egress-allowlist')], ...(await listResourceFiles(join(root, 'test/cases'))).map((f) => [f])];
const STRATEGIES: Strategy[] = ['decision', 'linear', 'decision-bitmaps'];

/**
 * Every record of `tuples` equal between the native classifier (each
 * strategy) and the reference, with no tuple handed to the reference for its
 * trace (the engine's trace events carry every evaluation).
 */
function compare(t: Test, model: ResolvedCluster, tuples: Tuple[], label: string): void {
  const reference = new ReferenceEvaluator(model);
  const want = tuples.map((tuple) => flowRecord(reference.evaluate(tuple)));
  const image = compileImage(model).image;
  for (const strategy of STRATEGIES) {
    const native = new NativeFlowClassifier(model, NativeEngine.fromImage(image, { strategy }));
    const got = native.classify(tuples);
    let mismatches = 0;
    tuples.forEach((_tuple, i) => {
      const a = flowRecord(got[i]!);
      const b = want[i]!;
      const same = JSON.stringify(a) === JSON.stringify(b) && csvRow(a) === csvRow(b);
      if (!same && mismatches++ < 3) t.same(a, b, `record ${i} (${label}, ${strategy})`);
    });
    t.equal(mismatches, 0, `${tuples.length} records identical (${label}, ${strategy})`);
    t.equal(native.stats.referenceTraces, 0, `no trace completed by the reference (${label}, ${strategy})`);
  }
}

for (const input of inputs) {
  t.test(input[0]!.slice(root.length), async (t) => {
    const { cluster, expectations, diagnostics } = await loadCluster(input);
    t.equal(diagnostics.filter((d) => d.severity === 'error').length, 0);
    const nodes = [undefined, ...new Set(expectations.map((e) => e.node).filter((n): n is string => !!n))];
    for (const node of nodes) {
      const model = new ResolvedCluster(cluster, { node });
      const tuples = [...expectations.flatMap((e) => e.flows.map(expectedFlowTuple)), ...generateTuples(7, model, 1500)];
      compare(t, model, tuples, `node ${node ?? 'all'}`);
    }
  });
}

// Generated clusters (src/gen TINY: host endpoints with untracked, pre-DNAT
// and forward policy, tiers with Pass, Log rules, profiles, services), with
// each DefaultEndpointToHostAction and one node's view; every other seed with
// a decision tree on every IPv4 block.
for (let seed = 1; seed <= 6; seed++) {
  t.test(`generated tiny seed ${seed}`, async (t) => {
    const loaded = loadGeneratedCluster(generateCluster(seed, TINY));
    t.equal(loaded.diagnostics.filter((d) => d.severity === 'error').length, 0);
    const nodes = [...new Set(loaded.cluster.pods.map((p) => p.nodeName).filter((n): n is string => !!n))].sort();
    const variants: ResolveOptions[] = [{}, { endpointToHostAction: 'Return' }, { endpointToHostAction: 'Accept', ...(nodes[0] ? { node: nodes[0] } : {}) }];
    if (seed % 2 === 0) process.env.NV_DTREE_MIN_RULES = '1';
    try {
      variants.forEach((options, v) => {
        const model = new ResolvedCluster(loaded.cluster, options);
        compare(t, model, generateTuples(seed * 7 + v, model, 2000), `options ${JSON.stringify(options)}`);
      });
    } finally {
      delete process.env.NV_DTREE_MIN_RULES;
    }
  });
}

// The one fallback left: a tuple whose events overflow the stride goes to the
// reference evaluator (forced here with a stride of 2); records stay identical.
t.test('overflowing tuples fall back to the reference, records unchanged', async (t) => {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(6, TINY)).cluster, {});
  const tuples = generateTuples(6, model, 3000);
  const reference = new ReferenceEvaluator(model);
  const native = new NativeFlowClassifier(model, NativeEngine.fromImage(compileImage(model).image), { eventStride: 2 });
  const got = native.classify(tuples);
  let mismatches = 0;
  let longer = 0;
  tuples.forEach((tuple, i) => {
    const want = reference.evaluate(tuple);
    if (want.evaluations.reduce((k, e) => k + 1 + e.trace.length + e.logged.length, 0) > 2) longer++;
    if (JSON.stringify(flowRecord(got[i]!)) !== JSON.stringify(flowRecord(want))) mismatches++;
  });
  t.equal(mismatches, 0, 'records identical');
  t.ok(longer > 100, `${longer} tuples with more than 2 events`);
  t.equal(native.stats.referenceTraces, longer, 'exactly the overflowing tuples went to the reference');
});

