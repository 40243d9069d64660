/**
 * YAML/JSON text → raw objects with source positions.
 *
 * Multi-document YAML and JSON; `kind: List` and any `*List` kind expand to
 * their `items`. Every raw object can map a field path (`['spec','egress',0]`)
 * back to its file, 1-based line and column, including a character offset
 * inside a string scalar (for selector syntax errors).
 *
 * Speed: documents are split at `---`/`...` marker lines and each one goes
 * through the fast parser of ./fast-yaml.ts (kubectl-style YAML and JSON);
 * anything it does not handle — and every error — goes through the `yaml`
 * package, which is exact (and reports syntax errors) but ~10x slower.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { DiagnosticBag } from '../diag/diagnostic.js';
import { fastParseJson, fastParseYamlDocument, type EntryPos, type FastDoc, type PositionTable, type ScalarStyle } from './fast-yaml.js';
import type { SourceText } from './files.js';

export type FieldPath = ReadonlyArray<string | number>;

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['spec','egress',1,'destination']` → `spec.egress[1].destination`. */
export function formatPath(path: FieldPath): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (SIMPLE_KEY.test(seg)) s += s === '' ? seg : `.${seg}`;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

export interface LineColumn {
  line: number;
  column: number;
}

/** Offset → 1-based line/column for one file (built lazily). */
export class LineIndex {
  private starts: number[] | undefined;
  constructor(private readonly text: string) {}
  pos(offset: number): LineColumn {
    if (!this.starts) {
      const s = [0];
      const t = this.text;
      for (let i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) s.push(i + 1);
      this.starts = s;
    }
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - s[lo]! + 1 };
  }
}

interface Found {
  /** Offset of the value found (deepest reached). */
  offset: number;
  /** Offset of its key, when the last step was a map key. */
  keyOffset?: number;
  complete: boolean;
  scalar?: { start: number; end: number; style: ScalarStyle; value: string };
}

interface Locator {
  find(path: FieldPath): Found;
}

const YAML_STYLE: Record<string, ScalarStyle> = {
  PLAIN: 'p',
  QUOTE_DOUBLE: '"',
  QUOTE_SINGLE: "'",
  BLOCK_LITERAL: '|',
  BLOCK_FOLDED: '>',
};

/** Locator over `yaml` nodes; `base` is added to node offsets (chunk start). */
class YamlLocator implements Locator {
  constructor(
    private readonly root: YamlNode,
    private readonly doc: Document.Parsed,
    private readonly base: number,
  ) {}

  private resolve(n: unknown): unknown {
    return isAlias(n) ? n.resolve(this.doc) : n;
  }

  find(path: FieldPath): Found {
    let node: YamlNode = this.root;
    let key: YamlNode | undefined;
    const b = this.base;
    const off = (n: YamlNode) => (n.range ? n.range[0] + b : b);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const cur = this.resolve(node);
      let next: YamlNode | undefined;
      key = undefined;
      if (isMap(cur) && typeof seg === 'string') {
        for (const pair of cur.items) {
          const k = pair.key;
          const kv = isScalar(k) ? k.value : k;
          if (String(kv) === seg) {
            key = isScalar(k) ? k : undefined;
            next = (pair.value as YamlNode | null) ?? undefined;
            if (next === undefined && key) return { offset: off(key), keyOffset: off(key), complete: i === path.length - 1 };
            break;
          }
        }
      } else if (isSeq(cur) && typeof seg === 'number') {
        const item = cur.items[seg];
        next = isPair(item) ? ((item.value as YamlNode | null) ?? undefined) : ((item as YamlNode | undefined) ?? undefined);
      }
      if (!next) return { offset: off(node), complete: false };
      node = next;
    }
    const found: Found = { offset: off(node), complete: true };
    if (key) found.keyOffset = off(key);
    const n = this.resolve(node);
    if (isScalar(n) && typeof n.value === 'string' && n.range && n.type) {
      found.scalar = { start: n.range[0] + b, end: n.range[1] + b, style: YAML_STYLE[n.type] ?? 'p', value: n.value };
    }
    return found;
  }
}

