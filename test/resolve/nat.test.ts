/**
 * NatTable keeps NodePorts as one (proto, nodePort) table over all node
 * addresses instead of node addresses × NodePorts exact keys. Its `lookup`
 * must answer exactly what the materialised table answered (first service in
 * (namespace, name) order wins per (address, proto, port) key, ClusterIPs,
 * externalIPs, LoadBalancer IPs, then the NodePort within a service port):
 * checked here against that table, built the old way, on every key it holds,
 * every node address × NodePort, and keys that hit nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { SMALL, TINY, generateCluster, loadGeneratedCluster } from '../../src/gen/cluster.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import type { Cluster } from '../../src/model/types.js';
import { formatIp, type IpAddr } from '../../src/net/ip.js';
import { ResolvedCluster, addrPortKey, type Frontend } from '../../src/resolve/index.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

interface Old {
  kind: Frontend['kind'];
  service: string;
  port: string;
  family: number;
}

/** The materialised table: every node address × every NodePort as its own key. */
function materialised(cluster: Cluster, nodeAddresses: Map<string, IpAddr[]>): Map<string, Old> {
  const out = new Map<string, Old>();
  const services = [...cluster.services].sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
  const allNodeAddrs: IpAddr[] = [];
  for (const addrs of nodeAddresses.values()) allNodeAddrs.push(...addrs);
  for (const svc of services) {
    if (svc.type === 'ExternalName') continue;
    for (const sp of svc.ports) {
      const add = (kind: Frontend['kind'], addr: IpAddr, port: number): void => {
        const key = addrPortKey(addr, sp.protocol, port);
        if (!out.has(key)) out.set(key, { kind, service: `${svc.namespace}/${svc.name}`, port: `${sp.name ?? ''}:${sp.port}`, family: addr.family });
      };
      for (const ip of svc.clusterIPs) add('clusterIP', ip, sp.port);
      for (const ip of svc.externalIPs) add('externalIP', ip, sp.port);
      for (const ip of svc.loadBalancerIPs) add('loadBalancer', ip, sp.port);
      if (sp.nodePort !== undefined && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
        for (const ip of allNodeAddrs) add('nodePort', ip, sp.nodePort);
      }
    }
  }
  return out;
}

