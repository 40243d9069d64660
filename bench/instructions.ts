/**
 * Question: how much work does the engine do per tuple, independent of how busy
 * the (shared, noisy) machine is? Counts instructions and simulated branch
 * mispredictions per tuple with valgrind's cachegrind on the native driver
 * (bench/native/driver.cc), per engine function, for one scenario and strategy.
 *   npx tsx bench/instructions.ts calico:10000:10000 [linear|decision] [reps=20]
 * Needs g++ and valgrind (apt-get install valgrind). The totals per tuple are
 * the difference of two runs (reps and 1 rep), so image loading and file
 * reading cancel out and code inlined from headers counts; the breakdown by
 * function lists the engine's own files (classify.cc, engine.h, simd.cc;
 * load-time build* functions left out). Valgrind's CPU has no AVX-512, so
 * this measures the scalar forms.
 * Wall time under valgrind means nothing; use bench/classify.ts for time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const srcs = ['image.cc', 'classify.cc', 'crc32c.cc', 'layout.cc', 'rfc.cc', 'pmask.cc', 'simd.cc'].map((f) => join(root, 'native/src', f));
const cc = spawnSync('g++', ['-std=c++17', '-O3', '-g', `-I${join(root, 'native/include')}`, '-o', bin, join(root, 'bench/native/driver.cc'), ...srcs], { encoding: 'utf8' });
if (cc.status !== 0) throw new Error(`g++ failed:\n${cc.stderr}`);
// Two runs: `reps` and 1; their difference is the per-tuple work (loading cancels out).
function cachegrind(r: number): { out: string; driver: { rulesVisited: number } } {
  const out = join(work, `cg.${r}.out`);
  const vg = spawnSync('valgrind', ['--tool=cachegrind', '--branch-sim=yes', '--cache-sim=no', `--cachegrind-out-file=${out}`, bin, files.image, files.tuples, String(r), String(code)], { encoding: 'utf8' });
  if (vg.status !== 0) throw new Error(`valgrind failed (apt-get install valgrind?):\n${vg.stderr.slice(-800)}`);
  return { out, driver: JSON.parse(vg.stdout.trim().split('\n').pop()!) };
}
if (!(reps >= 2)) throw new Error(`reps: at least 2, not ${process.argv[4]}`);
const many = cachegrind(reps), one = cachegrind(1);
const driver = many.driver;
// Program totals (cachegrind's summary line: Ir ... with --cache-sim=no: Ir Bc Bcm Bi Bim).
function summary(out: string): { ir: number; bcm: number } {
  const text = readFileSync(out, 'utf8');
  const events = /^events:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  const vals = /^summary:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  return { ir: vals[events.indexOf('Ir')] ?? NaN, bcm: vals[events.indexOf('Bcm')] ?? NaN };
}
const sMany = summary(many.out), sOne = summary(one.out);
const perTuple = (reps - 1) * TUPLES;
// --threshold=0: every function, however small (file reading dominates the totals).
const ann = spawnSync('cg_annotate', ['--threshold=0', many.out], { encoding: 'utf8', maxBuffer: 1 << 26 });
const tuples = TUPLES * reps;
const rows: { fn: string; ir: number; bcm: number }[] = [];
for (const line of ann.stdout.split('\n')) {
  const m = /^\s*([\d,]+)\s.*?\)\s+([\d,]+)\s.*?\)\s+([\d,]+)\s.*?native\/(?:src\/classify\.cc|src\/simd\.cc|include\/engine\.h):(.+)$/.exec(line);
  if (!m) continue;
  // Name without return type, namespace or arguments; template arguments kept (evaluate<false>).
  const fn = /([\w~]+(?:<[^>]*>)?)\(/.exec(m[4]!)?.[1] ?? m[4]!;
  // Load-time work in these files (the derived paths and flat programs) is not per tuple.
  if (fn.startsWith('build') || fn.startsWith('~') || fn === 'listOnlyClasses' || fn === 'load' || fn === 'simdSupported') continue;
  const ir = Number(m[1]!.replace(/,/g, '')), bcm = Number(m[3]!.replace(/,/g, ''));
  const row = rows.find((r) => r.fn === fn);
  if (row) { row.ir += ir; row.bcm += bcm; } else rows.push({ fn, ir, bcm });
}
console.log(JSON.stringify({
  scenario,
  strategy,
  tuples,
  rulesVisited: driver.rulesVisited,
  instructionsPerTuple: +((sMany.ir - sOne.ir) / perTuple).toFixed(0),
  mispredictsPerTuple: +((sMany.bcm - sOne.bcm) / perTuple).toFixed(2),
  byFunction: Object.fromEntries(rows.sort((a, b) => b.ir - a.ir).map((r) => [r.fn, { ir: +(r.ir / tuples).toFixed(0), bcm: +(r.bcm / tuples).toFixed(2) }])),
}));
