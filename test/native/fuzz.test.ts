/**
 * Coverage-guided fuzzing of the image loader and classifier (DESIGN.md §6,
 * native/fuzz/): builds native/fuzz/fuzz_image with clang's libFuzzer under
 * ASan/UBSan, compiles the seed corpus from examples/ and test/cases/, fuzzes
 * for NV_FUZZ_SECONDS (default 60; 0 = build and reproducers only) and
 * requires a clean exit after a reasonable number of executions. A crash
 * fails the test with the path of libFuzzer's reproducer and the sanitizer
 * report. Then every committed reproducer (native/fuzz/crashes/*.nvt) is run
 * once: it must not crash; files listed in native/fuzz/crashes/OPEN (known,
 * reported, not yet fixed) are tap todos until then. The reproducers of past
 * findings are regenerated for the current format by native/fuzz/make-repro.ts
 * (compile a real image, patch it, fix the CRC): each must get its loader code
 * through the addon, and run clean through fuzz_image.
 *
 * Skipped, with the reason, when clang++ cannot link -fsanitize=fuzzer
 * (.ci/run installs clang from Debian).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ImageLoadError, NativeEngine } from '../../src/native/index.js';
import { makeRepros } from '../../native/fuzz/make-repro.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const fuzzDir = join(root, 'native/fuzz');
const bin = join(root, 'build/fuzz/fuzz_image');
const seconds = Number(process.env.NV_FUZZ_SECONDS ?? '60');
const sanEnv = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:allocator_may_return_null=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

function make(target: string, vars: string[] = [], timeoutMs = 300_000) {
  return spawnSync('make', ['-s', '-C', fuzzDir, target, ...vars], { encoding: 'utf8', timeout: timeoutMs, env: sanEnv, maxBuffer: 64 << 20 });
}

/** The sanitizer report of a failed run: its error line, the top of the stack, the summary. */
function report(out: string): string {
  const i = out.search(/==\d+==ERROR|runtime error:|fuzz_image: |ALARM: working on the last Unit|ERROR: libFuzzer/);
  if (i < 0) return out.slice(-3000);
  const lines = out.slice(i).split('\n');
  const keep = lines.filter((l, k) => k < 3 || /^\s+#[0-9] |SUMMARY|Test unit written|runtime error|fuzz_image: /.test(l));
  return keep.slice(0, 24).join('\n');
}

function loaderCode(image: Uint8Array): string {
  try {
    NativeEngine.fromImage(image);
    return 'OK';
  } catch (e) {
    return e instanceof ImageLoadError ? e.code : String(e);
  }
}

const repros = makeRepros();
t.test('regenerated reproducers get their loader codes', (tt) => {
  for (const r of repros) {
    const t0 = process.hrtime.bigint();
    tt.equal(loaderCode(r.image), r.expect, `${r.name}: ${r.why}`);
    tt.ok(process.hrtime.bigint() - t0 < 2_000_000_000n, `${r.name} loads in < 2 s`);
  }
  tt.end();
});

const probe = make('check', [], 120_000);
if (probe.status !== 0) {
  const why = `libFuzzer not available, fuzzing not run: ${(probe.stdout + probe.stderr).trim() || 'make failed'} (apt-get install clang)`;
  t.test('fuzz the image loader and classifier', { skip: why }, (tt) => tt.end());
} else {
  t.test('build fuzz_image (every native/src/*.cc, ASan/UBSan/libFuzzer)', (tt) => {
    const r = make('fuzzer');
    tt.equal(r.status, 0, `make -C native/fuzz fuzzer\n${r.stdout}\n${r.stderr}`);
    tt.ok(existsSync(bin), relative(root, bin));
    tt.end();
  });

  t.test(`fuzz the loader and classifier for ${seconds} s`, { skip: seconds <= 0 ? 'NV_FUZZ_SECONDS=0' : false }, (tt) => {
    const artifacts = join(root, 'build/fuzz/artifacts', `run-${Date.now()}`);
    mkdirSync(artifacts, { recursive: true });
    const r = make('run', [`FUZZ_SECONDS=${seconds}`, `ARTIFACTS=${artifacts}`], (seconds + 240) * 1000);
    const out = `${r.stdout}\n${r.stderr}`;
    const corpus = /make-corpus: (\d+) images/.exec(out);
    tt.ok(corpus && Number(corpus[1]) > 0, `seed corpus compiled: ${corpus?.[0] ?? 'no make-corpus line'}`);
    const written = [...out.matchAll(/Test unit written to (\S+)/g)].map((m) => m[1]!);
    // (build/ is node-gyp's directory: a concurrent `node-gyp rebuild` removes it.)
    const files = existsSync(artifacts) ? readdirSync(artifacts).map((f) => join(artifacts, f)) : [];
    const found = [...new Set([...written, ...files])];
    const failure = found.length || r.status !== 0 ? { artifacts: found.map((f) => relative(root, f)), report: report(out) } : {};
    tt.same(found, [], `no crash, leak, timeout or OOM artifacts${found.length ? `: ${found.map((f) => relative(root, f)).join(', ')}` : ''}`, failure);
    tt.equal(r.status, 0, `fuzzer exit status (signal ${r.signal ?? 'none'})`, failure);
    const runs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(out)?.[1] ?? /Done (\d+) runs/.exec(out)?.[1] ?? 0);
    const minRuns = Math.max(1000, 100 * seconds);
    tt.ok(runs >= minRuns, `executed ${runs} inputs (≥ ${minRuns})`);
    const last = [...out.matchAll(/^#(\d+)\s+(?:DONE|pulse|NEW|REDUCE).*?cov: (\d+) ft: (\d+) corp: (\S+).*?exec\/s: (\d+)/gm)].pop();
    if (last) tt.comment(`libFuzzer: ${runs} runs, cov ${last[2]}, ft ${last[3]}, corpus ${last[4]}, ${last[5]} exec/s`);
    tt.end();
  });

  t.test('regenerated reproducers (native/fuzz/make-repro.ts) run clean through fuzz_image', (tt) => {
    const dir = join(root, 'build/fuzz-repro');
    mkdirSync(dir, { recursive: true });
    for (const r of repros) {
      const file = join(dir, `${r.name}.nvt`);
      writeFileSync(file, r.image);
      const run = spawnSync(bin, ['-runs=1', '-timeout=10', file], { encoding: 'utf8', env: sanEnv, timeout: 120_000 });
      tt.equal(run.status, 0, `${r.name} runs clean`, run.status === 0 ? {} : { report: run.error ? String(run.error) : report(run.stderr ?? '') });
    }
    tt.end();
  });

  t.test('committed reproducers (native/fuzz/crashes) no longer crash', (tt) => {
    const dir = join(fuzzDir, 'crashes');
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.nvt')).sort() : [];
    const open = new Map<string, string>();
    if (existsSync(join(dir, 'OPEN'))) {
      for (const line of readFileSync(join(dir, 'OPEN'), 'utf8').split('\n')) {
        const m = /^([^#\s]\S*)\s+(.*)$/.exec(line.trim());
        if (m) open.set(m[1]!, m[2]!);
      }
    }
    if (files.length > 0 && !existsSync(bin)) {
      tt.fail(`${relative(root, bin)} is missing (removed by a node-gyp rebuild of build/ during the test?)`);
      tt.end();
      return;
    }
    for (const f of files) {
      const r = spawnSync(bin, ['-runs=1', '-timeout=10', join(dir, f)], { encoding: 'utf8', env: sanEnv, timeout: 120_000 });
      const todo = open.get(f);
      const extra = r.status === 0 ? {} : { report: r.error ? String(r.error) : report(r.stderr ?? '') };
      tt.equal(r.status, 0, `crashes/${f} runs clean`, todo ? { todo, ...extra } : extra);
    }
    if (files.length === 0) tt.pass('no reproducers committed');
    tt.end();
  });
}
