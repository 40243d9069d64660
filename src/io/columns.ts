/**
 * Tuple CSV input as column batches, for `classify` at engine speed. Reads the
 * bytes (no line strings, no Tuple objects, no per-line diagnostics object
 * for the common line) and fills typed arrays in input order; a line the
 * byte parser is not sure of (quotes, spaces, non-ASCII, IPv6 forms it does
 * not read, anything invalid) goes to the line parser of src/io/tuples.ts, so
 * every tuple and every error is exactly what `readTuples` gives: the same
 * line splitting (CRLF, LF or a lone CR, like node:readline), blank and `#`
 * lines skipped, the same diagnostics and line numbers. Tested equal to it
 * (test/io/columns.test.ts). Memory: one batch and one partial line of at
 * most MAX_LINE bytes — a longer line is an error of its own, and a pcap or
 * pcapng capture given by mistake is named as such (where readTuples would
 * read them as text).
 */
import type { Readable } from 'node:stream';
import { DiagnosticBag } from '../diag/diagnostic.js';
import { addrToWords, parseIp, wordsToAddr } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';
import { COLUMNS, headerParser, PROTO_BY_NAME, type TupleParser } from './tuples.js';

/** Entry kinds of a batch. */
export const ENTRY_ERROR = 0;

/**
 * One batch of input lines that produce records, in input order: tuples
 * (kind 4 or 6) and malformed lines (kind ENTRY_ERROR, their error records).
 * Optional numeric fields are -1 when absent.
 */
export class TupleBatch {
  n = 0;
  readonly kind: Uint8Array;
  /** Four words per entry, most significant first (IPv4: the address, then zeros). */
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  readonly proto: Uint8Array;
  readonly sport: Int32Array;
  readonly dport: Int32Array;
  readonly icmpType: Int32Array;
  readonly icmpCode: Int32Array;
  /** Per error entry: `{"line":N,"error":"..."}`. */
  readonly errors: (string | undefined)[];

  /** Entries the arrays hold: `size` and a margin (a line may add up to four error entries). */
  readonly capacity: number;

  /** `size`: entries after which the reader hands the batch on. */
  constructor(readonly size: number) {
    const capacity = (this.capacity = size + 8);
    this.kind = new Uint8Array(capacity);
    this.src = new Uint32Array(capacity * 4);
    this.dst = new Uint32Array(capacity * 4);
    this.proto = new Uint8Array(capacity);
    this.sport = new Int32Array(capacity);
    this.dport = new Int32Array(capacity);
    this.icmpType = new Int32Array(capacity);
    this.icmpCode = new Int32Array(capacity);
    this.errors = new Array<string | undefined>(capacity);
  }

  addError(record: string): void {
    const i = this.n++;
    this.kind[i] = ENTRY_ERROR;
    this.errors[i] = record;
  }

  addTuple(t: Tuple): void {
    const i = this.n++;
    this.kind[i] = t.src.family;
    addrToWords(t.src, this.src, 4 * i);
    addrToWords(t.dst, this.dst, 4 * i);
    this.proto[i] = t.proto;
    this.sport[i] = t.sport ?? -1;
    this.dport[i] = t.dport ?? -1;
    this.icmpType[i] = t.icmpType ?? -1;
    this.icmpCode[i] = t.icmpCode ?? -1;
  }

  /** Entry i as a Tuple (tuples only). */
  tuple(i: number): Tuple {
    const family = this.kind[i] as 4 | 6;
    const w = 4 * i;
    const s = this.src;
    const d = this.dst;
    const t: Tuple = { src: wordsToAddr(family, s[w]!, s[w + 1], s[w + 2], s[w + 3]), dst: wordsToAddr(family, d[w]!, d[w + 1], d[w + 2], d[w + 3]), proto: this.proto[i]! };
    if (this.sport[i]! >= 0) t.sport = this.sport[i]!;
    if (this.dport[i]! >= 0) t.dport = this.dport[i]!;
    if (this.icmpType[i]! >= 0) t.icmpType = this.icmpType[i]!;
    if (this.icmpCode[i]! >= 0) t.icmpCode = this.icmpCode[i]!;
    return t;
  }
}

