/**
 * Field-level validators shared by the builders (SEMANTICS.md §8).
 * Pure functions: they return an error text or a parsed value, the callers
 * attach positions.
 */
import { Validator } from 'ip-num';
import { formatCidr, parseCidr, parseIp, PROTOCOL_NUMBERS, type Cidr, type IpAddr } from '../net/ip.js';
import type { PortRange } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GNP_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NP_NAME =
  /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?|((?:knp|ossg)\.default\.([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)))$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Resource name (DNS-1123 subdomain, ≤253). */
export function checkSubdomain(name: string): string | undefined {
  if (name.length > 253) return `name is too long (${name.length} > 253 characters)`;
  if (!DNS1123_SUBDOMAIN.test(name)) return `invalid name "${name}": must consist of lower case alphanumeric characters, '-' or '.', and start and end with an alphanumeric character`;
  return undefined;
}

export function checkTierName(name: string): string | undefined {
  if (name.length > 63) return `tier name is too long (${name.length} > 63 characters)`;
  if (!DNS1123_LABEL.test(name)) return `invalid tier name "${name}": must be a DNS-1123 label (lower case alphanumerics and '-', no dots)`;
  return undefined;
}

export function checkGnpName(name: string): string | undefined {
  if (name.length > 253) return `name is too long (${name.length} > 253 characters)`;
  if (!GNP_NAME.test(name)) return `invalid GlobalNetworkPolicy name "${name}": must be a DNS-1123 label or "<label>.<label>"`;
  return undefined;
}

export function checkNpName(name: string): string | undefined {
  if (name.length > 253) return `name is too long (${name.length} > 253 characters)`;
  if (!NP_NAME.test(name)) return `invalid NetworkPolicy name "${name}": must be a DNS-1123 label, "<label>.<label>" or "knp.default.<name>"`;
  return undefined;
}

/** Kubernetes qualified name (label key). */
export function checkLabelKey(key: string): string | undefined {
  let name = key;
  const slash = key.indexOf('/');
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length === 0) return `invalid label key "${key}": prefix part must be non-empty`;
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return `invalid label key "${key}": prefix part must be a DNS-1123 subdomain`;
  }
  if (name.length === 0) return `invalid label key "${key}": name part must be non-empty`;
  if (name.length > 63) return `invalid label key "${key}": name part must be no more than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(name))
    return `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

