/**
 * Tuple CSV input: a header naming any of src,dst,proto,sport,dport,icmp_type,
 * icmp_code (src, dst and proto required), then one tuple per line. Protocols
 * by name (TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite; any case) or number.
 * Streams line by line so memory stays bounded.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { DiagnosticBag } from '../diag/diagnostic.js';
import { parseIp } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';

/** Protocol names a tuple file may use (any case). */
export const PROTO_BY_NAME: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  icmp6: 58,
  sctp: 132,
  udplite: 136,
};

/** The columns a tuple file's header may name (src, dst and proto required). */
export const COLUMNS = ['src', 'dst', 'proto', 'sport', 'dport', 'icmp_type', 'icmp_code'] as const;
type Column = (typeof COLUMNS)[number];

/** Parses a protocol name (any case) or number 0–255. */
export function parseProtocol(text: string): number | undefined {
  const t = text.trim();
  if (/^[0-9]{1,3}$/.test(t)) {
    const n = Number(t);
    return n <= 255 ? n : undefined;
  }
  return PROTO_BY_NAME[t.toLowerCase()];
}

function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((s) => s.trim());
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

export class TupleParseError extends Error {
  constructor(readonly diagnostics: DiagnosticBag) {
    super(diagnostics.errors.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n'));
  }
}

export interface TupleParser {
  /** Per entry of COLUMNS, its field index in a line (the last of a repeated column), or -1. */
  readonly columns: readonly number[];
  /** Parses one data line; returns undefined and records a diagnostic if invalid. */
  parseLine(line: string, lineNo: number, diags?: DiagnosticBag): Tuple | undefined;
}

/** Unknown header columns reported one by one; more are summed up in one line. */
const MAX_UNKNOWN_COLUMNS = 8;

export function headerParser(header: string, file: string, headerDiags: DiagnosticBag): TupleParser | undefined {
  const diags = headerDiags;
  // Binary data (a capture, an image, a compressed file) is one error, not a column per comma.
  if (/[\u0000\ufffd]/.test(header)) {
    diags.error('NV-TUPLE-HEADER', `binary data where the header was expected: not a tuple CSV (a header naming any of ${COLUMNS.join(', ')})`, { file, line: 1, column: 1 });
    return undefined;
  }
  const names = splitCsv(header).map((s) => s.toLowerCase());
  const index: Partial<Record<Column, number>> = {};
  let unknown = 0;
  names.forEach((n, i) => {
    if ((COLUMNS as readonly string[]).includes(n)) index[n as Column] = i;
    else if (++unknown <= MAX_UNKNOWN_COLUMNS) {
      const shown = n.length > 64 ? `${n.slice(0, 64)}…` : n;
      diags.error('NV-TUPLE-HEADER', `unknown column "${shown}" (expected any of ${COLUMNS.join(', ')})`, { file, line: 1, column: 1 });
    }
  });
  if (unknown > MAX_UNKNOWN_COLUMNS) {
    diags.error('NV-TUPLE-HEADER', `${unknown - MAX_UNKNOWN_COLUMNS} more unknown columns`, { file, line: 1, column: 1 });
  }
  for (const req of ['src', 'dst', 'proto'] as const) {
    if (index[req] === undefined) diags.error('NV-TUPLE-HEADER', `missing required column "${req}"`, { file, line: 1, column: 1 });
  }
  if (diags.hasErrors()) return undefined;
  return {
    columns: COLUMNS.map((c) => index[c] ?? -1),
    parseLine(line: string, lineNo: number, lineDiags: DiagnosticBag = headerDiags): Tuple | undefined {
      const diags = lineDiags;
      const f = splitCsv(line);
      const get = (c: Column): string | undefined => {
        const i = index[c];
        if (i === undefined) return undefined;
        const v = f[i];
        return v === undefined || v === '' ? undefined : v;
      };
      const bad = (field: string, msg: string): undefined => {
        diags.error('NV-TUPLE', `${field}: ${msg}`, { file, line: lineNo, column: 1, path: field });
        return undefined;
      };
      const srcText = get('src');
      const dstText = get('dst');
      const protoText = get('proto');
      if (!srcText) return bad('src', 'missing');
      if (!dstText) return bad('dst', 'missing');
      if (!protoText) return bad('proto', 'missing');
      const src = parseIp(srcText);
      if (!src) return bad('src', `invalid IP address "${srcText}"`);
      const dst = parseIp(dstText);
      if (!dst) return bad('dst', `invalid IP address "${dstText}"`);
      if (src.family !== dst.family) return bad('dst', 'src and dst are of different IP families');
      const proto = parseProtocol(protoText);
      if (proto === undefined) return bad('proto', `invalid protocol "${protoText}"`);
      const t: Tuple = { src, dst, proto };
      const num = (c: Column, max: number): number | undefined | null => {
        const v = get(c);
        if (v === undefined) return undefined;
        if (!/^[0-9]+$/.test(v) || Number(v) > max) {
          bad(c, `invalid value "${v}" (0–${max})`);
          return null;
        }
        return Number(v);
      };
      const sport = num('sport', 65535);
      const dport = num('dport', 65535);
      const icmpType = num('icmp_type', 255);
      const icmpCode = num('icmp_code', 255);
      if (sport === null || dport === null || icmpType === null || icmpCode === null) return undefined;
      if (sport !== undefined) t.sport = sport;
      if (dport !== undefined) t.dport = dport;
      if (icmpType !== undefined) t.icmpType = icmpType;
      if (icmpCode !== undefined) t.icmpCode = icmpCode;
      return t;
    },
  };
}

/** Parses a whole CSV text (tests, small inputs). Throws TupleParseError listing every bad line. */
export function parseTuplesCsv(text: string, file = '<tuples>'): Tuple[] {
  const diags = new DiagnosticBag();
  const lines = text.split(/\r?\n/);
  let parser: TupleParser | undefined;
  const out: Tuple[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    if (!parser) {
      parser = headerParser(line, file, diags);
      if (!parser) throw new TupleParseError(diags);
      return;
    }
    const t = parser.parseLine(line, i + 1);
    if (t) out.push(t);
  });
  if (!parser) diags.error('NV-TUPLE-HEADER', 'no header line', { file, line: 1, column: 1 });
  if (diags.hasErrors()) throw new TupleParseError(diags);
  return out;
}

/** Streams tuples from a readable; bad lines are reported through `onError` and skipped. */
export async function* readTuples(
  input: Readable,
  file: string,
  onError: (diags: DiagnosticBag) => void,
): AsyncGenerator<Tuple> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  let parser: TupleParser | undefined;
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const diags = new DiagnosticBag();
    if (!parser) {
      parser = headerParser(line, file, diags);
      if (!parser) {
        onError(diags);
        return;
      }
      continue;
    }
    const t = parser.parseLine(line, lineNo, diags);
    if (diags.hasErrors()) onError(diags);
    if (t) yield t;
  }
}