/** Locator over a fast-parsed value and its position table. */
class FastLocator implements Locator {
  constructor(
    private readonly value: unknown,
    private readonly root: EntryPos,
    private readonly positions: PositionTable,
  ) {}

  find(path: FieldPath): Found {
    let cur: unknown = this.value;
    let entry: EntryPos = this.root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const table = typeof cur === 'object' && cur !== null ? this.positions.get(cur) : undefined;
      const e = table?.get(seg);
      if (!e) return { offset: entry.v, complete: false };
      cur = (cur as Record<string | number, unknown>)[seg];
      entry = e;
    }
    const found: Found = { offset: entry.v, complete: true };
    if (entry.k !== undefined) found.keyOffset = entry.k;
    if (typeof cur === 'string' && entry.s !== undefined) found.scalar = { start: entry.v, end: entry.e ?? entry.v, style: entry.s, value: cur };
    return found;
  }
}

/** One resource object as read from a file, before validation. */
export class RawObject {
  constructor(
    readonly file: string,
    /** 0-based index of the document among the non-empty documents of its file. */
    readonly docIndex: number,
    /** Index in the `items` of a List document, when expanded from one. */
    readonly itemIndex: number | undefined,
    readonly value: Record<string, unknown>,
    /** `kind` (inherited from a `*List` name when the item has none). */
    readonly kind: string | undefined,
    readonly apiVersion: string | undefined,
    private readonly locator: Locator,
    private readonly text: string,
    private readonly lines: LineIndex,
  ) {}

  /** Position of the value at `path` (or of its key with `key: true`); falls back to the nearest ancestor. */
  locate(path: FieldPath, opts: { key?: boolean } = {}): LineColumn {
    const f = this.locator.find(path);
    return this.lines.pos(opts.key && f.keyOffset !== undefined ? f.keyOffset : f.offset);
  }

  /**
   * Position of character `offset` (0-based, in the decoded string) of the
   * string scalar at `path`. Exact for plain and quoted single-line scalars
   * (escapes and `''` accounted for), best effort for block and folded ones.
   */
  locateInString(path: FieldPath, offset: number): LineColumn {
    const f = this.locator.find(path);
    if (!f.complete || !f.scalar) return this.lines.pos(f.offset);
    const s = f.scalar;
    return this.lines.pos(sourceOffsetInScalar(this.text, s.value, s.start, s.end, s.style, offset));
  }

  /** 1-based line/column of the object itself. */
  get start(): LineColumn {
    return this.locate([]);
  }

  /** True when the given path exists in the source. */
  has(path: FieldPath): boolean {
    return this.locator.find(path).complete;
  }

  /**
   * A raw object with no text behind it (generated objects): every path
   * locates at `at`.
   */
  static synthetic(file: string, docIndex: number, value: Record<string, unknown>, at: LineColumn): RawObject {
    const locator: Locator = { find: () => ({ offset: 0, complete: false }) };
    const lines = { pos: () => at } as unknown as LineIndex;
    return new RawObject(
      file,
      docIndex,
      undefined,
      value,
      typeof value.kind === 'string' ? value.kind : undefined,
      typeof value.apiVersion === 'string' ? value.apiVersion : undefined,
      locator,
      '',
      lines,
    );
  }
}

/**
 * Maps a character offset of a scalar's decoded value to an offset in the
 * source text by aligning decoded characters with source characters:
 * characters that are equal advance both; anything else (quotes, escape
 * backslashes, doubled `''`, folding indentation) advances the source only.
 */
