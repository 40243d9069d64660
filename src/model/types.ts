/**
 * The IR: validated, defaulted resources. Produced by model/build.ts from the
 * raw documents of parse/, consumed by resolve/ and reference/.
 * Nothing here knows about YAML; every object keeps its Origin for messages
 * and for "deciding rule at file:line" output.
 */
import type { Cidr, IpAddr } from '../net/ip.js';
import type { Selector } from '../parse/selector/types.js';

export interface Origin {
  file: string;
  line: number;
  column: number;
  /** Field path inside the document (`spec.egress[1]`), '' for the document itself. */
  path: string;
}

export type Labels = ReadonlyMap<string, string>;

export type Action = 'Allow' | 'Deny' | 'Pass' | 'Log';
export type Direction = 'ingress' | 'egress';

export interface PortRange {
  first: number;
  last: number;
}

/** One `ports`/`notPorts` list: numeric ranges and named ports, ORed. */
export interface PortList {
  ranges: PortRange[];
  named: string[];
}

export interface IcmpMatch {
  type: number;
  code?: number;
}

export interface ServiceRef {
  name: string;
  /** Namespace as resolved by the loader (NetworkPolicy default applied, see docs). */
  namespace: string;
}

export interface EntityRule {
  nets?: Cidr[];
  notNets?: Cidr[];
  selector?: Selector;
  notSelector?: Selector;
  namespaceSelector?: Selector;
  serviceAccounts?: { names?: string[]; selector?: Selector };
  services?: ServiceRef;
  ports?: PortList;
  notPorts?: PortList;
}

export interface Rule {
  action: Action;
  ipVersion?: 4 | 6;
  protocol?: number;
  notProtocol?: number;
  icmp?: IcmpMatch;
  notICMP?: IcmpMatch;
  source: EntityRule;
  destination: EntityRule;
  /** True when the rule had `http` criteria (ignored at L4, warned). */
  hasHttp?: boolean;
  /** Index in its policy's ingress or egress list (0-based). */
  index: number;
  origin: Origin;
}

export type PolicyKind =
  | 'GlobalNetworkPolicy'
  | 'NetworkPolicy'
  | 'KubernetesNetworkPolicy'
  | 'StagedGlobalNetworkPolicy'
  | 'StagedNetworkPolicy'
  | 'StagedKubernetesNetworkPolicy';

export interface Policy {
  kind: PolicyKind;
  name: string;
  /** Undefined for global kinds. */
  namespace?: string;
  tier: string;
  /** Undefined = +infinity (after every ordered policy). */
  order?: number;
  /** The policy's own `selector` (all() when empty). */
  selector: Selector;
  /** GNP only. */
  namespaceSelector?: Selector;
  serviceAccountSelector?: Selector;
  /** After defaulting (SEMANTICS.md §3.2). */
  types: { ingress: boolean; egress: boolean };
  ingress: Rule[];
  egress: Rule[];
  staged: boolean;
  applyOnForward: boolean;
  preDNAT: boolean;
  doNotTrack: boolean;
  origin: Origin;
}

export interface Tier {
  name: string;
  /** Undefined = after all ordered tiers. */
  order?: number;
  defaultAction: 'Deny' | 'Pass';
  /** False for tiers referenced by policies but never defined (SEMANTICS.md §3.3). */
  defined: boolean;
  builtin: boolean;
  origin?: Origin;
}

export interface NamedPort {
  name: string;
  protocol: number;
  port: number;
}

export interface Namespace {
  name: string;
  labels: Labels;
  origin: Origin;
}

export interface ServiceAccount {
  name: string;
  namespace: string;
  labels: Labels;
  origin: Origin;
}

export interface Pod {
  name: string;
  namespace: string;
  labels: Labels;
  nodeName?: string;
  hostNetwork: boolean;
  /** Status phase, e.g. Running; Succeeded/Failed pods lose their IPs. */
  phase?: string;
  ips: IpAddr[];
  serviceAccountName?: string;
  ports: NamedPort[];
  origin: Origin;
}

export interface NetworkSet {
  name: string;
  /** Undefined for GlobalNetworkSet. */
  namespace?: string;
  labels: Labels;
  nets: Cidr[];
  origin: Origin;
}

export interface HostEndpoint {
  name: string;
  node: string;
  interfaceName?: string;
  expectedIPs: IpAddr[];
  profiles: string[];
  labels: Labels;
  ports: NamedPort[];
  origin: Origin;
}

export interface Profile {
  name: string;
  labelsToApply: Labels;
  ingress: Rule[];
  egress: Rule[];
  /** True for profiles synthesised from Namespaces/ServiceAccounts or built in. */
  synthetic: boolean;
  origin?: Origin;
}

export interface ServicePort {
  name?: string;
  protocol: number;
  port: number;
  /** Number, or a container port name; undefined = same as port. */
  targetPort?: number | string;
  nodePort?: number;
}

export interface Service {
  name: string;
  namespace: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIPs: IpAddr[];
  externalIPs: IpAddr[];
  loadBalancerIPs: IpAddr[];
  ports: ServicePort[];
  /** Pod selector (for Endpoints synthesis/diagnostics); undefined = none. */
  selector?: Labels;
  origin: Origin;
}

export interface EndpointSliceEndpoint {
  addresses: IpAddr[];
  /** conditions.ready; undefined = unknown (counts as ready, as Kubernetes does). */
  ready?: boolean;
  nodeName?: string;
  targetPod?: { namespace: string; name: string };
}

export interface EndpointSlicePort {
  name?: string;
  protocol: number;
  /** Undefined when the slice port has no number (contributes nothing). */
  port?: number;
}

export interface EndpointSlice {
  name: string;
  namespace: string;
  /** `kubernetes.io/service-name` label. */
  serviceName?: string;
  endpoints: EndpointSliceEndpoint[];
  ports: EndpointSlicePort[];
  /** True when converted from a core/v1 Endpoints object. */
  fromEndpoints: boolean;
  origin: Origin;
}

export interface Node {
  name: string;
  addresses: IpAddr[];
  labels: Labels;
  origin: Origin;
}

/** Everything loaded, validated and defaulted. */
export interface Cluster {
  namespaces: Namespace[];
  serviceAccounts: ServiceAccount[];
  pods: Pod[];
  networkSets: NetworkSet[];
  hostEndpoints: HostEndpoint[];
  profiles: Profile[];
  tiers: Tier[];
  policies: Policy[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  nodes: Node[];
}

/** What a `kind: Expectations` flow says about one direction's decision. */
export type TraceExpectation =
  /** `none`: this direction is not policed (address is not a policed endpoint). */
  | { kind: 'none' }
  /** A single string: the deciding (last) trace entry, `tier|name|action|ruleIndex`. */
  | { kind: 'deciding'; entry: string }
  /** A list: the whole trace in order, each `tier|name|action|ruleIndex`. */
  | { kind: 'trace'; entries: string[] };

export interface ExpectedFlow {
  src: IpAddr;
  dst: IpAddr;
  proto: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  expect: 'Allow' | 'Deny';
  egress?: TraceExpectation;
  ingress?: TraceExpectation;
  why?: string;
  /** A known, accepted disagreement: reported as TODO, never fails verify. */
  todo?: string;
  origin: Origin;
}

export interface Expectations {
  name?: string;
  /** Evaluate as the data path of this node (like `--node`). */
  node?: string;
  flows: ExpectedFlow[];
  origin: Origin;
}
