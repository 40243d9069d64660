/**
 * Runs bench/classify.ts once per scenario, each in a fresh process, one
 * after the other, and prints a table (results stay in bench/results/).
 *   npx tsx bench/run.ts [scenario ...]
 * Default scenarios: founding, calico:1000:1000, calico:10000:1000,
 * calico:10000:10000, calico:100000:1000, calico:100000:100000@node-1 (one
 * node's data path of a 100k-rule, 100k-pod cluster, as Calico programs it;
 * the whole cluster as one image is out of reach — docs/BENCHMARKS.md), and
 * the ClassBench 1K sets when ../shared/classbench is there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const classbench = existsSync(join(root, '..', 'shared/classbench/wustl')) ? ['classbench:acl1_1K', 'classbench:fw1_1K', 'classbench:ipc1_1K'] : [];
const scenarios =
  process.argv.length > 2 ? process.argv.slice(2) : ['founding', 'calico:1000:1000', 'calico:10000:1000', 'calico:10000:10000', 'calico:100000:1000', 'calico:100000:100000@node-1', ...classbench];
const rows: string[] = [];
const pad = (s: unknown, n: number): string => String(s).padStart(n);
rows.push(['scenario', 'rules', 'pods', 'idents', 'compile ms', 'image KiB', 'engine MiB', 'peak RSS MiB', 'strategy', 'ns/tuple b4096', 'Mt/s', 'ns/call b1', 'b1 p50 ns', 'rules visited'].join(' | '));
for (const sc of scenarios) {
  // 100k-rule scenarios need a larger heap than Node's default.
  const env = /^calico:\d{6,}:/.test(sc) ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=16000` } : process.env;
  const r = spawnSync('npx', ['tsx', join(root, 'bench/classify.ts'), sc], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let j: Record<string, any>;
  try {
    j = JSON.parse(line);
  } catch {
    rows.push(`${sc}: failed (${r.status}) ${r.stderr.slice(-300)}`);
    continue;
  }
  for (const s of ['linear', 'decision']) {
    const x = j[s];
    if (!x) continue; // strategy left out (BENCH_STRATEGIES)
    rows.push([sc, pad(j.rules, 6), pad(j.pods, 6), pad(j.identities, 6), pad(j.compileMs, 6), pad(Math.round(j.imageBytes / 1024), 7), pad(j.engineMiB, 6), pad(j.maxRssMiB, 6), s, pad(x.batch4096.nsPerTuple, 7), pad(x.batch4096.mtps, 6), pad(x.batch1.nsPerCall, 7), pad(x.batch1.p50Ns, 7), pad(x.rulesVisited, 5)].join(' | '));
  }
}
console.log(rows.join('\n'));
