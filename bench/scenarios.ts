/**
 * Benchmark scenarios, shared by bench/classify.ts and bench/scenario-cache.ts:
 *   founding                   examples/egress-allowlist
 *   calico:<rules>:<pods>      src/gen calicoScale (seed 1), every endpoint policed
 *   calico:<rules>:<pods>@<node>
 *                              the same cluster as one node's data path (`--node`,
 *                              as Calico programs it: that node's endpoints are
 *                              policed, every address of the cluster is a peer);
 *                              nodes are named node-0, node-1, …
 *   classbench:<set>           ../shared/classbench/wustl/<set> (or a path) and its trace
 * Tuples (IPv4): the differential-test generator's (endpoint, host, network-set
 * and service addresses, rule ports, odd protocols); for a node scenario one
 * side of each tuple is one of the node's workloads (even tuples leave it,
 * odd ones arrive at it), since other traffic does not meet its policy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../src/model/types.js';
import type { ResolvedCluster } from '../src/resolve/index.js';
import type { Trace } from '../src/classbench/parse.js';
import { loadClusterFromTexts } from '../src/model/load.js';
import { tupleArrays } from '../src/output/native.js';
import { generateTuples } from '../test/oracle/tuples.js';

export const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

export interface Scenario {
  cluster: Cluster;
  rules: number;
  pods: number;
  /** `--node` of a node scenario. */
  node?: string;
  /** ClassBench: the set's trace. */
  trace?: Trace;
}

export interface V4Columns {
  src: Uint32Array;
  dst: Uint32Array;
  sport: Uint16Array;
  dport: Uint16Array;
  proto: Uint8Array;
}

export async function loadScenario(scenario: string): Promise<Scenario> {
  if (scenario === 'founding') {
    const dir = join(root, 'examples/egress-allowlist');
    const texts = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
    const c = loadClusterFromTexts(texts).cluster;
    const rules = c.policies.reduce((n, p) => n + p.ingress.length + p.egress.length, 0);
    return { cluster: c, rules, pods: c.pods.length };
  }
  const cb = /^classbench:(.+)$/.exec(scenario);
  if (cb) {
    const file = cb[1]!.includes('/') ? cb[1]! : join(root, '..', 'shared/classbench/wustl', cb[1]!);
    const { parseFilters, parseTrace } = await import('../src/classbench/parse.js');
    const { convertFilters } = await import('../src/classbench/convert.js');
    const { conversionCluster } = await import('../src/classbench/model.js');
    const filters = parseFilters(readFileSync(file, 'utf8'), file).filters;
    const trace = parseTrace(readFileSync(`${file}_trace`, 'utf8'), `${file}_trace`).trace;
    const conv = convertFilters(filters, { source: file });
    return { cluster: conversionCluster(conv, filters, file).cluster, rules: filters.length, pods: 0, trace };
  }
  const m = /^calico:(\d+):(\d+)(?:@(.+))?$/.exec(scenario);
  if (!m) throw new Error(`unknown scenario ${scenario} (founding | calico:<rules>:<pods>[@<node>] | classbench:<set>)`);
  const gen = await import('../src/gen/cluster.js');
  const g = gen.generateClusterObjects(1, gen.calicoScale(Number(m[1]), Number(m[2])));
  const cluster = gen.buildGeneratedCluster(g).cluster;
  if (m[3] !== undefined && !cluster.pods.some((p) => p.nodeName === m[3])) throw new Error(`scenario ${scenario}: no pod runs on node ${m[3]}`);
  return { cluster, rules: g.stats.rules, pods: g.stats.pods, node: m[3] };
}

/** `n` IPv4 tuples for the model (see the header); ClassBench scenarios use their trace instead. */
export function scenarioTuples(model: ResolvedCluster, n: number): V4Columns {
  let pool = generateTuples(1, model, n * 6).filter((t) => t.src.family === 4);
  while (pool.length < n) pool = pool.concat(pool);
  pool = pool.slice(0, n);
  const node = model.options.node;
  if (node !== undefined) {
    const local = model.entities.filter((e) => e.kind === 'wep' && model.isPoliced(e)).flatMap((e) => e.cidrs.filter((c) => c.family === 4));
    if (local.length === 0) throw new Error(`node ${node} has no IPv4 workload`);
    pool = pool.map((t, i) => {
      const addr = { family: 4 as const, value: local[(i * 2654435761) % local.length]!.base };
      return i % 2 === 0 ? { ...t, src: addr } : { ...t, dst: addr };
    });
  }
  return tupleArrays(4, pool);
}
