/**
 * Scenario tables (test/cases/**\/*.yaml): Kubernetes/Calico resources plus
 * `kind: Expectations` documents whose flows state the verdict and deciding
 * rule SEMANTICS.md prescribes. Every file is loaded on its own, must load
 * without error diagnostics and must contain at least one flow; every flow
 * is one assertion.
 *
 * A flow may carry `todo: "<reason>"`: a known disagreement between the spec
 * and the current evaluator/loader. The key is not part of the Expectations
 * format, so it is blanked out of the text (positions preserved) before
 * loading, and the flow's assertion is reported as a tap todo.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { formatDiagnostic } from '../src/diag/diagnostic.js';
import { loadCluster, loadClusterFromTexts, type LoadResult } from '../src/model/load.js';
import { checkExpectations, describeTuple, expectedFlowTuple } from '../src/reference/verify.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const casesDir = join(here, 'cases');
const repoRoot = join(here, '..');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (e.isFile() && /\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

interface Todos {
  /** Text with every flow-level `todo` pair blanked out (same length, same lines). */
  text: string;
  /** 1-based line of the flow mapping → todo reason. */
  byLine: Map<number, string>;
}

/** Finds `todo` keys in the flows of Expectations documents and blanks them out. */
function extractTodos(text: string): Todos {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  const byLine = new Map<number, string>();
  const cut: [number, number][] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const root = doc.contents;
    if (!isMap(root)) continue;
    const kind: unknown = root.get('kind', true);
    const kindValue: unknown = isScalar(kind) ? kind.value : undefined;
    if (kindValue !== 'Expectations') continue;
    const flows = root.get('flows', true);
    if (!isSeq(flows)) continue;
    for (const item of flows.items) {
      if (!isMap(item) || !item.range) continue;
      for (const pair of item.items) {
        if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== 'todo') continue;
        const k = pair.key;
        const v = pair.value;
        const start = k.range![0];
        let end = isScalar(v) && v.range ? v.range[1] : k.range![1];
        // Also swallow a following comma (flow mappings).
        let j = end;
        while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
        if (text[j] === ',') end = j + 1;
        cut.push([start, end]);
        byLine.set(lc.linePos(item.range[0]).line, String(isScalar(v) ? v.value : 'todo'));
      }
    }
  }
  let out = text;
  for (const [s, e] of cut.sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, s) + out.slice(s, e).replace(/[^\n]/g, ' ') + out.slice(e);
  }
  return { text: out, byLine };
}

const files = yamlFiles(casesDir);
t.ok(files.length > 0, 'there are scenario files under test/cases');

for (const file of files) {
  const rel = relative(repoRoot, file);
  t.test(rel, async (t) => {
    const text = readFileSync(file, 'utf8');
    const todos = extractTodos(text);
    const loaded: LoadResult =
      todos.byLine.size === 0 ? await loadCluster([file]) : loadClusterFromTexts([{ name: file, text: todos.text }]);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    t.equal(errors.length, 0, `${rel}: loads without errors`, { diagnostics: errors.map(formatDiagnostic) });
    const nFlows = loaded.expectations.reduce((n, e) => n + e.flows.length, 0);
    t.ok(nFlows > 0, `${rel}: has at least one flow`);
    const checks = checkExpectations(loaded.cluster, loaded.expectations);
    for (const c of checks) {
      const line = c.flow.origin.line;
      const todo = todos.byLine.get(line);
      const node = c.expectations.node ? ` [node ${c.expectations.node}]` : '';
      const msg = `${rel}:${line}${node} ${describeTuple(expectedFlowTuple(c.flow))} expect ${c.flow.expect}${
        c.ok ? '' : ` — ${c.problems.join('; ')}`
      }${c.flow.why ? ` (${c.flow.why})` : ''}`;
      t.ok(c.ok, msg, todo !== undefined ? { todo, problems: c.problems } : { problems: c.problems });
    }
  });
}
