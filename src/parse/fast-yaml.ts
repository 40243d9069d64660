/**
 * A fast path for the YAML that kubectl/calicoctl and people write: block
 * mappings and sequences, single-line plain/quoted scalars, single-line flow
 * collections, literal/folded block scalars, and JSON. It returns the same
 * value the `yaml` package would (YAML 1.2 core schema) plus the source
 * offset of every key and value, or `undefined` for anything outside that
 * subset (anchors, tags, multi-line flow or plain scalars, complex keys,
 * duplicate keys, errors…): the caller then uses the `yaml` package, which
 * is exact but about ten times slower. Differentially tested against `yaml`
 * in test/parse/fast-yaml.test.ts.
 */

/** Scalar style at a position: `"`, `'`, `|`, `>`, or `p` (plain). */
export type ScalarStyle = '"' | "'" | '|' | '>' | 'p';

export interface EntryPos {
  /** Offset of the key (maps only). */
  k?: number;
  /** Offset of the value (the key's offset when the value is empty). */
  v: number;
  /** End offset of a scalar value. */
  e?: number;
  /** Scalar style, when the value is a scalar. */
  s?: ScalarStyle;
}

/** Positions of the entries of every container produced by a fast parse. */
export type PositionTable = Map<object, Map<string | number, EntryPos>>;

export interface FastDoc {
  value: unknown;
  /** Offset of the root value. */
  root: EntryPos;
  positions: PositionTable;
}

class Fail extends Error {}
const FAIL = new Fail('fast path not applicable');

// ---------------------------------------------------------------- scalars

const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_RE = /^[-+]?[0-9]+$/;
const OCT_RE = /^0o[0-7]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const FLOAT_EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
const FLOAT_NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

/** YAML 1.2 core schema resolution of a plain scalar (as the `yaml` package does). */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  // Fast exit for the common case: starts with a letter other than n/N/t/T/f/F.
  if (s.length > 0 && ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) && !/^[nNtTfF]/.test(s)) return s;
  if (NULL_RE.test(s)) return null;
  if (BOOL_RE.test(s)) return s[0] === 't' || s[0] === 'T';
  if (INT_RE.test(s)) return parseInt(s, 10);
  if (OCT_RE.test(s)) return parseInt(s.slice(2), 8);
  if (HEX_RE.test(s)) return parseInt(s.slice(2), 16);
  if (FLOAT_EXP_RE.test(s) || FLOAT_RE.test(s)) return parseFloat(s);
  if (FLOAT_NAN_RE.test(s)) {
    if (s.endsWith('nan') || s.endsWith('NaN') || s.endsWith('NAN')) return NaN;
    return s[0] === '-' ? -Infinity : Infinity;
  }
  return s;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  '\t': '\t',
};

/** Parses a double-quoted scalar starting at `i` (the quote) on one line; returns [value, endOffset]. */
function doubleQuoted(text: string, i: number, lineEnd: number): [string, number] {
  let out = '';
  let j = i + 1;
  let run = j;
  while (j < lineEnd) {
    const ch = text.charCodeAt(j);
    if (ch === 34 /* " */) {
      out += text.slice(run, j);
      return [out, j + 1];
    }
    if (ch === 92 /* \ */) {
      out += text.slice(run, j);
      const e = text[j + 1];
      if (e === undefined || j + 1 >= lineEnd) throw FAIL;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        j += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(j + 2, j + 2 + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw FAIL;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) throw FAIL;
        out += String.fromCodePoint(cp);
        j += 2 + len;
      } else throw FAIL;
      run = j;
      continue;
    }
    j++;
  }
  throw FAIL; // multi-line or unterminated
}

function singleQuoted(text: string, i: number, lineEnd: number): [string, number] {
  let out = '';
  let j = i + 1;
  let run = j;
  while (j < lineEnd) {
    if (text.charCodeAt(j) === 39 /* ' */) {
      if (text.charCodeAt(j + 1) === 39 && j + 1 < lineEnd) {
        out += text.slice(run, j + 1);
        j += 2;
        run = j;
        continue;
      }
      out += text.slice(run, j);
      return [out, j + 1];
    }
    j++;
  }
  throw FAIL;
}

const isSpace = (c: number): boolean => c === 32 || c === 9;

