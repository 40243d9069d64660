/**
 * FlowRecordWriter (src/output/writer.ts: records built from parts shared
 * between tuples, what `classify` prints for jsonl and csv) must print byte
 * for byte what the per-tuple path prints — JSON.stringify(flowRecord(r)) and
 * csvRow(flowRecord(r)) over NativeFlowClassifier's results, themselves
 * proven equal to the reference (native-records.test.ts) — on the examples,
 * the semantic cases and generated clusters (host endpoints, forward,
 * pre-DNAT and untracked policy, NAT, Log rules, IPv6, ICMP), every strategy,
 * with malformed lines in the input, with the caches emptied as they fill,
 * and with tuples whose trace events overflow.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadCluster } from '../../src/model/load.js';
import { ResolvedCluster, type ResolveOptions } from '../../src/resolve/index.js';
import { compileImage } from '../../src/compile/index.js';
import { NativeEngine, type Strategy } from '../../src/native/index.js';
import { NativeFlowClassifier } from '../../src/output/native.js';
import { FlowRecordWriter, type RecordFormat } from '../../src/output/writer.js';
import { csvRow, flowRecord } from '../../src/output/records.js';
import { readTupleBatches } from '../../src/io/columns.js';
import { parseTuplesCsv } from '../../src/io/tuples.js';
import { formatIp, protocolName } from '../../src/net/ip.js';
import { expectedFlowTuple } from '../../src/reference/verify.js';
import { generateTuples } from '../oracle/tuples.js';
import { listResourceFiles } from '../../src/parse/files.js';
import { generateCluster, loadGeneratedCluster, TINY } from '../../src/gen/cluster.js';
import type { Tuple } from '../../src/net/tuple.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The tuples as a CSV file, with a malformed line after every 97th tuple. */
function csvOf(tuples: Tuple[]): string {
  let s = 'src,dst,proto,sport,dport,icmp_type,icmp_code\n';
  tuples.forEach((t, i) => {
    s += `${formatIp(t.src)},${formatIp(t.dst)},${protocolName(t.proto)},${t.sport ?? ''},${t.dport ?? ''},${t.icmpType ?? ''},${t.icmpCode ?? ''}\n`;
    if (i % 97 === 96) s += `10.0.0.1,not-an-ip,tcp,1,2,,\n`;
  });
  return s;
}

/** The per-tuple path's output for a CSV text (error records where the CLI puts them). */
function perTuple(model: ResolvedCluster, engine: NativeEngine, text: string, format: RecordFormat): string {
  const lines = text.split('\n');
  const tuples: Tuple[] = [];
  const out: (Tuple | string)[] = [];
  lines.forEach((line, i) => {
    if (i === 0 || line === '') return;
    try {
      const [tuple] = parseTuplesCsv(`${lines[0]}\n${line}\n`);
      tuples.push(tuple!);
      out.push(tuple!);
    } catch (e) {
      const d = (e as { diagnostics: { errors: { message: string }[] } }).diagnostics.errors[0]!;
      out.push(JSON.stringify({ line: i + 1, error: d.message }));
    }
  });
  const results = new NativeFlowClassifier(model, engine).classify(tuples);
  let k = 0;
  let s = '';
  for (const x of out) {
    if (typeof x === 'string') {
      if (format === 'jsonl') s += x + '\n';
      continue;
    }
    const rec = flowRecord(results[k++]!);
    s += (format === 'jsonl' ? JSON.stringify(rec) : csvRow(rec)) + '\n';
  }
  return s;
}

async function written(w: FlowRecordWriter, text: string, batchSize: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of readTupleBatches(Readable.from([Buffer.from(text)]), { file: 'in.csv', batchSize })) parts.push(w.write(b));
  return Buffer.concat(parts).toString('utf8');
}

/** The first differing line of two outputs, for the failure message. */
function firstDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `line ${i + 1}:\n got  ${x[i]}\n want ${y[i]}`;
  return '';
}

