/**
 * A scenario's compiled image and 4,096 IPv4 tuples, cached in the temp
 * directory (keyed by scenario and image format version) so profiling loops
 * (bench/hot.ts) and instruction counts (bench/instructions.ts) start at once.
 * Scenarios: calico:<rules>:<pods> (src/gen calicoScale, seed 1), classbench:<set>.
 * Tuple file layout: src u32[n], dst u32[n], sport u16[n], dport u16[n], proto u8[n].
 */
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORMAT_MAJOR, FORMAT_MINOR } from '../src/format/spec.js';

export const TUPLES = 4096;

export async function cachedScenario(scenario: string): Promise<{ image: string; tuples: string }> {
  const base = join(tmpdir(), `nv-${scenario.replace(/:/g, '-')}-f${FORMAT_MAJOR}.${FORMAT_MINOR}`);
  const image = `${base}.nvt`;
  const tuples = `${base}.tuples`;
  if (existsSync(image) && existsSync(tuples)) return { image, tuples };
  const cb = /^classbench:(.+)$/.exec(scenario);
  if (cb) {
    // The set (../shared/classbench/wustl/<name> or a path) and the first 4,096 headers of its trace, repeated if shorter.
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
    const file = cb[1]!.includes('/') ? cb[1]! : join(root, '..', 'shared/classbench/wustl', cb[1]!);
    const { parseFilters, parseTrace, traceColumns } = await import('../src/classbench/parse.js');
    const { convertFilters } = await import('../src/classbench/convert.js');
    const { conversionCluster } = await import('../src/classbench/model.js');
    const { compileCluster } = await import('../src/compile/index.js');
    const filters = parseFilters(readFileSync(file, 'utf8'), file).filters;
    const trace = parseTrace(readFileSync(`${file}_trace`, 'utf8'), `${file}_trace`).trace;
    writeFileSync(image, compileCluster(conversionCluster(convertFilters(filters, { source: file }), filters, file).cluster).image);
    const c = traceColumns(trace, TUPLES);
    writeFileSync(tuples, Buffer.concat([c.src, c.dst, c.sport, c.dport, c.proto].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
    return { image, tuples };
  }
  const m = /^calico:(\d+):(\d+)$/.exec(scenario);
  if (!m) throw new Error(`unknown scenario ${scenario} (calico:<rules>:<pods> or classbench:<set>)`);
  const { compileImage } = await import('../src/compile/index.js');
  const { ResolvedCluster } = await import('../src/resolve/index.js');
  const { tupleArrays } = await import('../src/output/native.js');
  const { generateTuples } = await import('../test/oracle/tuples.js');
  const gen = await import('../src/gen/cluster.js');
  const g = gen.generateClusterObjects(1, gen.calicoScale(Number(m[1]), Number(m[2])));
  const model = new ResolvedCluster(gen.buildGeneratedCluster(g).cluster);
  writeFileSync(image, compileImage(model).image);
  let pool = generateTuples(1, model, TUPLES * 6).filter((t) => t.src.family === 4);
  while (pool.length < TUPLES) pool = pool.concat(pool);
  const a = tupleArrays(4, pool.slice(0, TUPLES));
  writeFileSync(tuples, Buffer.concat([a.src, a.dst, a.sport, a.dport, a.proto].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
  return { image, tuples };
}