/** Offset of the first non-space/tab character at or after i (bounded by end). */
function skipSpaces(text: string, i: number, end: number): number {
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  return i;
}

// ---------------------------------------------------------------- flow collections (single line)

class FlowParser {
  constructor(
    private readonly text: string,
    private readonly end: number,
    private readonly pos: PositionTable,
  ) {}

  /** Parses a flow value at i; returns [value, entryPos, next]. */
  value(i: number): [unknown, EntryPos, number] {
    const t = this.text;
    i = skipSpaces(t, i, this.end);
    const c = t[i];
    if (c === '{') return this.map(i);
    if (c === '[') return this.seq(i);
    if (c === '"') {
      const [v, n] = doubleQuoted(t, i, this.end);
      return [v, { v: i, e: n, s: '"' }, n];
    }
    if (c === "'") {
      const [v, n] = singleQuoted(t, i, this.end);
      return [v, { v: i, e: n, s: "'" }, n];
    }
    if (c === undefined || '&*!|>%@`#,]}'.includes(c)) throw FAIL;
    // plain scalar in flow context: up to , [ ] { } or ": " or " #"
    let j = i;
    while (j < this.end) {
      const ch = t[j]!;
      if (ch === ',' || ch === '[' || ch === ']' || ch === '{' || ch === '}') break;
      if (ch === ':' && (j + 1 >= this.end || isSpace(t.charCodeAt(j + 1)) || ',[]{}'.includes(t[j + 1]!))) break;
      if (ch === '#' && isSpace(t.charCodeAt(j - 1))) throw FAIL;
      j++;
    }
    let e = j;
    while (e > i && isSpace(t.charCodeAt(e - 1))) e--;
    if (e === i) throw FAIL;
    const raw = t.slice(i, e);
    if ((raw[0] === '-' || raw[0] === '?' || raw[0] === ':') && (raw.length === 1 || isSpace(raw.charCodeAt(1)))) throw FAIL;
    return [resolvePlain(raw), { v: i, e, s: 'p' }, j];
  }

  private seq(i: number): [unknown, EntryPos, number] {
    const t = this.text;
    const arr: unknown[] = [];
    const table = new Map<string | number, EntryPos>();
    let j = skipSpaces(t, i + 1, this.end);
    if (t[j] === ']') {
      this.pos.set(arr, table);
      return [arr, { v: i }, j + 1];
    }
    for (;;) {
      const [v, p, n] = this.value(j);
      j = skipSpaces(t, n, this.end);
      if (t[j] === ':') throw FAIL; // single-pair mapping inside a flow sequence
      table.set(arr.length, p);
      arr.push(v);
      if (t[j] === ',') {
        j = skipSpaces(t, j + 1, this.end);
        if (t[j] === ']') return this.done(arr, table, i, j);
        continue;
      }
      if (t[j] === ']') return this.done(arr, table, i, j);
      throw FAIL;
    }
  }

  private done(c: object, table: Map<string | number, EntryPos>, i: number, j: number): [unknown, EntryPos, number] {
    this.pos.set(c, table);
    return [c, { v: i }, j + 1];
  }

  private map(i: number): [unknown, EntryPos, number] {
    const t = this.text;
    const obj: Record<string, unknown> = {};
    const table = new Map<string | number, EntryPos>();
    let j = skipSpaces(t, i + 1, this.end);
    if (t[j] === '}') return this.done(obj, table, i, j);
    for (;;) {
      const [k, kp, n] = this.value(j);
      if (typeof k !== 'string' || kp.s === undefined || k === '__proto__') throw FAIL;
      if (table.has(k)) throw FAIL;
      j = skipSpaces(t, n, this.end);
      let v: unknown = null;
      let vp: EntryPos = { v: kp.v };
      if (t[j] === ':') {
        j = skipSpaces(t, j + 1, this.end);
        if (t[j] !== ',' && t[j] !== '}') {
          const r = this.value(j);
          v = r[0];
          vp = r[1];
          j = skipSpaces(t, r[2], this.end);
        }
      } else if (kp.s !== 'p') throw FAIL;
      table.set(k, { v: vp.v, e: vp.e, s: vp.s, k: kp.v });
      obj[k] = v;
      if (t[j] === ',') {
        j = skipSpaces(t, j + 1, this.end);
        if (t[j] === '}') return this.done(obj, table, i, j);
        continue;
      }
      if (t[j] === '}') return this.done(obj, table, i, j);
      throw FAIL;
    }
  }
}

