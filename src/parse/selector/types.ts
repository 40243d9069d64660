/**
 * Calico selector AST and public interface (SEMANTICS.md §1).
 * The parser lives in ./parser.ts; evaluation in ./evaluate.ts.
 */

export type SelectorNode =
  | { kind: 'all' }
  | { kind: 'global' }
  | { kind: 'has'; key: string }
  | { kind: 'eq'; key: string; value: string }
  | { kind: 'ne'; key: string; value: string }
  | { kind: 'in'; key: string; values: string[] }
  | { kind: 'notin'; key: string; values: string[] }
  | { kind: 'contains'; key: string; value: string }
  | { kind: 'startswith'; key: string; value: string }
  | { kind: 'endswith'; key: string; value: string }
  | { kind: 'not'; expr: SelectorNode }
  | { kind: 'and'; exprs: SelectorNode[] }
  | { kind: 'or'; exprs: SelectorNode[] };

/**
 * Label view of an entity: returns the value of a label, or undefined when
 * absent. A `Map<string,string>` satisfies it; so does a plain object via
 * `labelsOf`.
 */
export interface LabelSource {
  get(key: string): string | undefined;
}

export interface Selector {
  /** The text as written by the user. */
  readonly source: string;
  readonly ast: SelectorNode;
  /** Calico's canonical string form (SEMANTICS.md §1.4). */
  readonly canonical: string;
  /** Evaluates against a label view (Map-like) or a plain `{key: value}` object. */
  matches(labels: LabelSource | Readonly<Record<string, string>>): boolean;
}
