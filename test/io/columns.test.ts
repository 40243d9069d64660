/**
 * The column-batch CSV reader (src/io/columns.ts) must give exactly what the
 * line reader (readTuples, src/io/tuples.ts) gives: the same tuples in the
 * same order, the same error records in their places, the same diagnostics
 * (file, line, message) — on tuple files with every line form the line
 * parser accepts or rejects, fed in chunks of every size (so line ends, CRLF
 * pairs and multi-byte characters fall across chunk boundaries).
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { formatDiagnostic, type DiagnosticBag } from '../../src/diag/diagnostic.js';
import { Rng } from '../../src/gen/random.js';
import { formatIp, type IpAddr } from '../../src/net/ip.js';
import type { Tuple } from '../../src/net/tuple.js';
import { ENTRY_ERROR, MAX_LINE, readTupleBatches } from '../../src/io/columns.js';
import { readTuples } from '../../src/io/tuples.js';

type Entry = { tuple: Tuple } | { error: string };

const show = (a: IpAddr): string => `${a.family}:${formatIp(a)}`;
const key = (e: Entry): string =>
  'tuple' in e
    ? `${show(e.tuple.src)} ${show(e.tuple.dst)} ${e.tuple.proto} ${e.tuple.sport} ${e.tuple.dport} ${e.tuple.icmpType} ${e.tuple.icmpCode}`
    : `error ${e.error}`;

function chunks(bytes: Buffer, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  return Readable.from(parts);
}

/** What the line reader gives (entries in order: error records where the CLI puts them) and its diagnostics. */
async function lineReader(bytes: Buffer): Promise<{ entries: string[]; diags: string[] }> {
  const entries: string[] = [];
  const diags: string[] = [];
  let pending: string[] = [];
  for await (const tuple of readTuples(Readable.from([bytes]), 'in.csv', (d: DiagnosticBag) => {
    for (const x of d.errors) {
      diags.push(formatDiagnostic(x));
      pending.push(JSON.stringify({ line: x.line, error: x.message }));
    }
  })) {
    for (const e of pending) entries.push(key({ error: e }));
    pending = [];
    entries.push(key({ tuple }));
  }
  for (const e of pending) entries.push(key({ error: e }));
  return { entries, diags };
}

const lines = { fast: 0, slow: 0 };

async function batchReader(bytes: Buffer, sizes: number[], batchSize: number): Promise<{ entries: string[]; diags: string[] }> {
  const entries: string[] = [];
  const diags: string[] = [];
  for await (const b of readTupleBatches(chunks(bytes, sizes), { file: 'in.csv', batchSize, stats: lines, onError: (d) => diags.push(...d.errors.map(formatDiagnostic)) })) {
    for (let i = 0; i < b.n; i++) entries.push(key(b.kind[i] === ENTRY_ERROR ? { error: b.errors[i]! } : { tuple: b.tuple(i) }));
  }
  return { entries, diags };
}

const V4 = ['10.0.0.1', '192.168.1.255', '0.0.0.0', '255.255.255.255', '10.0.0.01', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '', ' 10.0.0.9 ', '1.2.3.4 '];
const V6 = [
  'fd00::1', '::', '::1', '1::', 'FD00:0:0:0:0:0:0:ABCD', '2001:db8:0:0:1:0:0:1', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', ':::', '1::2::3', '12345::1', '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8', 'g::1', '1:2', 'fd00::1:',
];
const PROTO = ['tcp', 'TCP', 'udp', 'Udp', 'icmp', 'ICMPv6', 'icmp6', 'sctp', 'udplite', '6', '17', '1', '58', '255', '256', '007', 'tcpx', '', ' tcp'];
const PORT = ['', '0', '80', '443', '65535', '65536', '0080', '00000000000080', '-1', '8a', ' 80', '99999999999'];
const ICMP = ['', '0', '3', '255', '256', 'x'];

