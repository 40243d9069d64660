/**
 * Traffic scope (ResolveOptions.traffic): a model that polices only the
 * endpoints a set of tuples meets must give those tuples exactly the results
 * of the unrestricted model — every flow-record field (verdict, reason, NAT,
 * both directions' policy traces), native engine (both
 * strategies) and reference — while compiling fewer programs. Checked on
 * generated clusters, whole cluster and --node, with the traffic's own
 * tuples, a small slice of them (so the scope really is smaller), and the
 * NAT case where the scope must include every backend of a hit frontend.
 */
import t from 'tap';
import { SMALL, TINY, generateCluster, loadGeneratedCluster } from '../../src/gen/cluster.js';
import { compileImage } from '../../src/compile/index.js';
import { NativeEngine } from '../../src/native/index.js';
import { NativeFlowClassifier } from '../../src/output/native.js';
import { ReferenceEvaluator } from '../../src/reference/evaluate.js';
import { ResolvedCluster, type ResolveOptions } from '../../src/resolve/index.js';
import type { Tuple } from '../../src/net/tuple.js';
import { flowRecord } from '../../src/output/records.js';
import type { FlowResult } from '../../src/reference/evaluate.js';
import { generateTuples } from './tuples.js';

/** What a user sees of each result: its flow record (verdict, reason, NAT, both directions' traces). */
const records = (rs: FlowResult[]): string => JSON.stringify(rs.map(flowRecord));

function results(model: ResolvedCluster, tuples: Tuple[]): { native: Record<string, string>; reference: string; policed: number; bytes: number } {
  const image = compileImage(model);
  const native: Record<string, string> = {};
  for (const strategy of ['linear', 'decision'] as const) {
    native[strategy] = records(new NativeFlowClassifier(model, NativeEngine.fromImage(image.image, { strategy })).classify(tuples));
  }
  const ev = new ReferenceEvaluator(model);
  const reference = records(tuples.map((x) => ev.evaluate(x)));
  const policed = model.entities.filter((e) => model.isPoliced(e)).length;
  return { native, reference, policed, bytes: image.image.length };
}

for (let seed = 1; seed <= 5; seed++) {
  t.test(`seed ${seed}`, (tt) => {
    const { cluster } = loadGeneratedCluster(generateCluster(seed, seed % 2 === 0 ? SMALL : TINY));
    const node = cluster.nodes[0]?.name;
    for (const base of [{}, ...(node ? [{ node }] : [])] as ResolveOptions[]) {
      const whole = new ResolvedCluster(cluster, base);
      const all = generateTuples(seed, whole, 600);
      for (const [label, tuples] of [['600 tuples', all], ['20 tuples', all.slice(0, 20)]] as const) {
        const a = results(whole, tuples);
        const scoped = new ResolvedCluster(cluster, { ...base, traffic: tuples });
        const b = results(scoped, tuples);
        const name = `${base.node ? `--node ${base.node}` : 'whole cluster'}, ${label}`;
        tt.equal(b.native.linear, a.native.linear, `${name}: linear results equal`);
        tt.equal(b.native.decision, a.native.decision, `${name}: decision results equal`);
        tt.equal(b.reference, a.reference, `${name}: reference results equal`);
        tt.equal(b.native.decision, b.reference, `${name}: scoped engine == reference`);
        tt.ok(b.policed <= a.policed, `${name}: ${b.policed} of ${a.policed} endpoints policed`);
        if (label === '20 tuples' && !base.node) tt.ok(b.policed < a.policed && b.bytes < a.bytes, `${name}: smaller scope and image (${b.bytes} < ${a.bytes} bytes)`);
      }
    }
    tt.end();
  });
}

t.test('a hit frontend brings every backend into scope', (tt) => {
  const { cluster } = loadGeneratedCluster(generateCluster(3, SMALL));
  const whole = new ResolvedCluster(cluster);
  const entry = whole.nat.entries().find((e) => e.frontend.backends.length > 1 && e.proto === 6);
  tt.ok(entry, 'a TCP frontend with several backends');
  if (!entry) return tt.end();
  const src = whole.entities.find((e) => e.kind === 'wep' && e.cidrs.some((c) => c.family === entry.addr.family))!;
  const from = { family: entry.addr.family, value: src.cidrs.find((c) => c.family === entry.addr.family)!.base };
  // Many source ports: the tuple hash spreads them over the backends.
  const tuples: Tuple[] = Array.from({ length: 64 }, (_, i) => ({ src: from, dst: entry.addr, proto: 6, sport: 30000 + i, dport: entry.port }));
  const scoped = new ResolvedCluster(cluster, { traffic: tuples });
  for (const b of entry.frontend.backends) {
    const ep = scoped.endpointAt(b.addr);
    if (ep) tt.ok(scoped.isPoliced(ep), `backend ${ep.name} policed`);
  }
  const a = results(whole, tuples);
  const b = results(scoped, tuples);
  tt.equal(b.native.decision, a.native.decision, 'results equal');
  tt.end();
});
