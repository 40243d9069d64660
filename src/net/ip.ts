/**
 * Addresses as (family, bigint) pairs. Parsing here is a small strict parser
 * used for tuples and as the normal form of the IR; the loader additionally
 * validates user CIDRs with ip-num (see model/). Both are tested against each
 * other in test/net.
 */

export type Family = 4 | 6;

export interface IpAddr {
  readonly family: Family;
  /** Address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** Network address (host bits zero). */
  readonly base: bigint;
  readonly prefixLen: number;
}

export const familyBits = (f: Family): number => (f === 4 ? 32 : 128);

/** Dotted quad, each octet 0-255 in decimal without leading zeros (as before: no "01"). */
function parseV4(text: string): bigint | undefined {
  let v = 0;
  let octets = 0;
  let i = 0;
  const n = text.length;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || octet > 255 || (len > 1 && text.charCodeAt(start) === 48)) return undefined;
    v = v * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= n || text.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  return i === n ? BigInt(v) : undefined;
}

function parseV6(text: string): bigint | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  // Embedded IPv4 in the last 32 bits (::ffff:1.2.3.4).
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > lastColon) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return undefined;
  const hexGroup = /^[0-9a-fA-F]{1,4}$/;
  let groups: string[];
  if (dbl >= 0) {
    const left = head.slice(0, dbl);
    const right = head.slice(dbl + 2);
    const l = left === '' ? [] : left.split(':');
    const r = right === '' ? [] : right.split(':');
    const missing = 8 - l.length - r.length;
    if (missing < 1) return undefined;
    groups = [...l, ...Array<string>(missing).fill('0'), ...r];
  } else {
    groups = head.split(':');
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!hexGroup.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

/** Parses a dotted-quad IPv4 or an RFC 4291 IPv6 address; undefined if invalid. */
export function parseIp(text: string): IpAddr | undefined {
  if (text.includes(':')) {
    const v = parseV6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

export interface ParsedCidr {
  cidr: Cidr;
  /** True when the text had host bits set (e.g. `10.0.0.1/8`). */
  hostBitsSet: boolean;
  /** True when the text was a bare address (no `/len`). */
  bare: boolean;
}

/** Parses `addr` or `addr/len`. The returned CIDR is always masked. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const ip = parseIp(addrText);
  if (!ip) return undefined;
  const bits = familyBits(ip.family);
  let len = bits;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
    len = Number(lenText);
    if (len > bits) return undefined;
  }
  const base = maskValue(ip.value, len, bits);
  return { cidr: { family: ip.family, base, prefixLen: len }, hostBitsSet: base !== ip.value, bare: slash < 0 };
}

function maskValue(v: bigint, len: number, bits: number): bigint {
  if (len === 0) return 0n;
  const hostBits = BigInt(bits - len);
  return (v >> hostBits) << hostBits;
}

export function cidrContains(c: Cidr, a: IpAddr): boolean {
  if (c.family !== a.family) return false;
  return maskValue(a.value, c.prefixLen, familyBits(c.family)) === c.base;
}

/** True if `outer` contains every address of `inner`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefixLen <= inner.prefixLen && cidrContains(outer, { family: inner.family, value: inner.base });
}

export function formatIp(a: IpAddr): string {
  if (a.family === 4) {
    const v = Number(a.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.base })}/${c.prefixLen}`;
}

/** An address as four 32-bit words, most significant first, into out[at..at+4) (IPv4: the address, then three zeros). */
export function addrToWords(a: IpAddr, out: Uint32Array | number[], at = 0): void {
  if (a.family === 4) {
    out[at] = Number(a.value);
    out[at + 1] = out[at + 2] = out[at + 3] = 0;
    return;
  }
  out[at] = Number(a.value >> 96n);
  out[at + 1] = Number((a.value >> 64n) & 0xffffffffn);
  out[at + 2] = Number((a.value >> 32n) & 0xffffffffn);
  out[at + 3] = Number(a.value & 0xffffffffn);
}

/** The address of four 32-bit words, most significant first (IPv4: w0 only). */
export function wordsToAddr(family: Family, w0: number, w1 = 0, w2 = 0, w3 = 0): IpAddr {
  if (family === 4) return { family, value: BigInt(w0 >>> 0) };
  return { family, value: (BigInt(w0 >>> 0) << 96n) | (BigInt(w1 >>> 0) << 64n) | (BigInt(w2 >>> 0) << 32n) | BigInt(w3 >>> 0) };
}

export function ipEquals(a: IpAddr, b: IpAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

export function ipCompare(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function hostCidr(a: IpAddr): Cidr {
  return { family: a.family, base: a.value, prefixLen: familyBits(a.family) };
}

/** IANA protocol numbers for the names Calico and tuple files accept. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  TCP: 6,
  UDP: 17,
  ICMP: 1,
  ICMPv6: 58,
  SCTP: 132,
  UDPLite: 136,
};

export function protocolName(n: number): string {
  switch (n) {
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 1:
      return 'icmp';
    case 58:
      return 'icmp6';
    case 132:
      return 'sctp';
    case 136:
      return 'udplite';
    default:
      return String(n);
  }
}

/** Protocols whose 5-tuple carries ports. */
export const hasPorts = (proto: number): boolean => proto === 6 || proto === 17 || proto === 132 || proto === 136;
export const isIcmp = (proto: number): boolean => proto === 1 || proto === 58;
