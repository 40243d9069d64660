/**
 * Calico selector parser (SEMANTICS.md §1.2).
 *
 * Recursive descent mirroring `libcalico-go/lib/selector/parser/parser.go`
 * (`parseRoot` -> `parseOrExpression` -> `parseAndExpression` ->
 * `parseOperation`). Shape of the produced tree follows Calico exactly:
 * - a run of `!` collapses by parity (`!!x` is `x`, `!!!x` is `!x`), but
 *   negations separated by parentheses are kept (`!(!x)` is not(not(x)));
 * - `a && b && c` is one `and` node; parentheses nest (`(a && b) && c` is
 *   and(and(a, b), c));
 * - parentheses themselves leave no node;
 * - set members are sorted (by UTF-8 byte order) and de-duplicated.
 */

import { SelectorSyntaxError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import type { SelectorNode } from './types.js';

/** Sorted, de-duplicated set members, ordered as Go sorts strings (UTF-8 bytes). */
export function sortedUnique(values: readonly string[]): string[] {
  const out = [...values].sort(compareUtf8);
  let w = 0;
  for (let r = 0; r < out.length; r++) {
    if (r === 0 || out[r] !== out[w - 1]) out[w++] = out[r];
  }
  out.length = w;
  return out;
}

/** Compares strings by code point, which equals UTF-8 byte order (Go string order). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (astral code points) sort after all BMP code points in UTF-8.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}

function describeToken(input: string, t: Token): string {
  if (t.kind === 'eof') return 'end of selector';
  const text = input.slice(t.pos, t.end);
  return JSON.stringify(text.length > 40 ? text.slice(0, 37) + '...' : text);
}

/** Parses selector text into an AST. Empty / space-and-tab-only text is `all()`. */
export function parseSelectorAst(input: string): SelectorNode {
  const tokens = tokenize(input);
  let p = 0;

  const err = (t: Token, reason: string): SelectorSyntaxError =>
    new SelectorSyntaxError(input, t.pos, reason);
  const unexpected = (t: Token, expected?: string): SelectorSyntaxError =>
    err(t, t.kind === 'eof'
      ? `unexpected end of selector${expected ? `, expected ${expected}` : ''}`
      : `unexpected ${describeToken(input, t)}${expected ? `, expected ${expected}` : ''}`);

  function parseOr(): SelectorNode {
    const first = parseAnd();
    if (tokens[p].kind !== 'or') return first;
    const exprs = [first];
    while (tokens[p].kind === 'or') {
      p++;
      exprs.push(parseAnd());
    }
    return { kind: 'or', exprs };
  }

  function parseAnd(): SelectorNode {
    const first = parseOperation();
    if (tokens[p].kind !== 'and') return first;
    const exprs = [first];
    while (tokens[p].kind === 'and') {
      p++;
      exprs.push(parseOperation());
    }
    return { kind: 'and', exprs };
  }

  function expectString(): string {
    const t = tokens[p];
    if (t.kind !== 'string') throw unexpected(t, 'a quoted string');
    p++;
    return t.value;
  }

  function parseSet(): string[] {
    const open = tokens[p];
    if (open.kind !== 'lbrace') throw unexpected(open, 'a set literal "{...}"');
    p++;
    const values: string[] = [];
    let afterValue = false;
    for (;;) {
      const t = tokens[p];
      if (t.kind === 'string' && !afterValue) {
        values.push(t.value);
        p++;
        afterValue = true;
        continue;
      }
      if (t.kind === 'comma' && afterValue) {
        p++;
        afterValue = false;
        continue;
      }
      if (t.kind === 'rbrace') {
        p++;
        return sortedUnique(values);
      }
      throw unexpected(t, afterValue ? '"," or "}"' : 'a quoted string or "}"');
    }
  }

  function parseOperation(): SelectorNode {
    let negated = false;
    while (tokens[p].kind === 'not') {
      negated = !negated;
      p++;
    }
    const node = parsePrimary();
    return negated ? { kind: 'not', expr: node } : node;
  }

  function parsePrimary(): SelectorNode {
    const t = tokens[p];
    switch (t.kind) {
      case 'has':
        p++;
        return { kind: 'has', key: t.value };
      case 'all':
        p++;
        return { kind: 'all' };
      case 'global':
        p++;
        return { kind: 'global' };
      case 'lparen': {
        p++;
        const inner = parseOr();
        if (tokens[p].kind !== 'rparen') throw unexpected(tokens[p], '")"');
        p++;
        return inner;
      }
      case 'label': {
        p++;
        const key = t.value;
        const op = tokens[p];
        switch (op.kind) {
          case 'eq':
            p++;
            return { kind: 'eq', key, value: expectString() };
          case 'ne':
            p++;
            return { kind: 'ne', key, value: expectString() };
          case 'contains':
            p++;
            return { kind: 'contains', key, value: expectString() };
          case 'startswith':
            p++;
            return { kind: 'startswith', key, value: expectString() };
          case 'endswith':
            p++;
            return { kind: 'endswith', key, value: expectString() };
          case 'in':
            p++;
            return { kind: 'in', key, values: parseSet() };
          case 'notin':
            p++;
            return { kind: 'notin', key, values: parseSet() };
          default:
            throw err(op, `expected operator after label ${JSON.stringify(key)}` +
              (op.kind === 'eof' ? '' : `, found ${describeToken(input, op)}`));
        }
      }
      default:
        throw unexpected(t, 'a selector expression');
    }
  }

  if (tokens[0].kind === 'eof') return { kind: 'all' };
  const root = parseOr();
  if (tokens[p].kind !== 'eof') {
    throw err(tokens[p], `unexpected ${describeToken(input, tokens[p])} after complete expression`);
  }
  return root;
}
