/**
 * Profiling harness (not a benchmark): compiles a scenario once into a cached image
 * and tuples (bench/scenario-cache.ts), then classifies batch 4096 with one strategy for N seconds.
 *   npx tsx bench/hot.ts calico:10000:10000 linear 10 [events]
 * `events` also asks for the trace events (stride = the image's traceBound, at most 254).
 */
import { readFileSync } from 'node:fs';
import { NativeEngine, type Strategy } from '../src/native/index.js';
import { cachedScenario, TUPLES } from './scenario-cache.js';

const scenario = process.argv[2] ?? 'calico:10000:10000';
const strategy = (process.argv[3] ?? 'linear') as Strategy;
const seconds = Number(process.argv[4] ?? '10');
const withEvents = process.argv[5] === 'events';
const files = await cachedScenario(scenario);
const engine = NativeEngine.fromImage(readFileSync(files.image));
const raw = readFileSync(files.tuples);
const n = TUPLES;
const buf = new Uint8Array(raw.length);
buf.set(raw);
const src = new Uint32Array(buf.buffer, 0, n), dst = new Uint32Array(buf.buffer, 4 * n, n);
const sport = new Uint16Array(buf.buffer, 8 * n, n), dport = new Uint16Array(buf.buffer, 10 * n, n), proto = new Uint8Array(buf.buffer, 12 * n, n);
const stride = Math.max(1, Math.min(engine.info().traceBound ?? 1, 254));
const out = {
  verdict: new Uint8Array(n),
  decidingRule: new Uint32Array(n),
  ...(withEvents ? { events: new Uint32Array(n * stride), eventCount: new Uint8Array(n), eventStride: stride } : {}),
};
const t0 = Date.now();
const c0 = process.cpuUsage();
let reps = 0;
while (Date.now() - t0 < seconds * 1000) {
  for (let i = 0; i < 100; i++) engine.classifyBatch(4, src, dst, sport, dport, proto, out, strategy);
  reps += 100;
}
const ns = ((Date.now() - t0) * 1e6) / (reps * n);
// CPU time of this process (user + system), less sensitive than wall time to being descheduled on a shared machine.
const cpu = process.cpuUsage(c0);
const cpuNs = ((cpu.user + cpu.system) * 1e3) / (reps * n);
console.log(JSON.stringify({ scenario, strategy, ...(withEvents ? { events: stride } : {}), nsPerTuple: +ns.toFixed(1), mtps: +(1000 / ns).toFixed(2), cpuNsPerTuple: +cpuNs.toFixed(1) }));