/** Protocol names, as the line parser knows them (any case). */
const PROTO_NAMES = Object.entries(PROTO_BY_NAME);

/**
 * The byte parser of one line, for the columns of the header the line parser
 * read. Returns false (nothing added) for any line it leaves to the line
 * parser.
 */
class FastLine {
  /** Field index per entry of COLUMNS, -1 when absent. */
  private readonly col: Int32Array;
  private readonly fields: number;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;

  constructor(columns: readonly number[]) {
    this.col = Int32Array.from(columns);
    this.fields = Math.max(...this.col) + 1;
    this.starts = new Int32Array(this.fields);
    this.ends = new Int32Array(this.fields);
  }

  parse(b: Buffer, start: number, end: number, out: TupleBatch): boolean {
    // Field bounds; only printable ASCII without quotes or spaces.
    const F = this.fields;
    let f = 0;
    this.starts[0] = start;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === 44) {
        if (f < F) this.ends[f] = i;
        f++;
        if (f < F) this.starts[f] = i + 1;
      } else if (c <= 32 || c >= 127 || c === 34) return false;
    }
    if (f < F) this.ends[f] = end;
    for (let k = f + 1; k < F; k++) this.starts[k] = this.ends[k] = -1;
    const col = this.col;
    const s = col[0]!;
    const d = col[1]!;
    const p = col[2]!;
    const i = out.n;
    const fam = this.addr(b, s, out.src, i);
    if (fam === 0 || this.addr(b, d, out.dst, i) !== fam) return false;
    const proto = this.proto(b, p);
    if (proto < 0) return false;
    const sport = this.num(b, col[3]!, 65535);
    const dport = this.num(b, col[4]!, 65535);
    const type = this.num(b, col[5]!, 255);
    const code = this.num(b, col[6]!, 255);
    if (sport === -2 || dport === -2 || type === -2 || code === -2) return false;
    out.kind[i] = fam;
    out.proto[i] = proto;
    out.sport[i] = sport;
    out.dport[i] = dport;
    out.icmpType[i] = type;
    out.icmpCode[i] = code;
    out.n++;
    return true;
  }

  /** Field k as an address into w[4i..]: its family, or 0 (absent, invalid or left to the line parser). */
  private addr(b: Buffer, k: number, w: Uint32Array, i: number): number {
    if (k < 0 || this.starts[k]! < 0) return 0;
    const s = this.starts[k]!;
    const e = this.ends[k]!;
    if (e === s) return 0;
    // Dotted quad, as parseIp: octets 0-255, no leading zeros.
    let v = 0;
    let octets = 0;
    let j = s;
    for (;;) {
      const o = j;
      let octet = 0;
      while (j < e) {
        const c = b[j]!;
        if (c < 48 || c > 57) break;
        octet = octet * 10 + (c - 48);
        j++;
      }
      const len = j - o;
      if (len === 0 || len > 3 || octet > 255 || (len > 1 && b[o] === 48)) break;
      v = v * 256 + octet;
      if (++octets === 4) break;
      if (j >= e || b[j] !== 46) break;
      j++;
    }
    if (octets === 4 && j === e) {
      w[4 * i] = v;
      w[4 * i + 1] = w[4 * i + 2] = w[4 * i + 3] = 0;
      return 4;
    }
    // IPv6 (or nothing): hex groups here, other forms (an IPv4 tail) by the address parser.
    for (let x = s; x < e; x++) {
      if (b[x] === 58) {
        if (this.v6Groups(b, s, e)) {
          const g = this.groups;
          for (let k = 0; k < 4; k++) w[4 * i + k] = ((g[2 * k]! << 16) | g[2 * k + 1]!) >>> 0;
          return 6;
        }
        const a = parseIp(b.toString('latin1', s, e));
        if (!a || a.family !== 6) return 0;
        addrToWords(a, w, 4 * i);
        return 6;
      }
    }
    return 0;
  }

  private readonly groups = new Int32Array(8);

  /**
   * An IPv6 address of hex groups (at most one "::") into this.groups, as
   * parseIp reads it; false for anything else (an IPv4 tail, invalid text),
   * which the address parser then decides.
   */
  private v6Groups(b: Buffer, s: number, e: number): boolean {
    if (e - s < 2 || e - s > 45) return false;
    const g = this.groups;
    let n = 0;
    let dbl = -1;
    let j = s;
    if (b[j] === 58) {
      if (b[j + 1] !== 58) return false;
      dbl = 0;
      j += 2;
    }
    while (j < e) {
      let v = 0;
      const from = j;
      for (; j < e && j - from < 5; j++) {
        const c = b[j]!;
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) break;
        v = v * 16 + d;
      }
      const len = j - from;
      if (len === 0 || len > 4 || n >= 8) return false;
      g[n++] = v;
      if (j === e) break;
      if (b[j] !== 58) return false;
      j++;
      if (j < e && b[j] === 58) {
        if (dbl >= 0) return false;
        dbl = n;
        j++;
      } else if (j === e) return false;
    }
    if (dbl < 0) return n === 8;
    if (n > 7) return false;
    // Expand "::": the groups after it move to the end, zeros between.
    const right = n - dbl;
    for (let k = 0; k < right; k++) g[7 - k] = g[n - 1 - k]!;
    for (let k = dbl; k < 8 - right; k++) g[k] = 0;
    return true;
  }

  /** Field k as a protocol number, or -1 (absent, unknown or invalid). */
  private proto(b: Buffer, k: number): number {
    if (k < 0 || this.starts[k]! < 0) return -1;
    const s = this.starts[k]!;
    const e = this.ends[k]!;
    const len = e - s;
    if (len === 0) return -1;
    const c0 = b[s]!;
    if (c0 >= 48 && c0 <= 57) {
      if (len > 3) return -1;
      let n = 0;
      for (let j = s; j < e; j++) {
        const c = b[j]!;
        if (c < 48 || c > 57) return -1;
        n = n * 10 + (c - 48);
      }
      return n <= 255 ? n : -1;
    }
    for (const [name, n] of PROTO_NAMES) {
      if (name.length !== len) continue;
      let j = 0;
      while (j < len && (b[s + j]! | 0x20) === name.charCodeAt(j)) j++;
      if (j === len) return n;
    }
    return -1;
  }

  /** Field k as a number 0..max: -1 when absent or empty, -2 when invalid. */
  private num(b: Buffer, k: number, max: number): number {
    if (k < 0 || this.starts[k]! < 0) return -1;
    const s = this.starts[k]!;
    const e = this.ends[k]!;
    if (e === s) return -1;
    if (e - s > 9) return -2;
    let n = 0;
    for (let j = s; j < e; j++) {
      const c = b[j]!;
      if (c < 48 || c > 57) return -2;
      n = n * 10 + (c - 48);
    }
    return n <= max ? n : -2;
  }
}

