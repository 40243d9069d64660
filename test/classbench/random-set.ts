/**
 * Seeded random ClassBench-style filter sets (overlapping prefixes, port
 * ranges, protocols) as filter-file lines and their boxes: shared by
 * random.test.ts and the native transit fixture (test/native/sanitizers.test.ts).
 */
import { formatIpv4, prefixMask } from '../../src/classbench/parse.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}


export interface Box {
  s: [number, number];
  d: [number, number];
  sp: [number, number];
  dp: [number, number];
  proto: number; // -1: any
}

export function randomSet(seed: number, n: number): { lines: string[]; boxes: Box[] } {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  // A small pool of base prefixes so filters overlap and nest.
  const bases = Array.from({ length: 12 }, () => (Math.floor(r() * 0xffffffff) & 0xffff0000) >>> 0);
  const prefix = (): [number, number, number] => {
    const len = pick([0, 8, 16, 16, 20, 24, 24, 28, 32, 32]);
    const base = (pick(bases) | Math.floor(r() * 0xffff)) >>> 0;
    const lo = (base & prefixMask(len)) >>> 0;
    return [lo, (lo | ~prefixMask(len)) >>> 0, len];
  };
  const ports = (): [number, number] => {
    const k = r();
    if (k < 0.4) return [0, 65535];
    if (k < 0.7) {
      const p = pick([22, 53, 80, 443, 1024, 8080, 0, 65535]);
      return [p, p];
    }
    const a = Math.floor(r() * 65536);
    const b = Math.min(65535, a + Math.floor(r() * 4000));
    return [a, b];
  };
  const lines: string[] = [];
  const boxes: Box[] = [];
  for (let i = 0; i < n; i++) {
    const [sLo, sHi, sLen] = prefix();
    const [dLo, dHi, dLen] = prefix();
    const proto = pick([6, 6, 17, 17, 1, -1]);
    // Ports only with TCP/UDP (ports with any protocol cannot be expressed exactly).
    const sp: [number, number] = proto === 6 || proto === 17 ? ports() : [0, 65535];
    const dp: [number, number] = proto === 6 || proto === 17 ? ports() : [0, 65535];
    const pr = proto < 0 ? '0x00/0x00' : `0x${proto.toString(16).padStart(2, '0')}/0xFF`;
    lines.push(`@${formatIpv4(sLo)}/${sLen}\t${formatIpv4(dLo)}/${dLen}\t${sp[0]} : ${sp[1]}\t${dp[0]} : ${dp[1]}\t${pr}`);
    boxes.push({ s: [sLo, sHi], d: [dLo, dHi], sp, dp, proto });
  }
  return { lines, boxes };
}