function randomFile(rng: Rng): string {
  const headers = [
    'src,dst,proto,sport,dport,icmp_type,icmp_code',
    'dport,proto,dst,src',
    'src,dst,proto',
    'SRC, Dst ,PROTO,dport',
    '\ufeffsrc,dst,proto,dport',
    'src,dst,proto,dport,dport',
    '"src",dst,proto,dport',
  ];
  const header = rng.pick(headers);
  const cols = header.replace(/^\ufeff/, '').split(',').map((c) => c.trim().replace(/"/g, '').toLowerCase());
  const eol = rng.pick(['\n', '\r\n', '\r', 'mixed']);
  const lines: string[] = ['# a comment before the header', '', header];
  for (let n = rng.int(0, 120); n > 0; n--) {
    const r = rng.below(100);
    if (r < 3) lines.push('');
    else if (r < 5) lines.push(rng.pick(['# comment', '   # indented comment', '  \t ', '\t']));
    else {
      const v6 = rng.chance(0.3);
      const good = rng.chance(0.75);
      const addr = (): string => (good ? (v6 ? rng.pick(V6.slice(0, 7)) : rng.pick(V4.slice(0, 4))) : v6 ? rng.pick(V6) : rng.pick(V4));
      const val: Record<string, () => string> = {
        src: addr,
        dst: addr,
        proto: () => (good ? rng.pick(PROTO.slice(0, 14)) : rng.pick(PROTO)),
        sport: () => (good ? rng.pick(PORT.slice(0, 7)) : rng.pick(PORT)),
        dport: () => (good ? rng.pick(PORT.slice(0, 7)) : rng.pick(PORT)),
        icmp_type: () => (good ? rng.pick(ICMP.slice(0, 4)) : rng.pick(ICMP)),
        icmp_code: () => (good ? rng.pick(ICMP.slice(0, 4)) : rng.pick(ICMP)),
      };
      let fields = cols.map((c) => (val[c] ?? (() => 'x'))());
      if (rng.chance(0.05)) fields = fields.slice(0, rng.int(0, fields.length));
      if (rng.chance(0.05)) fields.push('extra');
      if (rng.chance(0.05)) fields = fields.map((f) => `"${f}"`);
      if (rng.chance(0.03)) fields[0] = `${fields[0]}é`;
      lines.push(fields.join(','));
    }
  }
  const end = rng.chance(0.5) ? '' : '\n';
  if (eol !== 'mixed') return lines.join(eol) + (end ? eol : '');
  return lines.map((l) => l + rng.pick(['\n', '\r\n', '\r'])).join('');
}

t.test('random tuple files, random chunk sizes: the line reader\'s tuples, errors and diagnostics', async (t) => {
  let files = 0;
  let tuples = 0;
  let errors = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Rng(seed);
    const bytes = Buffer.from(randomFile(rng), 'utf8');
    const want = await lineReader(bytes);
    const sizes = [rng.pick([1, 2, 3, 7, 64, 4096, 1 << 20]), rng.int(1, 50), rng.int(1, 500)];
    const got = await batchReader(bytes, sizes, rng.pick([1, 2, 5, 4096]));
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      t.same(got, want, `seed ${seed}: ${JSON.stringify(bytes.toString('utf8').slice(0, 400))}`);
      return;
    }
    files++;
    tuples += want.entries.filter((e) => !e.startsWith('error')).length;
    errors += want.diags.length;
  }
  t.equal(files, 300, `300 files equal (${tuples} tuples, ${errors} malformed lines)`);
  t.ok(tuples > 10_000 && errors > 1_000, 'both valid and malformed lines were exercised');
  t.ok(lines.fast > 8_000 && lines.slow > 5_000, `both parsers were exercised (${lines.fast} lines by bytes, ${lines.slow} by the line parser)`);
});