export function sourceOffsetInScalar(text: string, value: string, start: number, valueEnd: number, style: ScalarStyle, offset: number): number {
  let s = start;
  if (style === '|' || style === '>') {
    const nl = text.indexOf('\n', start);
    s = nl < 0 ? start : nl + 1;
  } else if (style === '"' || style === "'") {
    s = start + 1;
  }
  const end = Math.max(valueEnd, s);
  const target = Math.min(offset, value.length);
  for (let i = 0; i < target; i++) {
    const c = value[i]!;
    let found = -1;
    for (let j = s; j < end; j++) {
      if (text[j] === c) {
        found = j;
        break;
      }
      // Double-quoted escapes (\n, \t, \uXXXX...) decode to other characters.
      if (style === '"' && text[j] === '\\' && c !== '\\') {
        const esc = text[j + 1];
        const len = esc === 'x' ? 4 : esc === 'u' ? 6 : esc === 'U' ? 10 : 2;
        if (decodesTo(text.slice(j, j + len), c)) {
          found = j + len - 1;
          break;
        }
      }
    }
    if (found < 0) return Math.min(s, end);
    s = found + 1;
  }
  // Skip non-content source characters (the backslash of `\"`, the first
  // quote of `''`, folding newlines + indentation) before the target.
  if (target < value.length) {
    const c = value[target]!;
    for (let j = s; j < end; j++) {
      if (text[j] === c) return j;
      if (style === '"' && text[j] === '\\') return j;
    }
  }
  return s;
}

function decodesTo(escape: string, c: string): boolean {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '"': '"', '/': '/', ' ': ' ', b: '\b', f: '\f', e: '\x1b', N: '\x85', _: '\xa0' };
  const e = escape[1];
  if (e === undefined) return false;
  if (e in simple) return simple[e] === c;
  if (e === 'x' || e === 'u' || e === 'U') {
    const cp = parseInt(escape.slice(2), 16);
    return !Number.isNaN(cp) && String.fromCodePoint(cp) === c;
  }
  return false;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ParseOptions {
  /** Use the fast parser where it applies (default true); false forces the `yaml` package. */
  fast?: boolean;
}

/** A parsed document: its JS value and how to locate paths inside it. */
interface ParsedDoc {
  value: unknown;
  /** Locator for the root, and for an item of a List (by items index). */
  locator: Locator;
  itemLocator(i: number): Locator | undefined;
  /** Offset of the document's root value. */
  offset: number;
}

const MARKER = /^(?:---|\.\.\.)(?:[ \t]+(?:#.*)?)?\r?$/;
const MARKER_WITH_CONTENT = /^(?:---|\.\.\.)(?:[ \t]|$)/;

/**
 * Splits text into document chunks at bare `---`/`...` marker lines (which
 * can never be scalar content in YAML). Returns undefined when the text has
 * directives or markers followed by content (handled by `yaml` as a whole).
 */
function splitChunks(text: string): [number, number][] | undefined {
  const chunks: [number, number][] = [];
  let chunkStart = 0;
  let i = 0;
  while (i <= text.length) {
    let nl = text.indexOf('\n', i);
    if (nl < 0) nl = text.length;
    const c = text.charCodeAt(i);
    if (c === 45 /* - */ || c === 46 /* . */ || c === 37 /* % */) {
      const line = text.slice(i, nl);
      if (c === 37) return undefined;
      if (MARKER.test(line)) {
        chunks.push([chunkStart, i]);
        chunkStart = nl + 1;
      } else if (MARKER_WITH_CONTENT.test(line)) return undefined;
    }
    i = nl + 1;
  }
  chunks.push([Math.min(chunkStart, text.length), text.length]);
  return chunks;
}

function fastDocs(docs: FastDoc[]): ParsedDoc[] {
  return docs.map((d) => ({
    value: d.value,
    offset: d.root.v,
    locator: new FastLocator(d.value, d.root, d.positions),
    itemLocator(i: number) {
      const items = isPlainMap(d.value) ? d.value.items : undefined;
      const e = Array.isArray(items) ? d.positions.get(items)?.get(i) : undefined;
      return e && Array.isArray(items) ? new FastLocator(items[i], e, d.positions) : undefined;
    },
  }));
}

function yamlDoc(doc: Document.Parsed, base: number, value: unknown): ParsedDoc | undefined {
  const contents = doc.contents as YamlNode | null;
  if (!contents) return undefined;
  return {
    value,
    offset: (contents.range?.[0] ?? 0) + base,
    locator: new YamlLocator(contents, doc, base),
    itemLocator(i: number) {
      if (!isMap(contents)) return undefined;
      const pair = contents.items.find((p) => isScalar(p.key) && p.key.value === 'items');
      const node = pair && isSeq(pair.value) ? (pair.value.items[i] as YamlNode | undefined) : undefined;
      return node ? new YamlLocator(node, doc, base) : undefined;
    },
  };
}

const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: true, merge: true, keepSourceTokens: false } as const;

/** Parses with the `yaml` package; errors reported, broken documents dropped. */
function yamlDocs(text: string, base: number, file: string, lines: LineIndex, diags: DiagnosticBag, all: boolean): ParsedDoc[] {
  const at = (offset: number) => ({ file, ...lines.pos(offset + base) });
  const docs = all ? parseAllDocuments(text, YAML_OPTIONS) : [parseDocument(text, YAML_OPTIONS)];
  const out: ParsedDoc[] = [];
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) diags.error('NV-YAML', `YAML syntax error: ${e.message}`, at(e.pos[0]));
      continue;
    }
    for (const w of doc.warnings) diags.warning('NV-YAML', `YAML: ${w.message}`, at(w.pos[0]));
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      diags.error('NV-YAML', `YAML error: ${(e as Error).message}`, at((doc.contents as YamlNode | null)?.range?.[0] ?? 0));
      continue;
    }
    const d = yamlDoc(doc, base, value);
    if (d) out.push(d);
  }
  return out;
}

