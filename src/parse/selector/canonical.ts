/**
 * Calico's canonical selector string (SEMANTICS.md §1.4), byte-for-byte the
 * output of `Selector.String()` (`libcalico-go/lib/selector/parser/ast.go`,
 * `collectFragments` / `appendLabelOpAndQuotedString` / `collectInOpFragments`):
 * - `and`/`or` are always wrapped in parentheses, operands joined by
 *   ` && ` / ` || ` (even a single operand is wrapped: `(x)`);
 * - `!` is printed with no space before its operand;
 * - values are quoted with `"` unless they contain `"`, then with `'`;
 * - set members are printed sorted and de-duplicated as `{"a", "b"}`.
 *
 * Degenerate trees that the parser never produces are printed so that they
 * re-parse to an equivalent selector: `and` with no operands is `all()`,
 * `or` with no operands is `!all()`.
 */

import { sortedUnique } from './parser.js';
import type { SelectorNode } from './types.js';

function quote(s: string): string {
  const q = s.includes('"') ? "'" : '"';
  return q + s + q;
}

function write(node: SelectorNode, out: string[]): void {
  switch (node.kind) {
    case 'all':
      out.push('all()');
      return;
    case 'global':
      out.push('global()');
      return;
    case 'has':
      out.push('has(', node.key, ')');
      return;
    case 'eq':
      out.push(node.key, ' == ', quote(node.value));
      return;
    case 'ne':
      out.push(node.key, ' != ', quote(node.value));
      return;
    case 'contains':
      out.push(node.key, ' contains ', quote(node.value));
      return;
    case 'startswith':
      out.push(node.key, ' starts with ', quote(node.value));
      return;
    case 'endswith':
      out.push(node.key, ' ends with ', quote(node.value));
      return;
    case 'in':
    case 'notin': {
      out.push(node.key, node.kind === 'in' ? ' in {' : ' not in {');
      const vals = sortedUnique(node.values);
      for (let i = 0; i < vals.length; i++) {
        if (i > 0) out.push(', ');
        out.push(quote(vals[i]));
      }
      out.push('}');
      return;
    }
    case 'not':
      out.push('!');
      write(node.expr, out);
      return;
    case 'and':
    case 'or': {
      if (node.exprs.length === 0) {
        out.push(node.kind === 'and' ? 'all()' : '!all()');
        return;
      }
      const sep = node.kind === 'and' ? ' && ' : ' || ';
      out.push('(');
      for (let i = 0; i < node.exprs.length; i++) {
        if (i > 0) out.push(sep);
        write(node.exprs[i], out);
      }
      out.push(')');
      return;
    }
  }
}

/** Calico's canonical string form of a selector AST. */
export function canonicalSelector(ast: SelectorNode): string {
  const out: string[] = [];
  write(ast, out);
  return out.join('');
}
