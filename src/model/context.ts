/**
 * Per-object validation context: typed field access that reports problems
 * as positioned diagnostics (file, line, column, field path, object).
 */
import type { DiagnosticBag } from '../diag/diagnostic.js';
import { formatPath, type FieldPath, type RawObject } from '../parse/documents.js';
import type { Origin } from './types.js';

export type Json = Record<string, unknown>;

export function isMapValue(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ObjectContext {
  /** Set once any error is reported for this object. */
  failed = false;
  constructor(
    readonly raw: RawObject,
    readonly diags: DiagnosticBag,
    /** `Kind/namespace/name` or `Kind/name`. */
    public object: string,
  ) {}

  get file(): string {
    return this.raw.file;
  }

  private where(path: FieldPath, key?: boolean) {
    const p = this.raw.locate(path, { key });
    return { file: this.raw.file, line: p.line, column: p.column, path: formatPath(path), object: this.object };
  }

  error(code: string, message: string, path: FieldPath, opts: { key?: boolean } = {}): void {
    this.failed = true;
    this.diags.error(code, message, this.where(path, opts.key));
  }

  /** Error at a character offset inside a string scalar. */
  errorInString(code: string, message: string, path: FieldPath, offset: number): void {
    this.failed = true;
    const p = this.raw.locateInString(path, offset);
    this.diags.error(code, message, { file: this.raw.file, line: p.line, column: p.column, path: formatPath(path), object: this.object });
  }

  warning(code: string, message: string, path: FieldPath, opts: { key?: boolean } = {}): void {
    this.diags.warning(code, message, this.where(path, opts.key));
  }

  origin(path: FieldPath): Origin {
    const p = this.raw.locate(path);
    return { file: this.raw.file, line: p.line, column: p.column, path: formatPath(path) };
  }

  /** Reports every key of `map` not in `allowed` as NV-UNKNOWN-FIELD. */
  checkFields(map: Json, allowed: ReadonlySet<string>, path: FieldPath, what: string): void {
    for (const k of Object.keys(map)) {
      if (!allowed.has(k)) {
        this.error('NV-UNKNOWN-FIELD', `unknown field "${k}" in ${what}`, [...path, k], { key: true });
      }
    }
  }

  /** A map or undefined (null/absent); anything else is NV-TYPE. */
  map(v: unknown, path: FieldPath): Json | undefined {
    if (v === undefined || v === null) return undefined;
    if (isMapValue(v)) return v;
    this.error('NV-TYPE', `expected a mapping, got ${describe(v)}`, path);
    return undefined;
  }

  list(v: unknown, path: FieldPath): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v;
    this.error('NV-TYPE', `expected a list, got ${describe(v)}`, path);
    return undefined;
  }

  str(v: unknown, path: FieldPath): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    this.error('NV-TYPE', `expected a string, got ${describe(v)}`, path);
    return undefined;
  }

  bool(v: unknown, path: FieldPath): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.error('NV-TYPE', `expected true or false, got ${describe(v)}`, path);
    return undefined;
  }

  num(v: unknown, path: FieldPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    this.error('NV-TYPE', `expected a number, got ${describe(v)}`, path);
    return undefined;
  }

  int(v: unknown, path: FieldPath): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    this.error('NV-TYPE', `expected an integer, got ${describe(v)}`, path);
    return undefined;
  }

  strList(v: unknown, path: FieldPath): string[] | undefined {
    const l = this.list(v, path);
    if (!l) return undefined;
    const out: string[] = [];
    l.forEach((x, i) => {
      const s = this.str(x, [...path, i]);
      if (s !== undefined) out.push(s);
    });
    return out;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}
