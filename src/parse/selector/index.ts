/** Calico label selectors (SEMANTICS.md §1): parse, evaluate, canonicalise, rewrite. */

export type { LabelSource, Selector, SelectorNode } from './types.js';
export { SelectorSyntaxError } from './errors.js';
export { parseSelector, makeSelector } from './selector.js';
export { parseSelectorAst } from './parser.js';
export { canonicalSelector } from './canonical.js';
export { labelsOf } from './evaluate.js';
export { isValidLabel, MAX_LABEL_LENGTH } from './lexer.js';
export {
  ALL,
  andSelectors,
  normaliseSelector,
  notSelector,
  prefixLabels,
  replaceAllAndGlobal,
  selectorUsesGlobal,
} from './transform.js';
