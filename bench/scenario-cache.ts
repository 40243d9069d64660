/**
 * A scenario's compiled image and 4,096 IPv4 tuples, cached in the temp
 * directory (keyed by scenario and image format version) so profiling loops
 * (bench/hot.ts) and instruction counts (bench/instructions.ts) start at once.
 * Scenarios: those of bench/scenarios.ts.
 * Tuple file layout: src u32[n], dst u32[n], sport u16[n], dport u16[n], proto u8[n].
 */
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORMAT_MAJOR, FORMAT_MINOR } from '../src/format/spec.js';

export const TUPLES = 4096;

export async function cachedScenario(scenario: string): Promise<{ image: string; tuples: string }> {
  const base = join(tmpdir(), `nv-${scenario.replace(/[:@/]/g, '-')}-f${FORMAT_MAJOR}.${FORMAT_MINOR}`);
  const image = `${base}.nvt`;
  const tuples = `${base}.tuples`;
  if (existsSync(image) && existsSync(tuples)) return { image, tuples };
  const { loadScenario, scenarioTuples } = await import('./scenarios.js');
  const { compileImage } = await import('../src/compile/index.js');
  const { ResolvedCluster } = await import('../src/resolve/index.js');
  const { traceColumns } = await import('../src/classbench/parse.js');
  const sc = await loadScenario(scenario);
  const model = new ResolvedCluster(sc.cluster, sc.node !== undefined ? { node: sc.node } : {});
  writeFileSync(image, compileImage(model).image);
  // A trace's first 4,096 headers (repeated if shorter), else generated tuples.
  const c = sc.trace ? traceColumns(sc.trace, TUPLES) : scenarioTuples(model, TUPLES);
  writeFileSync(tuples, Buffer.concat([c.src, c.dst, c.sport, c.dport, c.proto].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))));
  return { image, tuples };
}
