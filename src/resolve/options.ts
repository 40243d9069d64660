/**
 * Choices a user can make about the modelled data path. Every default follows
 * Calico v3.30–v3.32 (felix defaults); see docs/SEMANTICS-CHOICES.md.
 */
import type { Tuple } from '../net/tuple.js';

/** What of a tuple decides which endpoints it meets (see `ResolveOptions.traffic`). */
export type TrafficKey = Pick<Tuple, 'src' | 'dst' | 'proto' | 'dport'>;

export interface FailsafePort {
  protocol: number;
  port: number;
}

export interface ResolveOptions {
  /**
   * Mirror one node's data path: only endpoints on this node are policed.
   * Undefined: every endpoint in the cluster is policed (each on its own node).
   */
  node?: string;
  /**
   * Police only the endpoints this traffic meets: its sources, its (pre-NAT)
   * destinations and every backend of a service frontend or NodePort it hits
   * (with `node`: only those on that node). For these tuples every result
   * equals the unrestricted model's, while compile cost and image size follow
   * the endpoints the traffic meets instead of the whole cluster (programs are
   * per endpoint). Other traffic meets unpoliced endpoints.
   */
  traffic?: readonly TrafficKey[];
  /** felix DefaultEndpointToHostAction for workload → its own host. Default Drop. */
  endpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  /** felix FailsafeInboundHostPorts; default per SEMANTICS.md §3.10. */
  failsafeInbound?: FailsafePort[];
  /** felix FailsafeOutboundHostPorts. */
  failsafeOutbound?: FailsafePort[];
}

const TCP = 6;
const UDP = 17;

export const DEFAULT_FAILSAFE_INBOUND: FailsafePort[] = [
  { protocol: TCP, port: 22 },
  { protocol: UDP, port: 68 },
  { protocol: TCP, port: 179 },
  { protocol: TCP, port: 2379 },
  { protocol: TCP, port: 2380 },
  { protocol: TCP, port: 5473 },
  { protocol: TCP, port: 6443 },
  { protocol: TCP, port: 6666 },
  { protocol: TCP, port: 6667 },
];

export const DEFAULT_FAILSAFE_OUTBOUND: FailsafePort[] = [
  { protocol: UDP, port: 53 },
  { protocol: UDP, port: 67 },
  { protocol: TCP, port: 179 },
  { protocol: TCP, port: 2379 },
  { protocol: TCP, port: 2380 },
  { protocol: TCP, port: 5473 },
  { protocol: TCP, port: 6443 },
  { protocol: TCP, port: 6666 },
  { protocol: TCP, port: 6667 },
];