async function compare(t: Test, model: ResolvedCluster, tuples: Tuple[], label: string, options: { strategies?: Strategy[]; eventStride?: number; mapLimit?: number } = {}): Promise<void> {
  const text = csvOf(tuples);
  const image = compileImage(model).image;
  for (const strategy of options.strategies ?? ['decision', 'linear']) {
    const engine = NativeEngine.fromImage(image, { strategy });
    for (const format of ['jsonl', 'csv'] as const) {
      const want = perTuple(model, engine, text, format);
      const w = new FlowRecordWriter(model, engine, format, { ...(options.eventStride ? { eventStride: options.eventStride } : {}), ...(options.mapLimit ? { mapLimit: options.mapLimit } : {}) });
      const got = await written(w, text, 1000);
      if (got !== want) t.fail(`${label}, ${strategy}, ${format}: ${firstDiff(got, want)}`);
      else t.pass(`${label}, ${strategy}, ${format}: ${tuples.length} records identical`);
      if (options.eventStride) t.ok(w.stats.overflowed > 0, `${w.stats.overflowed} tuples overflowed and took the per-tuple path`);
    }
  }
}

const inputs = [[join(root, 'examples/egress-allowlist')], ...(await listResourceFiles(join(root, 'test/cases'))).map((f) => [f])];

t.test('examples and semantic cases', async (t) => {
  for (const input of inputs) {
    const { cluster, expectations, diagnostics } = await loadCluster(input);
    t.equal(diagnostics.filter((d) => d.severity === 'error').length, 0);
    const nodes = [undefined, ...new Set(expectations.map((e) => e.node).filter((n): n is string => !!n))];
    for (const node of nodes) {
      const model = new ResolvedCluster(cluster, { node });
      const tuples = [...expectations.flatMap((e) => e.flows.map(expectedFlowTuple)), ...generateTuples(7, model, 400)];
      await compare(t, model, tuples, `${input[0]!.slice(root.length)} node ${node ?? 'all'}`);
    }
  }
});

t.test('generated clusters (host endpoints, forward/pre-DNAT/untracked policy, NAT, Log, IPv6, ICMP)', async (t) => {
  for (let seed = 1; seed <= 4; seed++) {
    const loaded = loadGeneratedCluster(generateCluster(seed, TINY));
    const nodes = [...new Set(loaded.cluster.pods.map((p) => p.nodeName).filter((n): n is string => !!n))].sort();
    const variants: ResolveOptions[] = [{}, { endpointToHostAction: 'Return' }, { endpointToHostAction: 'Accept', ...(nodes[0] ? { node: nodes[0] } : {}) }];
    for (const [v, options] of variants.entries()) {
      const model = new ResolvedCluster(loaded.cluster, options);
      await compare(t, model, generateTuples(seed * 7 + v, model, 3000), `seed ${seed} ${JSON.stringify(options)}`, { strategies: ['decision', 'linear', 'decision-bitmaps'] });
    }
  }
});

t.test('caches emptied as they fill: same records', async (t) => {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(5, TINY)).cluster);
  await compare(t, model, generateTuples(5, model, 3000), 'map limit 7', { strategies: ['decision'], mapLimit: 7 });
});

t.test('tuples whose events overflow take the per-tuple path: same records', async (t) => {
  const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(6, TINY)).cluster);
  await compare(t, model, generateTuples(6, model, 3000), 'event stride 2', { strategies: ['decision'], eventStride: 2 });
});

t.test('public API (README "Library use"): readTupleBatches + createRecordWriter', async (t) => {
  const api = await import('../../src/index.js');
  const { createReadStream, readFileSync } = await import('node:fs');
  const { cluster } = await api.load([join(root, 'examples/egress-allowlist')]);
  const flows = join(root, 'examples/egress-allowlist/flows.csv');
  const writer = api.createRecordWriter(cluster, { node: 'node-1' }, 'jsonl');
  const parts: Buffer[] = [];
  for await (const batch of api.readTupleBatches(createReadStream(flows), { file: 'flows.csv' })) parts.push(writer.write(batch));
  const got = Buffer.concat(parts).toString('utf8');
  const nc = api.createNativeClassifier(cluster, { node: 'node-1' });
  const want = nc.classify(parseTuplesCsv(readFileSync(flows, 'utf8'))).map((r) => JSON.stringify(api.flowRecord(r)) + '\n').join('');
  t.equal(got, want, 'the records of flows.csv');
  t.equal(got.split('\n').length - 1, 4, 'one per tuple');
});
