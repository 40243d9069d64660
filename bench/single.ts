/**
 * Single-tuple latency (`classifyV4One` on plain numbers), one strategy per
 * process: bench/classify.ts runs this once per strategy in a fresh process,
 * because a second engine in the same process makes the call site of the
 * engine's fast function polymorphic (V8), which measured 20–50 ns more per
 * call for whichever strategy ran second (docs/BENCHMARKS.md round 8).
 *   npx tsx bench/single.ts IMAGE TUPLES linear|decision
 * TUPLES: src u32[n], dst u32[n], sport u16[n], dport u16[n], proto u8[n]
 * (bench/scenario-cache.ts's layout). Prints {mean, p50, p99} in ns per call.
 * Method: mean over 5 rounds of 200k calls (median round, after one warm-up
 * round); latency distribution from blocks of 16 calls timed with hrtime (a
 * clock read costs ~20–40 ns, too much per call): per-call time = block / 16,
 * p50/p99 over 20,000 blocks. Calls in a block are independent, so this is the
 * per-call cost as an application sees it in a loop, not an isolated call.
 */
import { readFileSync } from 'node:fs';
import { NativeEngine, type Strategy } from '../src/native/index.js';

export interface SingleResult {
  mean: number;
  p50: number;
  p99: number;
}

export function singleRun(image: Uint8Array, tuples: Uint8Array, strategy: Strategy): SingleResult {
  const n = tuples.length / 13;
  if (!Number.isInteger(n) || n === 0) throw new Error(`tuple file of ${tuples.length} bytes: not 13 bytes per tuple`);
  const buf = new Uint8Array(tuples.length);
  buf.set(tuples);
  const src = new Uint32Array(buf.buffer, 0, n), dst = new Uint32Array(buf.buffer, 4 * n, n);
  const sport = new Uint16Array(buf.buffer, 8 * n, n), dport = new Uint16Array(buf.buffer, 10 * n, n);
  const proto = new Uint8Array(buf.buffer, 12 * n, n);
  const e = NativeEngine.fromImage(image, { strategy });
  const now = (): number => Number(process.hrtime.bigint()) / 1e6;
  const CALLS = 200_000;
  const rounds: number[] = [];
  for (let k = 0; k < 6; k++) {
    const s = now();
    for (let i = 0; i < CALLS; i++) {
      const j = i % n;
      e.classifyV4One(src[j]!, dst[j]!, proto[j]!, sport[j]!, dport[j]!);
    }
    if (k > 0) rounds.push(((now() - s) * 1e6) / CALLS);
  }
  rounds.sort((x, y) => x - y);
  const B = 16, BLOCKS = 20_000;
  const per = new Float64Array(BLOCKS);
  let j = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const s = process.hrtime.bigint();
    for (let k = 0; k < B; k++, j = j + 1 === n ? 0 : j + 1) e.classifyV4One(src[j]!, dst[j]!, proto[j]!, sport[j]!, dport[j]!);
    per[b] = Number(process.hrtime.bigint() - s) / B;
  }
  per.sort();
  return { mean: rounds[2]!, p50: per[BLOCKS >> 1]!, p99: per[Math.floor(BLOCKS * 0.99)]! };
}

if (process.argv[1]?.endsWith('single.ts')) {
  const [image, tuples, strategy] = process.argv.slice(2);
  if (!image || !tuples || (strategy !== 'linear' && strategy !== 'decision')) {
    console.error('usage: npx tsx bench/single.ts IMAGE TUPLES linear|decision');
    process.exit(2);
  }
  console.log(JSON.stringify(singleRun(readFileSync(image), readFileSync(tuples), strategy)));
}
