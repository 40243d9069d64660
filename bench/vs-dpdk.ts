/**
 * Question: how does the native engine compare with DPDK rte_acl on the
 * ClassBench sets, measured in the same run (these machines are noisy, so only
 * same-run ratios mean anything)?
 *
 *   npx tsx bench/vs-dpdk.ts [--no-avx512] [set ...]   default: acl1/fw1/ipc1 1K and 10K
 *
 * --no-avx512: a same-run stand-in for a CPU without AVX-512 — rte_acl's best
 * of its scalar, SSE and AVX2 algorithms against netverdict with NV_SIMD=avx2
 * (its tree stages on AVX2; the rest of the engine is scalar anyway).
 *
 * Builds ../shared/peers/dpdk-acl in a temporary directory (needs libdpdk-dev
 * and pkg-config), then per set, back to back: rte_acl (batch 64, all
 * algorithms, median of 5 timed runs of >= 4M lookups; the best is
 * avx512x32 on this machine) and `bench/classify.ts classbench:<set>` in a
 * fresh process (decision strategy, and linear on the 1K sets — linear on 10K
 * takes minutes; BENCH_STRATEGIES overrides —, batch 4,096 median of 5 and
 * batch 1). Prints a table and writes bench/results/vs-dpdk.json.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const shared = join(root, '..', 'shared');
const data = join(shared, 'classbench/wustl');
const noAvx512 = process.argv.includes('--no-avx512');
const args = process.argv.slice(2).filter((a) => a !== '--no-avx512');
const sets = args.length ? args : ['acl1_1K', 'fw1_1K', 'ipc1_1K', 'acl1_10K', 'fw1_10K', 'ipc1_10K'];

if (!existsSync(join(shared, 'peers/dpdk-acl/acl_bench.c'))) {
  console.error(`no DPDK harness at ${join(shared, 'peers/dpdk-acl')}`);
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'nv-dpdk-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
cpSync(join(shared, 'peers/dpdk-acl'), join(work, 'dpdk-acl'), { recursive: true });
const mk = spawnSync('make', ['-s'], { cwd: join(work, 'dpdk-acl'), encoding: 'utf8' });
if (mk.status !== 0) {
  console.error(`cannot build the rte_acl harness (apt-get install libdpdk-dev pkg-config):\n${mk.stderr}`);
  process.exit(2);
}
const EAL = ['--no-huge', '--no-pci', '-l', '0', '-m', '8192', '--no-shconf', '--no-telemetry', '--force-max-simd-bitwidth=512', '--log-level=lib.eal:error'];

interface Row {
  set: string;
  dpdk: { best: string; bestMtps: number; scalarMtps: number; footprint: number; buildS: number };
  nv: { compileMs: number; imageBytes: number; decisionMtps: number; linearMtps: number; b1P50Ns: number; candidates: number };
}
const rows: Row[] = [];
for (const set of sets) {
  const rules = join(data, set);
  const traceFile = `${rules}_trace`;
  const lines = readFileSync(traceFile, 'utf8').split('\n').filter((l) => l.trim()).length;
  const passes = Math.floor(4_000_000 / lines) + 1;
  const d = spawnSync(join(work, 'dpdk-acl/acl_bench'), [...EAL, '--', rules, traceFile, String(passes), '64', '5'], { encoding: 'utf8' });
  const text = d.stdout + d.stderr;
  const algs = [...text.matchAll(/alg=(\S+)\s+batch=\d+ mismatches=(\d+) Mtuples_per_s median=([\d.]+)/g)]
    .map((m) => ({ alg: m[1]!, mismatches: Number(m[2]), mtps: Number(m[3]) }))
    .filter((a) => !noAvx512 || !a.alg.startsWith('avx512'));
  if (!algs.length) {
    console.error(`${set}: rte_acl run failed:\n${text.slice(-500)}`);
    continue;
  }
  const best = algs.reduce((x, y) => (y.mtps > x.mtps ? y : x));
  const footprint = Number(/footprint_bytes=(\d+)/.exec(text)?.[1] ?? NaN);
  const buildS = Number(/build_s=([\d.]+)/.exec(text)?.[1] ?? NaN);
  const r = spawnSync('npx', ['tsx', join(root, 'bench/classify.ts'), `classbench:${set}`], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    cwd: root,
    env: {
      ...process.env,
      BENCH_STRATEGIES: process.env.BENCH_STRATEGIES ?? (set.includes('10K') ? 'decision' : 'linear,decision'),
      ...(noAvx512 ? { NV_SIMD: 'avx2' } : {}),
    },
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let j: any;
  try {
    j = JSON.parse(line);
  } catch {
    console.error(`${set}: netverdict run failed:\n${r.stderr.slice(-500)}`);
    continue;
  }
  rows.push({
    set,
    dpdk: { best: best.alg, bestMtps: best.mtps, scalarMtps: algs.find((a) => a.alg === 'scalar')?.mtps ?? NaN, footprint, buildS },
    nv: {
      compileMs: j.compileMs,
      imageBytes: j.imageBytes,
      decisionMtps: j.decision.batch4096.mtps,
      linearMtps: j.linear?.batch4096.mtps ?? NaN,
      b1P50Ns: j.decision.batch1.p50Ns,
      candidates: j.decision.rulesVisited,
    },
  });
  console.error(`${set}: rte_acl ${best.alg} ${best.mtps} Mt/s, netverdict decision ${j.decision.batch4096.mtps} Mt/s`);
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const out: string[] = [
  ...(noAvx512 ? ['Without AVX-512 (--no-avx512): rte_acl best of scalar/SSE/AVX2; netverdict NV_SIMD=avx2.', ''] : []),
  '| set | rte_acl best (alg) Mt/s | rte_acl scalar | rte_acl footprint | netverdict decision Mt/s | ratio nv/best | nv linear | nv b1 p50 ns | nv image | image/footprint | nv compile |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  out.push(
    `| ${r.set} | ${f(r.dpdk.bestMtps)} (${r.dpdk.best}) | ${f(r.dpdk.scalarMtps)} | ${f(r.dpdk.footprint / 1e6, 1)} MB | ${f(r.nv.decisionMtps)} | ${f(r.nv.decisionMtps / r.dpdk.bestMtps)} | ${f(r.nv.linearMtps)} | ${f(r.nv.b1P50Ns, 0)} | ${f(r.nv.imageBytes / 1e6, 2)} MB | ${f(r.nv.imageBytes / r.dpdk.footprint)} | ${r.nv.compileMs} ms |`,
  );
}
console.log(out.join('\n'));
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, `bench/results/vs-dpdk${noAvx512 ? '-no-avx512' : ''}.json`), JSON.stringify({ date: new Date().toISOString(), noAvx512, rows }, null, 2));