export interface BatchReaderOptions {
  /** File name for diagnostics. */
  file: string;
  /** Entries per batch (default 4,096). */
  batchSize?: number;
  /** Every malformed line's diagnostics (its error entry is in the batch too). */
  onError?: (diags: DiagnosticBag) => void;
  /** Counts lines read by the byte parser and by the line parser (tests, benchmarks). */
  stats?: { fast: number; slow: number };
}

/**
 * Streams a tuple CSV as batches (the same batch object, refilled: use it
 * before asking for the next). Stops after the header's errors (as an error
 * batch) when the header is invalid.
 */
export async function* readTupleBatches(input: AsyncIterable<Buffer | string> | Readable, options: BatchReaderOptions): AsyncGenerator<TupleBatch> {
  const batch = new TupleBatch(options.batchSize ?? 4096);
  const file = options.file;
  const stats = options.stats;
  let parser: TupleParser | undefined;
  let fast: FastLine | undefined;
  let lineNo = 0;
  /** The header's errors (then nothing else is read). */
  let headerErrors: DiagnosticBag | undefined;
  const errorsOf = (diags: DiagnosticBag, into: TupleBatch): void => {
    for (const d of diags.errors) into.addError(JSON.stringify({ line: d.line, error: d.message }));
    options.onError?.(diags);
  };
  // The line parser's way with one line (and the header).
  const slow = (text: string): void => {
    if (text.trim() === '' || text.trimStart().startsWith('#')) return;
    const diags = new DiagnosticBag();
    if (!parser) {
      parser = headerParser(text, file, diags);
      if (!parser) headerErrors = diags;
      else fast = new FastLine(parser.columns);
      return;
    }
    const t = parser.parseLine(text, lineNo, diags);
    if (diags.hasErrors()) errorsOf(diags, batch);
    if (t) batch.addTuple(t);
  };
  /** One line (bytes s..e of b): at most one entry. */
  const line = (b: Buffer, s: number, e: number): void => {
    lineNo++;
    if (fast && e > s && b[s] !== 35 && fast.parse(b, s, e, batch)) {
      if (stats) stats.fast++;
      return;
    }
    if (stats) stats.slow++;
    slow(b.toString('utf8', s, e));
  };
  const headerFailed = (): TupleBatch => {
    const errs = new TupleBatch(headerErrors!.errors.length);
    errorsOf(headerErrors!, errs);
    return errs;
  };
  // A line longer than MAX_LINE is an error of its own (its bytes skipped to
  // its end: memory stays bounded on a file without line ends).
  const overlongEnd = (): void => {
    lineNo++;
    const diags = new DiagnosticBag();
    const what = parser ? 'line' : 'header line';
    diags.error('NV-TUPLE', `${what} longer than ${MAX_LINE.toLocaleString('en-US')} bytes`, { file, line: lineNo, column: 1 });
    if (parser) errorsOf(diags, batch);
    else headerErrors = diags;
  };
  let rest: Buffer | undefined;
  let skipLf = false;
  // Past the line end at b[e], as node:readline splits lines: CRLF, LF or a
  // lone CR (a CR ending the chunk: an LF starting the next one is skipped).
  const past = (b: Buffer, e: number): number => {
    if (b[e] === 13) {
      if (e + 1 >= b.length) skipLf = true;
      else if (b[e + 1] === 10) return e + 2;
    }
    return e + 1;
  };
  let overlong = false;
  let first = true;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let i = 0;
    if (first && b.length > 0) {
      first = false;
      const magic = b.length >= 4 ? captureMagic(b) : undefined;
      if (magic) {
        const diags = new DiagnosticBag();
        diags.error('NV-TUPLE-HEADER', `this is a ${magic} capture, not a tuple CSV (a header naming any of ${COLUMNS.join(', ')}, then one tuple per line)`, { file, line: 1, column: 1 });
        headerErrors = diags;
        yield headerFailed();
        return;
      }
    }
    if (skipLf && b.length > 0) {
      if (b[0] === 10) i = 1;
      skipLf = false;
    }
    if (rest) {
      b = Buffer.concat([rest, b.subarray(i)]);
      i = 0;
      rest = undefined;
    }
    let s = i;
    const n = b.length;
    // Line ends found by indexOf (native), the next CR kept apart (none in most files).
    let cr = b.indexOf(13, i);
    for (;;) {
      let lf = b.indexOf(10, i);
      if (lf < 0) lf = n;
      if (cr >= 0 && cr < i) cr = b.indexOf(13, i);
      i = cr >= 0 && cr < lf ? cr : lf;
      if (i >= n) break;
      // An overlong line's start was dropped with the chunks before this one.
      if (overlong || i - s > MAX_LINE) overlongEnd();
      else line(b, s, i);
      overlong = false;
      s = i = past(b, i);
      if (headerErrors) {
        yield headerFailed();
        return;
      }
      if (batch.n >= batch.size) {
        yield batch;
        batch.n = 0;
      }
    }
    if (s < n) {
      if (overlong || n - s > MAX_LINE) overlong = true;
      else rest = Buffer.from(b.subarray(s));
    }
  }
  if (overlong) overlongEnd();
  else if (rest && rest.length > 0) line(rest, 0, rest.length);
  if (headerErrors) yield headerFailed();
  else if (batch.n > 0) yield batch;
}

/** Longest line read (bytes, without its end). */
export const MAX_LINE = 1 << 20;

/** The capture format whose magic number starts b, if any (pcap in either byte order and resolution, pcapng). */
function captureMagic(b: Buffer): string | undefined {
  const m = b.readUInt32BE(0);
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return 'pcap';
  if (m === 0x0a0d0d0a) return 'pcapng';
  return undefined;
}
