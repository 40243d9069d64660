/**
 * ClassBench filter and trace files (see ../shared/classbench/README.md).
 *
 * Filter (one per line, first line = highest priority, first match wins):
 *
 *     @<sip>/<len> <dip>/<len> <sp lo> : <sp hi> <dp lo> : <dp hi> 0x<proto>/0x<mask> [0x<flags>/0x<mask>]
 *
 * Trace (one header per line, decimal, host byte order):
 *
 *     <sip> <dip> <sport> <dport> <proto> [<flags>] <rule id>
 *
 * Fields are separated by tabs or spaces. Blank lines are skipped; any other
 * line that does not have this shape is an error naming file, line and the
 * problem. Filters are numbered 1-based in file order (blank lines do not
 * count), which is how the trace's last column refers to them.
 */

export interface Filter {
  /** 1-based position among the filters (the trace's rule id space). */
  id: number;
  /** 1-based line in the file. */
  line: number;
  /** Addresses as unsigned 32-bit numbers, exactly as written (host bits not cleared). */
  src: number;
  srcLen: number;
  dst: number;
  dstLen: number;
  spLo: number;
  spHi: number;
  dpLo: number;
  dpHi: number;
  proto: number;
  protoMask: number;
  /** Newer ClassBench versions: TCP flags value/mask (ignored by the conversion). */
  flags?: { value: number; mask: number };
  /** The line as written (trimmed), for messages and YAML comments. */
  text: string;
}

export interface ParseIssue {
  file: string;
  line: number;
  message: string;
}

export class ClassBenchParseError extends Error {
  constructor(readonly issues: ParseIssue[]) {
    super(formatIssues(issues));
  }
}

/** `file:line: message` lines, at most `max` (with a count of the rest). */
export function formatIssues(issues: ParseIssue[], max = 20): string {
  const lines = issues.slice(0, max).map((i) => `${i.file}:${i.line}: ${i.message}`);
  if (issues.length > max) lines.push(`... and ${issues.length - max} more`);
  return lines.join('\n');
}

/** Netmask of a prefix length (unsigned). */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

const FILTER_RE =
  /^@(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)[ \t]+(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)[ \t]+(\d+)[ \t]*:[ \t]*(\d+)[ \t]+(\d+)[ \t]*:[ \t]*(\d+)[ \t]+0[xX]([0-9a-fA-F]+)\/0[xX]([0-9a-fA-F]+)(?:[ \t]+0[xX]([0-9a-fA-F]+)\/0[xX]([0-9a-fA-F]+))?[ \t]*$/;

const FILTER_SHAPE = '@a.b.c.d/len a.b.c.d/len lo : hi lo : hi 0xPP/0xMM [0xFFFF/0xFFFF]';

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Parses a filter file; malformed lines are collected in `issues` (the good lines are still returned). */
export function parseFilters(text: string, file = '<filters>'): { filters: Filter[]; issues: ParseIssue[] } {
  const filters: Filter[] = [];
  const issues: ParseIssue[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const s = raw.trim();
    if (s === '') continue;
    const lineNo = i + 1;
    const bad = (message: string): void => {
      issues.push({ file, line: lineNo, message });
    };
    const m = FILTER_RE.exec(s);
    if (!m) {
      if (!s.startsWith('@')) bad(`not a ClassBench filter (must start with "@"; expected ${FILTER_SHAPE}): "${clip(s)}"`);
      else bad(`malformed filter (expected ${FILTER_SHAPE}): "${clip(s)}"`);
      continue;
    }
    const n = m.slice(1) as (string | undefined)[];
    const dec = (k: number): number => Number(n[k]);
    const octets = [0, 1, 2, 3, 5, 6, 7, 8].map(dec);
    if (octets.some((o) => o > 255)) {
      bad(`address octet out of range 0-255: "${clip(s)}"`);
      continue;
    }
    const srcLen = dec(4);
    const dstLen = dec(9);
    if (srcLen > 32 || dstLen > 32) {
      bad(`prefix length out of range 0-32 (source /${srcLen}, destination /${dstLen})`);
      continue;
    }
    const [spLo, spHi, dpLo, dpHi] = [dec(10), dec(11), dec(12), dec(13)];
    if ([spLo, spHi, dpLo, dpHi].some((p) => p > 65535)) {
      bad(`port out of range 0-65535 (source ${spLo} : ${spHi}, destination ${dpLo} : ${dpHi})`);
      continue;
    }
    if (spLo > spHi || dpLo > dpHi) {
      bad(`empty port range (source ${spLo} : ${spHi}, destination ${dpLo} : ${dpHi}; low must be <= high)`);
      continue;
    }
    const proto = parseInt(n[14]!, 16);
    const protoMask = parseInt(n[15]!, 16);
    if (proto > 255 || protoMask > 255) {
      bad(`protocol/mask out of range 0x00-0xFF: 0x${n[14]}/0x${n[15]}`);
      continue;
    }
    const f: Filter = {
      id: filters.length + 1,
      line: lineNo,
      src: ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0,
      srcLen,
      dst: ((octets[4]! << 24) | (octets[5]! << 16) | (octets[6]! << 8) | octets[7]!) >>> 0,
      dstLen,
      spLo,
      spHi,
      dpLo,
      dpHi,
      proto,
      protoMask,
      text: s,
    };
    if (n[16] !== undefined) {
      const value = parseInt(n[16], 16);
      const mask = parseInt(n[17]!, 16);
      if (value > 0xffff || mask > 0xffff) {
        bad(`flags/mask out of range 0x0000-0xFFFF: 0x${n[16]}/0x${n[17]}`);
        continue;
      }
      f.flags = { value, mask };
    }
    filters.push(f);
  }
  return { filters, issues };
}

