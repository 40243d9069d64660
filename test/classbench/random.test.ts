/**
 * Seeded random ClassBench-style filter sets (overlapping prefixes, port
 * ranges, protocols), self-contained (no ../shared): filters → Calico
 * resources → image → native engine, every strategy, against the linear
 * first-match scan on every header, and the reference evaluator on a sample.
 * The sets are large enough (≥ 64 rules per tier block) for the decision
 * strategy's derived trees, so exact leaf boxes, the batch loop's lockstep
 * descent and the tree leaves are all compared here — also with one tree per
 * block however small (NV_DTREE_MIN_RULES=1), with grouped multi-root trees
 * (NV_DTREE_GROUPS=1), with the trie off (NV_LPM=search), and with the
 * trees' root cut tables off (NV_DTREE_CUT=0: one cell per root) or cut more
 * finely (NV_DTREE_CUT=64: up to 64 rule copies per rule), with 32-bit leaf
 * lists (NV_DTREE_LEAVES32=1; 16-bit in blocks of at most 65,536 rules), and with the
 * batch fast transit path (Engine::classifyFastTransit, taken by the decision
 * strategy on such images) off (NV_FAST_TRANSIT=0): its scalar twin, the
 * general path, must give every output identically. Blocks that are 5-tuple
 * ACLs get RFC tables (Engine::Rfc) by default; NV_RFC=0 keeps the trees alone,
 * NV_RFC_MB=1 leaves the tables to blocks that fit in 1 MiB, and
 * NV_RFC_APART=5 checks every 5th rule apart (up to 32) with the rule test.
 * The fast path's tree stages run on AVX-512 where the CPU has it; NV_SIMD=0
 * gives their scalar twin, and NV_DTREE_INEXACT=3 sends every 3rd rule of a
 * leaf to the full rule test (the path of rules that are not exact boxes).
 */
import t from 'tap';
import { parseFilters, parseTrace, type Trace } from '../../src/classbench/parse.js';
import { convertFilters } from '../../src/classbench/convert.js';
import { conversionCluster } from '../../src/classbench/model.js';
import { checkNative, checkReference } from '../../src/classbench/check.js';
import { compileCluster } from '../../src/compile/index.js';
import { NativeEngine, type Strategy } from '../../src/native/index.js';
import { rng, randomSet, type Box } from './random-set.js';

// Headers at and around filter corners (inside, just outside), plus noise.
function randomTrace(seed: number, boxes: Box[], n: number): Trace {
  const r = rng(seed);
  const pickIn = ([lo, hi]: [number, number]): number => {
    const k = r();
    if (k < 0.25) return lo;
    if (k < 0.5) return hi;
    if (k < 0.6) return lo > 0 ? lo - 1 : lo;
    if (k < 0.7) return hi < 0xffffffff ? hi + 1 : hi;
    return lo + Math.floor(r() * (hi - lo + 1));
  };
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = boxes[Math.floor(r() * boxes.length)]!;
    const noise = r() < 0.1;
    const src = noise ? Math.floor(r() * 0xffffffff) : pickIn(b.s);
    const dst = noise ? Math.floor(r() * 0xffffffff) : pickIn(b.d);
    const proto = b.proto >= 0 && r() < 0.9 ? b.proto : [6, 17, 1, 47][Math.floor(r() * 4)]!;
    const sp = Math.min(65535, pickIn(b.sp));
    const dp = Math.min(65535, pickIn(b.dp));
    rows.push(`${src >>> 0}\t${dst >>> 0}\t${sp}\t${dp}\t${proto}\t0`);
  }
  const p = parseTrace(rows.join('\n'), 'random.trace');
  if (p.issues.length) throw new Error(JSON.stringify(p.issues.slice(0, 3)));
  return p.trace;
}

