/**
 * Service NAT frontends and backends (SEMANTICS.md §6): ClusterIP(s),
 * externalIPs, LoadBalancer ingress IPs on the service port, and every node
 * address on the NodePort (one entry per NodePort, not per node address). Backends are the ready addresses of the service's
 * EndpointSlices for the matching port name, sorted for determinism.
 */
import type { Family, IpAddr } from '../net/ip.js';
import { ipCompare } from '../net/ip.js';
import type { Cluster, EndpointSlice, Service, ServicePort } from '../model/types.js';
import { addrKey, addrPortKey } from './ipsets.js';

export type FrontendKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

export interface Backend {
  addr: IpAddr;
  port: number;
  nodeName?: string;
  pod?: { namespace: string; name: string };
}

export interface Frontend {
  kind: FrontendKind;
  service: Service;
  servicePort: ServicePort;
  backends: Backend[];
}

/** One exact frontend key and what it resolves to (see `NatTable.entries`). */
export interface NatEntry {
  addr: IpAddr;
  proto: number;
  port: number;
  frontend: Frontend;
}

/** A NodePort frontend: (family, proto, nodePort) on every node address of that family. */
export interface NodePortEntry {
  family: Family;
  proto: number;
  port: number;
  frontend: Frontend;
}

/**
 * Frontend keys are (address, proto, port). Services are taken in
 * (namespace, name) order and, within a service port, ClusterIPs, externalIPs,
 * LoadBalancer IPs, then the NodePort on every node address; the first
 * service to claim a key wins it.
 *
 * NodePorts are not materialised per node address (nodes × NodePorts keys):
 * `nodePorts` maps (proto, nodePort) to the first service port claiming it,
 * and applies to any node address (`nodeAddresses`, exactly the addresses of
 * `ResolvedCluster.hostNodeAt`). An exact frontend on a node address that a
 * NodePort claimed earlier is not recorded (the NodePort owns that key); one
 * recorded earlier keeps its key. So `lookup` = exact entry, else (node
 * address) the NodePort entry — the same answer as the materialised table.
 */
export class NatTable {
  private readonly frontends = new Map<string, Frontend>();
  private readonly list: NatEntry[] = [];
  private readonly nodeAddrs = new Set<string>();
  private readonly nodeFamilies = new Set<Family>();
  private readonly nodePorts = new Map<number, { v4: Frontend; v6: Frontend }>();
  private readonly nodePortList: NodePortEntry[] = [];

  constructor(cluster: Cluster, nodeAddresses: Map<string, IpAddr[]>) {
    const services = [...cluster.services].sort((a, b) =>
      a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
    );
    for (const addrs of nodeAddresses.values()) {
      for (const a of addrs) {
        this.nodeAddrs.add(addrKey(a));
        this.nodeFamilies.add(a.family);
      }
    }
    const slices = slicesByService(cluster);
    for (const svc of services) {
      if (svc.type === 'ExternalName') continue;
      for (const sp of svc.ports) {
        const backends = backendsFor(slices.get(serviceKey(svc.namespace, svc.name)) ?? [], sp);
        const frontendFor = (kind: FrontendKind, family: Family): Frontend => ({
          kind,
          service: svc,
          servicePort: sp,
          backends: backends.filter((b) => b.addr.family === family),
        });
        const add = (kind: FrontendKind, addr: IpAddr, port: number): void => {
          const key = addrPortKey(addr, sp.protocol, port);
          if (this.frontends.has(key)) return; // first (sorted) service wins
          if (this.nodePorts.has(nodePortKey(sp.protocol, port)) && this.nodeAddrs.has(addrKey(addr))) return; // an earlier NodePort owns it
          const frontend = frontendFor(kind, addr.family);
          this.frontends.set(key, frontend);
          this.list.push({ addr, proto: sp.protocol, port, frontend });
        };
        for (const ip of svc.clusterIPs) add('clusterIP', ip, sp.port);
        for (const ip of svc.externalIPs) add('externalIP', ip, sp.port);
        for (const ip of svc.loadBalancerIPs) add('loadBalancer', ip, sp.port);
        if (sp.nodePort !== undefined && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
          const k = nodePortKey(sp.protocol, sp.nodePort);
          if (!this.nodePorts.has(k)) {
            const fe = { v4: frontendFor('nodePort', 4), v6: frontendFor('nodePort', 6) };
            this.nodePorts.set(k, fe);
            for (const family of [4, 6] as const) {
              if (this.nodeFamilies.has(family)) this.nodePortList.push({ family, proto: sp.protocol, port: sp.nodePort, frontend: family === 4 ? fe.v4 : fe.v6 });
            }
          }
        }
      }
    }
  }

  lookup(addr: IpAddr, proto: number, port: number): Frontend | undefined {
    const exact = this.frontends.get(addrPortKey(addr, proto, port));
    if (exact !== undefined || this.nodePorts.size === 0) return exact;
    if (!this.nodeAddrs.has(addrKey(addr))) return undefined;
    const np = this.nodePorts.get(nodePortKey(proto, port));
    return np === undefined ? undefined : addr.family === 4 ? np.v4 : np.v6;
  }

  /** Every exact frontend key with its resolution, in insertion order. */
  entries(): readonly NatEntry[] {
    return this.list;
  }

  /** Every NodePort, per family that has node addresses, in insertion order. */
  nodePortEntries(): readonly NodePortEntry[] {
    return this.nodePortList;
  }

  /** Is `addr` a node address (where NodePorts apply)? */
  isNodeAddress(addr: IpAddr): boolean {
    return this.nodeAddrs.has(addrKey(addr));
  }

  /** Exact frontend keys plus NodePort entries (not node addresses × NodePorts). */
  get size(): number {
    return this.frontends.size + this.nodePortList.length;
  }
}

const nodePortKey = (proto: number, port: number): number => proto * 65536 + port;
const serviceKey = (namespace: string, name: string): string => `${namespace}/${name}`;

function slicesByService(cluster: Cluster): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const slice of cluster.endpointSlices) {
    if (slice.serviceName === undefined) continue; // belongs to no service
    const k = serviceKey(slice.namespace, slice.serviceName);
    let l = out.get(k);
    if (!l) out.set(k, (l = []));
    l.push(slice);
  }
  return out;
}

/** Ready backends of one service port from the service's own slices (in slice order). */
function backendsFor(slices: readonly EndpointSlice[], sp: ServicePort): Backend[] {
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    const port = slice.ports.find((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol);
    if (!port || port.port === undefined) continue;
    for (const ep of slice.endpoints) {
      if (ep.ready === false) continue; // kube-proxy / BPF NAT only use ready endpoints
      for (const addr of ep.addresses) {
        const key = addrPortKey(addr, sp.protocol, port.port);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ addr, port: port.port, nodeName: ep.nodeName, pod: ep.targetPod });
      }
    }
  }
  out.sort((a, b) => ipCompare(a.addr, b.addr) || a.port - b.port);
  return out;
}
