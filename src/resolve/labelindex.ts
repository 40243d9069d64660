/**
 * Inverted label index: `key → value → entity positions`, used to find the
 * entities a selector matches without evaluating it on every entity. The
 * index narrows the candidates (a superset, from the selector's equality /
 * `in` / `has` terms and the complements of exact ones under `!=`, `not in`
 * and `!`, every entity for `all()` and `global()`, intersected under `&&`,
 * united under `||`);
 * candidates are checked with `Selector.matches` unless the selector is made
 * only of such terms (then the candidates are exactly its matches), so results
 * are exactly those of a full scan, in entity order.
 */
import type { LabelSource, Selector, SelectorNode } from '../parse/selector/types.js';

/**
 * Candidate positions (ascending), `exact` when they are precisely the
 * entities the node matches (then no per-entity evaluation is needed).
 */
type Candidates = { list: Int32Array; exact: boolean } | 'all';

const EMPTY = new Int32Array(0);

export class LabelIndex<E extends { labels: LabelSource }> {
  private readonly byKey = new Map<string, Map<string, Int32Array>>();
  /** Per key, every entity carrying it (the union of its value lists), built on first use. */
  private readonly withKey = new Map<string, Int32Array>();
  /** Scratch marks for unions and intersections (one byte per entity, all 0 between uses). */
  private marks: Uint8Array | undefined;

  /**
   * `base` given: the index of `entities`, a subset of `base.entities` at
   * ascending positions `basePositions`, taken from base's lists (no label
   * is read again).
   */
  constructor(
    readonly entities: readonly E[],
    base?: { index: LabelIndex<E>; basePositions: Int32Array },
  ) {
    if (base && base.index.indexable) {
      const pos = base.basePositions;
      let prefix = true; // entities are base's first pos.length: each list's prefix below that, shared
      for (let i = 0; i < pos.length && prefix; i++) prefix = pos[i] === i;
      const inv = new Int32Array(base.index.entities.length).fill(-1);
      pos.forEach((b, i) => (inv[b] = i));
      for (const [k, byValue] of base.index.byKey) {
        const typed = new Map<string, Int32Array>();
        for (const [v, list] of byValue) {
          if (prefix) {
            let n = list.length;
            while (n > 0 && list[n - 1]! >= pos.length) n--;
            if (n > 0) typed.set(v, n === list.length ? list : list.subarray(0, n));
            continue;
          }
          let n = 0;
          for (let j = 0; j < list.length; j++) if (inv[list[j]!]! >= 0) n++;
          if (n === 0) continue;
          const out = new Int32Array(n);
          n = 0;
          for (let j = 0; j < list.length; j++) if (inv[list[j]!]! >= 0) out[n++] = inv[list[j]!]!;
          typed.set(v, out);
        }
        if (typed.size > 0) this.byKey.set(k, typed);
      }
      this.indexable = true;
      return;
    }
    const lists = new Map<string, Map<string, number[]>>();
    let at = 0;
    const add = (v: string | undefined, k: string): void => {
      if (v === undefined) return;
      let byValue = lists.get(k);
      if (!byValue) lists.set(k, (byValue = new Map()));
      let list = byValue.get(v);
      if (!list) byValue.set(v, (list = []));
      list.push(at);
    };
    entities.forEach((e, i) => {
      at = i;
      const labels = e.labels as LabelSource & { keys?: () => Iterable<string>; forEach?: (visit: (v: string, k: string) => void) => void };
      // A Map-like view visits each key once; else each distinct key of keys().
      if (typeof labels.forEach === 'function') labels.forEach(add);
      else if (typeof labels.keys === 'function') for (const k of new Set(labels.keys())) add(labels.get(k), k);
      // else: unknown label view, never narrowed (see candidates)
    });
    for (const [k, byValue] of lists) {
      const typed = new Map<string, Int32Array>();
      for (const [v, list] of byValue) typed.set(v, Int32Array.from(list));
      this.byKey.set(k, typed);
    }
    this.indexable = entities.every((e) => typeof (e.labels as { keys?: unknown }).keys === 'function');
  }

  readonly indexable: boolean;

  private carrying(key: string): Int32Array {
    let list = this.withKey.get(key);
    if (!list) this.withKey.set(key, (list = this.union([...(this.byKey.get(key)?.values() ?? [])])));
    return list;
  }

  private valueList(key: string, value: string): Int32Array {
    return this.byKey.get(key)?.get(value) ?? EMPTY;
  }

  /** Positions not in `list` (ascending). */
  private complement(list: Int32Array): Int32Array {
    const n = this.entities.length;
    const out = new Int32Array(n - list.length);
    let o = 0;
    let prev = 0;
    for (let j = 0; j < list.length; j++) {
      for (let i = prev; i < list[j]!; i++) out[o++] = i;
      prev = list[j]! + 1;
    }
    for (let i = prev; i < n; i++) out[o++] = i;
    return out;
  }