// ---------------------------------------------------------------- block structure

interface Line {
  /** Offset of the first character of the line. */
  start: number;
  /** Offset of the first non-space character (content). */
  content: number;
  /** Offset of the end of the line (before \n / \r\n). */
  end: number;
  /** Column of `content` (0-based) in the block structure. */
  indent: number;
}

class BlockParser {
  private readonly lines: Line[] = [];
  private li = 0;
  readonly positions: PositionTable = new Map();

  constructor(
    private readonly text: string,
    start: number,
    private readonly end: number,
  ) {
    let i = start;
    while (i < end) {
      let nl = text.indexOf('\n', i);
      if (nl < 0 || nl > end) nl = end;
      let le = nl;
      if (le > i && text.charCodeAt(le - 1) === 13) le--;
      let c = i;
      while (c < le && text.charCodeAt(c) === 32) c++;
      if (c < le && text.charCodeAt(c) === 9) {
        // tab in indentation: only fine on blank/comment lines
        const c2 = skipSpaces(text, c, le);
        if (c2 < le && text[c2] !== '#') throw FAIL;
        c = c2;
      }
      this.lines.push({ start: i, content: c, end: le, indent: c - i });
      i = nl + 1;
    }
  }

  private blank(l: Line): boolean {
    return l.content >= l.end || this.text.charCodeAt(l.content) === 35; /* # */
  }

  private skipBlank(): Line | undefined {
    while (this.li < this.lines.length && this.blank(this.lines[this.li]!)) this.li++;
    return this.lines[this.li];
  }

  parseDocument(): FastDoc | undefined {
    const first = this.skipBlank();
    if (!first) return undefined;
    const [value, root] = this.block(first.indent);
    if (this.skipBlank()) throw FAIL; // leftover content at a lower indentation
    return { value, root, positions: this.positions };
  }

  /** Parses the block node whose first line is the current one (indent `ind`). */
  private block(ind: number): [unknown, EntryPos] {
    const l = this.lines[this.li]!;
    if (l.indent !== ind) throw FAIL;
    const t = this.text;
    if (t[l.content] === '-' && (l.content + 1 >= l.end || isSpace(t.charCodeAt(l.content + 1)))) return this.seq(ind);
    if (this.isMapEntry(l)) return this.map(ind);
    // A lone scalar / flow node as the whole block.
    const r = this.inlineValue(l.content, l.end, ind);
    this.li++;
    return r;
  }

  /** True when the line's content looks like `key: ...`. */
  private isMapEntry(l: Line): boolean {
    const t = this.text;
    const c = t[l.content];
    if (c === '"' || c === "'") {
      try {
        const [, n] = c === '"' ? doubleQuoted(t, l.content, l.end) : singleQuoted(t, l.content, l.end);
        const j = skipSpaces(t, n, l.end);
        return t[j] === ':';
      } catch {
        return false;
      }
    }
    if (c === '{' || c === '[') return false;
    return this.plainKeyEnd(l.content, l.end) >= 0;
  }

  /** End of a plain key (offset of its `:`), or -1. */
  private plainKeyEnd(i: number, end: number): number {
    const t = this.text;
    for (let j = i; j < end; j++) {
      const ch = t.charCodeAt(j);
      if (ch === 58 /* : */ && (j + 1 >= end || isSpace(t.charCodeAt(j + 1)))) return j;
      if (ch === 35 /* # */ && j > i && isSpace(t.charCodeAt(j - 1))) return -1;
    }
    return -1;
  }

