/**
 * YAML/JSON text → raw objects with source positions.
 *
 * Multi-document YAML and JSON go through the same `yaml` parser (JSON is
 * YAML 1.2 flow). `kind: List` and any `*List` kind expand to their `items`.
 * Every raw object can map a field path (`['spec','egress',0]`) back to its
 * file, 1-based line and column, including a character offset inside a
 * string scalar (for selector syntax errors).
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Scalar } from 'yaml';
import type { DiagnosticBag, SourcePosition } from '../diag/diagnostic.js';
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

/** One resource object as read from a file, before validation. */
export class RawObject {
  constructor(
    readonly file: string,
    /** 0-based index of the YAML document in its file. */
    readonly docIndex: number,
    /** Index in the `items` of a List document, when expanded from one. */
    readonly itemIndex: number | undefined,
    readonly value: Record<string, unknown>,
    /** `kind` (inherited from a `*List` name when the item has none). */
    readonly kind: string | undefined,
    readonly apiVersion: string | undefined,
    private readonly node: YamlNode,
    private readonly doc: Document.Parsed,
    private readonly text: string,
    private readonly lines: LineCounter,
  ) {}

  private pos(offset: number): LineColumn {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  private resolve(n: unknown): unknown {
    return isAlias(n) ? n.resolve(this.doc) : n;
  }

  /**
   * Finds the node at `path` (relative to this object). Returns the deepest
   * node reached and, when the last step is a map key, that key node.
   */
  private find(path: FieldPath): { node: YamlNode; key?: YamlNode; complete: boolean } {
    let node: YamlNode = this.node;
    let key: YamlNode | undefined;
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
            if (next === undefined && key) return { node: key, key, complete: i === path.length - 1 };
            break;
          }
        }
      } else if (isSeq(cur) && typeof seg === 'number') {
        const item = cur.items[seg];
        next = isPair(item) ? ((item.value as YamlNode | null) ?? undefined) : ((item as YamlNode | undefined) ?? undefined);
      }
      if (!next) return { node, complete: false };
      node = next;
    }
    return { node, key, complete: true };
  }

  /** Position of the value at `path` (or of its key with `key: true`); falls back to the nearest ancestor. */
  locate(path: FieldPath, opts: { key?: boolean } = {}): LineColumn {
    const f = this.find(path);
    const n = opts.key && f.key ? f.key : f.node;
    const r = n.range;
    return r ? this.pos(r[0]) : this.pos(0);
  }

  /**
   * Position of character `offset` (0-based, in the decoded string) of the
   * string scalar at `path`. Exact for plain and quoted single-line scalars
   * (escapes and `''` accounted for), best effort for block and folded ones.
   */
  locateInString(path: FieldPath, offset: number): LineColumn {
    const f = this.find(path);
    const n = this.resolve(f.node);
    if (!f.complete || !isScalar(n) || typeof n.value !== 'string' || !n.range) return this.locate(path);
    const src = sourceOffsetInScalar(this.text, n as Scalar<string>, offset);
    return this.pos(src);
  }

  /** Origin-style position: 1-based line/column of the object itself. */
  get start(): LineColumn {
    return this.locate([]);
  }

  /** True when the given path exists in the source (used to report "missing" at the parent). */
  has(path: FieldPath): boolean {
    return this.find(path).complete;
  }
}

/**
 * Maps a character offset of a scalar's decoded value to an offset in the
 * source text by aligning decoded characters with source characters:
 * characters that are equal advance both; anything else (quotes, escape
 * backslashes, doubled `''`, folding indentation) advances the source only.
 */
export function sourceOffsetInScalar(text: string, node: Scalar<string>, offset: number): number {
  const value = node.value;
  const [start, valueEnd] = node.range!;
  let s = start;
  const type = node.type;
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
    const nl = text.indexOf('\n', start);
    s = nl < 0 ? start : nl + 1;
  } else if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') {
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
      // Double-quoted escapes (\n, \t, \uXXXX...) decode to other characters:
      // skip the escape sequence as one unit.
      if (type === 'QUOTE_DOUBLE' && text[j] === '\\' && c !== '\\') {
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
  // Skip non-content source characters (e.g. the backslash of `\"`, the
  // first quote of `''`, folding newlines + indentation) before the target.
  if (target < value.length) {
    const c = value[target]!;
    for (let j = s; j < end; j++) {
      if (text[j] === c) return j;
      if (type === 'QUOTE_DOUBLE' && text[j] === '\\') return j;
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

/**
 * Parses one source text into raw objects. YAML syntax errors become
 * `NV-YAML` diagnostics (the broken document is skipped, the others kept);
 * empty documents are skipped; `*List` documents are expanded.
 */
export function parseDocuments(src: SourceText, diags: DiagnosticBag): RawObject[] {
  const lines = new LineCounter();
  const text = src.text;
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
    keepSourceTokens: false,
  });
  const out: RawObject[] = [];
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { file: src.name, line: p.line, column: p.col };
  };
  const list = Array.isArray(docs) ? docs : [];
  for (let di = 0; di < list.length; di++) {
    const doc = list[di]!;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) diags.error('NV-YAML', `YAML syntax error: ${e.message}`, at(e.pos[0]));
      continue;
    }
    for (const w of doc.warnings) diags.warning('NV-YAML', `YAML: ${w.message}`, at(w.pos[0]));
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === undefined))) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      diags.error('NV-YAML', `YAML error: ${(e as Error).message}`, at(contents.range?.[0] ?? 0));
      continue;
    }
    if (!isPlainMap(value) || !isMap(contents)) {
      diags.error('NV-TYPE', 'document is not a mapping (expected a Kubernetes/Calico resource)', at(contents.range?.[0] ?? 0));
      continue;
    }
    const kind = typeof value.kind === 'string' ? value.kind : undefined;
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : undefined;
    const items = value.items;
    if (kind !== undefined && kind.endsWith('List') && (Array.isArray(items) || items === null || items === undefined)) {
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      const itemsPair = contents.items.find((p) => isScalar(p.key) && p.key.value === 'items');
      const seq = itemsPair && isSeq(itemsPair.value) ? itemsPair.value : undefined;
      const arr = Array.isArray(items) ? items : [];
      for (let i = 0; i < arr.length; i++) {
        const item = arr[i];
        const itemNode = seq?.items[i] as YamlNode | undefined;
        if (item === null || item === undefined) continue;
        if (!isPlainMap(item) || !itemNode) {
          diags.error('NV-TYPE', `${kind} item ${i} is not a mapping`, at((itemNode ?? contents).range?.[0] ?? 0));
          continue;
        }
        const ik = typeof item.kind === 'string' ? item.kind : itemKind;
        const iv = typeof item.apiVersion === 'string' ? item.apiVersion : kind === 'List' ? undefined : apiVersion;
        out.push(new RawObject(src.name, di, i, item, ik, iv, itemNode, doc, text, lines));
      }
      continue;
    }
    out.push(new RawObject(src.name, di, undefined, value, kind, apiVersion, contents, doc, text, lines));
  }
  return out;
}