  /** Sorted union of entity positions (each list ascending; the result too, without repeats). */
  private union(lists: Int32Array[]): Int32Array {
    if (lists.length === 1) return lists[0]!;
    if (lists.length === 0) return EMPTY;
    const n = this.entities.length;
    const marks = (this.marks ??= new Uint8Array(n));
    let count = 0;
    for (const l of lists) {
      for (let k = 0; k < l.length; k++) {
        if (marks[l[k]!] === 0) {
          marks[l[k]!] = 1;
          count++;
        }
      }
    }
    const out = new Int32Array(count);
    let o = 0;
    if (count * 16 < n) {
      // Few: collect and sort instead of scanning every mark.
      for (const l of lists) {
        for (let k = 0; k < l.length; k++) {
          if (marks[l[k]!] === 1) {
            marks[l[k]!] = 0;
            out[o++] = l[k]!;
          }
        }
      }
      return out.sort();
    }
    for (let i = 0; i < n; i++) {
      if (marks[i] === 1) {
        marks[i] = 0;
        out[o++] = i;
      }
    }
    return out;
  }

  /** Every position, ascending (built on first use). */
  private everyPosition: Int32Array | undefined;

  private candidates(n: SelectorNode): Candidates {
    switch (n.kind) {
      case 'all':
      case 'global':
        return { list: (this.everyPosition ??= Int32Array.from(this.entities, (_e, i) => i)), exact: true };
      case 'eq':
        return { list: this.valueList(n.key, n.value), exact: true };
      case 'in':
        return { list: this.union(n.values.map((v) => this.valueList(n.key, v))), exact: true };
      case 'has':
        return { list: this.carrying(n.key), exact: true };
      case 'contains':
      case 'startswith':
      case 'endswith':
        return { list: this.carrying(n.key), exact: false };
      // Negations: the complement of an exact list is exact (an absent label
      // satisfies `!=` and `not in`, as the evaluator says).
      case 'ne':
        return { list: this.complement(this.valueList(n.key, n.value)), exact: true };
      case 'notin':
        return { list: this.complement(this.union(n.values.map((v) => this.valueList(n.key, v)))), exact: true };
      case 'not': {
        const c = this.candidates(n.expr);
        return c !== 'all' && c.exact ? { list: this.complement(c.list), exact: true } : 'all';
      }
      case 'and': {
        // Intersection of the narrowed children; exact when every child is.
        let best: Int32Array | undefined;
        let exact = true;
        for (const x of n.exprs) {
          const c = this.candidates(x);
          if (c === 'all') {
            exact = false;
            continue;
          }
          if (!c.exact) exact = false;
          best = best ? intersect(best, c.list, (this.marks ??= new Uint8Array(this.entities.length))) : c.list;
        }
        return best ? { list: best, exact } : 'all';
      }
      case 'or': {
        const parts: Int32Array[] = [];
        let exact = true;
        for (const x of n.exprs) {
          const c = this.candidates(x);
          if (c === 'all') return 'all';
          if (!c.exact) exact = false;
          parts.push(c.list);
        }
        return { list: this.union(parts), exact };
      }
      default:
        return 'all';
    }
  }

  /** Entities matching `sel`, in entity order (same as `entities.filter(e => sel.matches(e.labels))`). */
  matching(sel: Selector): E[] {
    return Array.from(this.matchingPositions(sel), (i) => this.entities[i]!);
  }

  /** Positions (in `entities`) of the entities matching `sel`, ascending (a fresh array). */
  matchingPositions(sel: Selector): Int32Array {
    const c = this.indexable ? this.candidates(sel.ast) : 'all';
    if (c === 'all') {
      const out: number[] = [];
      this.entities.forEach((e, i) => {
        if (sel.matches(e.labels)) out.push(i);
      });
      return Int32Array.from(out);
    }
    if (c.exact) return c.list.slice();
    const out = new Int32Array(c.list.length);
    let o = 0;
    for (let k = 0; k < c.list.length; k++) if (sel.matches(this.entities[c.list[k]!]!.labels)) out[o++] = c.list[k]!;
    return out.slice(0, o);
  }
}

/** Positions in both ascending lists; `marks` (all 0, one per position) is left all 0. */
function intersect(a: Int32Array, b: Int32Array, marks: Uint8Array): Int32Array {
  if (a.length > b.length) [a, b] = [b, a];
  const out = new Int32Array(a.length);
  let o = 0;
  if (a.length * 8 < b.length) {
    // Far shorter: each of a's positions by a galloping search in b.
    let lo = 0;
    for (let i = 0; i < a.length && lo < b.length; i++) {
      const x = a[i]!;
      let step = 1;
      let hi = lo;
      while (hi < b.length && b[hi]! < x) {
        lo = hi + 1;
        hi += step;
        step *= 2;
      }
      if (hi > b.length) hi = b.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (b[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      if (lo < b.length && b[lo] === x) out[o++] = x;
    }
  } else {
    // Comparable sizes: mark b's positions, keep a's marked ones (a merge's
    // branches mispredict; this is about twice as fast).
    for (let k = 0; k < b.length; k++) marks[b[k]!] = 1;
    for (let k = 0; k < a.length; k++) {
      const x = a[k]!;
      out[o] = x;
      o += marks[x]!;
    }
    for (let k = 0; k < b.length; k++) marks[b[k]!] = 0;
  }
  return o === out.length ? out : out.slice(0, o);
}
