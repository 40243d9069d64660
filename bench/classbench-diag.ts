/**
 * ClassBench diagnostics (not a benchmark): mean candidates given a full check per
 * header (rulesVisited) for each strategy, and a quick throughput, for one rule set.
 *   npx tsx bench/classbench-diag.ts ../shared/classbench/wustl/acl1_10K
 * NV_DTREE_MIN_RULES (read at engine load) moves the decision-tree threshold.
 */
import { readFileSync } from 'node:fs';
import { compileCluster } from '../src/compile/index.js';
import { NativeEngine, type Strategy } from '../src/native/index.js';
import { parseFilters, parseTrace } from '../src/classbench/parse.js';
import { convertFilters } from '../src/classbench/convert.js';
import { conversionCluster } from '../src/classbench/model.js';

const path = process.argv[2]!;
const filters = parseFilters(readFileSync(path, 'utf8'), path).filters;
const trace = parseTrace(readFileSync(`${path}_trace`, 'utf8'), `${path}_trace`).trace;
const conv = convertFilters(filters, { maxRulesPerPolicy: 1024, direction: 'Egress', source: path });
const compiled = compileCluster(conversionCluster(conv, filters, path).cluster);
const t0 = performance.now();
const engine = NativeEngine.fromImage(compiled.image);
const loadMs = performance.now() - t0;
const n = trace.length;
const line: string[] = [`${path}: load ${loadMs.toFixed(0)} ms`];
for (const s of ['decision', 'decision-bitmaps', 'linear'] as Strategy[]) {
  const out = { verdict: new Uint8Array(n), decidingRule: new Uint32Array(n), rulesVisited: new Uint32Array(n) };
  try {
    engine.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, out, s);
  } catch {
    continue;
  }
  let sum = 0, max = 0;
  for (const v of out.rulesVisited) { sum += v; if (v > max) max = v; }
  const t1 = performance.now();
  let reps = 0;
  while (performance.now() - t1 < 500) { engine.classifyBatch(4, trace.src, trace.dst, trace.sport, trace.dport, trace.proto, out, s); reps++; }
  const mts = (reps * n) / ((performance.now() - t1) / 1000) / 1e6;
  line.push(`${s}: mean candidates ${(sum / n).toFixed(2)} (max ${max}), ${mts.toFixed(2)} Mt/s`);
}
console.log(line.join('\n  '));