  private seq(ind: number): [unknown, EntryPos] {
    const t = this.text;
    const arr: unknown[] = [];
    const table = new Map<string | number, EntryPos>();
    const startOffset = this.lines[this.li]!.content;
    for (;;) {
      const l = this.skipBlank();
      if (!l || l.indent < ind) break;
      if (l.indent > ind) throw FAIL;
      if (!(t[l.content] === '-' && (l.content + 1 >= l.end || isSpace(t.charCodeAt(l.content + 1))))) break;
      const after = skipSpaces(t, l.content + 1, l.end);
      if (after >= l.end || t[after] === '#') {
        // `-` alone: nested block on the following lines, or null
        this.li++;
        const next = this.skipBlank();
        if (next && next.indent > ind) {
          const [v, p] = this.block(next.indent);
          table.set(arr.length, p);
          arr.push(v);
        } else {
          table.set(arr.length, { v: l.content, e: l.content, s: 'p' });
          arr.push(null);
        }
        continue;
      }
      // Compact content on the same line: re-read this line as a block at the item's column.
      const col = ind + (after - l.content);
      if (t[after] === '-' && (after + 1 >= l.end || isSpace(t.charCodeAt(after + 1)))) throw FAIL; // `- - x`
      this.lines[this.li] = { start: l.start, content: after, end: l.end, indent: col };
      const [v, p] = this.block(col);
      table.set(arr.length, p);
      arr.push(v);
    }
    this.positions.set(arr, table);
    return [arr, { v: startOffset }];
  }

  private map(ind: number): [unknown, EntryPos] {
    const t = this.text;
    const obj: Record<string, unknown> = {};
    const table = new Map<string | number, EntryPos>();
    const startOffset = this.lines[this.li]!.content;
    for (;;) {
      const l = this.skipBlank();
      if (!l || l.indent < ind) break;
      if (l.indent > ind) throw FAIL;
      const c = t[l.content];
      if (c === '-' && (l.content + 1 >= l.end || isSpace(t.charCodeAt(l.content + 1)))) break;
      if (c === undefined || '?&*!%@`|>,[]{}#'.includes(c)) throw FAIL;
      if (c === ':' ) throw FAIL;
      // key
      let key: string;
      let colon: number;
      if (c === '"' || c === "'") {
        const [k, n] = c === '"' ? doubleQuoted(t, l.content, l.end) : singleQuoted(t, l.content, l.end);
        colon = skipSpaces(t, n, l.end);
        if (t[colon] !== ':') throw FAIL;
        key = k;
      } else {
        colon = this.plainKeyEnd(l.content, l.end);
        if (colon < 0) throw FAIL;
        let ke = colon;
        while (ke > l.content && isSpace(t.charCodeAt(ke - 1))) ke--;
        const raw = t.slice(l.content, ke);
        if (c === '{' || c === '[' || c === ',' || c === '#' || c === ':') throw FAIL;
        const kv = resolvePlain(raw);
        if (typeof kv !== 'string') throw FAIL; // non-string keys: leave to `yaml`
        key = kv;
      }
      if (key === '<<' || key === '__proto__' || table.has(key)) throw FAIL;
      const keyOffset = l.content;
      const vStart = skipSpaces(t, colon + 1, l.end);
      let value: unknown;
      let vp: EntryPos;
      if (vStart >= l.end || t[vStart] === '#') {
        // value on the following lines (nested block, same-indent sequence) or null
        this.li++;
        const next = this.skipBlank();
        if (next && next.indent > ind) {
          [value, vp] = this.block(next.indent);
        } else if (next && next.indent === ind && t[next.content] === '-' && (next.content + 1 >= next.end || isSpace(t.charCodeAt(next.content + 1)))) {
          [value, vp] = this.seq(ind);
        } else {
          value = null;
          vp = { v: colon + 1 };
        }
      } else if (t[vStart] === '|' || t[vStart] === '>') {
        [value, vp] = this.blockScalar(vStart, l.end, ind);
      } else {
        [value, vp] = this.inlineValue(vStart, l.end, ind);
        this.li++;
      }
      vp.k = keyOffset;
      table.set(key, vp);
      obj[key] = value;
    }
    this.positions.set(obj, table);
    return [obj, { v: startOffset }];
  }

