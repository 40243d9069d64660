/**
 * End-to-end record throughput: tuple CSV in, JSON Lines / CSV records out,
 * as `netverdict classify` does it, measured in stages on the same data in
 * one process (so the ratios hold on a noisy machine):
 *
 *   read     CSV bytes -> column batches (src/io/columns.ts)
 *   engine   + the native engine with trace events (no records)
 *   jsonl    + records (src/output/writer.ts), JSON Lines
 *   csv      + records, CSV
 *   per-tuple-jsonl / per-tuple-csv
 *            the per-tuple path it replaced (readTuples -> Tuple objects ->
 *            NativeFlowClassifier -> flowRecord -> JSON.stringify / csvRow),
 *            still what `--format table` and `--engine reference` use
 *   cli-jsonl / cli-csv
 *            `node dist/cli/main.js classify -p CLUSTER --tuples FILE -f F`
 *            in a fresh process, output to /dev/null (when dist/ is built):
 *            the whole command, minus its start-up (loading the YAML,
 *            compiling, loading the engine: the same command on a header-only
 *            file, reported apart)
 *
 * The in-process stages run under tsx like every benchmark here; the CLI
 * runs the compiled JavaScript, which is faster for the same code.
 * Inputs: a generated Calico cluster (src/gen, calicoScale(RULES, PODS)) and
 * two tuple files drawn by its traffic model: "diverse" (every tuple drawn
 * anew: ~40 % of the addresses unique, as in a scan of many external hosts)
 * and "repeated" (400k tuples drawn from 20k: a capture's flows repeating).
 * In-process output bytes are built and dropped (no I/O); the CLI stages write to /dev/null.
 *
 *   npx tsx bench/records.ts [--rules 1000] [--pods 1000] [--tuples 400000] [--json]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, createReadStream, openSync, closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { calicoScale, generateCluster, loadGeneratedCluster, generateTuples, Rng } from '../src/gen/index.js';
import { formatIp, protocolName } from '../src/net/ip.js';
import { ResolvedCluster } from '../src/resolve/index.js';
import { compileImage } from '../src/compile/index.js';
import { NativeEngine } from '../src/native/index.js';
import { readTupleBatches } from '../src/io/columns.js';
import { readTuples } from '../src/io/tuples.js';
import { FlowRecordWriter } from '../src/output/writer.js';
import { NativeFlowClassifier } from '../src/output/native.js';
import { csvRow, flowRecord } from '../src/output/records.js';
import type { Tuple } from '../src/net/tuple.js';

const opts = new Command()
  .option('--rules <n>', 'rules in the generated cluster', '1000')
  .option('--pods <n>', 'pods in the generated cluster', '1000')
  .option('--tuples <n>', 'tuples per file', '400000')
  .option('--rounds <n>', 'timed rounds per stage (median reported)', '3')
  .option('--json', 'print the results as JSON')
  .parse()
  .opts<{ rules: string; pods: string; tuples: string; rounds: string; json?: boolean }>();

const N = Number(opts.tuples);
const rounds = Number(opts.rounds);
const g = generateCluster(7, calicoScale(Number(opts.rules), Number(opts.pods)));
const cluster = loadGeneratedCluster(g).cluster;
const model = new ResolvedCluster(cluster);
const image = compileImage(model).image;
const engine = NativeEngine.fromImage(image);

const isIcmp = (p: number): boolean => p === 1 || p === 58;
const line = (t: Tuple): string =>
  `${formatIp(t.src)},${formatIp(t.dst)},${protocolName(t.proto)},${isIcmp(t.proto) ? '' : (t.sport ?? '')},${isIcmp(t.proto) ? '' : (t.dport ?? '')},${t.icmpType ?? ''},${t.icmpCode ?? ''}\n`;
const HEADER = 'src,dst,proto,sport,dport,icmp_type,icmp_code\n';
const dir = mkdtempSync(join(tmpdir(), 'nv-records-'));
for (const d of g.docs) {
  mkdirSync(dirname(join(dir, 'cluster', d.name)), { recursive: true });
  writeFileSync(join(dir, 'cluster', d.name), d.text);
}
const files: Record<string, string> = {};
{
  const diverse = generateTuples(11, cluster, N);
  files.diverse = join(dir, 'diverse.csv');
  writeFileSync(files.diverse, HEADER + diverse.map(line).join(''));
  const pool = generateTuples(12, cluster, Math.min(20_000, N)).map(line);
  const rng = new Rng(13);
  const rep: string[] = [];
  for (let i = 0; i < N; i++) rep.push(pool[rng.below(pool.length)]!);
  files.repeated = join(dir, 'repeated.csv');
  writeFileSync(files.repeated, HEADER + rep.join(''));
}

type Stage = (file: string) => Promise<number>;
const stages: Record<string, Stage> = {
  read: async (file) => {
    let n = 0;
    for await (const b of readTupleBatches(createReadStream(file), { file })) n += b.n;
    return n;
  },
  engine: async (file) => {
    // The writer's engine step without records: classify only.
    const w = new FlowRecordWriter(model, engine, 'csv');
    let n = 0;
    for await (const b of readTupleBatches(createReadStream(file), { file })) n += w.classifyOnly(b);
    return n;
  },
  jsonl: async (file) => writerRun(file, 'jsonl'),
  csv: async (file) => writerRun(file, 'csv'),
  'per-tuple-jsonl': async (file) => perTuple(file, 'jsonl'),
  'per-tuple-csv': async (file) => perTuple(file, 'csv'),
};
const cli = join(dirname(new URL(import.meta.url).pathname), '../dist/cli/main.js');
if (existsSync(cli)) {
  stages['cli-jsonl'] = async (file) => cliRun(file, 'jsonl');
  stages['cli-csv'] = async (file) => cliRun(file, 'csv');
}

/** Seconds the CLI takes on a header-only file (its start-up), per format. */
const startup: Record<string, number> = {};

