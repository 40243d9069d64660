/**
 * Seeded synthetic traffic for a cluster: 5-tuples biased towards the
 * addresses, ports and ICMP types the cluster and its policies mention, so
 * that random tuples exercise rule edges instead of falling through to
 * "no match" (SEMANTICS.md §4, §6).
 *
 * Sources and destinations come from: pod IPs (incl. host-networked pods),
 * node addresses, host-endpoint expected IPs, service frontends (ClusterIP,
 * external IP, LoadBalancer IP on the service port; node addresses on the
 * NodePort), EndpointSlice backends, network-set and rule CIDRs (network
 * address, last address, ±1 around both, a random inside address), and
 * random outside addresses. Source and destination always share a family.
 *
 * `generateTupleBatch` returns the same tuples as struct-of-arrays per family
 * (see `TupleBatch`) for the native engine, plus the objects for the
 * reference evaluator.
 */
import type { Cidr, Family, IpAddr } from '../net/ip.js';
import { familyBits, hasPorts } from '../net/ip.js';
import type { Tuple } from '../net/tuple.js';
import type { Cluster, EntityRule, NamedPort, PortList, Rule } from '../model/types.js';
import { DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND } from '../resolve/options.js';
import { Rng } from './random.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const SCTP = 132;
const UDPLITE = 136;

interface Endpointish {
  addr: IpAddr;
  ports: readonly NamedPort[];
}

interface ServiceTarget {
  addr: IpAddr;
  proto: number;
  port: number;
}

/**
 * A list given as segments — plain items, or blocks of `n` items computed on
 * access — that draws exactly like the flat list (`pick` = item
 * `rng.below(length)`) without materialising it. NodePorts make the
 * frontend pool node addresses × NodePorts long (10⁸ at 100k pods).
 */
export class SegmentedList<T> {
  private readonly ends: number[] = [];
  private readonly parts: { items?: T[]; at?: (k: number) => T }[] = [];
  length = 0;

  push(item: T): void {
    const last = this.parts[this.parts.length - 1];
    if (last?.items) last.items.push(item);
    else {
      this.parts.push({ items: [item] });
      this.ends.push(this.length);
    }
    this.length++;
    this.ends[this.ends.length - 1] = this.length;
  }

  /** Appends `n` items, item k being `at(k)`. */
  pushBlock(n: number, at: (k: number) => T): void {
    if (n <= 0) return;
    this.parts.push({ at });
    this.length += n;
    this.ends.push(this.length);
  }

  at(i: number): T {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`SegmentedList index ${i} of ${this.length}`);
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! > i) hi = mid;
      else lo = mid + 1;
    }
    const k = i - (lo === 0 ? 0 : this.ends[lo - 1]!);
    const part = this.parts[lo]!;
    return part.items ? part.items[k]! : part.at!(k);
  }
}

interface FamilyPools {
  pods: Endpointish[];
  nodes: IpAddr[];
  heps: Endpointish[];
  /** Service frontends (pre-DNAT; NodePorts as node-address blocks) and EndpointSlice backends. */
  frontends: SegmentedList<ServiceTarget>;
  backends: ServiceTarget[];
  /** Edge addresses of network-set and rule CIDRs. */
  edges: IpAddr[];
  /** CIDRs to draw random inside addresses from. */
  cidrs: Cidr[];
}

/** What a cluster offers the tuple generator; build once, draw many tuples. */
export class TrafficModel {
  readonly v4: FamilyPools = emptyPools();
  readonly v6: FamilyPools = emptyPools();
  /** Port numbers policies and services mention, incl. range edges ±1. */
  readonly ports: number[];
  /** Protocol numbers rules mention (beyond the usual ones). */
  readonly protocols: number[];
  readonly icmpV4: { type: number; code: number }[];
  readonly icmpV6: { type: number; code: number }[];
  /** Share of IPv6 tuples. */
  readonly v6Share: number;

