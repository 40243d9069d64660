import type { Tuple } from './tuple.js';

/**
 * Backend choice for service NAT: FNV-1a (32-bit) over the pre-NAT tuple
 * (src address bytes, dst address bytes, protocol, source port, destination
 * port, all big-endian), modulo the number of backends (sorted by address
 * then port). The native engine implements the same function; both are pinned
 * by test vectors in test/net/hash.test.ts.
 */
export function tupleHash(t: Tuple): number {
  let h = 0x811c9dc5;
  const byte = (b: number): void => {
    h ^= b & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  const addr = (family: 4 | 6, value: bigint): void => {
    const n = family === 4 ? 4 : 16;
    for (let i = n - 1; i >= 0; i--) byte(Number((value >> BigInt(i * 8)) & 0xffn));
  };
  addr(t.src.family, t.src.value);
  addr(t.dst.family, t.dst.value);
  byte(t.proto);
  const sp = t.sport ?? 0;
  const dp = t.dport ?? 0;
  byte(sp >> 8);
  byte(sp);
  byte(dp >> 8);
  byte(dp);
  return h >>> 0;
}
