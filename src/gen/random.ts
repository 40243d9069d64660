/**
 * A small, fast, seeded PRNG for the synthetic cluster and traffic
 * generators: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
 * 128-bit state, passes PractRand to many TB) seeded through splitmix32.
 * Pure 32-bit integer arithmetic, so a seed gives the same sequence on every
 * platform and Node version — the differential tests print the seed and a
 * failure reproduces from it alone.
 *
 * `fork(label)` derives an independent stream, so each part of a generated
 * cluster (pods, policies, …) draws from its own stream: growing one knob
 * (say, the policy count) leaves the other parts unchanged.
 */

/** splitmix32 step: a good 32-bit mixer for turning seeds into state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over a string: turns fork labels into numbers. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // Fold the full double into 32 bits so seeds above 2^32 still differ.
    const hi = Math.floor(seed / 4294967296) | 0;
    const st = { s: (seed | 0) ^ Math.imul(hi, 0x27d4eb2d) };
    this.a = splitmix32(st) | 0;
    this.b = splitmix32(st) | 0;
    this.c = splitmix32(st) | 0;
    this.d = 1; // sfc32 counter
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('Rng.pick from an empty list');
    return xs[this.below(xs.length)]!;
  }

  /** Picks by weight: `[[value, weight], …]`, weights ≥ 0, not all 0. */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.float() * total;
    for (const [v, w] of items) {
      if (r < w) return v;
      r -= w;
    }
    return items[items.length - 1]![0];
  }

  /** Fisher–Yates, in place; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }

  /** k distinct elements (fewer if the list is shorter), in random order. */
  sample<T>(xs: readonly T[], k: number): T[] {
    if (k * 8 < xs.length) {
      // Few out of many: rejection-sample indices instead of copying the list.
      const picked = new Set<number>();
      const out: T[] = [];
      while (out.length < k) {
        const i = this.below(xs.length);
        if (picked.has(i)) continue;
        picked.add(i);
        out.push(xs[i]!);
      }
      return out;
    }
    const copy = [...xs];
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.below(copy.length - i);
      const t = copy[i]!;
      copy[i] = copy[j]!;
      copy[j] = t;
    }
    return copy.slice(0, n);
  }

  /** A random unsigned BigInt of `bits` bits. */
  bigBits(bits: number): bigint {
    let v = 0n;
    for (let b = 0; b < bits; b += 32) v = (v << 32n) | BigInt(this.u32());
    const extra = Math.ceil(bits / 32) * 32 - bits;
    return extra > 0 ? v >> BigInt(extra) : v;
  }

  /** An independent stream derived from this one's seed material and a label. */
  fork(label: string | number = ''): Rng {
    const h = typeof label === 'number' ? label >>> 0 : hashLabel(label);
    return new Rng((this.a ^ Math.imul(this.b, 31) ^ this.c ^ h) >>> 0);
  }
}

/** A stream for `(seed, label)`, independent of the order in which streams are made. */
export function rngFor(seed: number, label: string): Rng {
  return new Rng(seed).fork(label);
}
