/**
 * Differential test on hand-written clusters: every scenario file in
 * test/cases and every example, compiled and classified natively, against
 * the reference evaluator, on the files' own flows plus seeded random tuples.
 * For every node named by an Expectations document the node's data path is
 * compiled too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadClusterFromTexts } from '../../src/model/load.js';
import type { Tuple } from '../../src/net/tuple.js';
import { ResolvedCluster, type ResolveOptions } from '../../src/resolve/index.js';
import { describeTuple, differential } from './compare.js';
import { generateTuples } from './tuples.js';
import { listResourceFiles } from '../../src/parse/files.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const RANDOM_TUPLES = Number(process.env.NETVERDICT_CASE_TUPLES ?? 3000);


/** Scenario files one by one; each example directory as one cluster. */
async function clusters(): Promise<{ name: string; texts: { name: string; text: string }[] }[]> {
  const out: { name: string; texts: { name: string; text: string }[] }[] = [];
  const read = (p: string): string => readFileSync(p, 'utf8');
  for (const f of await listResourceFiles(join(root, 'test/cases'))) out.push({ name: relative(root, f), texts: [{ name: f, text: read(f) }] });
  const ex = join(root, 'examples');
  for (const d of readdirSync(ex).sort()) {
    const dir = join(ex, d);
    if (!statSync(dir).isDirectory()) continue;
    out.push({ name: `examples/${d}`, texts: (await listResourceFiles(dir)).map((f) => ({ name: f, text: read(f) })) });
  }
  return out;
}

for (const c of await clusters()) {
  t.test(c.name, (tt) => {
    const loaded = loadClusterFromTexts(c.texts);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) {
      tt.fail(`does not load (${errors.length} errors, first: ${errors[0]!.message})`);
      tt.end();
      return;
    }
    const nodes = new Set<string | undefined>([undefined]);
    for (const e of loaded.expectations) nodes.add(e.node);
    let seed = 1;
    for (const node of nodes) {
      const options: ResolveOptions = node === undefined ? {} : { node };
      const model = new ResolvedCluster(loaded.cluster, options);
      const own: Tuple[] = loaded.expectations
        .filter((e) => e.node === node)
        .flatMap((e) => e.flows.map((f) => ({ src: f.src, dst: f.dst, proto: f.proto, sport: f.sport, dport: f.dport, icmpType: f.icmpType, icmpCode: f.icmpCode })));
      const tuples = [...own, ...generateTuples(seed++, model, RANDOM_TUPLES)];
      const d = differential(model, tuples);
      const where = node === undefined ? 'whole cluster' : `node ${node}`;
      for (const m of d.mismatches.slice(0, 5)) {
        tt.comment(`MISMATCH [${m.strategy}] ${c.name} [${where}] ${describeTuple(m.tuple)}\n  reference: ${m.reference}\n  native:    ${m.native}`);
      }
      tt.equal(d.mismatches.length, 0, `${where}: ${d.tuples} tuples, engine == reference`);
    }
    tt.end();
  });
}