/** A trace as struct-of-arrays (what the native engine takes), host byte order. */
export interface Trace {
  length: number;
  src: Uint32Array;
  dst: Uint32Array;
  sport: Uint16Array;
  dport: Uint16Array;
  proto: Uint8Array;
  /** The trace's last column: the filter the header was generated from (1-based). */
  ruleId: Uint32Array;
  /** 1-based line of each header. */
  line: Uint32Array;
  /** Whether the headers carry a flags column (newer ClassBench). */
  hasFlags: boolean;
}

/** A trace's header columns (what classifyBatch takes). */
export interface TraceColumns {
  src: Uint32Array;
  dst: Uint32Array;
  sport: Uint16Array;
  dport: Uint16Array;
  proto: Uint8Array;
}

/** The first `n` headers of a trace, wrapping around when the trace is shorter (the trace's own arrays when n === length). */
export function traceColumns(trace: Trace, n: number): TraceColumns {
  if (n === trace.length) return { src: trace.src, dst: trace.dst, sport: trace.sport, dport: trace.dport, proto: trace.proto };
  const rep = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T, b: T): T => {
    for (let i = 0; i < n; i++) b[i] = a[i % trace.length]!;
    return b;
  };
  return {
    src: rep(trace.src, new Uint32Array(n)),
    dst: rep(trace.dst, new Uint32Array(n)),
    sport: rep(trace.sport, new Uint16Array(n)),
    dport: rep(trace.dport, new Uint16Array(n)),
    proto: rep(trace.proto, new Uint8Array(n)),
  };
}

const TRACE_SHAPE = 'src dst sport dport proto [flags] ruleId (decimal)';

/** Parses a trace file; malformed lines are collected in `issues`. */
export function parseTrace(text: string, file = '<trace>'): { trace: Trace; issues: ParseIssue[] } {
  const lines = splitLines(text);
  const cap = lines.length;
  const src = new Uint32Array(cap);
  const dst = new Uint32Array(cap);
  const sport = new Uint16Array(cap);
  const dport = new Uint16Array(cap);
  const proto = new Uint8Array(cap);
  const ruleId = new Uint32Array(cap);
  const lineOf = new Uint32Array(cap);
  const issues: ParseIssue[] = [];
  let n = 0;
  let hasFlags = false;
  let columns = 0;
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (s === '') continue;
    const lineNo = i + 1;
    const parts = s.split(/[ \t]+/);
    if (parts.length !== 6 && parts.length !== 7) {
      issues.push({ file, line: lineNo, message: `expected 6 or 7 columns (${TRACE_SHAPE}), got ${parts.length}: "${clip(s)}"` });
      continue;
    }
    if (parts.some((p) => !/^\d+$/.test(p))) {
      issues.push({ file, line: lineNo, message: `every column must be a decimal number (${TRACE_SHAPE}): "${clip(s)}"` });
      continue;
    }
    if (columns === 0) columns = parts.length;
    else if (parts.length !== columns) {
      issues.push({ file, line: lineNo, message: `${parts.length} columns, but earlier headers have ${columns}` });
      continue;
    }
    const v = parts.map(Number);
    const limits: [string, number][] = [
      ['source address', 0xffffffff],
      ['destination address', 0xffffffff],
      ['source port', 65535],
      ['destination port', 65535],
      ['protocol', 255],
    ];
    const over = limits.findIndex(([, max], k) => v[k]! > max);
    if (over >= 0) {
      issues.push({ file, line: lineNo, message: `${limits[over]![0]} ${v[over]} out of range 0-${limits[over]![1]}` });
      continue;
    }
    const id = v[v.length - 1]!;
    if (id > 0xffffffff) {
      issues.push({ file, line: lineNo, message: `rule id ${id} out of range` });
      continue;
    }
    src[n] = v[0]!;
    dst[n] = v[1]!;
    sport[n] = v[2]!;
    dport[n] = v[3]!;
    proto[n] = v[4]!;
    ruleId[n] = id;
    lineOf[n] = lineNo;
    if (parts.length === 7) hasFlags = true;
    n++;
  }
  // Copies (not views) when lines were skipped, so every array owns exactly n entries.
  const fit = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T): T => (n === cap ? a : (a.slice(0, n) as T));
  const trace: Trace = {
    length: n,
    src: fit(src),
    dst: fit(dst),
    sport: fit(sport),
    dport: fit(dport),
    proto: fit(proto),
    ruleId: fit(ruleId),
    line: fit(lineOf),
    hasFlags,
  };
  return { trace, issues };
}

function clip(s: string, max = 80): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}
