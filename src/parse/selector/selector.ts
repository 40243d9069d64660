/** Selector objects: parse or wrap an AST, compile it on first evaluation, evaluate many times. */

import { canonicalSelector } from './canonical.js';
import { compileForRecord, compileForSource } from './evaluate.js';
import { parseSelectorAst } from './parser.js';
import type { LabelSource, Selector, SelectorNode } from './types.js';

class CompiledSelector implements Selector {
  readonly source: string;
  readonly ast: SelectorNode;
  readonly canonical: string;
  /** Matchers, compiled on first use: most selectors are answered by a label index and never evaluated. */
  private matchSource: ((l: LabelSource) => boolean) | undefined;
  private matchRecord: ((l: Readonly<Record<string, string>>) => boolean) | undefined;

  constructor(ast: SelectorNode, source: string | undefined) {
    this.ast = ast;
    this.canonical = canonicalSelector(ast);
    this.source = source ?? this.canonical;
    this.matchSource = undefined;
    this.matchRecord = undefined;
  }

  matches(labels: LabelSource | Readonly<Record<string, string>>): boolean {
    return typeof (labels as { get?: unknown }).get === 'function'
      ? (this.matchSource ??= compileForSource(this.ast))(labels as LabelSource)
      : (this.matchRecord ??= compileForRecord(this.ast))(labels as Readonly<Record<string, string>>);
  }

  toString(): string {
    return this.canonical;
  }
}

/**
 * Wraps an AST as a Selector (compiled once, on first evaluation). `source` defaults to the
 * canonical string. The AST must not be mutated afterwards.
 */
export function makeSelector(ast: SelectorNode, source?: string): Selector {
  return new CompiledSelector(ast, source);
}

/**
 * Parses Calico selector text. Empty or space/tab-only text is `all()`.
 * @throws SelectorSyntaxError on invalid input.
 */
export function parseSelector(text: string): Selector {
  return new CompiledSelector(parseSelectorAst(text), text);
}
