/**
 * Turning policy headers and EntityRules into the selectors Calico actually
 * evaluates (SEMANTICS.md §3.1 and §4.7). Everything is done on the syntax
 * tree, never on text.
 */
import {
  andSelectors,
  makeSelector,
  notSelector,
  prefixLabels,
  replaceAllAndGlobal,
} from '../parse/selector/index.js';
import type { Selector, SelectorNode } from '../parse/selector/types.js';
import type { EntityRule, Policy } from '../model/types.js';
import { NAMESPACE_LABEL, SERVICE_ACCOUNT_LABEL } from './entities.js';

const hasNamespace: SelectorNode = { kind: 'has', key: NAMESPACE_LABEL };
const hasServiceAccount: SelectorNode = { kind: 'has', key: SERVICE_ACCOUNT_LABEL };
const noNamespace: SelectorNode = { kind: 'not', expr: hasNamespace };

function isAll(node: SelectorNode): boolean {
  return node.kind === 'all';
}

/** The "applies to" selector of a policy, evaluated against local WEPs and HEPs (§3.1). */
export function policyAppliesTo(policy: Policy): Selector {
  const global = policy.namespace === undefined;
  let sel: SelectorNode = policy.selector.ast;
  if (global) {
    if (policy.namespaceSelector) {
      const prefixed = prefixLabels(policy.namespaceSelector.ast, 'pcns.');
      sel = isAll(sel) && policy.selector.source.trim() === '' ? prefixed : andSelectors(sel, prefixed);
      sel = replaceAllAndGlobal(sel, hasNamespace, undefined);
    }
    if (policy.serviceAccountSelector) {
      const prefixed = prefixLabels(policy.serviceAccountSelector.ast, 'pcsa.');
      sel = andSelectors(sel, prefixed);
      sel = replaceAllAndGlobal(sel, hasServiceAccount, undefined);
    }
  } else {
    const nsClause: SelectorNode = { kind: 'eq', key: NAMESPACE_LABEL, value: policy.namespace! };
    sel = isAll(sel) && policy.selector.source.trim() === '' ? nsClause : andSelectors(sel, nsClause);
    if (policy.serviceAccountSelector) {
      sel = andSelectors(sel, prefixLabels(policy.serviceAccountSelector.ast, 'pcsa.'));
    }
  }
  return makeSelector(sel);
}

export interface RuleSelectors {
  /** Addresses must be in this set (undefined = no selector criterion). */
  positive?: Selector;
  /** Addresses must not be in this set (only when there is no positive selector). */
  negative?: Selector;
}

/**
 * The combined positive selector and stand-alone negative selector of one
 * EntityRule (§4.7). `policyNamespace` is undefined for GNPs and profiles.
 */
export function entityRuleSelectors(rule: EntityRule, policyNamespace: string | undefined): RuleSelectors {
  // 1. Service-account part.
  const saParts: SelectorNode[] = [];
  if (rule.serviceAccounts?.selector) saParts.push(prefixLabels(rule.serviceAccounts.selector.ast, 'pcsa.'));
  if (rule.serviceAccounts?.names && rule.serviceAccounts.names.length > 0) {
    saParts.push({ kind: 'in', key: SERVICE_ACCOUNT_LABEL, values: [...rule.serviceAccounts.names] });
  }
  // 2. Namespace part.
  let nsPart: SelectorNode | undefined;
  if (rule.namespaceSelector) {
    nsPart = replaceAllAndGlobal(prefixLabels(rule.namespaceSelector.ast, 'pcns.'), hasNamespace, noNamespace);
  } else if (policyNamespace) {
    nsPart = { kind: 'eq', key: NAMESPACE_LABEL, value: policyNamespace };
  }
  // 3. Endpoint part.
  const eParts = [...saParts];
  if (rule.selector) eParts.push(rule.selector.ast);
  const ePart = eParts.length === 0 ? undefined : eParts.length === 1 ? eParts[0] : andSelectors(...eParts);
  // 4. Combine.
  const selectorish =
    rule.selector !== undefined ||
    rule.serviceAccounts !== undefined ||
    rule.notSelector !== undefined ||
    rule.namespaceSelector !== undefined;
  let positive: SelectorNode | undefined;
  if (nsPart && selectorish) positive = ePart ? andSelectors(nsPart, ePart) : nsPart;
  else positive = ePart;
  // 5. notSelector.
  if (rule.notSelector) {
    if (positive) return { positive: makeSelector(andSelectors(positive, notSelector(rule.notSelector.ast))) };
    return { negative: makeSelector(rule.notSelector.ast) };
  }
  return positive ? { positive: makeSelector(positive) } : {};
}