  constructor(cluster: Cluster) {
    const ports = new Set<number>([0, 1, 22, 53, 80, 443, 8080, 65535]);
    const protocols = new Set<number>();
    const icmp4 = new Map<string, { type: number; code: number }>();
    const icmp6 = new Map<string, { type: number; code: number }>();
    for (const [t, c] of [
      [0, 0],
      [3, 3],
      [8, 0],
      [11, 0],
    ])
      icmp4.set(`${t}/${c}`, { type: t!, code: c! });
    for (const [t, c] of [
      [1, 4],
      [128, 0],
      [129, 0],
      [135, 0],
    ])
      icmp6.set(`${t}/${c}`, { type: t!, code: c! });
    const pool = (f: Family): FamilyPools => (f === 4 ? this.v4 : this.v6);
    const addPort = (p: number): void => {
      if (p >= 0 && p <= 65535) ports.add(p);
    };
    const addCidr = (c: Cidr): void => {
      const p = pool(c.family);
      p.cidrs.push(c);
      const bits = familyBits(c.family);
      const max = (1n << BigInt(bits)) - 1n;
      const last = c.base | ((1n << BigInt(bits - c.prefixLen)) - 1n);
      for (const v of [c.base - 1n, c.base, c.base + 1n, last - 1n, last, last + 1n]) {
        if (v >= 0n && v <= max) p.edges.push({ family: c.family, value: v });
      }
    };

    for (const pod of cluster.pods) for (const a of pod.ips) pool(a.family).pods.push({ addr: a, ports: pod.ports });
    for (const node of cluster.nodes) for (const a of node.addresses) pool(a.family).nodes.push(a);
    for (const hep of cluster.hostEndpoints) {
      for (const a of hep.expectedIPs) pool(a.family).heps.push({ addr: a, ports: hep.ports });
      for (const np of hep.ports) addPort(np.port);
    }
    for (const pod of cluster.pods) for (const np of pod.ports) addPort(np.port);
    const allNodeAddrs = cluster.nodes.flatMap((n) => n.addresses);
    const nodeAddrsOf = { 4: allNodeAddrs.filter((a) => a.family === 4), 6: allNodeAddrs.filter((a) => a.family === 6) };
    for (const svc of cluster.services) {
      if (svc.type === 'ExternalName') continue;
      for (const sp of svc.ports) {
        addPort(sp.port);
        if (typeof sp.targetPort === 'number') addPort(sp.targetPort);
        for (const a of [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs]) {
          pool(a.family).frontends.push({ addr: a, proto: sp.protocol, port: sp.port });
        }
        if (sp.nodePort !== undefined && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
          addPort(sp.nodePort);
          // Every node address on the NodePort, drawn as if listed (no nodes × NodePorts list).
          const { protocol: proto, nodePort: port } = sp;
          for (const f of [4, 6] as const) pool(f).frontends.pushBlock(nodeAddrsOf[f].length, (k) => ({ addr: nodeAddrsOf[f][k]!, proto, port }));
        }
      }
    }
    for (const slice of cluster.endpointSlices) {
      for (const ep of slice.endpoints) {
        for (const a of ep.addresses) {
          for (const p of slice.ports) if (p.port !== undefined) pool(a.family).backends.push({ addr: a, proto: p.protocol, port: p.port });
        }
      }
    }
    for (const set of cluster.networkSets) for (const c of set.nets) addCidr(c);

    const rulePorts = (pl: PortList | undefined): void => {
      if (!pl) return;
      for (const r of pl.ranges) for (const p of [r.first - 1, r.first, r.first + 1, r.last - 1, r.last, r.last + 1]) addPort(p);
    };
    const entity = (e: EntityRule): void => {
      for (const c of e.nets ?? []) addCidr(c);
      for (const c of e.notNets ?? []) addCidr(c);
      rulePorts(e.ports);
      rulePorts(e.notPorts);
    };
    const rule = (r: Rule): void => {
      if (r.protocol !== undefined) protocols.add(r.protocol);
      if (r.notProtocol !== undefined) protocols.add(r.notProtocol);
      for (const m of [r.icmp, r.notICMP]) {
        if (!m) continue;
        const target = r.protocol === ICMPV6 || r.ipVersion === 6 ? icmp6 : icmp4;
        for (const code of m.code === undefined ? [0, 1] : [m.code - 1, m.code, m.code + 1]) {
          if (code >= 0 && code <= 255) target.set(`${m.type}/${code}`, { type: m.type, code });
        }
        if (m.type < 255) target.set(`${m.type + 1}/0`, { type: m.type + 1, code: 0 });
      }
      entity(r.source);
      entity(r.destination);
    };
    for (const p of cluster.policies) for (const r of [...p.ingress, ...p.egress]) rule(r);
    for (const p of cluster.profiles) for (const r of [...p.ingress, ...p.egress]) rule(r);
    for (const f of [...DEFAULT_FAILSAFE_INBOUND, ...DEFAULT_FAILSAFE_OUTBOUND]) addPort(f.port);

    this.ports = [...ports].sort((a, b) => a - b);
    this.protocols = [...protocols].sort((a, b) => a - b);
    this.icmpV4 = [...icmp4.values()];
    this.icmpV6 = [...icmp6.values()];
    const v6Stuff = this.v6.pods.length + this.v6.frontends.length + this.v6.cidrs.length;
    const v4Stuff = this.v4.pods.length + this.v4.frontends.length + this.v4.cidrs.length;
    this.v6Share = v6Stuff === 0 ? 0.03 : Math.min(0.5, Math.max(0.1, v6Stuff / (v4Stuff + v6Stuff)));
  }
}