const STRATEGIES: Strategy[] = ['decision', 'linear', 'decision-bitmaps'];
const ENVS: { name: string; env: Record<string, string> }[] = [
  { name: 'default', env: {} },
  { name: 'NV_DTREE_MIN_RULES=1', env: { NV_DTREE_MIN_RULES: '1' } },
  { name: 'NV_DTREE_GROUPS=1', env: { NV_DTREE_GROUPS: '1' } },
  { name: 'NV_LPM=search', env: { NV_LPM: 'search' } },
  { name: 'NV_DTREE_CUT=0', env: { NV_DTREE_CUT: '0' } },
  { name: 'NV_DTREE_CUT=64', env: { NV_DTREE_CUT: '64' } },
  { name: 'NV_DTREE_LEAVES32=1', env: { NV_DTREE_LEAVES32: '1' } },
  { name: 'NV_FAST_TRANSIT=0', env: { NV_FAST_TRANSIT: '0' } },
  { name: 'NV_DTREE_GROUPS=1 NV_FAST_TRANSIT=0', env: { NV_DTREE_GROUPS: '1', NV_FAST_TRANSIT: '0' } },
  { name: 'NV_RFC=0', env: { NV_RFC: '0' } },
  { name: 'NV_RFC=0 NV_FAST_TRANSIT=0', env: { NV_RFC: '0', NV_FAST_TRANSIT: '0' } },
  { name: 'NV_RFC_MB=1', env: { NV_RFC_MB: '1' } },
  { name: 'NV_RFC_APART=5', env: { NV_RFC_APART: '5' } },
  { name: 'NV_RFC_APART=5 NV_FAST_TRANSIT=0', env: { NV_RFC_APART: '5', NV_FAST_TRANSIT: '0' } },
];

