/**
 * Question: how fast does the native engine classify IPv4 tuples, per
 * strategy (linear = Calico's rule-by-rule cost model, decision = per-tier
 * field bitmaps), as rules and pods grow — and what do compile time and image
 * size cost?
 *
 * One scenario per process (fresh heap and caches):
 *   npx tsx bench/classify.ts <scenario>      scenario: founding | calico:<rules>:<pods>[@<node>] | classbench:<set>
 *   (bench/scenarios.ts: @node-1 = that node's data path only, as Calico programs it;
 *   classbench:acl1_1K = ../shared/classbench/wustl/acl1_1K and its trace, or a path)
 * Prints one JSON line and writes it to bench/results/<scenario>.json.
 * Method: tuples from the differential-test generator (endpoint, host,
 * network-set and service addresses, rule ports, odd protocols; for a node
 * scenario one side is the node's workload), IPv4 only, one batch of 4,096 repeated — or, for ClassBench, the whole trace in batches;
 * batch 4096: 5 timed rounds (each ≥ 0.3 s) after warm-up, median and
 * min/max reported; where the engine has program masks or node lanes, also the
 * same image without them (the batch loop and the walk) in the same run,
 * alternating, as decisionVsBatchLoop; batch 1: `classifyV4One` on plain numbers over the same
 * tuples, in a fresh process per strategy (bench/single.ts: mean per call over
 * 5 rounds of 200k calls, median round; p50/p99 from blocks of 16 calls).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, tmpdir } from 'node:os';
import { compileImage } from '../src/compile/index.js';
import { NativeEngine, type Strategy } from '../src/native/index.js';
import { ResolvedCluster } from '../src/resolve/index.js';
import { loadScenario, root, scenarioTuples, type V4Columns } from './scenarios.js';
import type { SingleResult } from './single.js';

const scenario = process.argv[2] ?? 'founding';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const { cluster: c, rules, pods, node, trace } = await loadScenario(scenario);
const model = new ResolvedCluster(c, node !== undefined ? { node } : {});
const t0 = now();
const compiled = compileImage(model);
const compileMs = now() - t0;
// Engine load: verification plus the derived indexes (trie, rule copies, protocol lists, trees).
// Engine memory: what the engine holds (engine.info().memoryBytes: the image copy plus the
// derived indexes). The resident growth over the load was the measure until the tables moved to
// huge-page mappings and the compile's garbage started being collected during the load.
const l0 = now();
const engine = NativeEngine.fromImage(compiled.image);
const loadMs = now() - l0;
const engineBytes = engine.info().memoryBytes;

const BATCH = 4096;
// Tuples: a ClassBench trace (all of it, whole batches of 4,096), else 4,096
// generated IPv4 tuples (one batch, repeated).
let all: V4Columns;
if (trace) {
  const { traceColumns } = await import('../src/classbench/parse.js');
  all = traceColumns(trace, Math.max(BATCH, Math.floor(trace.length / BATCH) * BATCH));
} else {
  all = scenarioTuples(model, BATCH);
}
const total = all.src.length;
const chunks = Array.from({ length: total / BATCH }, (_, k) => ({
  src: all.src.subarray(k * BATCH, (k + 1) * BATCH),
  dst: all.dst.subarray(k * BATCH, (k + 1) * BATCH),
  sport: all.sport.subarray(k * BATCH, (k + 1) * BATCH),
  dport: all.dport.subarray(k * BATCH, (k + 1) * BATCH),
  proto: all.proto.subarray(k * BATCH, (k + 1) * BATCH),
}));
const a = all;
const n = total;
const out = { verdict: new Uint8Array(BATCH), decidingRule: new Uint32Array(BATCH), egressRule: new Uint32Array(BATCH), ingressRule: new Uint32Array(BATCH), rulesVisited: new Uint32Array(BATCH) };
// One pass over every batch; the work count summed only when asked (outside
// the timed passes: at ~10 ns per tuple the JS summation would be timed too).
const pass = (strategy: Strategy, count = false, eng: NativeEngine = engine): number => {
  let visited = 0;
  for (const ch of chunks) {
    eng.classifyBatch(4, ch.src, ch.dst, ch.sport, ch.dport, ch.proto, out, strategy);
    if (count) for (let i = 0; i < out.rulesVisited.length; i++) visited += out.rulesVisited[i]!;
  }
  return visited;
};

function batchRun(strategy: Strategy, eng: NativeEngine = engine): { nsPerTuple: number; min: number; max: number; rulesVisited: number } {
  for (let i = 0; i < 20; i++) pass(strategy, false, eng);
  let reps = 1;
  for (;;) {
    const s = now();
    for (let i = 0; i < reps; i++) pass(strategy, false, eng);
    if (now() - s > 300) break;
    reps *= 2;
  }
  const rounds: number[] = [];
  for (let k = 0; k < 5; k++) {
    const s = now();
    for (let i = 0; i < reps; i++) pass(strategy, false, eng);
    rounds.push(((now() - s) * 1e6) / (reps * n));
  }
  rounds.sort((x, y) => x - y);
  return { nsPerTuple: rounds[2]!, min: rounds[0]!, max: rounds[4]!, rulesVisited: pass(strategy, true, eng) / n };
}

// Single-tuple latency in a fresh process per strategy (bench/single.ts says why).
const singleDir = mkdtempSync(join(tmpdir(), 'nv-single-'));
process.on('exit', () => rmSync(singleDir, { recursive: true, force: true }));
writeFileSync(join(singleDir, 'image.nvt'), compiled.image);
writeFileSync(join(singleDir, 'tuples'), Buffer.concat([a.src, a.dst, a.sport, a.dport, a.proto].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
function singleRun(strategy: Strategy): SingleResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/single.ts'), join(singleDir, 'image.nvt'), join(singleDir, 'tuples'), strategy], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/single.ts failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SingleResult;
}

const result: Record<string, unknown> = {
  scenario,
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? '?'} x${cpus().length}`,
  rules,
  pods,
  node,
  identities: compiled.stats.identities,
  addrSets: compiled.stats.addrSets,
  programs: compiled.stats.programs,
  tierBlocks: compiled.stats.tierBlocks,
  compileMs: Math.round(compileMs),
  loadMs: Math.round(loadMs),
  imageBytes: compiled.image.length,
  engineMiB: +(engineBytes / 2 ** 20).toFixed(1),
  // Load-time work budget (FORMAT.md §6): worst program's work vs the cap.
  maxProgramWork: engine.info().maxProgramWork,
  workCap: engine.info().workCap,
  // Which form the fast transit path's tree stages run in (avx512 / avx2 / scalar; NV_SIMD).
  simdForm: engine.info().simdForm,
};
// BENCH_STRATEGIES=decision (comma list) limits the strategies (linear on 10K ClassBench sets takes minutes).
const strategies = (process.env.BENCH_STRATEGIES ?? 'linear,decision').split(',') as ('linear' | 'decision')[];
for (const strategy of strategies) {
  const b = batchRun(strategy);
  const one = singleRun(strategy);
  result[strategy] = {
    batch4096: { nsPerTuple: +b.nsPerTuple.toFixed(1), mtps: +(1000 / b.nsPerTuple).toFixed(2), minNs: +b.min.toFixed(1), maxNs: +b.max.toFixed(1) },
    batch1: { nsPerCall: +one.mean.toFixed(1), mtps: +(1000 / one.mean).toFixed(2), p50Ns: +one.p50.toFixed(1), p99Ns: +one.p99.toFixed(1) },
    rulesVisited: +b.rulesVisited.toFixed(1),
  };
}
// Where the engine derived program masks or takes the node lane path (IPv4
// decision batches; docs/BENCHMARKS.md round 14), the same image loaded
// without them (NV_PMASK=0 NV_NODE_LANES=0 NV_NAT_CLASSES=0: the batch loop
// and the walk) in this run, alternating with the default, for the ratio;
// both must give the same verdicts and deciding rules.
const info = engine.info();
if (strategies.includes('decision') && !trace && (info.pmCount > 0 || info.nodeLanes)) {
  const off = { NV_PMASK: '0', NV_NODE_LANES: '0', NV_NAT_CLASSES: '0' };
  for (const [k, v] of Object.entries(off)) process.env[k] = v;
  const base = NativeEngine.fromImage(compiled.image);
  for (const k of Object.keys(off)) delete process.env[k];
  const check = (e: NativeEngine) => {
    const o = { verdict: new Uint8Array(n), decidingRule: new Uint32Array(n) };
    e.classifyBatch(4, a.src, a.dst, a.sport, a.dport, a.proto, o, 'decision');
    return o;
  };
  const x = check(engine), y = check(base);
  for (let i = 0; i < n; i++) {
    if (x.verdict[i] !== y.verdict[i] || x.decidingRule[i] !== y.decidingRule[i]) throw new Error(`tuple ${i}: lanes/masks and the batch loop disagree`);
  }
  const with_: number[] = [], without: number[] = [];
  for (let r = 0; r < 3; r++) {
    with_.push(batchRun('decision').nsPerTuple);
    without.push(batchRun('decision', base).nsPerTuple);
  }
  const med = (v: number[]): number => [...v].sort((p, q) => p - q)[1]!;
  result.decisionVsBatchLoop = {
    pmCount: info.pmCount,
    nodeLanes: info.nodeLanes,
    nsPerTuple: +med(with_).toFixed(1),
    baselineNsPerTuple: +med(without).toFixed(1),
    speedup: +(med(without) / med(with_)).toFixed(2),
  };
}
// Peak resident memory of the whole run (cluster generation and compile included).
result.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, `bench/results/${scenario.replace(/:/g, '-')}.json`), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
