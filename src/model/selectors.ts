/**
 * Selector fields of user objects: parse, report syntax errors at the exact
 * character, enforce the length limit and the global() placement rules
 * (SEMANTICS.md §8).
 */
import { parseSelector, selectorUsesGlobal, SelectorSyntaxError } from '../parse/selector/index.js';
import type { Selector } from '../parse/selector/types.js';
import type { FieldPath } from '../parse/documents.js';
import type { ObjectContext } from './context.js';

export const MAX_SELECTOR_LENGTH = 1024;

export interface SelectorFieldOptions {
  /** `entire`: global() allowed only as the whole selector (EntityRule namespaceSelector). */
  global?: 'forbidden' | 'entire';
}

/** Parses a selector field; undefined when absent, empty-string-as-absent is the caller's choice. */
export function selectorField(ctx: ObjectContext, v: unknown, path: FieldPath, opts: SelectorFieldOptions = {}): Selector | undefined {
  const text = ctx.str(v, path);
  if (text === undefined) return undefined;
  if (text.length > MAX_SELECTOR_LENGTH) {
    ctx.error('NV-SELECTOR', `selector is too long (${text.length} > ${MAX_SELECTOR_LENGTH} characters)`, path);
    return undefined;
  }
  let sel: Selector;
  try {
    sel = parseSelector(text);
  } catch (e) {
    if (e instanceof SelectorSyntaxError) {
      const pos = typeof e.position === 'number' ? e.position : 0;
      const reason = e.reason ?? e.message;
      ctx.errorInString('NV-SELECTOR-SYNTAX', `invalid selector ${JSON.stringify(text)}: ${reason} (at character ${pos + 1})`, path, pos);
      return undefined;
    }
    throw e;
  }
  if (selectorUsesGlobal(sel.ast)) {
    if ((opts.global ?? 'forbidden') === 'forbidden') {
      ctx.error('NV-SELECTOR', 'global() can only be used in an EntityRule namespaceSelector', path);
      return undefined;
    }
    if (sel.ast.kind !== 'global') {
      ctx.error('NV-SELECTOR', 'global() cannot be combined with other selectors', path);
      return undefined;
    }
  }
  return sel;
}
