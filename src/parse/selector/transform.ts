/**
 * Tree rewrites used when Calico converts v3 resources to its internal model
 * (SEMANTICS.md §3.1, §4.7).
 */

import { sortedUnique } from './parser.js';
import type { SelectorNode } from './types.js';

/** The `all()` selector node. */
export const ALL: SelectorNode = Object.freeze({ kind: 'all' }) as SelectorNode;

/**
 * Calico's `PrefixVisitor` (`libcalico-go/lib/selector/parser/ast.go`): every
 * label name in has/==/!=/in/not in/contains/starts with/ends with gets
 * `prefix`; all()/global() are untouched. Returns a new tree. Like Calico, the
 * 512-character key limit is not re-checked on the prefixed name.
 */
export function prefixLabels(ast: SelectorNode, prefix: string): SelectorNode {
  switch (ast.kind) {
    case 'all':
    case 'global':
      return ast;
    case 'has':
      return { kind: 'has', key: prefix + ast.key };
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startswith':
    case 'endswith':
      return { kind: ast.kind, key: prefix + ast.key, value: ast.value };
    case 'in':
    case 'notin':
      return { kind: ast.kind, key: prefix + ast.key, values: [...ast.values] };
    case 'not':
      return { kind: 'not', expr: prefixLabels(ast.expr, prefix) };
    case 'and':
    case 'or':
      return { kind: ast.kind, exprs: ast.exprs.map((e) => prefixLabels(e, prefix)) };
  }
}

/**
 * Tree form of `strings.Replace(sel, "all()", …)` / `strings.Replace(sel,
 * "global()", …)` applied to a canonical selector string and re-parsed
 * (`updateprocessors/rules.go` `getEndpointSelector`,
 * `globalnetworkpolicyprocessor.go`). `undefined` leaves that node kind alone.
 *
 * Because Calico re-parses the rewritten text, a run of negations collapses
 * by parity (`!global()` -> `!!has(x)` -> `has(x)`); the result is therefore
 * passed through `normaliseSelector`. Unlike Calico's textual replace, label
 * values that happen to contain the text `all()` are not rewritten
 * (SEMANTICS.md, ambiguity 16).
 */
export function replaceAllAndGlobal(
  ast: SelectorNode,
  allReplacement: SelectorNode | undefined,
  globalReplacement: SelectorNode | undefined,
): SelectorNode {
  const walk = (n: SelectorNode): SelectorNode => {
    switch (n.kind) {
      case 'all':
        return allReplacement ?? n;
      case 'global':
        return globalReplacement ?? n;
      case 'not':
        return { kind: 'not', expr: walk(n.expr) };
      case 'and':
      case 'or':
        return { kind: n.kind, exprs: n.exprs.map(walk) };
      default:
        return n;
    }
  };
  return normaliseSelector(walk(ast));
}

/**
 * The tree Calico's parser would produce from `canonicalSelector(ast)`:
 * runs of `not` collapse by parity, single-operand and/or lose their group,
 * set members are sorted and de-duplicated. Empty and/or become all()/!all().
 * Evaluation is unchanged.
 */
export function normaliseSelector(ast: SelectorNode): SelectorNode {
  switch (ast.kind) {
    case 'not': {
      // `!!…x` re-parses by parity; a parenthesised group stops the collapse.
      let count = 0;
      let inner: SelectorNode = ast;
      while (inner.kind === 'not') {
        count++;
        inner = inner.expr;
      }
      if (inner.kind === 'or' && inner.exprs.length === 0) {
        count++; // printed as `!all()`
        inner = { kind: 'all' };
      }
      const norm = normaliseSelector(inner);
      return count % 2 === 1 ? { kind: 'not', expr: norm } : norm;
    }
    case 'and':
    case 'or': {
      if (ast.exprs.length === 0) {
        return ast.kind === 'and' ? { kind: 'all' } : { kind: 'not', expr: { kind: 'all' } };
      }
      if (ast.exprs.length === 1) return normaliseSelector(ast.exprs[0]);
      return { kind: ast.kind, exprs: ast.exprs.map(normaliseSelector) };
    }
    case 'in':
    case 'notin':
      return { kind: ast.kind, key: ast.key, values: sortedUnique(ast.values) };
    default:
      return ast;
  }
}

/**
 * Conjunction of the given selectors, shaped like Calico's parse of
 * `(a) && (b) && …`: one `and` node whose operands are the inputs unchanged
 * (no flattening of nested `and`s). No operands -> all(); one -> itself.
 */
export function andSelectors(...nodes: SelectorNode[]): SelectorNode {
  if (nodes.length === 0) return ALL;
  if (nodes.length === 1) return nodes[0];
  return { kind: 'and', exprs: [...nodes] };
}

/** Negation, shaped like Calico's parse of `!(x)`: always wraps, even a `not`. */
export function notSelector(node: SelectorNode): SelectorNode {
  return { kind: 'not', expr: node };
}

/** True if the tree contains `global()` anywhere. */
export function selectorUsesGlobal(ast: SelectorNode): boolean {
  switch (ast.kind) {
    case 'global':
      return true;
    case 'not':
      return selectorUsesGlobal(ast.expr);
    case 'and':
    case 'or':
      return ast.exprs.some(selectorUsesGlobal);
    default:
      return false;
  }
}
