/**
 * Inverted label index: `key → value → entity positions`, used to find the
 * entities a selector matches without evaluating it on every entity. The
 * index only narrows the candidates (a superset, from the selector's
 * positive equality / `in` / `has` terms); every candidate is still checked
 * with `Selector.matches`, so results are exactly those of a full scan, in
 * entity order.
 */
import type { LabelSource, Selector, SelectorNode } from '../parse/selector/types.js';

type Candidates = number[] | 'all';

export class LabelIndex<E extends { labels: LabelSource }> {
  private readonly byKey = new Map<string, Map<string, number[]>>();

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

  private candidates(n: SelectorNode): Candidates {
    switch (n.kind) {
      case 'eq':
        return this.byKey.get(n.key)?.get(n.value) ?? [];
      case 'in':
        return union(n.values.map((v) => this.byKey.get(n.key)?.get(v) ?? []));
      case 'has':
      case 'contains':
      case 'startswith':
      case 'endswith':
        return union([...(this.byKey.get(n.key)?.values() ?? [])]);
      case 'and': {
        let best: number[] | undefined;
        for (const x of n.exprs) {
          const c = this.candidates(x);
          if (c !== 'all' && (!best || c.length < best.length)) best = c;
        }
        return best ?? 'all';
      }
      case 'or': {
        const parts: number[][] = [];
        for (const x of n.exprs) {
          const c = this.candidates(x);
          if (c === 'all') return 'all';
          parts.push(c);
        }
        return union(parts);
      }
      default:
        return 'all';
    }
  }

  /** Entities matching `sel`, in entity order (same as `entities.filter(e => sel.matches(e.labels))`). */
  matching(sel: Selector): E[] {
    const c = this.indexable ? this.candidates(sel.ast) : 'all';
    if (c === 'all') return this.entities.filter((e) => sel.matches(e.labels));
    const out: E[] = [];
    for (const i of c) {
      const e = this.entities[i]!;
      if (sel.matches(e.labels)) out.push(e);
    }
    return out;
  }
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