/**
 * Parses one source text into raw objects. YAML syntax errors become
 * `NV-YAML` diagnostics (the broken document is skipped, the others kept);
 * empty documents are skipped; `*List` documents are expanded.
 */
export function parseDocuments(src: SourceText, diags: DiagnosticBag, opts: ParseOptions = {}): RawObject[] {
  const text = src.text;
  const lines = new LineIndex(text);
  const fast = opts.fast !== false;
  const docs: ParsedDoc[] = [];
  const chunks = fast ? splitChunks(text) : undefined;
  if (!chunks) {
    docs.push(...yamlDocs(text, 0, src.name, lines, diags, true));
  } else {
    for (const [start, end] of chunks) {
      let i = start;
      while (i < end && /\s/.test(text[i]!)) i++;
      if (i >= end) continue;
      const c = text[i];
      if (c === '{' || c === '[') {
        const j = fastParseJson(text, i, end);
        if (j) {
          docs.push(...fastDocs(j));
          continue;
        }
      }
      const d = fastParseYamlDocument(text, start, end);
      if (d === undefined) continue; // only comments
      if (d !== null) {
        docs.push(...fastDocs([d]));
        continue;
      }
      docs.push(...yamlDocs(text.slice(start, end), start, src.name, lines, diags, false));
    }
  }

  const out: RawObject[] = [];
  const at = (offset: number) => ({ file: src.name, ...lines.pos(offset) });
  for (let di = 0; di < docs.length; di++) {
    const doc = docs[di]!;
    const value = doc.value;
    if (value === null || value === undefined) continue;
    if (!isPlainMap(value)) {
      diags.error('NV-TYPE', 'document is not a mapping (expected a Kubernetes/Calico resource)', at(doc.offset));
      continue;
    }
    const kind = typeof value.kind === 'string' ? value.kind : undefined;
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : undefined;
    const items = value.items;
    if (kind !== undefined && kind.endsWith('List') && (Array.isArray(items) || items === null || items === undefined)) {
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      const arr = Array.isArray(items) ? items : [];
      for (let i = 0; i < arr.length; i++) {
        const item = arr[i];
        if (item === null || item === undefined) continue;
        const loc = doc.itemLocator(i);
        if (!isPlainMap(item) || !loc) {
          diags.error('NV-TYPE', `${kind} item ${i} is not a mapping`, at(loc ? loc.find([]).offset : doc.offset));
          continue;
        }
        const ik = typeof item.kind === 'string' ? item.kind : itemKind;
        const iv = typeof item.apiVersion === 'string' ? item.apiVersion : kind === 'List' ? undefined : apiVersion;
        out.push(new RawObject(src.name, di, i, item, ik, iv, loc, text, lines));
      }
      continue;
    }
    out.push(new RawObject(src.name, di, undefined, value, kind, apiVersion, doc.locator, text, lines));
  }
  return out;
}
