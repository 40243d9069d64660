/**
 * Random Calico selector text and Kubernetes label selectors over small
 * label vocabularies, so that generated selectors actually hit generated
 * objects. Every string produced here parses (SEMANTICS.md §1.2); spelling
 * varies (both quote kinds, spacing, `in`/`not in`, `!`, parentheses) so the
 * loader's selector parser is exercised too.
 */
import type { Rng } from './random.js';

/** label key → the values generated objects carry. */
export type LabelVocab = Readonly<Record<string, readonly string[]>>;

export interface SelectorStyle {
  /** Maximum nesting depth of &&, ||, ! (0 = one leaf). */
  maxDepth: number;
  /** Probability that a node at depth < maxDepth is a combination. */
  combine: number;
  /** Leaf operator weights. */
  leaf: ReadonlyArray<readonly [LeafOp, number]>;
  /** Probability that a value is one no object carries. */
  missValue: number;
}

export type LeafOp = 'eq' | 'ne' | 'in' | 'notin' | 'has' | 'nothas' | 'contains' | 'startswith' | 'endswith' | 'all';

export const RICH_SELECTORS: SelectorStyle = {
  maxDepth: 2,
  combine: 0.35,
  leaf: [
    ['eq', 30],
    ['ne', 8],
    ['in', 12],
    ['notin', 6],
    ['has', 10],
    ['nothas', 5],
    ['contains', 4],
    ['startswith', 4],
    ['endswith', 4],
    ['all', 2],
  ],
  missValue: 0.05,
};

/** What real clusters mostly write: `app == 'x'`, sometimes `in`/`has`, rarely combined. */
export const PLAIN_SELECTORS: SelectorStyle = {
  maxDepth: 1,
  combine: 0.12,
  leaf: [
    ['eq', 80],
    ['in', 10],
    ['has', 6],
    ['ne', 2],
    ['nothas', 2],
  ],
  missValue: 0.01,
};

function quote(rng: Rng, v: string): string {
  return rng.chance(0.7) ? `'${v}'` : `"${v}"`;
}

function pickValue(rng: Rng, vocab: LabelVocab, key: string, style: SelectorStyle): string {
  const values = vocab[key];
  if (!values || values.length === 0 || rng.chance(style.missValue)) return rng.pick(['nope', 'x', 'zz-9']);
  return rng.pick(values);
}

function leafText(rng: Rng, vocab: LabelVocab, keys: readonly string[], style: SelectorStyle): string {
  const op = rng.weighted(style.leaf);
  if (op === 'all') return 'all()';
  const key = rng.pick(keys);
  const v = pickValue(rng, vocab, key, style);
  switch (op) {
    case 'eq':
      return `${key} == ${quote(rng, v)}`;
    case 'ne':
      return `${key} != ${quote(rng, v)}`;
    case 'in':
    case 'notin': {
      const values = vocab[key] ?? [v];
      const members = rng.sample(values, rng.int(1, Math.min(3, Math.max(1, values.length))));
      if (rng.chance(0.1)) members.push(v); // duplicates are legal
      const sep = rng.chance(0.8) ? ', ' : ',';
      const inner = members.map((m) => quote(rng, m)).join(sep);
      const trailing = members.length > 0 && rng.chance(0.05) ? ',' : '';
      return `${key} ${op === 'in' ? 'in' : 'not in'} {${inner}${trailing}}`;
    }
    case 'has':
      return rng.chance(0.9) ? `has(${key})` : `has( ${key} )`;
    case 'nothas':
      return rng.chance(0.8) ? `!has(${key})` : `! has(${key})`;
    case 'contains':
      return `${key} contains ${quote(rng, v.length > 2 ? v.slice(1, -1) : v)}`;
    case 'startswith':
      return `${key} starts with ${quote(rng, v.slice(0, Math.max(1, Math.ceil(v.length / 2))))}`;
    case 'endswith':
      return `${key} ends with ${quote(rng, v.slice(Math.floor(v.length / 2)))}`;
  }
}

function exprText(rng: Rng, vocab: LabelVocab, keys: readonly string[], style: SelectorStyle, depth: number): string {
  if (depth < style.maxDepth && rng.chance(style.combine)) {
    const kind = rng.weighted([
      ['and', 5],
      ['or', 3],
      ['not', 1],
    ] as const);
    if (kind === 'not') return `!(${exprText(rng, vocab, keys, style, depth + 1)})`;
    const n = rng.int(2, 3);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = exprText(rng, vocab, keys, style, depth + 1);
      parts.push(/\|\||&&/.test(p) ? `(${p})` : p);
    }
    return parts.join(kind === 'and' ? ' && ' : ' || ');
  }
  return leafText(rng, vocab, keys, style);
}

/**
 * A random selector over `keys` (values from `vocab`). Never uses global();
 * may be `all()`.
 */
export function randomSelector(rng: Rng, vocab: LabelVocab, keys: readonly string[] = Object.keys(vocab), style: SelectorStyle = RICH_SELECTORS): string {
  return exprText(rng, vocab, keys, style, 0);
}

/** A Kubernetes LabelSelector (`matchLabels` / `matchExpressions`) over `vocab`. */
export function randomLabelSelector(rng: Rng, vocab: LabelVocab, rich: boolean): Record<string, unknown> {
  const keys = Object.keys(vocab);
  const out: Record<string, unknown> = {};
  const nLabels = rng.weighted([
    [0, rich ? 2 : 1],
    [1, 6],
    [2, rich ? 2 : 1],
  ] as const);
  if (nLabels > 0) {
    const ml: Record<string, string> = {};
    for (const k of rng.sample(keys, nLabels)) ml[k] = rng.pick(vocab[k]!);
    out.matchLabels = ml;
  }
  if (rich && rng.chance(0.35)) {
    const exprs: Record<string, unknown>[] = [];
    for (let i = rng.int(1, 2); i > 0; i--) {
      const key = rng.pick(keys);
      const op = rng.pick(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
      const e: Record<string, unknown> = { key, operator: op };
      if (op === 'In' || op === 'NotIn') e.values = rng.sample(vocab[key]!, rng.int(1, Math.min(2, vocab[key]!.length)));
      exprs.push(e);
    }
    out.matchExpressions = exprs;
  }
  return out;
}
