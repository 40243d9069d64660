/**
 * Diagnostics as data: every problem found in user input is a record with a
 * stable code, a position (file, 1-based line and column) and the field path
 * inside the document (e.g. `spec.egress[0].destination.selector`).
 * Loaders collect all of them instead of stopping at the first.
 */

export type Severity = 'error' | 'warning';

export interface SourcePosition {
  /** File name as given by the user, or `<stdin>`. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface Diagnostic extends Partial<SourcePosition> {
  severity: Severity;
  /** Stable machine code, e.g. `NV-SELECTOR-SYNTAX`. */
  code: string;
  message: string;
  /** Field path inside the document, e.g. `spec.ingress[2].source.nets[0]`. */
  path?: string;
  /** Document kind and name, when known (`GlobalNetworkPolicy/allow-dns`). */
  object?: string;
}

/** Formats a diagnostic as `file:line:col: error CODE: message (at path)`. */
export function formatDiagnostic(d: Diagnostic): string {
  let where = '';
  if (d.file !== undefined) {
    where = d.file;
    if (d.line !== undefined) where += `:${d.line}`;
    if (d.column !== undefined) where += `:${d.column}`;
    where += ': ';
  }
  const at: string[] = [];
  if (d.object) at.push(d.object);
  if (d.path) at.push(`field ${d.path}`);
  const suffix = at.length ? ` (${at.join(', ')})` : '';
  return `${where}${d.severity} ${d.code}: ${d.message}${suffix}`;
}

/** Collects diagnostics; never throws on its own. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  add(d: Diagnostic): void {
    this.items.push(d);
  }

  error(code: string, message: string, where: Partial<SourcePosition> & { path?: string; object?: string } = {}): void {
    this.items.push({ severity: 'error', code, message, ...where });
  }

  warning(code: string, message: string, where: Partial<SourcePosition> & { path?: string; object?: string } = {}): void {
    this.items.push({ severity: 'warning', code, message, ...where });
  }

  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error');
  }

  get warnings(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'warning');
  }

  hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }
}

/**
 * Thrown by the public API when input is invalid. Carries every diagnostic
 * collected; the CLI prints them and exits with code 2, never a stack trace.
 */
export class InputError extends Error {
  readonly code = 'NV-INPUT';
  constructor(readonly diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      errors.length === 1
        ? formatDiagnostic(errors[0]!)
        : `${errors.length} errors in input:\n` + errors.map(formatDiagnostic).join('\n'),
    );
    this.name = 'InputError';
  }
}