function check(tt: Test, name: string, model: ResolvedCluster): void {
  const old = materialised(model.cluster, model.nodeAddresses);
  const keys: { addr: IpAddr; proto: number; port: number }[] = [];
  const nodeAddrs = [...model.nodeAddresses.values()].flat();
  const protoPorts = new Set<string>(['6:30000', '17:30000', '132:80']);
  for (const svc of model.cluster.services) {
    for (const sp of svc.ports) {
      protoPorts.add(`${sp.protocol}:${sp.port}`);
      if (sp.nodePort !== undefined) protoPorts.add(`${sp.protocol}:${sp.nodePort}`);
      for (const a of [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs]) keys.push({ addr: a, proto: sp.protocol, port: sp.port });
    }
  }
  const extra: IpAddr[] = [{ family: 4, value: 0x08080808n }, { family: 6, value: 1n }, ...model.cluster.pods.slice(0, 5).flatMap((p) => p.ips)];
  for (const pp of protoPorts) {
    const [proto, port] = pp.split(':').map(Number) as [number, number];
    for (const addr of [...nodeAddrs, ...extra]) keys.push({ addr, proto, port });
  }
  let bad = 0;
  let nodePortHits = 0;
  for (const k of keys) {
    const want = old.get(addrPortKey(k.addr, k.proto, k.port));
    const fe = model.nat.lookup(k.addr, k.proto, k.port);
    const got = fe && { kind: fe.kind, service: `${fe.service.namespace}/${fe.service.name}`, port: `${fe.servicePort.name ?? ''}:${fe.servicePort.port}`, family: k.addr.family };
    if (got?.kind === 'nodePort') nodePortHits++;
    const backendsOk = !fe || fe.backends.every((b) => b.addr.family === k.addr.family);
    if (JSON.stringify(want) !== JSON.stringify(got) || !backendsOk) {
      if (bad++ < 5) tt.fail(`${name}: ${formatIp(k.addr)} ${k.proto}/${k.port}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
  tt.equal(bad, 0, `${name}: ${keys.length} keys (${nodePortHits} NodePort hits) answer as the materialised table`);
  // Exact entries + NodePort entries replace the materialised keys.
  tt.ok(model.nat.entries().length <= old.size, `${name}: ${model.nat.entries().length} exact entries <= ${old.size} materialised keys`);
}

t.test('hand-written NodePort collisions', (tt) => {
  for (const f of ['test/cases/nat/nodeport-precedence.yaml', 'test/cases/nat/service-nat.yaml']) {
    const loaded = loadClusterFromTexts([{ name: f, text: readFileSync(join(root, f), 'utf8') }]);
    check(tt, f, new ResolvedCluster(loaded.cluster));
  }
  tt.end();
});

t.test('precedence details (nodeport-precedence.yaml)', (tt) => {
  const f = 'test/cases/nat/nodeport-precedence.yaml';
  const model = new ResolvedCluster(loadClusterFromTexts([{ name: f, text: readFileSync(join(root, f), 'utf8') }]).cluster);
  const v4 = (s: string): IpAddr => ({ family: 4, value: BigInt(s.split('.').reduce((n, o) => n * 256 + Number(o), 0)) });
  const who = (a: string, proto: number, port: number): string | undefined => {
    const fe = model.nat.lookup(v4(a), proto, port);
    return fe && `${fe.kind} ${fe.service.namespace}/${fe.service.name}:${fe.servicePort.name}`;
  };
  tt.equal(who('192.168.0.11', 6, 30001), 'nodePort a/first:one', 'earlier NodePort beats a later externalIP on a node address');
  tt.equal(who('192.168.0.12', 6, 30002), 'externalIP a/aaa:p', 'earlier externalIP on a node address beats a later NodePort');
  tt.equal(who('192.168.0.11', 6, 30002), 'nodePort a/first:two', 'the NodePort everywhere else');
  tt.equal(who('192.168.0.13', 6, 30003), 'nodePort a/first:three', 'two services with one NodePort: the first wins, also on a HEP expectedIP');
  tt.equal(who('192.168.0.12', 17, 30001), 'nodePort b/second:u', 'NodePorts are per protocol');
  tt.equal(who('192.168.0.11', 6, 30004), 'nodePort a/self1:np', 'same service: port order decides (NodePort first)');
  tt.equal(who('192.168.0.11', 6, 30005), 'externalIP a/self2:ext', 'same service: port order decides (externalIP first)');
  tt.equal(who('192.168.0.12', 6, 30005), 'nodePort a/self2:np');
  tt.equal(who('10.30.0.10', 6, 30001), undefined, 'a pod address is no node address');
  tt.equal(who('192.168.0.99', 6, 30001), undefined, 'an unknown address is no node address');
  tt.same(
    model.nat.nodePortEntries().map((e) => `${e.family} ${e.proto}/${e.port} ${e.frontend.service.name}:${e.frontend.servicePort.name} ${e.frontend.backends.length}`),
    ['4 6/30001 first:one 1', '6 6/30001 first:one 1', '4 6/30002 first:two 1', '6 6/30002 first:two 0', '4 6/30003 first:three 1', '6 6/30003 first:three 0', '4 6/30004 self1:np 1', '6 6/30004 self1:np 0', '4 6/30005 self2:np 1', '6 6/30005 self2:np 0', '4 17/30001 second:u 1', '6 17/30001 second:u 0'],
    'one entry per NodePort and node-address family, first claimant, backends of that family',
  );
  tt.end();
});

t.test('generated clusters (whole cluster and --node)', (tt) => {
  for (let seed = 1; seed <= 12; seed++) {
    const { cluster } = loadGeneratedCluster(generateCluster(seed, seed % 4 === 0 ? SMALL : TINY));
    check(tt, `seed ${seed}`, new ResolvedCluster(cluster));
    const node = cluster.nodes[0]?.name;
    if (node) check(tt, `seed ${seed} --node ${node}`, new ResolvedCluster(cluster, { node }));
  }
  tt.end();
});

t.test('node addresses of the NAT table are exactly the host addresses (class hostNode)', (tt) => {
  for (let seed = 1; seed <= 4; seed++) {
    const { cluster } = loadGeneratedCluster(generateCluster(seed, TINY));
    const model = new ResolvedCluster(cluster, { node: cluster.nodes[0]?.name });
    const candidates: IpAddr[] = [...model.nodeAddresses.values()].flat();
    for (const e of model.entities) for (const c of e.cidrs) candidates.push({ family: c.family, value: c.base });
    for (const n of cluster.nodes) candidates.push(...n.addresses);
    let bad = 0;
    for (const a of candidates) if (model.nat.isNodeAddress(a) !== (model.hostNodeAt(a) !== undefined)) bad++;
    tt.equal(bad, 0, `seed ${seed}: ${candidates.length} addresses`);
  }
  tt.end();
});
