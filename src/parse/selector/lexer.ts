/**
 * Calico selector lexer (SEMANTICS.md §1.1).
 *
 * Mirrors the hand-written tokenizer of libcalico-go v3.30+
 * (`libcalico-go/lib/selector/tokenizer/tokenizer.go`, `AppendTokens`):
 * - whitespace is only space and tab;
 * - word operators (`in`, `not in`, `contains`, `starts with`, `ends with`)
 *   are only recognised directly after a label token and must end at a word
 *   boundary (multi-word operators accept any run of space/tab, even none,
 *   between their words);
 * - `has(`, `all(`, `global(` must be written with the parenthesis attached;
 * - string literals have no escapes and end at the next identical quote.
 *
 * The whole input is tokenized before parsing (as Calico does), so a lexical
 * error anywhere wins over a grammatical error earlier in the text.
 * Positions are 0-based UTF-16 offsets into the input string.
 */

import { SelectorSyntaxError } from './errors.js';

export const MAX_LABEL_LENGTH = 512;

export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'in'
  | 'not'
  | 'notin'
  | 'contains'
  | 'startswith'
  | 'endswith'
  | 'all'
  | 'has'
  | 'lparen'
  | 'rparen'
  | 'and'
  | 'or'
  | 'global'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Label name (label, has) or literal contents (string); '' otherwise. */
  readonly value: string;
  /** Offset of the token's first character (input length for eof). */
  readonly pos: number;
  /** Offset just after the token. */
  readonly end: number;
}

const SPACE = 0x20;
const TAB = 0x09;

/** Calico's `identifierChar`: [A-Za-z0-9_./-]. */
export function isIdentifierChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

/** True if `label` is a complete, valid selector label name (Calico `ValidLabel`). */
export function isValidLabel(label: string): boolean {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH) return false;
  for (let i = 0; i < label.length; i++) {
    if (!isIdentifierChar(label.charCodeAt(i))) return false;
  }
  return true;
}

function skipWhitespace(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== SPACE && c !== TAB) break;
    i++;
  }
  return i;
}

function identifierEnd(s: string, i: number): number {
  while (i < s.length && isIdentifierChar(s.charCodeAt(i))) i++;
  return i;
}

/** End of input or a non-identifier character (Calico `isWordBoundary`). */
function isWordBoundary(s: string, i: number): boolean {
  return i >= s.length || !isIdentifierChar(s.charCodeAt(i));
}

/**
 * Calico `cutMultiWordPrefixCheckBreak` (single word = `cutPrefixCheckBreak`):
 * each word must appear literally; space/tab is skipped after each word
 * (for multi-word operators only); the text after the last word must be a
 * word boundary. Returns the offset after the operator, or -1.
 */
function matchWords(s: string, i: number, words: readonly string[]): number {
  let j = i;
  for (const w of words) {
    if (!s.startsWith(w, j)) return -1;
    j += w.length;
    if (words.length > 1) j = skipWhitespace(s, j);
  }
  return isWordBoundary(s, j) ? j : -1;
}

const OPERATORS: ReadonlyArray<readonly [TokenKind, readonly string[]]> = [
  // Order matters only for diagnostics; mirrors tokenizer.go.
  ['contains', ['contains']],
  ['startswith', ['starts', 'with']],
  ['endswith', ['ends', 'with']],
  ['notin', ['not', 'in']],
  ['in', ['in']],
];

