/**
 * Selector evaluation (SEMANTICS.md §1.3), compiled once to closures.
 *
 * Per `libcalico-go/lib/selector/parser/ast.go` `Evaluate` methods: for an
 * absent label `!=` and `not in` are true and every other label test is
 * false; `has(k)` is true for a present label even with an empty value;
 * `all()` and `global()` are always true.
 */

import type { LabelSource, SelectorNode } from './types.js';

export type Matcher<L> = (labels: L) => boolean;
type Lookup<L> = (labels: L, key: string) => string | undefined;

const lookupSource: Lookup<LabelSource> = (labels, key) => labels.get(key);
const lookupRecord: Lookup<Readonly<Record<string, string>>> = (labels, key) =>
  Object.hasOwn(labels, key) ? labels[key] : undefined;

const TRUE = (): boolean => true;
const FALSE = (): boolean => false;

function compile<L>(node: SelectorNode, get: Lookup<L>): Matcher<L> {
  switch (node.kind) {
    case 'all':
    case 'global':
      return TRUE;
    case 'has': {
      const key = node.key;
      return (l) => get(l, key) !== undefined;
    }
    case 'eq': {
      const { key, value } = node;
      return (l) => get(l, key) === value;
    }
    case 'ne': {
      const { key, value } = node;
      return (l) => get(l, key) !== value;
    }
    case 'contains': {
      const { key, value } = node;
      return (l) => {
        const v = get(l, key);
        return v !== undefined && v.includes(value);
      };
    }
    case 'startswith': {
      const { key, value } = node;
      return (l) => {
        const v = get(l, key);
        return v !== undefined && v.startsWith(value);
      };
    }
    case 'endswith': {
      const { key, value } = node;
      return (l) => {
        const v = get(l, key);
        return v !== undefined && v.endsWith(value);
      };
    }
    case 'in': {
      const key = node.key;
      if (node.values.length === 0) return FALSE;
      if (node.values.length === 1) {
        const only = node.values[0];
        return (l) => get(l, key) === only;
      }
      const set = new Set(node.values);
      return (l) => {
        const v = get(l, key);
        return v !== undefined && set.has(v);
      };
    }
    case 'notin': {
      const key = node.key;
      if (node.values.length === 0) return TRUE;
      if (node.values.length === 1) {
        const only = node.values[0];
        return (l) => get(l, key) !== only;
      }
      const set = new Set(node.values);
      return (l) => {
        const v = get(l, key);
        return v === undefined || !set.has(v);
      };
    }
    case 'not': {
      const inner = compile(node.expr, get);
      return (l) => !inner(l);
    }
    case 'and': {
      const parts = node.exprs.map((e) => compile(e, get));
      if (parts.length === 0) return TRUE;
      if (parts.length === 1) return parts[0];
      if (parts.length === 2) {
        const [a, b] = parts;
        return (l) => a(l) && b(l);
      }
      return (l) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i](l)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = node.exprs.map((e) => compile(e, get));
      if (parts.length === 0) return FALSE;
      if (parts.length === 1) return parts[0];
      if (parts.length === 2) {
        const [a, b] = parts;
        return (l) => a(l) || b(l);
      }
      return (l) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](l)) return true;
        return false;
      };
    }
  }
}

/** Compiles an AST into a matcher over a Map-like label source. */
export function compileForSource(ast: SelectorNode): Matcher<LabelSource> {
  return compile(ast, lookupSource);
}

/** Compiles an AST into a matcher over a plain `{key: value}` object (own properties only). */
export function compileForRecord(ast: SelectorNode): Matcher<Readonly<Record<string, string>>> {
  return compile(ast, lookupRecord);
}

/** Wraps a plain object as a LabelSource (own properties only; `constructor` etc. are not labels). */
export function labelsOf(obj: Readonly<Record<string, string>>): LabelSource {
  return { get: (key: string) => (Object.hasOwn(obj, key) ? obj[key] : undefined) };
}

/** Uncompiled reference evaluation (used by tests as an oracle). */
export function evaluateAst(ast: SelectorNode, labels: LabelSource): boolean {
  switch (ast.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return labels.get(ast.key) !== undefined;
    case 'eq': {
      const v = labels.get(ast.key);
      return v !== undefined && v === ast.value;
    }
    case 'ne': {
      const v = labels.get(ast.key);
      return v === undefined || v !== ast.value;
    }
    case 'contains': {
      const v = labels.get(ast.key);
      return v !== undefined && v.includes(ast.value);
    }
    case 'startswith': {
      const v = labels.get(ast.key);
      return v !== undefined && v.startsWith(ast.value);
    }
    case 'endswith': {
      const v = labels.get(ast.key);
      return v !== undefined && v.endsWith(ast.value);
    }
    case 'in': {
      const v = labels.get(ast.key);
      return v !== undefined && ast.values.includes(v);
    }
    case 'notin': {
      const v = labels.get(ast.key);
      return v === undefined || !ast.values.includes(v);
    }
    case 'not':
      return !evaluateAst(ast.expr, labels);
    case 'and':
      return ast.exprs.every((e) => evaluateAst(e, labels));
    case 'or':
      return ast.exprs.some((e) => evaluateAst(e, labels));
  }
}