function emptyPools(): FamilyPools {
  return { pods: [], nodes: [], heps: [], frontends: new SegmentedList(), backends: [], edges: [], cidrs: [] };
}

type Kind = 'pod' | 'node' | 'hep' | 'frontend' | 'backend' | 'edge' | 'inside' | 'outside';

const SRC_KINDS: ReadonlyArray<readonly [Kind, number]> = [
  ['pod', 45],
  ['node', 8],
  ['hep', 5],
  ['edge', 10],
  ['inside', 7],
  ['outside', 20],
  ['backend', 3],
  ['frontend', 2],
];
const DST_KINDS: ReadonlyArray<readonly [Kind, number]> = [
  ['pod', 33],
  ['frontend', 16],
  ['backend', 6],
  ['node', 8],
  ['hep', 5],
  ['edge', 10],
  ['inside', 7],
  ['outside', 15],
];

/** Draws one tuple; all randomness from `rng`. */
function drawTuple(rng: Rng, m: TrafficModel): Tuple {
  const family: Family = rng.chance(m.v6Share) ? 6 : 4;
  const p = family === 4 ? m.v4 : m.v6;
  const bits = familyBits(family);

  let dstPorts: readonly NamedPort[] | undefined;
  let target: ServiceTarget | undefined;
  const pickAddr = (kind: Kind, isDst: boolean): IpAddr => {
    switch (kind) {
      case 'pod':
      case 'hep': {
        const list = kind === 'pod' ? p.pods : p.heps;
        if (list.length === 0) break;
        const e = rng.pick(list);
        if (isDst) dstPorts = e.ports;
        return e.addr;
      }
      case 'node':
        if (p.nodes.length === 0) break;
        return rng.pick(p.nodes);
      case 'frontend':
      case 'backend': {
        const list = kind === 'frontend' ? p.frontends : p.backends;
        if (list.length === 0) break;
        const t = list instanceof SegmentedList ? list.at(rng.below(list.length)) : rng.pick(list);
        if (isDst) target = t;
        return t.addr;
      }
      case 'edge':
        if (p.edges.length === 0) break;
        return rng.pick(p.edges);
      case 'inside': {
        if (p.cidrs.length === 0) break;
        const c = rng.pick(p.cidrs);
        const hostBits = bits - c.prefixLen;
        const mask = hostBits === 0 ? 0n : (1n << BigInt(hostBits)) - 1n;
        return { family, value: c.base | (rng.bigBits(bits) & mask) };
      }
      case 'outside':
        break;
    }
    // Random address (also the fallback when a pool is empty).
    if (family === 4 && rng.chance(0.2)) return { family, value: BigInt(rng.pick([0x08080808, 0x01010101, 0xc0000201, 0x7f000001, 0xffffffff, 0])) };
    return { family, value: rng.bigBits(bits) };
  };

  const src = pickAddr(rng.weighted(SRC_KINDS), false);
  const dst = pickAddr(rng.weighted(DST_KINDS), true);

  // Protocol: the service's own most of the time, else a mix incl. odd ones.
  let proto: number;
  if (target && rng.chance(0.9)) proto = target.proto;
  else {
    const k = rng.weighted([
      ['tcp', 40],
      ['udp', 20],
      ['sctp', 7],
      ['icmp', 13],
      ['udplite', 5],
      ['wrongIcmp', 1.5],
      ['ruleProto', 4],
      ['random', 1.5],
    ] as const);
    switch (k) {
      case 'tcp':
        proto = TCP;
        break;
      case 'udp':
        proto = UDP;
        break;
      case 'sctp':
        proto = SCTP;
        break;
      case 'icmp':
        proto = family === 4 ? ICMP : ICMPV6;
        break;
      case 'udplite':
        proto = UDPLITE;
        break;
      case 'wrongIcmp':
        proto = family === 4 ? ICMPV6 : ICMP;
        break;
      case 'ruleProto':
        proto = m.protocols.length ? rng.pick(m.protocols) : 47;
        break;
      default:
        proto = rng.int(0, 255);
    }
  }

  const t: Tuple = { src, dst, proto };
  if (hasPorts(proto)) {
    let dport: number;
    const named = dstPorts?.filter((np) => np.protocol === proto);
    if (target && target.proto === proto && rng.chance(0.85)) dport = target.port;
    else if (named && named.length && rng.chance(0.5)) dport = rng.pick(named).port;
    else if (rng.chance(0.7)) dport = rng.pick(m.ports);
    else dport = rng.int(0, 65535);
    const sport = rng.chance(0.75) ? rng.int(32768, 60999) : rng.chance(0.8) ? rng.pick(m.ports) : rng.int(0, 65535);
    t.sport = sport;
    t.dport = dport;
  } else if (proto === ICMP || proto === ICMPV6) {
    const pool = proto === ICMP ? m.icmpV4 : m.icmpV6;
    if (pool.length && rng.chance(0.85)) {
      const c = rng.pick(pool);
      t.icmpType = c.type;
      t.icmpCode = c.code;
    } else {
      t.icmpType = rng.int(0, 255);
      t.icmpCode = rng.int(0, 15);
    }
  }
  return t;
}

