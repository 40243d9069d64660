/**
 * Question: how much work does the engine do per tuple, independent of how busy
 * the (shared, noisy) machine is? Counts instructions and simulated branch
 * mispredictions per tuple with valgrind's cachegrind on the native driver
 * (bench/native/driver.cc), per engine function, for one scenario and strategy.
 *   npx tsx bench/instructions.ts calico:10000:10000 [linear|decision] [reps=20]
 * Needs g++ and valgrind (apt-get install valgrind). Image loading and file
 * reading are excluded (only functions of native/src/classify.cc count, minus
 * its load-time build* functions).
 * Wall time under valgrind means nothing; use bench/classify.ts for time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedScenario, TUPLES } from './scenario-cache.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const scenario = process.argv[2] ?? 'calico:10000:10000';
const strategy = process.argv[3] ?? 'linear';
const reps = Number(process.argv[4] ?? '20');
const code = { linear: 0, decision: 1 }[strategy as 'linear' | 'decision'];
if (code === undefined) throw new Error(`strategy: linear or decision, not ${strategy}`);

const files = await cachedScenario(scenario);
const work = mkdtempSync(join(tmpdir(), 'nv-instr-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const bin = join(work, 'driver');
const srcs = ['image.cc', 'classify.cc', 'crc32c.cc', 'layout.cc', 'rfc.cc', 'simd.cc'].map((f) => join(root, 'native/src', f));
const cc = spawnSync('g++', ['-std=c++17', '-O3', '-g', `-I${join(root, 'native/include')}`, '-o', bin, join(root, 'bench/native/driver.cc'), ...srcs], { encoding: 'utf8' });
if (cc.status !== 0) throw new Error(`g++ failed:\n${cc.stderr}`);
const out = join(work, 'cg.out');
const vg = spawnSync('valgrind', ['--tool=cachegrind', '--branch-sim=yes', '--cache-sim=no', `--cachegrind-out-file=${out}`, bin, files.image, files.tuples, String(reps), String(code)], { encoding: 'utf8' });
if (vg.status !== 0) throw new Error(`valgrind failed (apt-get install valgrind?):\n${vg.stderr.slice(-800)}`);
const driver = JSON.parse(vg.stdout.trim().split('\n').pop()!);
// --threshold=0: every classify.cc function, however small (file reading dominates the totals).
const ann = spawnSync('cg_annotate', ['--threshold=0', out], { encoding: 'utf8', maxBuffer: 1 << 26 });
const tuples = TUPLES * reps;
const rows: { fn: string; ir: number; bcm: number }[] = [];
for (const line of ann.stdout.split('\n')) {
  const m = /^\s*([\d,]+)\s.*?\)\s+([\d,]+)\s.*?\)\s+([\d,]+)\s.*?native\/src\/classify\.cc:(.+)$/.exec(line);
  if (!m) continue;
  // Name without return type, namespace or arguments; template arguments kept (evaluate<false>).
  const fn = /([\w~]+(?:<[^>]*>)?)\(/.exec(m[4]!)?.[1] ?? m[4]!;
  // Load-time work that lives in classify.cc (the derived paths and flat programs) is not per tuple.
  if (fn.startsWith('build') || fn === 'listOnlyClasses') continue;
  const ir = Number(m[1]!.replace(/,/g, '')), bcm = Number(m[3]!.replace(/,/g, ''));
  const row = rows.find((r) => r.fn === fn);
  if (row) { row.ir += ir; row.bcm += bcm; } else rows.push({ fn, ir, bcm });
}
const total = rows.reduce((a, r) => ({ ir: a.ir + r.ir, bcm: a.bcm + r.bcm }), { ir: 0, bcm: 0 });
console.log(JSON.stringify({
  scenario,
  strategy,
  tuples,
  rulesVisited: driver.rulesVisited,
  instructionsPerTuple: +(total.ir / tuples).toFixed(0),
  mispredictsPerTuple: +(total.bcm / tuples).toFixed(2),
  byFunction: Object.fromEntries(rows.sort((a, b) => b.ir - a.ir).map((r) => [r.fn, { ir: +(r.ir / tuples).toFixed(0), bcm: +(r.bcm / tuples).toFixed(2) }])),
}));
