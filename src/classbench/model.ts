/**
 * From a conversion to the IR, two ways:
 *
 * - `conversionCluster`: the resource objects go straight into the loader's
 *   builder (`buildCluster`, same validation and defaulting as YAML input),
 *   without YAML text; rule origins then point at the filter's line in the
 *   ClassBench file (`acl1_1K:57:1`), so `explain`-style output names the
 *   filter.
 * - `loadConversionYaml`: the emitted YAML read by the real loader (what
 *   `netverdict classify -p DIR` does); origins point into the YAML.
 *
 * Both throw ClassBenchModelError when the loader reports an error, which
 * would be a bug in the conversion (it only emits valid resources).
 */
import { DiagnosticBag, formatDiagnostic, type Diagnostic } from '../diag/diagnostic.js';
import { buildCluster } from '../model/build.js';
import { loadClusterFromTexts } from '../model/load.js';
import type { Cluster } from '../model/types.js';
import { RawObject } from '../parse/documents.js';
import type { Conversion, EmittedFile, JsonObject } from './convert.js';
import type { Filter } from './parse.js';

export class ClassBenchModelError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(
      `the generated resources did not load (a netverdict bug):\n` +
        diagnostics
          .filter((d) => d.severity === 'error')
          .slice(0, 10)
          .map(formatDiagnostic)
          .join('\n'),
    );
  }
}

function check(diags: Diagnostic[]): void {
  if (diags.some((d) => d.severity === 'error')) throw new ClassBenchModelError(diags);
}

/** Builds the IR from a conversion without YAML; rule origins name the filter lines of `file`. */
export function conversionCluster(conv: Conversion, filters: readonly Filter[], file = 'filters'): { cluster: Cluster; warnings: Diagnostic[] } {
  const diags = new DiagnosticBag();
  const objects: JsonObject[] = [conv.hostEndpoint, conv.tierObject, ...conv.policies];
  const raws = objects.map((o, i) => RawObject.synthetic(`${file}#classbench`, i, o as Record<string, unknown>, { line: 1, column: 1 }));
  const { cluster } = buildCluster(raws, diags);
  check(diags.items);
  const lineOf = new Map(filters.map((f) => [f.id, f.line]));
  const dir = conv.direction === 'Ingress' ? 'ingress' : 'egress';
  for (const p of cluster.policies) {
    for (const rule of p[dir]) {
      const filter = conv.filterOf(p.name, rule.index);
      if (filter === undefined) continue;
      rule.origin = { file, line: lineOf.get(filter) ?? 0, column: 1, path: `filter ${filter}` };
    }
  }
  return { cluster, warnings: diags.items };
}

/** Loads the emitted YAML through the real loader. */
export function loadConversionYaml(files: readonly EmittedFile[], dir = 'classbench'): { cluster: Cluster; warnings: Diagnostic[] } {
  const res = loadClusterFromTexts(files.map((f) => ({ name: `${dir}/${f.name}`, text: f.text })));
  check(res.diagnostics);
  return { cluster: res.cluster, warnings: res.diagnostics };
}