t.test('header errors stop the file; an empty file gives nothing', async (t) => {
  for (const text of ['src,dst,colour,dport\n10.0.0.1,10.0.0.2,6,80\n', 'src,dst\n', 'a,b,c,d,e,f,g,h,i,j,k,l\n1\n', '', '\n\n# only comments\n', 'src,dst,proto\n']) {
    const bytes = Buffer.from(text);
    t.same(await batchReader(bytes, [3], 2), await lineReader(bytes), JSON.stringify(text));
  }
});

t.test('fields the line parser trims or unquotes', async (t) => {
  const bytes = Buffer.from('src,dst,proto,sport,dport\n 10.0.0.1 ,10.0.0.2,tcp,1,2\n"10.0.0.1","fd00::1",tcp,1,2\n"10.0.0.1","10.0.0.2","tcp","1","2"\n');
  const got = await batchReader(bytes, [5], 4096);
  t.same(got, await lineReader(bytes));
  t.equal(got.entries.filter((e) => !e.startsWith('error')).length, 2);
});

t.test('a capture given as tuples is named; an overlong line is an error of its own', async (t) => {
  const errorsOf = async (bytes: Buffer, sizes = [4096]): Promise<{ entries: string[]; diags: string[] }> => batchReader(bytes, sizes, 4096);
  for (const [magic, name] of [
    [[0xd4, 0xc3, 0xb2, 0xa1], 'pcap'],
    [[0xa1, 0xb2, 0xc3, 0xd4], 'pcap'],
    [[0x4d, 0x3c, 0xb2, 0xa1], 'pcap'],
    [[0x0a, 0x0d, 0x0d, 0x0a], 'pcapng'],
  ] as const) {
    const got = await errorsOf(Buffer.concat([Buffer.from(magic), Buffer.alloc(200, 0x2c), Buffer.from('\n1,2\n')]));
    t.same(got.diags, [`in.csv:1:1: error NV-TUPLE-HEADER: this is a ${name} capture, not a tuple CSV (a header naming any of src, dst, proto, sport, dport, icmp_type, icmp_code, then one tuple per line)`], name);
    t.equal(got.entries.length, 1, `${name}: one error record`);
  }
  // A line over MAX_LINE in the middle: its own error, the lines around it read.
  const long = 'x'.repeat(MAX_LINE + 10);
  for (const sizes of [[1 << 20], [65536], [7, 1 << 16, 3]]) {
    const got = await errorsOf(Buffer.from(`src,dst,proto\n10.0.0.1,10.0.0.2,tcp\n${long}\n10.0.0.3,10.0.0.4,udp\r\n${long}\r\n10.0.0.5,10.0.0.6,6\n${long}`), sizes);
    t.same(got.diags, [2, 4, 6].map((l) => `in.csv:${l + 1}:1: error NV-TUPLE: line longer than 1,048,576 bytes`), `chunks ${sizes}: three overlong lines`);
    t.equal(got.entries.filter((e) => !e.startsWith('error')).length, 3, `chunks ${sizes}: the three tuples read`);
  }
  // A file without line ends: one header error, read in bounded memory.
  const blob = Buffer.alloc(3 * MAX_LINE, 0x41);
  const got = await errorsOf(blob, [65536]);
  t.same(got.diags, ['in.csv:1:1: error NV-TUPLE: header line longer than 1,048,576 bytes']);
});

t.test('binary data or a very wide header: few, clear header errors', async (t) => {
  const bin = await batchReader(Buffer.from([0x00, 0x01, 0x2c, 0xff, 0xfe, 0x0a, 0x31]), [4096], 4096);
  t.equal(bin.diags.length, 1);
  t.match(bin.diags[0]!, /binary data where the header was expected: not a tuple CSV/);
  const wide = await batchReader(Buffer.from(['src', 'dst', 'proto', ...Array.from({ length: 30 }, (_, i) => `c${'y'.repeat(100)}${i}`)].join(',') + '\n'), [4096], 4096);
  t.equal(wide.diags.length, 9, '8 unknown columns and a count of the rest');
  t.match(wide.diags[0]!, /unknown column "cyyyy[y]+…"/);
  t.match(wide.diags[8]!, /22 more unknown columns/);
});
