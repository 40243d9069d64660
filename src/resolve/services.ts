/**
 * Service NAT frontends and backends (SEMANTICS.md §6): ClusterIP(s),
 * externalIPs, LoadBalancer ingress IPs on the service port, and every node
 * address on the NodePort. Backends are the ready addresses of the service's
 * EndpointSlices for the matching port name, sorted for determinism.
 */
import type { IpAddr } from '../net/ip.js';
import { ipCompare } from '../net/ip.js';
import type { Cluster, Service, ServicePort } from '../model/types.js';
import { addrPortKey } from './ipsets.js';

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

/** One frontend key and what it resolves to (see `NatTable.entries`). */
export interface NatEntry {
  addr: IpAddr;
  proto: number;
  port: number;
  frontend: Frontend;
}

export class NatTable {
  private readonly frontends = new Map<string, Frontend>();
  private readonly list: NatEntry[] = [];

  constructor(cluster: Cluster, nodeAddresses: Map<string, IpAddr[]>) {
    const services = [...cluster.services].sort((a, b) =>
      a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
    );
    const allNodeAddrs: IpAddr[] = [];
    for (const addrs of nodeAddresses.values()) allNodeAddrs.push(...addrs);
    for (const svc of services) {
      if (svc.type === 'ExternalName') continue;
      for (const sp of svc.ports) {
        const backends = backendsFor(cluster, svc, sp);
        const add = (kind: FrontendKind, addr: IpAddr, port: number): void => {
          const key = addrPortKey(addr, sp.protocol, port);
          if (this.frontends.has(key)) return; // first (sorted) service wins
          const frontend: Frontend = {
            kind,
            service: svc,
            servicePort: sp,
            backends: backends.filter((b) => b.addr.family === addr.family),
          };
          this.frontends.set(key, frontend);
          this.list.push({ addr, proto: sp.protocol, port, frontend });
        };
        for (const ip of svc.clusterIPs) add('clusterIP', ip, sp.port);
        for (const ip of svc.externalIPs) add('externalIP', ip, sp.port);
        for (const ip of svc.loadBalancerIPs) add('loadBalancer', ip, sp.port);
        if (sp.nodePort !== undefined && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
          for (const ip of allNodeAddrs) add('nodePort', ip, sp.nodePort);
        }
      }
    }
  }

  lookup(addr: IpAddr, proto: number, port: number): Frontend | undefined {
    return this.frontends.get(addrPortKey(addr, proto, port));
  }

  /** Every frontend key with its resolution (what `lookup` answers), in insertion order. */
  entries(): readonly NatEntry[] {
    return this.list;
  }

  get size(): number {
    return this.frontends.size;
  }
}

function backendsFor(cluster: Cluster, svc: Service, sp: ServicePort): Backend[] {
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const slice of cluster.endpointSlices) {
    if (slice.namespace !== svc.namespace || slice.serviceName !== svc.name) continue;
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
