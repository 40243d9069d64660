/**
 * Inverted label index: `key → value → entity positions`, used to find the
 * entities a selector matches without evaluating it on every entity. The
 * index narrows the candidates (a superset, from the selector's equality /
 * `in` / `has` terms and the complements of exact ones under `!=`, `not in`
 * and `!`, intersected under `&&`, united under `||`);
 * candidates are checked with `Selector.matches` unless the selector is made
 * only of such terms (then the candidates are exactly its matches), so results
 * are exactly those of a full scan, in entity order.
 */
import type { LabelSource, Selector, SelectorNode } from '../parse/selector/types.js';

/**
 * Candidate positions (ascending), `exact` when they are precisely the
 * entities the node matches (then no per-entity evaluation is needed).
 */
type Candidates = { list: number[]; exact: boolean } | 'all';

export class LabelIndex<E extends { labels: LabelSource }> {
  private readonly byKey = new Map<string, Map<string, number[]>>();
  /** Per key, every entity carrying it (the union of its value lists), built on first use. */
  private readonly withKey = new Map<string, number[]>();

  constructor(readonly entities: readonly E[]) {
    entities.forEach((e, i) => {
      const labels = e.labels as LabelSource & { keys?: () => Iterable<string> };
      const keys = typeof labels.keys === 'function' ? new Set(labels.keys()) : undefined;
      if (!keys) return; // unknown label view: never narrowed (see candidates)
      for (const k of keys) {
        const v = labels.get(k);
        if (v === undefined) continue;
        let byValue = this.byKey.get(k);
        if (!byValue) this.byKey.set(k, (byValue = new Map()));
        let list = byValue.get(v);
        if (!list) byValue.set(v, (list = []));
        list.push(i);
      }
    });
    this.indexable = entities.every((e) => typeof (e.labels as { keys?: unknown }).keys === 'function');
  }

  private readonly indexable: boolean;

  private carrying(key: string): number[] {
    let list = this.withKey.get(key);
    if (!list) this.withKey.set(key, (list = union([...(this.byKey.get(key)?.values() ?? [])])));
    return list;
  }

  /** Positions not in `list` (ascending). */
  private complement(list: readonly number[]): number[] {
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < this.entities.length; i++) {
      if (j < list.length && list[j] === i) j++;
      else out.push(i);
    }
    return out;
  }

  private candidates(n: SelectorNode): Candidates {
    switch (n.kind) {
      case 'eq':
        return { list: this.byKey.get(n.key)?.get(n.value) ?? [], exact: true };
      case 'in':
        return { list: union(n.values.map((v) => this.byKey.get(n.key)?.get(v) ?? [])), exact: true };
      case 'has':
        return { list: this.carrying(n.key), exact: true };
      case 'contains':
      case 'startswith':
      case 'endswith':
        return { list: this.carrying(n.key), exact: false };
      // Negations: the complement of an exact list is exact (an absent label
      // satisfies `!=` and `not in`, as the evaluator says).
      case 'ne':
        return { list: this.complement(this.byKey.get(n.key)?.get(n.value) ?? []), exact: true };
      case 'notin':
        return { list: this.complement(union(n.values.map((v) => this.byKey.get(n.key)?.get(v) ?? []))), exact: true };
      case 'not': {
        const c = this.candidates(n.expr);
        return c !== 'all' && c.exact ? { list: this.complement(c.list), exact: true } : 'all';
      }
      case 'and': {
        // Intersection of the narrowed children; exact when every child is.
        let best: number[] | undefined;
        let exact = true;
        for (const x of n.exprs) {
          const c = this.candidates(x);
          if (c === 'all') {
            exact = false;
            continue;
          }
          if (!c.exact) exact = false;
          best = best ? intersect(best, c.list) : c.list;
        }
        return best ? { list: best, exact } : 'all';
      }
      case 'or': {
        const parts: number[][] = [];
        let exact = true;
        for (const x of n.exprs) {
          const c = this.candidates(x);
          if (c === 'all') return 'all';
          if (!c.exact) exact = false;
          parts.push(c.list);
        }
        return { list: union(parts), exact };
      }
      default:
        return 'all';
    }
  }

  /** Entities matching `sel`, in entity order (same as `entities.filter(e => sel.matches(e.labels))`). */
  matching(sel: Selector): E[] {
    return Array.from(this.matchingPositions(sel), (i) => this.entities[i]!);
  }

  /** Positions (in `entities`) of the entities matching `sel`, ascending. */
  matchingPositions(sel: Selector): Int32Array {
    const c = this.indexable ? this.candidates(sel.ast) : 'all';
    if (c === 'all') {
      const out: number[] = [];
      this.entities.forEach((e, i) => {
        if (sel.matches(e.labels)) out.push(i);
      });
      return Int32Array.from(out);
    }
    if (c.exact) return Int32Array.from(c.list);
    const out: number[] = [];
    for (const i of c.list) if (sel.matches(this.entities[i]!.labels)) out.push(i);
    return Int32Array.from(out);
  }
}

/** Positions in both ascending lists. */
function intersect(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return out;
}

/** Sorted union of entity positions (each list is ascending; the result too, without repeats). */
function union(lists: number[][]): number[] {
  if (lists.length === 1) return lists[0]!;
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Int32Array(total);
  let n = 0;
  for (const l of lists) for (const i of l) all[n++] = i;
  all.sort();
  const out: number[] = [];
  for (let k = 0; k < n; k++) if (k === 0 || all[k] !== all[k - 1]) out.push(all[k]!);
  return out;
}