function cliOnce(file: string, format: string): number {
  const devnull = openSync('/dev/null', 'w');
  const s = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, 'classify', '-p', join(dir, 'cluster'), '--tuples', file, '-f', format], { stdio: ['ignore', devnull, 'pipe'] });
  const sec = Number(process.hrtime.bigint() - s) / 1e9;
  closeSync(devnull);
  if (r.status !== 0) throw new Error(`classify exited ${r.status}: ${r.stderr.toString()}`);
  return sec;
}

async function cliRun(file: string, format: string): Promise<number> {
  if (startup[format] === undefined) {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, HEADER);
    const t = [0, 1, 2].map(() => cliOnce(empty, format)).sort((a, b) => a - b);
    startup[format] = t[1]!;
  }
  // The stage's time is measured around this call; the start-up is taken off below.
  cliOnce(file, format);
  return N;
}

async function writerRun(file: string, format: 'jsonl' | 'csv'): Promise<number> {
  const w = new FlowRecordWriter(model, engine, format);
  let bytes = 0;
  for await (const b of readTupleBatches(createReadStream(file), { file })) bytes += w.write(b).length;
  return bytes > 0 ? w.stats.records : 0;
}

async function perTuple(file: string, format: 'jsonl' | 'csv'): Promise<number> {
  const nc = new NativeFlowClassifier(model, engine);
  let batch: Tuple[] = [];
  let n = 0;
  let bytes = 0;
  const flush = (): void => {
    for (const r of nc.classify(batch)) bytes += (format === 'jsonl' ? JSON.stringify(flowRecord(r)) : csvRow(flowRecord(r))).length + 1;
    n += batch.length;
    batch = [];
  };
  for await (const t of readTuples(createReadStream(file), file, () => {})) {
    batch.push(t);
    if (batch.length === 4096) flush();
  }
  flush();
  return bytes > 0 ? n : 0;
}

const results: { input: string; stage: string; tuples: number; seconds: number; tuplesPerSec: number; nsPerTuple: number }[] = [];
for (const input of ['diverse', 'repeated']) {
  for (const [stage, run] of Object.entries(stages)) {
    const times: number[] = [];
    let n = 0;
    // The per-tuple path is slow: one round is enough for its ratio.
    const r = stage.startsWith('per-tuple') ? 1 : rounds;
    for (let k = 0; k < r; k++) {
      const s = process.hrtime.bigint();
      n = await run(files[input]!);
      times.push(Number(process.hrtime.bigint() - s) / 1e9);
    }
    times.sort((a, b) => a - b);
    let sec = times[times.length >> 1]!;
    if (stage.startsWith('cli-')) sec -= startup[stage.slice(4)]!;
    results.push({ input, stage, tuples: n, seconds: sec, tuplesPerSec: n / sec, nsPerTuple: (sec * 1e9) / n });
    if (!opts.json) console.error(`${input.padEnd(9)} ${stage.padEnd(16)} ${(n / sec / 1e6).toFixed(3).padStart(7)} M tuples/s ${((sec * 1e9) / n).toFixed(0).padStart(6)} ns/tuple`);
  }
}
rmSync(dir, { recursive: true, force: true });
const info = { rules: Number(opts.rules), pods: Number(opts.pods), tuples: N, imageBytes: image.length, node: process.version, cliStartupSeconds: startup };
if (opts.json) console.log(JSON.stringify({ ...info, results }, null, 1));
else {
  console.log(`cluster ${info.rules} rules / ${info.pods} pods, image ${(info.imageBytes / 1e6).toFixed(1)} MB, ${N.toLocaleString('en-US')} tuples per input`);
  for (const input of ['diverse', 'repeated']) {
    const of = (s: string): number => results.find((x) => x.input === input && x.stage === s)!.tuplesPerSec;
    console.log(`${input}: jsonl ${(of('jsonl') / 1e6).toFixed(2)} M/s = ${(of('jsonl') / of('per-tuple-jsonl')).toFixed(1)}x per-tuple; csv ${(of('csv') / 1e6).toFixed(2)} M/s = ${(of('csv') / of('per-tuple-csv')).toFixed(1)}x per-tuple; read ${(of('read') / 1e6).toFixed(2)} M/s, +engine ${(of('engine') / 1e6).toFixed(2)} M/s`);
    if (stages['cli-jsonl']) console.log(`${input}: CLI after start-up: jsonl ${(of('cli-jsonl') / 1e6).toFixed(2)} M/s, csv ${(of('cli-csv') / 1e6).toFixed(2)} M/s`);
  }
  if (stages['cli-jsonl']) console.log(`CLI start-up (load, compile, engine): jsonl ${startup.jsonl!.toFixed(2)} s, csv ${startup.csv!.toFixed(2)} s`);
}