  /**
   * A value that must fit on the rest of the line (scalar or flow node),
   * followed by nothing but a comment. The next content line must not be
   * more indented than `ind` (that would be a multi-line scalar).
   */
  private inlineValue(i: number, end: number, ind: number): [unknown, EntryPos] {
    const t = this.text;
    const c = t[i]!;
    let value: unknown;
    let p: EntryPos;
    let n: number;
    if (c === '"') {
      const r = doubleQuoted(t, i, end);
      value = r[0];
      n = r[1];
      p = { v: i, e: n, s: '"' };
    } else if (c === "'") {
      const r = singleQuoted(t, i, end);
      value = r[0];
      n = r[1];
      p = { v: i, e: n, s: "'" };
    } else if (c === '{' || c === '[') {
      const r = new FlowParser(t, end, this.positions).value(i);
      value = r[0];
      p = r[1];
      n = r[2];
    } else {
      if ('&*!|>%@`#,]}'.includes(c)) throw FAIL;
      if ((c === '-' || c === '?' || c === ':') && (i + 1 >= end || isSpace(t.charCodeAt(i + 1)))) throw FAIL;
      let j = i;
      let e = end;
      for (; j < end; j++) {
        const ch = t.charCodeAt(j);
        if (ch === 35 /* # */ && isSpace(t.charCodeAt(j - 1))) {
          e = j;
          break;
        }
        if (ch === 58 /* : */ && (j + 1 >= end || isSpace(t.charCodeAt(j + 1)))) throw FAIL; // nested mapping
      }
      while (e > i && isSpace(t.charCodeAt(e - 1))) e--;
      value = resolvePlain(t.slice(i, e));
      p = { v: i, e, s: 'p' };
      n = e;
    }
    const rest = skipSpaces(t, n, end);
    if (rest < end && !(t[rest] === '#' && rest > n)) throw FAIL;
    // A more-indented continuation line would make this a multi-line scalar.
    for (let k = this.li + 1; k < this.lines.length; k++) {
      const l = this.lines[k]!;
      if (this.blank(l)) continue;
      if (l.indent > ind) throw FAIL;
      break;
    }
    return [value, p];
  }

  /** Literal (`|`) or folded (`>`) block scalar with optional chomping indicator. */
  private blockScalar(i: number, end: number, ind: number): [unknown, EntryPos] {
    const t = this.text;
    const style = t[i] as '|' | '>';
    let j = i + 1;
    let chomp: 'clip' | 'strip' | 'keep' = 'clip';
    if (t[j] === '-') {
      chomp = 'strip';
      j++;
    } else if (t[j] === '+') {
      chomp = 'keep';
      j++;
    }
    const rest = skipSpaces(t, j, end);
    if (rest < end && !(t[rest] === '#' && rest > j)) throw FAIL; // indentation indicator or junk
    // Content lines.
    this.li++;
    const content: Line[] = [];
    let contentIndent = -1;
    while (this.li < this.lines.length) {
      const l = this.lines[this.li]!;
      const isEmpty = l.content >= l.end && l.end - l.start === l.indent; // spaces only
      if (isEmpty) {
        content.push(l);
        this.li++;
        continue;
      }
      if (contentIndent < 0) {
        if (l.indent <= ind) break;
        contentIndent = l.indent;
      }
      if (l.indent < contentIndent) break;
      if (this.text.charCodeAt(l.content) === 9) throw FAIL;
      content.push(l);
      this.li++;
    }
    // Trailing empty lines that belong to the scalar vs. to what follows: back off.
    let last = content.length;
    while (last > 0 && content[last - 1]!.content >= content[last - 1]!.end) last--;
    const trailing = content.length - last;
    if (contentIndent < 0) {
      // empty block scalar
      if (chomp === 'keep') throw FAIL;
      return ['', { v: i, e: i + 1, s: style }];
    }
    const body: string[] = [];
    for (let k = 0; k < last; k++) {
      const l = content[k]!;
      if (l.content >= l.end) {
        if (l.end - l.start > contentIndent) throw FAIL; // whitespace-only line with extra spaces
        body.push('');
      } else body.push(t.slice(l.start + contentIndent, l.end));
    }
    let value: string;
    if (style === '|') value = body.join('\n');
    else {
      // Folding: only for lines without extra indentation.
      if (body.some((b) => b.length > 0 && isSpace(b.charCodeAt(0)))) throw FAIL;
      value = '';
      for (let k = 0; k < body.length; k++) {
        const b = body[k]!;
        if (k === 0) value = b;
        else if (b === '') value += '\n';
        else if (body[k - 1] === '') value += b;
        else value += ' ' + b;
      }
      // an empty line between two text lines folds to a single '\n' (handled above by '' + b)
    }
    if (chomp === 'clip') value += '\n';
    else if (chomp === 'keep') value += '\n' + '\n'.repeat(trailing);
    const after = this.lines[this.li];
    return [value, { v: i, e: after ? after.start : this.end, s: style }];
  }
}

