/**
 * Seeded random generators shared by the selector property tests: random
 * ASTs, random label sets, a "noisy" printer that spells an AST in a random
 * but valid way (whitespace, both quote kinds, no-space operator spellings,
 * trailing commas, duplicate members, extra parentheses, `!!`), and random
 * mutations / token soup for differential fuzzing.
 */
import type { SelectorNode } from '../../src/parse/selector/index.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export const KEYS = [
  'a', 'b', 'env', 'app.kubernetes.io/name', 'in', 'has', 'all', 'not', 'global', 'contains',
  'starts', 'with', 'ends', '0', '9x', '-a', '.a', '/a', '_', 'K', 'projectcalico.org/namespace',
];
export const VALUES = [
  '', 'x', 'y', 'xy', 'yx', 'X', 'prod', 'pro', 'od', ' ', 'a b', "it's", 'say "hi"', 'back\\slash',
  'é', '😀', '&&', '(', '!all()',
];

export class Gen {
  readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  leaf(): SelectorNode {
    const key = this.pick(KEYS);
    switch (this.int(11)) {
      case 0: return { kind: 'all' };
      case 1: return { kind: 'global' };
      case 2: return { kind: 'has', key };
      case 3: return { kind: 'eq', key, value: this.pick(VALUES) };
      case 4: return { kind: 'ne', key, value: this.pick(VALUES) };
      case 5: return { kind: 'contains', key, value: this.pick(VALUES) };
      case 6: return { kind: 'startswith', key, value: this.pick(VALUES) };
      case 7: return { kind: 'endswith', key, value: this.pick(VALUES) };
      default: {
        const values = Array.from({ length: this.int(4) }, () => this.pick(VALUES));
        return { kind: this.chance(0.5) ? 'in' : 'notin', key, values };
      }
    }
  }

  ast(depth: number): SelectorNode {
    if (depth <= 0 || this.chance(0.3)) return this.leaf();
    const r = this.rnd();
    if (r < 0.2) return { kind: 'not', expr: this.ast(depth - 1) };
    const n = 2 + this.int(3);
    return { kind: r < 0.6 ? 'and' : 'or', exprs: Array.from({ length: n }, () => this.ast(depth - 1)) };
  }

  labels(): Map<string, string> {
    const m = new Map<string, string>();
    for (const k of KEYS) if (this.chance(0.4)) m.set(k, this.pick(VALUES));
    return m;
  }

  private ws(): string {
    return this.pick(['', '', ' ', '  ', '\t', ' \t ']);
  }
  private ws1(): string {
    return this.pick([' ', '  ', '\t', ' \t']);
  }
  private quote(v: string): string {
    const ok: string[] = [];
    if (!v.includes('"')) ok.push('"');
    if (!v.includes("'")) ok.push("'");
    const q = this.pick(ok);
    return q + v + q;
  }

  /** A random valid spelling of `n`. */
  noisy(n: SelectorNode, asOperandOf: 'top' | 'and' | 'or' | 'not' = 'top'): string {
    const ws = () => this.ws();
    const ws1 = () => this.ws1();
    let s: string;
    switch (n.kind) {
      case 'all': s = `all(${ws()})`; break;
      case 'global': s = `global(${ws()})`; break;
      case 'has': s = `has(${ws()}${n.key}${ws()})`; break;
      case 'eq': s = `${n.key}${ws()}==${ws()}${this.quote(n.value)}`; break;
      case 'ne': s = `${n.key}${ws()}!=${ws()}${this.quote(n.value)}`; break;
      case 'contains': s = `${n.key}${ws1()}contains${ws()}${this.quote(n.value)}`; break;
      case 'startswith': s = `${n.key}${ws1()}starts${ws()}with${ws()}${this.quote(n.value)}`; break;
      case 'endswith': s = `${n.key}${ws1()}ends${ws()}with${ws()}${this.quote(n.value)}`; break;
      case 'in':
      case 'notin': {
        const members = [...n.values];
        if (members.length > 0 && this.chance(0.3)) members.push(this.pick(members));
        members.sort(() => this.rnd() - 0.5);
        let set = '{' + ws() + members.map((m) => this.quote(m)).join(ws() + ',' + ws());
        if (members.length > 0 && this.chance(0.3)) set += ws() + ',';
        set += ws() + '}';
        s = `${n.key}${ws1()}${n.kind === 'in' ? 'in' : `not${ws()}in`}${ws()}${set}`;
        break;
      }
      case 'not': {
        s = `!${ws()}${this.noisy(n.expr, 'not')}`;
        if (this.chance(0.2)) s = `!${ws()}!${ws()}${s}`;
        break;
      }
      case 'and':
      case 'or': {
        const op = n.kind === 'and' ? '&&' : '||';
        s = n.exprs.map((e) => this.noisy(e, n.kind)).join(`${ws()}${op}${ws()}`);
        const needParens = asOperandOf === 'not' || asOperandOf === 'and' ||
          (asOperandOf === 'or' && n.kind === 'or' && this.chance(0.5));
        if (needParens) s = `(${ws()}${s}${ws()})`;
        break;
      }
    }
    if (this.chance(0.1)) s = `(${ws()}${s}${ws()})`;
    return s;
  }

  static readonly MUTATION_CHARS = [...` \t\n\r(){},!=&|'"abcinotsehwldgrAI-./_0:é\u00a0`];

  /** Applies 1-3 random character-level mutations (on code points: no lone surrogates). */
  mutate(text: string): string {
    let s = Array.from(text);
    const times = 1 + this.int(3);
    for (let k = 0; k < times; k++) {
      const i = this.int(s.length + 1);
      switch (this.int(4)) {
        case 0: s = [...s.slice(0, i), ...s.slice(i + 1)]; break;
        case 1: s = [...s.slice(0, i), this.pick(Gen.MUTATION_CHARS), ...s.slice(i)]; break;
        case 2: s = [...s.slice(0, i), this.pick(Gen.MUTATION_CHARS), ...s.slice(i + 1)]; break;
        default: {
          const j = this.int(s.length + 1);
          s = [...s.slice(0, i), ...s.slice(Math.min(i, j), Math.max(i, j)), ...s.slice(i)];
        }
      }
    }
    return s.join('');
  }

  static readonly SOUP = [
    'a', 'b', 'in', 'not', 'notin', 'has(', 'all(', 'global(', 'has', 'all', 'global', ')', '(', '{', '}', ',',
    '==', '!=', '!', '&&', '||', `'x'`, '"y"', "''", ' ', ' ', '\t', 'contains', 'starts', 'with', 'ends',
    'startswith', 'endswith', '=', '&', '|', "'", '"', 'IN', 'x', '-', '.', '/', '0',
  ];

  /** Random concatenation of selector fragments. */
  soup(): string {
    const n = 1 + this.int(12);
    let s = '';
    for (let i = 0; i < n; i++) s += this.pick(Gen.SOUP);
    return s;
  }
}
