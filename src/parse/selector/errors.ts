/** Syntax error raised by the Calico selector lexer/parser. */
export class SelectorSyntaxError extends Error {
  readonly code = 'NV-SELECTOR-SYNTAX' as const;
  /** The full selector text that failed to parse. */
  readonly selector: string;
  /**
   * 0-based offset (UTF-16 code units) of the offending character, or
   * `selector.length` when the input ended unexpectedly.
   */
  readonly position: number;
  /** Short reason, e.g. `expected "=="`. */
  readonly reason: string;

  constructor(selector: string, position: number, reason: string) {
    super(formatMessage(selector, position, reason));
    this.name = 'SelectorSyntaxError';
    this.selector = selector;
    this.position = position;
    this.reason = reason;
  }
}

/** Replaces control characters by one visible character each, keeping caret alignment. */
function visible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (ch) => {
    if (ch === '\t') return ' ';
    if (ch === '\n') return '\u21b5';
    return '\u00b7';
  });
}

function formatMessage(selector: string, position: number, reason: string): string {
  const where = `character ${position}` + (position >= selector.length ? ' (end of selector)' : '');
  return (
    `invalid selector at ${where}: ${reason}: ${selector}\n` +
    `  ${visible(selector)}\n` +
    `  ${' '.repeat(Math.max(0, position))}^`
  );
}
