import { loadClusterFromTexts, type LoadResult } from '../../src/model/load.js';

export function load(text: string, name = 't.yaml'): LoadResult {
  return loadClusterFromTexts([{ name, text }]);
}

/** Compact error list: `code file:line:col path`. */
export function errs(r: LoadResult, severity: 'error' | 'warning' = 'error'): string[] {
  return r.diagnostics.filter((d) => d.severity === severity).map((d) => `${d.code} ${d.file}:${d.line}:${d.column} ${d.path ?? ''}`.trimEnd());
}

export const GNP = 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n';
export const NP = 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n';
export const KNP = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n';
