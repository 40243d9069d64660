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
 * finely (NV_DTREE_CUT=64: up to 64 rule copies per rule).
 */
import t from 'tap';
import { parseFilters, parseTrace, type Trace } from '../../src/classbench/parse.js';
import { convertFilters } from '../../src/classbench/convert.js';
import { conversionCluster } from '../../src/classbench/model.js';
import { checkNative, checkReference } from '../../src/classbench/check.js';
import { compileCluster } from '../../src/compile/index.js';
import { NativeEngine, type Strategy } from '../../src/native/index.js';

function rng(seed: number): () => number {
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

const quad = (x: number): string => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.');
const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

interface Box {
  s: [number, number];
  d: [number, number];
  sp: [number, number];
  dp: [number, number];
  proto: number; // -1: any
}

function randomSet(seed: number, n: number): { lines: string[]; boxes: Box[] } {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  // A small pool of base prefixes so filters overlap and nest.
  const bases = Array.from({ length: 12 }, () => (Math.floor(r() * 0xffffffff) & 0xffff0000) >>> 0);
  const prefix = (): [number, number, number] => {
    const len = pick([0, 8, 16, 16, 20, 24, 24, 28, 32, 32]);
    const base = (pick(bases) | Math.floor(r() * 0xffff)) >>> 0;
    const lo = (base & mask(len)) >>> 0;
    return [lo, (lo | ~mask(len)) >>> 0, len];
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
    lines.push(`@${quad(sLo)}/${sLen}\t${quad(dLo)}/${dLen}\t${sp[0]} : ${sp[1]}\t${dp[0]} : ${dp[1]}\t${pr}`);
    boxes.push({ s: [sLo, sHi], d: [dLo, dHi], sp, dp, proto });
  }
  return { lines, boxes };
}

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
];

for (const [seed, n, perPolicy] of [
  [1, 300, 1024],
  [2, 700, 1024],
  [3, 500, 90],
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
    }
    const ref = checkReference(cluster, conv, filters, trace, 1500);
    t.equal(ref.mismatches, 0, 'reference evaluator == linear first-match scan (sample)', { mismatches: ref.firstMismatches });
    t.ok(ref.checked >= 1000);
  });
}