/**
 * `n` seeded tuples for a cluster. Same (seed, cluster, n) → same tuples;
 * a prefix of a longer run equals a shorter run.
 */
export function generateTuples(seed: number, cluster: Cluster | TrafficModel, n: number): Tuple[] {
  const model = cluster instanceof TrafficModel ? cluster : new TrafficModel(cluster);
  const rng = new Rng(seed).fork('traffic');
  const out: Tuple[] = new Array<Tuple>(n);
  for (let i = 0; i < n; i++) out[i] = drawTuple(rng, model);
  return out;
}

/**
 * One family's tuples as struct-of-arrays. Row i is tuple `tuples[index[i]]`.
 *
 * - `src`, `dst`: IPv4: one word per tuple, the address as an unsigned
 *   integer (10.0.0.1 = 0x0a000001). IPv6: four words per tuple, big-endian
 *   word order (word 4i holds address bits 127..96, word 4i+3 bits 31..0),
 *   each word an unsigned integer.
 * - `sport`, `dport`: the ports for TCP/UDP/SCTP/UDPLite (`hasPorts(proto)`),
 *   0 otherwise (port 0 is also a valid port of those protocols — use
 *   `proto` to tell).
 * - `icmpType`, `icmpCode`: for ICMP (1) and ICMPv6 (58), 0 otherwise.
 */
export interface TupleColumns {
  family: Family;
  count: number;
  index: Uint32Array;
  src: Uint32Array;
  dst: Uint32Array;
  sport: Uint16Array;
  dport: Uint16Array;
  proto: Uint8Array;
  icmpType: Uint8Array;
  icmpCode: Uint8Array;
}

export interface TupleBatch {
  /** The tuples as objects, in generation order (for the reference evaluator). */
  tuples: Tuple[];
  v4: TupleColumns;
  v6: TupleColumns;
}

function columns(family: Family, count: number): TupleColumns {
  const words = family === 4 ? 1 : 4;
  return {
    family,
    count: 0,
    index: new Uint32Array(count),
    src: new Uint32Array(count * words),
    dst: new Uint32Array(count * words),
    sport: new Uint16Array(count),
    dport: new Uint16Array(count),
    proto: new Uint8Array(count),
    icmpType: new Uint8Array(count),
    icmpCode: new Uint8Array(count),
  };
}

function writeAddr(out: Uint32Array, row: number, a: IpAddr): void {
  if (a.family === 4) {
    out[row] = Number(a.value);
    return;
  }
  const v = a.value;
  const base = row * 4;
  out[base] = Number((v >> 96n) & 0xffffffffn);
  out[base + 1] = Number((v >> 64n) & 0xffffffffn);
  out[base + 2] = Number((v >> 32n) & 0xffffffffn);
  out[base + 3] = Number(v & 0xffffffffn);
}

/** Packs any tuples (both families mixed) into per-family columns. */
export function packTuples(tuples: readonly Tuple[]): TupleBatch {
  let n4 = 0;
  for (const t of tuples) if (t.src.family === 4) n4++;
  const v4 = columns(4, n4);
  const v6 = columns(6, tuples.length - n4);
  for (let i = 0; i < tuples.length; i++) {
    const t = tuples[i]!;
    if (t.src.family !== t.dst.family) throw new RangeError(`tuple ${i}: source and destination families differ`);
    const c = t.src.family === 4 ? v4 : v6;
    const row = c.count++;
    c.index[row] = i;
    writeAddr(c.src, row, t.src);
    writeAddr(c.dst, row, t.dst);
    c.proto[row] = t.proto;
    c.sport[row] = t.sport ?? 0;
    c.dport[row] = t.dport ?? 0;
    c.icmpType[row] = t.icmpType ?? 0;
    c.icmpCode[row] = t.icmpCode ?? 0;
  }
  return { tuples: tuples as Tuple[], v4, v6 };
}

/** `generateTuples` plus the struct-of-arrays form of the same tuples. */
export function generateTupleBatch(seed: number, cluster: Cluster | TrafficModel, n: number): TupleBatch {
  return packTuples(generateTuples(seed, cluster, n));
}