export function checkLabelValue(value: string): string | undefined {
  if (value.length > 63) return `invalid label value "${value}": must be no more than 63 characters`;
  if (!LABEL_VALUE.test(value))
    return `invalid label value "${value}": must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

/** Kubernetes IsValidPortName (IANA service name). */
export function checkPortName(name: string): string | undefined {
  if (name.length === 0) return 'port name must not be empty';
  if (name.length > 15) return `invalid port name "${name}": must be no more than 15 characters`;
  if (!/^[-a-z0-9]+$/.test(name)) return `invalid port name "${name}": must contain only lower case alphanumerics and '-'`;
  if (!/[a-z]/.test(name)) return `invalid port name "${name}": must contain at least one letter`;
  if (name.includes('--')) return `invalid port name "${name}": must not contain consecutive '-'`;
  if (name.startsWith('-') || name.endsWith('-')) return `invalid port name "${name}": must not begin or end with '-'`;
  return undefined;
}

export type ProtocolResult = { ok: true; value: number } | { ok: false; message: string };

/** Calico protocol: a number 1–255 (also as a quoted number) or a case-sensitive name. */
export function parseProtocol(v: unknown): ProtocolResult {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 255) return { ok: true, value: v };
    return { ok: false, message: `invalid protocol number ${v}: must be 1-255` };
  }
  if (typeof v === 'string') {
    if (/^[0-9]+$/.test(v)) {
      const n = Number(v);
      if (n >= 1 && n <= 255) return { ok: true, value: n };
      return { ok: false, message: `invalid protocol number "${v}": must be 1-255` };
    }
    const n = PROTOCOL_NUMBERS[v];
    if (n !== undefined) return { ok: true, value: n };
    const ci = Object.keys(PROTOCOL_NUMBERS).find((k) => k.toLowerCase() === v.toLowerCase());
    return {
      ok: false,
      message: `invalid protocol "${v}": must be one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (case-sensitive) or a number 1-255${ci ? ` (did you mean "${ci}"?)` : ''}`,
    };
  }
  return { ok: false, message: `invalid protocol: expected a name or a number, got ${v === null ? 'null' : typeof v}` };
}

export type PortEntry = { kind: 'range'; range: PortRange } | { kind: 'named'; name: string };
export type PortResult = { ok: true; value: PortEntry } | { ok: false; message: string };

/** Calico port: number 1–65535, `"80"`, `"a:b"`, or a named port. */
export function parsePort(v: unknown): PortResult {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return { ok: true, value: { kind: 'range', range: { first: v, last: v } } };
    return { ok: false, message: `invalid port ${v}: must be 1-65535` };
  }
  if (typeof v !== 'string') return { ok: false, message: `invalid port: expected a number or a string, got ${v === null ? 'null' : typeof v}` };
  if (/^[0-9]+$/.test(v)) {
    const n = Number(v);
    if (n >= 1 && n <= 65535) return { ok: true, value: { kind: 'range', range: { first: n, last: n } } };
    return { ok: false, message: `invalid port "${v}": must be 1-65535` };
  }
  const m = /^([0-9]+):([0-9]+)$/.exec(v);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a < 1 || a > 65535 || b < 1 || b > 65535) return { ok: false, message: `invalid port range "${v}": ports must be 1-65535` };
    if (a > b) return { ok: false, message: `invalid port range "${v}": minimum port ${a} is greater than maximum ${b}` };
    return { ok: true, value: { kind: 'range', range: { first: a, last: b } } };
  }
  if (/^[a-zA-Z0-9_.-]{1,128}$/.test(v)) {
    const err = checkPortName(v);
    if (err) return { ok: false, message: err };
    return { ok: true, value: { kind: 'named', name: v } };
  }
  return { ok: false, message: `invalid port "${v}": expected a number, a range "a:b" or a port name` };
}

export type CidrResult = { ok: true; cidr: Cidr; hostBitsSet: boolean } | { ok: false; message: string };

/**
 * Parses an IP or CIDR with src/net/ip.ts and cross-checks it with ip-num.
 * `masked: true` rejects host bits (`10.0.0.1/8`), as Calico does for rule nets.
 */
export function parseCidrChecked(text: string, opts: { masked: boolean }): CidrResult {
  const p = parseCidr(text);
  if (!p) return { ok: false, message: `invalid CIDR "${text}"` };
  // ip-num cross-check (it does not know IPv4-embedded IPv6 notation: skip those).
  if (!(text.includes(':') && text.includes('.'))) {
    const full = p.bare ? `${text}/${p.cidr.family === 4 ? 32 : 128}` : text;
    const [valid, msgs] = p.cidr.family === 4 ? Validator.isValidIPv4CidrNotation(full) : Validator.isValidIPv6CidrNotation(full);
    if (!valid) return { ok: false, message: `invalid CIDR "${text}": ${msgs.join('; ')}` };
    if (opts.masked) {
      const [range] = p.cidr.family === 4 ? Validator.isValidIPv4CidrRange(full) : Validator.isValidIPv6CidrRange(full);
      if (!range !== p.hostBitsSet) return { ok: false, message: `invalid CIDR "${text}" (address parsers disagree)` };
    }
  }
  if (opts.masked && p.hostBitsSet) {
    return { ok: false, message: `CIDR "${text}" has host bits set (Calico requires a masked network address, e.g. "${formatCidr(p.cidr)}")` };
  }
  return { ok: true, cidr: p.cidr, hostBitsSet: p.hostBitsSet };
}

/** Parses a plain IP address (no prefix), cross-checked with ip-num. */
export function parseIpChecked(text: string): IpAddr | undefined {
  const ip = parseIp(text);
  if (!ip) return undefined;
  if (!(text.includes(':') && text.includes('.'))) {
    const [valid] = ip.family === 4 ? Validator.isValidIPv4String(text) : Validator.isValidIPv6String(text);
    if (!valid) return undefined;
  }
  return ip;
}
