/**
 * Seeded tuples for the differential test, drawn to hit the interesting
 * cases: endpoint, host and network-set addresses (and CIDR edges), service
 * frontends (ClusterIP, NodePort), named-port and rule-port values, failsafe
 * ports, ICMP type/code, odd protocols, and unknown addresses.
 */
import type { Cidr, Family, IpAddr } from '../../src/net/ip.js';
import { familyBits } from '../../src/net/ip.js';
import type { Tuple } from '../../src/net/tuple.js';
import type { ResolvedCluster } from '../../src/resolve/index.js';
import { SegmentedList } from '../../src/gen/traffic.js';

/** xorshift32-based PRNG (own copy: independent of src/gen's streams). */
export class TupleRng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

interface Pools {
  addrs: IpAddr[][];
  cidrs: Cidr[][];
  /** NodePorts as node-address blocks (drawn as if listed; no nodes × NodePorts list). */
  frontends: SegmentedList<{ addr: IpAddr; proto: number; port: number }>[];
  ports: number[];
}

function collectPools(model: ResolvedCluster): Pools {
  const addrs: IpAddr[][] = [[], [], [], [], [], [], []];
  const cidrs: Cidr[][] = [[], [], [], [], [], [], []];
  const frontends: Pools['frontends'] = [0, 1, 2, 3, 4, 5, 6].map(() => new SegmentedList());
  const nodeAddrs: IpAddr[][] = [[], [], [], [], [], [], []];
  for (const list of model.nodeAddresses.values()) for (const a of list) nodeAddrs[a.family]!.push(a);
  const ports = new Set<number>([22, 53, 67, 68, 80, 179, 443, 2379, 5473, 6443, 8080, 9090, 1, 1024, 65535]);
  for (const e of model.entities) {
    for (const c of e.cidrs) {
      if (c.prefixLen === familyBits(c.family)) addrs[c.family]!.push({ family: c.family, value: c.base });
      else cidrs[c.family]!.push(c);
    }
    for (const np of e.namedPorts) ports.add(np.port);
  }
  for (const list of model.nodeAddresses.values()) for (const a of list) addrs[a.family]!.push(a);
  const addRulePorts = (rules: { source: { ports?: { ranges: { first: number; last: number }[] }; notPorts?: { ranges: { first: number; last: number }[] }; nets?: Cidr[]; notNets?: Cidr[] }; destination: { ports?: { ranges: { first: number; last: number }[] }; notPorts?: { ranges: { first: number; last: number }[] }; nets?: Cidr[]; notNets?: Cidr[] } }[]): void => {
    for (const r of rules) {
      for (const er of [r.source, r.destination]) {
        for (const l of [er.ports, er.notPorts]) for (const rg of l?.ranges ?? []) [rg.first, rg.last, rg.first - 1, rg.last + 1].forEach((p) => p > 0 && p < 65536 && ports.add(p));
        for (const l of [er.nets, er.notNets]) for (const c of l ?? []) cidrs[c.family]!.push(c);
      }
    }
  };
  for (const p of model.cluster.policies) {
    addRulePorts(p.ingress);
    addRulePorts(p.egress);
  }
  for (const p of model.profiles.values()) {
    addRulePorts(p.ingress);
    addRulePorts(p.egress);
  }
  for (const s of model.cluster.endpointSlices) {
    for (const ep of s.endpoints) for (const a of ep.addresses) addrs[a.family]!.push(a);
    for (const p of s.ports) if (p.port !== undefined) ports.add(p.port);
  }
  for (const svc of model.cluster.services) {
    for (const sp of svc.ports) {
      ports.add(sp.port);
      for (const ip of [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs]) frontends[ip.family]!.push({ addr: ip, proto: sp.protocol, port: sp.port });
      if (sp.nodePort !== undefined) {
        ports.add(sp.nodePort);
        const { protocol: proto, nodePort: port } = sp;
        for (const f of [4, 6]) frontends[f]!.pushBlock(nodeAddrs[f]!.length, (k) => ({ addr: nodeAddrs[f]![k]!, proto, port }));
      }
    }
  }
  return { addrs, cidrs, frontends, ports: [...ports].sort((a, b) => a - b) };
}

function randomAddr(rng: TupleRng, f: Family, pools: Pools): IpAddr {
  const bits = familyBits(f);
  const r = rng.next();
  const addrs = pools.addrs[f]!;
  const cidrs = pools.cidrs[f]!;
  if (r < 0.55 && addrs.length) return rng.pick(addrs);
  if (r < 0.85 && cidrs.length) {
    const c = rng.pick(cidrs);
    const host = bits - c.prefixLen;
    const size = 1n << BigInt(host);
    const k = rng.int(4);
    // Edges (first, last, one past either side) and a random member.
    let v: bigint;
    if (k === 0) v = c.base;
    else if (k === 1) v = c.base + size - 1n;
    else if (k === 2) v = rng.chance(0.5) ? c.base - 1n : c.base + size;
    else v = c.base + (BigInt(Math.floor(rng.next() * 2 ** 30)) * BigInt(Math.floor(rng.next() * 2 ** 30)) + BigInt(rng.int(1 << 20))) % size;
    const top = 1n << BigInt(bits);
    return { family: f, value: ((v % top) + top) % top };
  }
  let v = 0n;
  for (let i = 0; i < bits / 16; i++) v = (v << 16n) | BigInt(rng.int(65536));
  if (rng.chance(0.5) && addrs.length) {
    // Near a known address: same upper bits.
    const a = rng.pick(addrs);
    v = (a.value & ~0xffn) | BigInt(rng.int(256));
  }
  return { family: f, value: v };
}

const PROTOS = [6, 6, 6, 17, 17, 132, 1, 58, 136, 47];

export function generateTuples(seed: number, model: ResolvedCluster, n: number): Tuple[] {
  const rng = new TupleRng(seed);
  const pools = collectPools(model);
  const out: Tuple[] = [];
  const families: Family[] = [];
  if (pools.addrs[4]!.length || pools.cidrs[4]!.length) families.push(4);
  if (pools.addrs[6]!.length || pools.cidrs[6]!.length) families.push(6);
  if (families.length === 0) families.push(4);
  for (let i = 0; i < n; i++) {
    const f = rng.pick(families);
    const src = randomAddr(rng, f, pools);
    let dst: IpAddr;
    let proto = rng.pick(PROTOS);
    let dport = rng.chance(0.8) ? rng.pick(pools.ports) : 1 + rng.int(65535);
    const fes = pools.frontends[f]!;
    if (fes.length && rng.chance(0.2)) {
      const fe = fes.at(rng.int(fes.length));
      dst = fe.addr;
      proto = fe.proto;
      dport = fe.port;
    } else {
      dst = randomAddr(rng, f, pools);
    }
    const t: Tuple = { src, dst, proto };
    if (proto === 1 || proto === 58) {
      t.icmpType = rng.chance(0.7) ? rng.pick([0, 3, 8, 11, 128, 129]) : rng.int(256);
      t.icmpCode = rng.chance(0.7) ? rng.int(4) : rng.int(256);
    } else if (proto === 6 || proto === 17 || proto === 132 || proto === 136) {
      t.sport = rng.chance(0.7) ? 1024 + rng.int(64512) : rng.pick(pools.ports);
      t.dport = dport;
    }
    out.push(t);
  }
  return out;
}
