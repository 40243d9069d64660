/**
 * Round trip on a small synthetic filter set whose first matches are worked
 * out by hand: filters → Calico resources (split into 3-rule policies, so
 * first match must survive policy boundaries) → image → native engine and
 * reference evaluator → filter numbers. Also: a filter Calico cannot express
 * exactly shows up as a reported mismatch, not as silence.
 */
import t from 'tap';
import { parseFilters, parseTrace, type Trace } from '../../src/classbench/parse.js';
import { convertFilters, conversionYaml, type ConvertOptions } from '../../src/classbench/convert.js';
import { conversionCluster, loadConversionYaml } from '../../src/classbench/model.js';
import { checkNative, checkReference, LinearScan, quickThroughput } from '../../src/classbench/check.js';
import { compileCluster } from '../../src/compile/index.js';
import { NativeEngine, type Strategy } from '../../src/native/index.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import type { Tuple } from '../../src/net/tuple.js';
import { differential } from '../oracle/compare.js';

const STRATEGIES: Strategy[] = ['decision', 'linear'];

const FILTERS = [
  '@10.0.0.0/8\t192.168.1.0/24\t0 : 65535\t80 : 80\t0x06/0xFF', // 1
  '@10.1.0.0/16\t0.0.0.0/0\t1024 : 65535\t0 : 65535\t0x11/0xFF', // 2
  '@0.0.0.0/0\t192.168.1.5/32\t0 : 65535\t0 : 65535\t0x01/0xFF', // 3 ICMP
  '@10.1.2.3/32\t192.168.1.0/24\t0 : 65535\t0 : 1023\t0x06/0xFF', // 4 dport 0-1023 (notPorts 1024:65535)
  '@172.16.0.0/12\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00', // 5 any protocol
  '@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t0 : 0\t0x06/0xFF', // 6 dport 0 only
  '@192.0.2.77/24\t198.51.100.0/24\t53 : 53\t0 : 65535\t0x11/0xFF', // 7 host bits set
  '@0.0.0.0/0\t203.0.113.0/24\t0 : 65535\t0 : 65535\t0x2F/0xFF', // 8 GRE
];

const ip = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

// [src, dst, sport, dport, proto, expected first match]
const HEADERS: [string, string, number, number, number, number][] = [
  ['10.1.2.3', '192.168.1.9', 5000, 80, 6, 1], // 1 before 4
  ['10.1.2.3', '192.168.1.9', 5000, 22, 6, 4],
  ['10.1.2.3', '192.168.1.9', 5000, 0, 6, 4], // port 0 inside 0:1023
  ['10.1.2.3', '192.168.1.9', 5000, 1024, 6, 0], // nothing: deny
  ['10.9.9.9', '8.8.8.8', 1, 0, 6, 6],
  ['10.9.9.9', '8.8.8.8', 1, 1, 6, 0],
  ['10.1.5.5', '8.8.8.8', 1024, 53, 17, 2],
  ['10.1.5.5', '8.8.8.8', 1023, 53, 17, 0],
  ['1.2.3.4', '192.168.1.5', 8, 0, 1, 3], // ICMP echo (ports carry type/code)
  ['1.2.3.4', '192.168.1.6', 8, 0, 1, 0],
  ['172.16.5.5', '1.1.1.1', 0, 0, 47, 5],
  ['172.31.255.255', '192.168.1.9', 5, 80, 6, 5], // 10/8 rules do not cover 172.16/12
  ['192.0.2.200', '198.51.100.1', 53, 9999, 17, 7],
  ['192.0.2.200', '198.51.100.1', 54, 9999, 17, 0],
  ['8.8.8.8', '203.0.113.9', 0, 0, 47, 8],
  ['8.8.8.8', '203.0.113.9', 0, 0, 6, 0],
];

function traceOf(rows: typeof HEADERS): Trace {
  const text = rows.map(([s, d, sp, dp, p, id]) => `${ip(s)}\t${ip(d)}\t${sp}\t${dp}\t${p}\t${id}`).join('\n');
  const r = parseTrace(text, 'synthetic.trace');
  if (r.issues.length) throw new Error(JSON.stringify(r.issues));
  return r.trace;
}

function setup(lines: string[], opts: ConvertOptions = {}) {
  const { filters, issues } = parseFilters(lines.join('\n'), 'synthetic.rules');
  if (issues.length) throw new Error(JSON.stringify(issues));
  const conv = convertFilters(filters, opts);
  return { filters, conv };
}

t.test('the linear scan gives the hand-worked first matches', async (t) => {
  const { filters } = setup(FILTERS);
  const tr = traceOf(HEADERS);
  t.same([...new LinearScan(filters).matchTrace(tr)], HEADERS.map((h) => h[5]));
});