// rfc: whether the block gets RFC tables (seed 2's are over the build budget:
// trees only).
for (const [seed, n, perPolicy, rfc] of [
  [1, 300, 1024, true],
  [2, 700, 1024, false],
  [3, 500, 90, true],
] as const) {
  t.test(`seed ${seed}: ${n} random filters (${perPolicy} rules per policy)`, async (t) => {
    const { lines, boxes } = randomSet(seed, n);
    const { filters, issues } = parseFilters(lines.join('\n'), 'random.rules');
    t.equal(issues.length, 0, 'filters parse');
    const conv = convertFilters(filters, { maxRulesPerPolicy: perPolicy });
    t.equal(conv.notes.length, 0, 'every filter expressed exactly');
    const cluster = conversionCluster(conv, filters, 'random.rules').cluster;
    const image = compileCluster(cluster).image;
    const trace = randomTrace(seed * 31, boxes, 20_000);
    for (const { name, env } of ENVS) {
      for (const [k, v] of Object.entries(env)) process.env[k] = v;
      const engine = NativeEngine.fromImage(image);
      for (const k of Object.keys(env)) delete process.env[k];
      if (name === 'default') t.equal(engine.info().rfcCount > 0, rfc, `RFC tables ${rfc ? '' : 'not '}built (${engine.info().rfcCount}, ${engine.info().rfcBytes} bytes)`);
      if (env.NV_RFC === '0') t.equal(engine.info().rfcCount, 0, 'no RFC tables with NV_RFC=0');
      for (const s of STRATEGIES) {
        const r = checkNative(engine, conv, filters, trace, s);
        t.equal(r.mismatches, 0, `${name}, ${s}: native == linear first-match scan on ${r.checked} headers`, { mismatches: r.firstMismatches });
      }
    }
    // Events off, such an image takes evaluate()'s direct transit path
    // (Engine::buildTransitPath); events on, the generic path: every output equal.
    {
      const engine = NativeEngine.fromImage(image);
      const K = Math.min(engine.info().traceBound, 254);
      const n = trace.length;
      const outs = () => ({ verdict: new Uint8Array(n), reason: new Uint8Array(n), egressRule: new Uint32Array(n), ingressRule: new Uint32Array(n), decidingRule: new Uint32Array(n), evalReasons: new Uint32Array(n), natBackend: new Uint32Array(n), rulesVisited: new Uint32Array(n) });
      for (const s of STRATEGIES) {
        const direct = outs();
        const generic = { ...outs(), events: new Uint32Array(n * K), eventCount: new Uint8Array(n), eventStride: K };
        engine.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, direct, s);
        engine.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, generic, s);
        let differ = 0;
        for (const k of Object.keys(direct) as (keyof typeof direct)[]) {
          for (let i = 0; i < n; i++) if (direct[k][i] !== generic[k][i]) differ++;
        }
        t.equal(differ, 0, `${s}: events off (direct transit path) == events on (generic path), every output`);
      }
      // The batch fast transit path (decision, events off) against its twin,
      // the general path (NV_FAST_TRANSIT=0): RFC tables where built, with
      // rules checked apart, single- and multi-root trees.
      // Tree stages run on AVX-512 where the CPU has it, else on AVX2
      // (native/src/simd.cc): 'avx2' variants force the AVX2 form
      // (NV_SIMD=avx2), 'scalar' ones their scalar twin (NV_SIMD=0), 'inexact'
      // ones send every 3rd rule to the full rule test in the leaf scans.
      for (const variant of ['rfc', 'apart', 'tree', 'groups', 'avx2', 'avx2-groups', 'scalar', 'scalar-groups', 'inexact', 'inexact-avx2', 'inexact-scalar'] as const) {
        const env: Record<string, string> = {
          apart: { NV_RFC_APART: '5' },
          tree: { NV_RFC: '0' },
          groups: { NV_RFC: '0', NV_DTREE_GROUPS: '1' },
          avx2: { NV_RFC: '0', NV_SIMD: 'avx2' },
          'avx2-groups': { NV_RFC: '0', NV_DTREE_GROUPS: '1', NV_SIMD: 'avx2' },
          'inexact-avx2': { NV_RFC: '0', NV_DTREE_GROUPS: '1', NV_DTREE_INEXACT: '3', NV_SIMD: 'avx2' },
          scalar: { NV_RFC: '0', NV_SIMD: '0' },
          'scalar-groups': { NV_RFC: '0', NV_DTREE_GROUPS: '1', NV_SIMD: '0' },
          inexact: { NV_RFC: '0', NV_DTREE_GROUPS: '1', NV_DTREE_INEXACT: '3' },
          'inexact-scalar': { NV_RFC: '0', NV_DTREE_GROUPS: '1', NV_DTREE_INEXACT: '3', NV_SIMD: '0' },
          rfc: {},
        }[variant];
        for (const [k, v] of Object.entries(env)) process.env[k] = v;
        const fast = NativeEngine.fromImage(image);
        process.env.NV_FAST_TRANSIT = '0';
        const twin = NativeEngine.fromImage(image);
        for (const k of [...Object.keys(env), 'NV_FAST_TRANSIT']) delete process.env[k];
        t.ok(fast.info().fastTransit && !twin.info().fastTransit, 'the fast path is taken, and off in the twin');
        if (env.NV_SIMD === '0') t.equal(fast.info().simdForm, 'scalar', 'NV_SIMD=0: the scalar tree stages');
        if (env.NV_SIMD === 'avx2') t.not(fast.info().simdForm, 'avx512', 'NV_SIMD=avx2: not the AVX-512 stages');
        const a = outs(), b = outs();
        fast.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, a, 'decision');
        twin.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, b, 'decision');
        let differ = 0;
        for (const k of Object.keys(a) as (keyof typeof a)[]) {
          for (let i = 0; i < n; i++) if (a[k][i] !== b[k][i]) differ++;
        }
        t.equal(differ, 0, `fast transit path == general path (NV_FAST_TRANSIT=0), ${variant}, every output of ${n} headers`);
        // Single tuples (classifyV4One, classifyOne) take the fast path too: the same outputs.
        let single = 0;
        for (let i = 0; i < n; i += 7) {
          const want = [a.verdict[i], a.reason[i], a.egressRule[i], a.ingressRule[i], a.decidingRule[i], a.evalReasons[i], a.natBackend[i], a.rulesVisited[i]];
          const v = fast.classifyV4One(trace.src[i]!, trace.dst[i]!, trace.proto[i]!, trace.sport[i]!, trace.dport[i]!);
          if (v !== (want[0] === 1) || JSON.stringify([...fast.result]) !== JSON.stringify(want)) single++;
        }
        t.equal(single, 0, `single tuples on the fast path == batch outputs, ${variant}`);
      }
    }
    const ref = checkReference(cluster, conv, filters, trace, 1500);
    t.equal(ref.mismatches, 0, 'reference evaluator == linear first-match scan (sample)', { mismatches: ref.firstMismatches });
    t.ok(ref.checked >= 1000);
  });
}
