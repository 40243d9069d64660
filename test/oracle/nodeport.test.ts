/**
 * NodePorts on every node address, engine vs reference: every node address
 * (Node objects and HostEndpoint expectedIPs) × every (proto, NodePort) and
 * service port, plus the same keys on addresses that are no node address,
 * for the NodePort scenario and generated clusters (whole cluster and
 * --node). The engine answers NodePorts from NAT_NODEPORTS after an exact
 * miss on a node-address class; the reference from NatTable.lookup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { SMALL, TINY, generateCluster, loadGeneratedCluster } from '../../src/gen/cluster.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import type { Cluster } from '../../src/model/types.js';
import type { IpAddr } from '../../src/net/ip.js';
import type { Tuple } from '../../src/net/tuple.js';
import { serviceFrontend } from '../../src/reference/evaluate.js';
import { ResolvedCluster, type ResolveOptions } from '../../src/resolve/index.js';
import { differential } from './compare.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

function tuplesFor(model: ResolvedCluster): Tuple[] {
  const keys = new Map<string, { proto: number; port: number }>();
  for (const svc of model.cluster.services) {
    for (const sp of svc.ports) {
      for (const port of [sp.port, sp.nodePort]) if (port !== undefined) keys.set(`${sp.protocol}/${port}`, { proto: sp.protocol, port });
    }
  }
  const dsts: IpAddr[] = [...model.nodeAddresses.values()].flat();
  for (const p of model.cluster.pods.slice(0, 3)) dsts.push(...p.ips);
  dsts.push({ family: 4, value: 0xcb007132n }, { family: 6, value: 0x20010db8000000000000000000000099n });
  const srcs: Record<number, IpAddr> = { 4: { family: 4, value: 0xcb007109n }, 6: { family: 6, value: 0x20010db8000000000000000000000009n } };
  const out: Tuple[] = [];
  for (const dst of dsts) {
    for (const k of keys.values()) {
      for (let s = 0; s < 3; s++) out.push({ src: srcs[dst.family]!, dst, proto: k.proto, sport: 40000 + s * 7919, dport: k.port });
    }
  }
  return out;
}

function run(tt: Test, name: string, cluster: Cluster, options: ResolveOptions): number {
  const model = new ResolvedCluster(cluster, options);
  const tuples = tuplesFor(model);
  const nodePortHits = tuples.filter((x) => serviceFrontend(model, x)?.frontend.kind === 'nodePort').length;
  const d = differential(model, tuples);
  for (const m of d.mismatches.slice(0, 3)) tt.comment(`MISMATCH [${m.strategy}] ${name}: reference ${m.reference} native ${m.native}`);
  tt.equal(d.mismatches.length, 0, `${name}: ${tuples.length} tuples (${nodePortHits} on a NodePort), engine == reference`);
  return nodePortHits;
}

t.test('NodePort scenario files', (tt) => {
  for (const f of ['test/cases/nat/nodeport-precedence.yaml', 'test/cases/nat/service-nat.yaml']) {
    const { cluster } = loadClusterFromTexts([{ name: f, text: readFileSync(join(root, f), 'utf8') }]);
    tt.ok(run(tt, f, cluster, {}) > 0, `${f}: some tuples hit a NodePort`);
  }
  tt.end();
});

t.test('generated clusters', (tt) => {
  let hits = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const { cluster } = loadGeneratedCluster(generateCluster(seed, seed % 3 === 0 ? SMALL : TINY));
    hits += run(tt, `seed ${seed}`, cluster, {});
    const node = cluster.nodes[1]?.name;
    if (node) hits += run(tt, `seed ${seed} --node ${node}`, cluster, { node, endpointToHostAction: 'Return' });
  }
  tt.ok(hits > 0, `${hits} NodePort tuples`);
  tt.end();
});
