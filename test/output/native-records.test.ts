/**
 * `classify --engine native` must print exactly what `--engine reference`
 * prints: the native results are turned into FlowResults (src/output/native.ts)
 * and every output record is compared field by field.
 */
import t from 'tap';
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

const root = fileURLToPath(new URL('../../', import.meta.url));


const inputs = [[join(root, 'examples/egress-allowlist')], ...(await listResourceFiles(join(root, 'test/cases'))).map((f) => [f])];

for (const input of inputs) {
  t.test(input[0]!.slice(root.length), async (t) => {
    const { cluster, expectations, diagnostics } = await loadCluster(input);
    t.equal(diagnostics.filter((d) => d.severity === 'error').length, 0);
    const nodes = [undefined, ...new Set(expectations.map((e) => e.node).filter((n): n is string => !!n))];
    for (const node of nodes) {
      const model = new ResolvedCluster(cluster, { node });
      const native = new NativeFlowClassifier(model, NativeEngine.fromImage(compileImage(model).image));
      const reference = new ReferenceEvaluator(model);
      const tuples = [...expectations.flatMap((e) => e.flows.map(expectedFlowTuple)), ...generateTuples(7, model, 1500)];
      const got = native.classify(tuples);
      let mismatches = 0;
      tuples.forEach((tuple, i) => {
        const a = flowRecord(got[i]!);
        const b = flowRecord(reference.evaluate(tuple));
        const same = JSON.stringify(a) === JSON.stringify(b) && csvRow(a) === csvRow(b);
        if (!same && mismatches++ < 3) t.same(a, b, `record ${i} (node ${node ?? 'all'})`);
      });
      t.equal(mismatches, 0, `${tuples.length} records identical (node ${node ?? 'all'}); ${native.stats.referenceTraces} traces completed by the reference`);
    }
  });
}