/** Fast YAML parse of one document's text (`start`..`end` of `text`, no `---` markers inside). */
export function fastParseYamlDocument(text: string, start: number, end: number): FastDoc | undefined | null {
  try {
    return new BlockParser(text, start, end).parseDocument();
  } catch (e) {
    if (e === FAIL) return null;
    throw e;
  }
}

// ---------------------------------------------------------------- JSON

class JsonParser {
  i: number;
  readonly positions: PositionTable = new Map();
  constructor(
    private readonly t: string,
    start: number,
    private readonly end: number,
  ) {
    this.i = start;
  }

  private ws(): void {
    const t = this.t;
    while (this.i < this.end) {
      const c = t.charCodeAt(this.i);
      if (c === 32 || c === 10 || c === 13 || c === 9) this.i++;
      else break;
    }
  }

  value(): [unknown, EntryPos] {
    this.ws();
    const t = this.t;
    const start = this.i;
    const c = t[start];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') {
      const s = this.string();
      return [s, { v: start, e: this.i, s: '"' }];
    }
    const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)/.exec(t.slice(start, Math.min(start + 64, this.end)));
    if (!m) throw FAIL;
    const lit = m[0];
    this.i += lit.length;
    const v = lit === 'true' ? true : lit === 'false' ? false : lit === 'null' ? null : Number(lit);
    return [v, { v: start, e: this.i, s: 'p' }];
  }

  private string(): string {
    const t = this.t;
    let j = this.i + 1;
    let simple = true;
    for (; j < this.end; j++) {
      const c = t.charCodeAt(j);
      if (c === 34) break;
      if (c === 92) {
        simple = false;
        j++;
      } else if (c < 32) throw FAIL;
    }
    if (j >= this.end) throw FAIL;
    const raw = t.slice(this.i, j + 1);
    this.i = j + 1;
    if (simple) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      throw FAIL;
    }
  }

  private object(): [unknown, EntryPos] {
    const start = this.i;
    this.i++;
    const obj: Record<string, unknown> = {};
    const table = new Map<string | number, EntryPos>();
    this.ws();
    if (this.t[this.i] === '}') {
      this.i++;
      this.positions.set(obj, table);
      return [obj, { v: start }];
    }
    for (;;) {
      this.ws();
      if (this.t[this.i] !== '"') throw FAIL;
      const kOff = this.i;
      const key = this.string();
      if (key === '__proto__' || table.has(key)) throw FAIL;
      this.ws();
      if (this.t[this.i] !== ':') throw FAIL;
      this.i++;
      const [v, p] = this.value();
      p.k = kOff;
      table.set(key, p);
      obj[key] = v;
      this.ws();
      const c = this.t[this.i];
      this.i++;
      if (c === ',') continue;
      if (c === '}') break;
      throw FAIL;
    }
    this.positions.set(obj, table);
    return [obj, { v: start }];
  }

  private array(): [unknown, EntryPos] {
    const start = this.i;
    this.i++;
    const arr: unknown[] = [];
    const table = new Map<string | number, EntryPos>();
    this.ws();
    if (this.t[this.i] === ']') {
      this.i++;
      this.positions.set(arr, table);
      return [arr, { v: start }];
    }
    for (;;) {
      const [v, p] = this.value();
      table.set(arr.length, p);
      arr.push(v);
      this.ws();
      const c = this.t[this.i];
      this.i++;
      if (c === ',') continue;
      if (c === ']') break;
      throw FAIL;
    }
    this.positions.set(arr, table);
    return [arr, { v: start }];
  }
}

/**
 * Parses one or more concatenated JSON values (as `kubectl get -o json`
 * emits one; some tools emit several) in text[start, end). Returns null
 * when anything is not plain JSON.
 */
export function fastParseJson(text: string, start: number, end: number): FastDoc[] | null {
  const p = new JsonParser(text, start, end);
  const out: FastDoc[] = [];
  try {
    for (;;) {
      // skip whitespace
      while (p.i < end && /\s/.test(text[p.i]!)) p.i++;
      if (p.i >= end) break;
      const [value, root] = p.value();
      out.push({ value, root, positions: p.positions });
    }
  } catch (e) {
    if (e === FAIL) return null;
    throw e;
  }
  return out;
}