/** Printable rendering of one character for error messages. */
export function describeChar(s: string, i: number): string {
  const cp = s.codePointAt(i) ?? 0;
  if (cp >= 0x21 && cp <= 0x7e) return JSON.stringify(String.fromCodePoint(cp));
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Extra hint when the offending character is whitespace other than space/tab. */
function whitespaceHint(s: string, i: number): string {
  return /\s/u.test(s[i] ?? '') ? ' (only space and tab are whitespace in selectors)' : '';
}

/** The word (identifier run) or single character at i, for diagnostics. */
function describeFound(s: string, i: number): string {
  const end = identifierEnd(s, i);
  if (end > i) {
    const word = s.slice(i, Math.min(end, i + 40));
    return JSON.stringify(word);
  }
  return describeChar(s, i) + whitespaceHint(s, i);
}

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  const n = input.length;
  let i = 0;
  const fail = (pos: number, reason: string): SelectorSyntaxError =>
    new SelectorSyntaxError(input, pos, reason);
  const push = (kind: TokenKind, pos: number, end: number, value = ''): void => {
    tokens.push({ kind, value, pos, end });
  };
  /** Reads a label at i; errors like Calico's `cutIdentifier`. */
  const readIdentifier = (start: number, what: string): number => {
    const end = identifierEnd(input, start);
    if (end === start) {
      if (start >= n) throw fail(start, `unexpected end of selector, expected ${what}`);
      throw fail(start, `unexpected character ${describeChar(input, start)}${whitespaceHint(input, start)}, expected ${what}`);
    }
    if (end - start > MAX_LABEL_LENGTH) {
      throw fail(start, `label name longer than ${MAX_LABEL_LENGTH} characters`);
    }
    return end;
  };

  for (;;) {
    i = skipWhitespace(input, i);
    if (i >= n) {
      push('eof', n, n);
      return tokens;
    }
    const start = i;
    const c = input[i];
    const last = tokens.length > 0 ? tokens[tokens.length - 1] : undefined;
    switch (c) {
      case '(':
        push('lparen', i, ++i);
        break;
      case ')':
        push('rparen', i, ++i);
        break;
      case '{':
        push('lbrace', i, ++i);
        break;
      case '}':
        push('rbrace', i, ++i);
        break;
      case ',':
        push('comma', i, ++i);
        break;
      case '"':
      case "'": {
        const close = input.indexOf(c, i + 1);
        if (close === -1) throw fail(start, 'unterminated string');
        push('string', start, close + 1, input.slice(i + 1, close));
        i = close + 1;
        break;
      }
      case '=':
        if (input.startsWith('==', i)) {
          i += 2;
          push('eq', start, i);
        } else {
          throw fail(start, 'expected "=="');
        }
        break;
      case '!':
        if (input.startsWith('!=', i)) {
          i += 2;
          push('ne', start, i);
        } else {
          push('not', start, ++i);
        }
        break;
      case '&':
        if (input.startsWith('&&', i)) {
          i += 2;
          push('and', start, i);
        } else {
          throw fail(start, 'expected "&&"');
        }
        break;
      case '|':
        if (input.startsWith('||', i)) {
          i += 2;
          push('or', start, i);
        } else {
          throw fail(start, 'expected "||"');
        }
        break;
      default: {
        if (last !== undefined && last.kind === 'label') {
          // Directly after a label only a word operator may follow.
          let matched = false;
          for (const [kind, words] of OPERATORS) {
            const end = matchWords(input, i, words);
            if (end >= 0) {
              // Token end excludes trailing whitespace skipped after the last word.
              let tokEnd = end;
              while (tokEnd > start && (input.charCodeAt(tokEnd - 1) === SPACE || input.charCodeAt(tokEnd - 1) === TAB)) tokEnd--;
              push(kind, start, tokEnd);
              i = end;
              matched = true;
              break;
            }
          }
          if (!matched) {
            throw fail(start, `expected operator after label ${JSON.stringify(last.value)}, found ${describeFound(input, start)}`);
          }
        } else if (input.startsWith('has(', i)) {
          i = skipWhitespace(input, i + 4);
          const keyStart = i;
          const keyEnd = readIdentifier(keyStart, 'label name in has()');
          i = skipWhitespace(input, keyEnd);
          if (input[i] !== ')') throw fail(i, 'expected ")" to close has(');
          i++;
          push('has', start, i, input.slice(keyStart, keyEnd));
        } else if (input.startsWith('all(', i)) {
          i = skipWhitespace(input, i + 4);
          if (input[i] !== ')') throw fail(i, 'expected ")" after all(');
          push('all', start, ++i);
        } else if (input.startsWith('global(', i)) {
          i = skipWhitespace(input, i + 7);
          if (input[i] !== ')') throw fail(i, 'expected ")" after global(');
          push('global', start, ++i);
        } else {
          const end = readIdentifier(i, 'label name');
          push('label', start, end, input.slice(start, end));
          i = end;
        }
      }
    }
  }
}
