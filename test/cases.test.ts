/**
 * Scenario tables (test/cases/**\/*.yaml): Kubernetes/Calico resources plus
 * `kind: Expectations` documents whose flows state the verdict and deciding
 * rule SEMANTICS.md prescribes. Every file is loaded on its own, must load
 * without error diagnostics and must contain at least one flow; every flow
 * is one assertion.
 *
 * A flow may carry `todo: "<reason>"` (part of the Expectations format): a
 * known disagreement between the spec and the evaluator, reported as a tap todo.
 */
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { formatDiagnostic } from '../src/diag/diagnostic.js';
import { loadCluster } from '../src/model/load.js';
import { checkExpectations, describeTuple, expectedFlowTuple } from '../src/reference/verify.js';
import { listResourceFiles } from '../src/parse/files.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const casesDir = join(here, 'cases');
const repoRoot = join(here, '..');


const files = await listResourceFiles(casesDir);
t.ok(files.length > 0, 'there are scenario files under test/cases');

for (const file of files) {
  const rel = relative(repoRoot, file);
  t.test(rel, async (t) => {
    const loaded = await loadCluster([file]);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    t.equal(errors.length, 0, `${rel}: loads without errors`, { diagnostics: errors.map(formatDiagnostic) });
    const nFlows = loaded.expectations.reduce((n, e) => n + e.flows.length, 0);
    t.ok(nFlows > 0, `${rel}: has at least one flow`);
    const checks = checkExpectations(loaded.cluster, loaded.expectations);
    for (const c of checks) {
      const line = c.flow.origin.line;
      const todo = c.flow.todo;
      const node = c.expectations.node ? ` [node ${c.expectations.node}]` : '';
      const msg = `${rel}:${line}${node} ${describeTuple(expectedFlowTuple(c.flow))} expect ${c.flow.expect}${
        c.ok ? '' : ` — ${c.problems.join('; ')}`
      }${c.flow.why ? ` (${c.flow.why})` : ''}`;
      t.ok(c.ok, msg, todo !== undefined ? { todo, problems: c.problems } : { problems: c.problems });
    }
  });
}