t.test('native engine and reference evaluator agree with the hand-worked first matches (IR and YAML paths)', async (t) => {
  const { filters, conv } = setup(FILTERS, { maxRulesPerPolicy: 3 });
  t.equal(conv.policies.length, 3);
  const tr = traceOf(HEADERS);
  const paths = {
    ir: conversionCluster(conv, filters, 'synthetic.rules').cluster,
    yaml: loadConversionYaml(conversionYaml(conv, filters, 'synthetic.rules')).cluster,
  };
  for (const [name, cluster] of Object.entries(paths)) {
    const engine = NativeEngine.fromImage(compileCluster(cluster).image);
    for (const s of STRATEGIES) {
      const nat = checkNative(engine, conv, filters, tr, s);
      t.equal(nat.mismatches, 0, `${name}: native ${s}`, { mismatches: nat.firstMismatches });
      t.equal(nat.checked, HEADERS.length);
      t.equal(nat.noMatch, HEADERS.filter((h) => h[5] === 0).length);
      t.equal(nat.traceIdDiffers, 0);
    }
    const ref = checkReference(cluster, conv, filters, tr, 1000);
    t.equal(ref.mismatches, 0, `${name}: reference`, { mismatches: ref.firstMismatches });
    t.equal(ref.checked, HEADERS.length);
  }
  // The reference path also handles ingress-direction policies.
  const ing = setup(FILTERS, { maxRulesPerPolicy: 3, direction: 'Ingress' });
  const refIng = checkReference(conversionCluster(ing.conv, ing.filters).cluster, ing.conv, ing.filters, tr, 1000);
  t.equal(refIng.mismatches, 0, 'reference, ingress direction', { mismatches: refIng.firstMismatches });
});

t.test('a trace id that is not the true first match is counted, not a mismatch', async (t) => {
  const { filters, conv } = setup(FILTERS);
  const rows = HEADERS.map((h) => [...h] as (typeof HEADERS)[number]);
  rows[0]![5] = 4; // generated from filter 4, but filter 1 matches first
  const engine = NativeEngine.fromImage(compileCluster(conversionCluster(conv, filters).cluster).image);
  for (const s of STRATEGIES) {
    const r = checkNative(engine, conv, filters, traceOf(rows), s);
    t.equal(r.mismatches, 0);
    t.equal(r.traceIdDiffers, 1);
  }
});

t.test('an inexact filter (ports with any protocol) shows up as a mismatch', async (t) => {
  const { filters, conv } = setup(['@0.0.0.0/0 203.0.113.0/24 0 : 65535 53 : 53 0x00/0x00']);
  t.equal(conv.notes.length, 1);
  const tr = traceOf([
    ['1.1.1.1', '203.0.113.1', 9, 53, 17, 1],
    ['1.1.1.1', '203.0.113.1', 9, 53, 132, 1],
    ['1.1.1.1', '203.0.113.1', 9, 53, 47, 1], // GRE header with a "port": ClassBench matches, Calico cannot
  ]);
  const engine = NativeEngine.fromImage(compileCluster(conversionCluster(conv, filters).cluster).image);
  for (const s of STRATEGIES) {
    const r = checkNative(engine, conv, filters, tr, s);
    t.equal(r.mismatches, 1);
    t.match(r.firstMismatches[0], { index: 2, line: 3, proto: 47, expected: 1, got: 0 });
  }
});

t.test('ingress direction: the native engine reports no deciding rule for allowed transit flows', async (t) => {
  // Documents the engine behaviour the conversion's default (Egress) avoids.
  const ing = setup(FILTERS, { direction: 'Ingress' });
  const engine = NativeEngine.fromImage(compileCluster(conversionCluster(ing.conv, ing.filters).cluster).image);
  for (const s of STRATEGIES) {
    const r = checkNative(engine, ing.conv, ing.filters, traceOf(HEADERS), s);
    t.equal(r.mismatches, HEADERS.filter((h) => h[5] !== 0).length);
    t.ok(r.firstMismatches.every((m) => m.got === -1 && /verdict allow, deciding no deciding rule/.test(m.detail)));
  }
});

t.test('both conversion directions: engine records equal the reference evaluator\'s', async (t) => {
  // The direct transit path (ClassBench-shaped images) must report what the
  // generic path does, e.g. no deciding rule when the last evaluation has none.
  const toTuple = ([s, d, sport, dport, proto]: (typeof HEADERS)[number]): Tuple => {
    const tu: Tuple = { src: { family: 4, value: BigInt(ip(s)) }, dst: { family: 4, value: BigInt(ip(d)) }, proto };
    if (proto === 1) Object.assign(tu, { icmpType: sport, icmpCode: dport });
    else if ([6, 17, 132, 136].includes(proto)) Object.assign(tu, { sport, dport });
    return tu;
  };
  for (const direction of ['Ingress', 'Egress'] as const) {
    const { filters, conv } = setup(FILTERS, { direction });
    const model = new ResolvedCluster(conversionCluster(conv, filters).cluster);
    const d = differential(model, HEADERS.map(toTuple));
    for (const m of d.mismatches.slice(0, 3)) t.comment(`${direction} [${m.strategy}]: reference ${m.reference} native ${m.native}`);
    t.equal(d.mismatches.length, 0, `${direction}: ${HEADERS.length} headers, every strategy, engine == reference`);
  }
});

t.test('quick throughput returns sane numbers', async (t) => {
  const { filters, conv } = setup(FILTERS);
  const engine = NativeEngine.fromImage(compileCluster(conversionCluster(conv, filters).cluster).image);
  const q = quickThroughput(engine, traceOf(HEADERS), { batch: 64, repetitions: 3, repMs: 5, strategy: 'linear' });
  t.equal(q.batch, 64);
  t.equal(q.strategy, 'linear');
  t.ok(q.tuplesPerSecond > 0 && Number.isFinite(q.nsPerTuple));
  t.ok(q.minTuplesPerSecond <= q.tuplesPerSecond && q.tuplesPerSecond <= q.maxTuplesPerSecond);
});
