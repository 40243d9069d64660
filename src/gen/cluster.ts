/**
 * Seeded synthetic clusters for the differential tests (native engine vs the
 * reference evaluator) and the benchmarks.
 *
 * `generateClusterObjects(seed, size)` builds plain resource objects — what
 * `kubectl get -o yaml` / `calicoctl get -o yaml` would print, as JS values —
 * from a handful of independent PRNG streams (one per part, see random.ts).
 * Two ways to turn them into the IR:
 *
 *   - `generateCluster` + `loadGeneratedCluster`: YAML text files (kubectl
 *     `List`s, calicoctl `*List`s or `---` multi-document files, chosen per
 *     seed), read by the real loader (`loadClusterFromTexts`). Use this for
 *     the small presets: it exercises YAML parsing and positions too.
 *   - `buildGeneratedCluster`: the same objects handed straight to the
 *     loader's builder (`buildCluster`) without YAML text — identical
 *     validation, defaulting and KNP conversion, only origins differ (line =
 *     object index). Use this for `calicoScale` (100k rules × 100k pods).
 *
 * Every object is meant to pass the loader's validation (SEMANTICS.md §8);
 * the tests check 0 error diagnostics over many seeds. Warnings are expected
 * (an empty KNP peer, a pod in a namespace without a Namespace object, http
 * criteria) because they are part of what the engine must model.
 */
import { DiagnosticBag } from '../diag/diagnostic.js';
import { RawObject, type LineColumn } from '../parse/documents.js';
import { buildCluster } from '../model/build.js';
import { loadClusterFromTexts, type LoadResult } from '../model/load.js';
import { familyBits, formatIp, type Family } from '../net/ip.js';
import { stringify } from 'yaml';
import { Rng } from './random.js';
import { PLAIN_SELECTORS, RICH_SELECTORS, randomLabelSelector, randomSelector, type LabelVocab, type SelectorStyle } from './selectors.js';

export type Json = Record<string, unknown>;

// ---------------------------------------------------------------- sizes and presets

export interface ClusterSize {
  /** Preset name, for reports. */
  name: string;
  /** `random`: every field, odd combinations (differential tests). `calico`: what real clusters write (benchmarks). */
  mix: 'random' | 'calico';
  namespaces: number;
  /** Named ServiceAccounts per namespace (besides pods without one). */
  serviceAccountsPerNamespace: number;
  pods: number;
  nodes: number;
  services: number;
  /** Namespaced NetworkSets. */
  networkSets: number;
  globalNetworkSets: number;
  /** Named host endpoints (interfaceName eth0, expectedIPs = node IPs). */
  hostEndpoints: number;
  /** Adds one wildcard (`interfaceName: "*"`) host endpoint on a node without a named one. */
  wildcardHostEndpoint: boolean;
  /** Explicit Profile resources (referenced by host endpoints). */
  profiles: number;
  /** Tier objects besides the built-in ones. */
  tiers: number;
  /** Policies of all kinds (GNP, NP, KNP and their staged forms). */
  policies: number;
  /** Rules per direction list, inclusive range. */
  rulesPerPolicy: readonly [number, number];
  /** When set, rule counts are adjusted so the documents hold exactly this many rules. */
  totalRules?: number;
  /** Share of running pods with an IPv6 address. */
  ipv6Share: number;
  /** Of those, the share that also has IPv4 (dual stack); the rest are IPv6-only. */
  dualStackShare: number;
  /** Pods placed in a namespace that has no Namespace object (felix: drop-all profile). */
  orphanPods: number;
  /** Distinct `app` label values (calico mix); the random mix uses a fixed small vocabulary. */
  apps?: number;
}

/** Fast: ~1M tuples through the reference evaluator in CI. */
export const TINY: ClusterSize = {
  name: 'tiny',
  mix: 'random',
  namespaces: 10,
  serviceAccountsPerNamespace: 2,
  pods: 60,
  nodes: 4,
  services: 10,
  networkSets: 4,
  globalNetworkSets: 4,
  hostEndpoints: 2,
  wildcardHostEndpoint: true,
  profiles: 2,
  tiers: 3,
  policies: 40,
  rulesPerPolicy: [0, 3],
  ipv6Share: 0.35,
  dualStackShare: 0.7,
  orphanPods: 1,
};

export const SMALL: ClusterSize = {
  name: 'small',
  mix: 'random',
  namespaces: 25,
  serviceAccountsPerNamespace: 3,
  pods: 500,
  nodes: 12,
  services: 60,
  networkSets: 15,
  globalNetworkSets: 10,
  hostEndpoints: 6,
  wildcardHostEndpoint: true,
  profiles: 4,
  tiers: 5,
  policies: 250,
  rulesPerPolicy: [0, 5],
  ipv6Share: 0.3,
  dualStackShare: 0.7,
  orphanPods: 2,
};

/**
 * Calico-shaped benchmark cluster: `rules` rules in total over `pods` pods
 * (≈50 pods per namespace, ≈30 per node, ≈5 rules per policy, mostly
 * namespaced policies selecting `app` labels, a security tier of GNPs,
 * threat-feed GlobalNetworkSets). Build it with `buildGeneratedCluster`.
 */
export function calicoScale(rules: number, pods: number): ClusterSize {
  const namespaces = Math.max(4, Math.round(pods / 50));
  return {
    name: `calico-${rules}r-${pods}p`,
    mix: 'calico',
    namespaces,
    serviceAccountsPerNamespace: 2,
    pods,
    nodes: Math.max(3, Math.round(pods / 30)),
    services: Math.max(4, Math.round(pods / 10)),
    networkSets: Math.max(2, Math.round(namespaces / 10)),
    globalNetworkSets: Math.max(4, Math.round(rules / 2000)),
    hostEndpoints: Math.min(50, Math.max(2, Math.round(pods / 1000))),
    wildcardHostEndpoint: true,
    profiles: 2,
    tiers: 2,
    policies: Math.max(1, Math.round(rules / 5)),
    rulesPerPolicy: [1, 4],
    totalRules: rules,
    ipv6Share: 0.1,
    dualStackShare: 1,
    orphanPods: 0,
    apps: Math.max(10, Math.round(pods / 20)),
  };
}

export const PRESETS = { tiny: TINY, small: SMALL } as const;

// ---------------------------------------------------------------- vocabularies

const APPS = ['web', 'api', 'db', 'cache', 'queue', 'auth', 'frontend', 'backend', 'metrics', 'dns'] as const;

const POD_VOCAB_BASE: Record<string, readonly string[]> = {
  tier: ['frontend', 'backend', 'data'],
  env: ['prod', 'staging', 'dev'],
  team: ['red', 'blue', 'green'],
  version: ['v1', 'v2', 'v3'],
  role: ['leader', 'follower'],
  pci: ['true', 'false'],
};
const NS_VOCAB: LabelVocab = {
  env: ['prod', 'staging', 'dev'],
  team: ['red', 'blue', 'green'],
  zone: ['a', 'b'],
  tenant: ['t1', 't2', 't3'],
};
const SA_VOCAB: LabelVocab = {
  role: ['reader', 'writer', 'admin'],
  team: ['red', 'blue', 'green'],
};
const NETSET_VOCAB: LabelVocab = {
  scope: ['internet', 'partner', 'internal', 'blocked'],
  feed: ['threat', 'allow'],
  env: ['prod', 'staging', 'dev'],
};
const HEP_VOCAB: LabelVocab = {
  'host-endpoint': ['true'],
  role: ['node', 'ingress', 'etcd'],
  env: ['prod', 'staging', 'dev'],
};

/** Named container ports: name → (protocol, candidate numbers). Same name, different numbers on different pods. */
const NAMED_PORTS: ReadonlyArray<{ name: string; protocol: 'TCP' | 'UDP' | 'SCTP'; ports: readonly number[] }> = [
  { name: 'http', protocol: 'TCP', ports: [80, 8080, 8000, 8081] },
  { name: 'https', protocol: 'TCP', ports: [443, 8443] },
  { name: 'metrics', protocol: 'TCP', ports: [9090, 9100, 9102] },
  { name: 'grpc', protocol: 'TCP', ports: [50051, 9000] },
  { name: 'dns', protocol: 'UDP', ports: [53, 5353] },
  { name: 'dns-tcp', protocol: 'TCP', ports: [53, 5353] },
  { name: 'db', protocol: 'TCP', ports: [5432, 3306, 6379] },
  { name: 'sig', protocol: 'SCTP', ports: [3868, 2905] },
  { name: 'stats', protocol: 'UDP', ports: [8125, 9125] },
];
const PORT_NAMES = NAMED_PORTS.map((p) => p.name);

/** Port numbers rules like to mention. */
const RULE_PORTS = [22, 25, 53, 80, 123, 179, 443, 2379, 3306, 5432, 6379, 6443, 8080, 8443, 9090, 9100, 10250, 30080, 50051] as const;
const RULE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [1, 1023],
  [1024, 65535],
  [8000, 8099],
  [30000, 32767],
  [5353, 5353],
  [9000, 9199],
  [443, 444],
  [60000, 65535],
];
const ICMP_TYPES_V4 = [0, 3, 5, 8, 11] as const;
const ICMP_TYPES_V6 = [1, 2, 3, 128, 129, 133, 134, 135, 136] as const;

// ---------------------------------------------------------------- addressing

/** Address plan. Everything is derived from indices, so addresses never collide. */
const V4 = (a: number, b: number, c: number, d: number): bigint => BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
const V6 = (text: string): bigint => {
  // Small helper for the fixed prefixes below (no '::' compression needed).
  const groups = text.split(':');
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
};
const POD_V4 = V4(10, 128, 0, 0); // 10.128.0.0/9: node blocks
const POD_V6 = V6('fd00:10:244:0:0:0:0:0'); // /48, one /64 per node
const NODE_V4 = V4(172, 18, 0, 10);
const NODE_V6 = V6('fd00:172:18:0:0:0:0:a');
const NODE_EXT_V4 = V4(100, 64, 0, 1);
const SVC_V4 = V4(10, 96, 0, 10);
const SVC_V6 = V6('fd00:10:96:0:0:0:0:a');
const EXT_V4 = V4(198, 18, 0, 1);
const LB_V4 = V4(198, 19, 0, 1);
const LB_V6 = V6('2001:db8:1:0:0:0:0:1');

const ip = (family: Family, value: bigint): string => formatIp({ family, value });

function maskTo(value: bigint, len: number, family: Family): bigint {
  const bits = familyBits(family);
  if (len === 0) return 0n;
  const host = BigInt(bits - len);
  return (value >> host) << host;
}

// ---------------------------------------------------------------- generation state

interface NodeInfo {
  name: string;
  index: number;
  v4: bigint;
  v6?: bigint;
  external?: bigint;
  labels: Record<string, string>;
}

interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  apps: string[];
  serviceAccounts: string[];
  /** False for the orphan namespace (no Namespace object). */
  defined: boolean;
}

interface PodInfo {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  node?: NodeInfo;
  hostNetwork: boolean;
  phase: 'Running' | 'Pending' | 'Succeeded';
  v4?: bigint;
  v6?: bigint;
  ports: { name?: string; containerPort: number; protocol: 'TCP' | 'UDP' | 'SCTP'; init: boolean }[];
  serviceAccount?: string;
  /** Addresses are only in the Calico annotation (no status.podIPs). */
  annotationOnly: boolean;
}

interface ServiceInfo {
  name: string;
  namespace: string;
  /** Service port protocol and number, for rules that mention them. */
  ports: { name?: string; protocol: string; port: number }[];
}

/** Which part of the cluster a rule is generated for. */
interface RuleScope {
  direction: 'ingress' | 'egress';
  /** Namespace of a namespaced policy; undefined for GNPs and profiles. */
  namespace?: string;
}

/** Probabilities of each rule field (per rule, or per side for entity fields). */
interface FieldMix {
  actions: ReadonlyArray<readonly [string, number]>;
  ipVersion: number;
  protocol: number;
  protocolAsNumber: number;
  protocols: ReadonlyArray<readonly [string | number, number]>;
  notProtocol: number;
  icmp: number;
  notICMP: number;
  nets: number;
  notNets: number;
  selector: number;
  notSelector: number;
  namespaceSelector: number;
  serviceAccounts: number;
  services: number;
  ports: number;
  notPorts: number;
  sourcePorts: number;
  http: number;
  metadata: number;
  selectors: SelectorStyle;
}

const RANDOM_MIX: FieldMix = {
  actions: [
    ['Allow', 45],
    ['Deny', 25],
    ['Pass', 15],
    ['Log', 10],
  ],
  ipVersion: 0.15,
  protocol: 0.65,
  protocolAsNumber: 0.3,
  protocols: [
    ['TCP', 30],
    ['UDP', 18],
    ['SCTP', 6],
    ['ICMP', 10],
    ['ICMPv6', 8],
    ['UDPLite', 4],
    [47, 2],
    [50, 1],
  ],
  notProtocol: 0.12,
  icmp: 0.6,
  notICMP: 0.3,
  nets: 0.18,
  notNets: 0.1,
  selector: 0.35,
  notSelector: 0.1,
  namespaceSelector: 0.15,
  serviceAccounts: 0.08,
  services: 0.08,
  ports: 0.45,
  notPorts: 0.12,
  sourcePorts: 0.08,
  http: 0.2,
  metadata: 0.03,
  selectors: RICH_SELECTORS,
};

const CALICO_MIX: FieldMix = {
  actions: [
    ['Allow', 78],
    ['Deny', 14],
    ['Pass', 4],
    ['Log', 4],
  ],
  ipVersion: 0.03,
  protocol: 0.85,
  protocolAsNumber: 0.02,
  protocols: [
    ['TCP', 75],
    ['UDP', 18],
    ['ICMP', 3],
    ['SCTP', 2],
    ['ICMPv6', 1],
    ['UDPLite', 1],
  ],
  notProtocol: 0.01,
  icmp: 0.5,
  notICMP: 0.05,
  nets: 0.15,
  notNets: 0.04,
  selector: 0.7,
  notSelector: 0.02,
  namespaceSelector: 0.12,
  serviceAccounts: 0.03,
  services: 0.02,
  ports: 0.8,
  notPorts: 0.02,
  sourcePorts: 0.01,
  http: 0,
  metadata: 0.005,
  selectors: PLAIN_SELECTORS,
};

/** The objects of one output file. */
export interface GeneratedFile {
  name: string;
  /** `list`: one `kind: List` / `<Kind>List` document; `multi`: `---`-separated documents. */
  style: 'list' | 'multi';
  /** `List` kind for the list style (`List` for kubectl, `<Kind>List` for calicoctl). */
  listKind: string;
  listApiVersion: string;
  objects: Json[];
}

export interface GeneratedObjects {
  seed: number;
  size: ClusterSize;
  files: GeneratedFile[];
  stats: GeneratedStats;
}

export interface GeneratedStats {
  objects: number;
  pods: number;
  policies: number;
  /** Rule entries as written in the documents (a KNP rule counts once). */
  rules: number;
}

export interface GeneratedDoc {
  name: string;
  text: string;
}

export interface GeneratedCluster {
  seed: number;
  size: ClusterSize;
  /** YAML files, as `kubectl`/`calicoctl get -o yaml` would print them. */
  docs: GeneratedDoc[];
  stats: GeneratedStats;
}

class Generator {
  readonly nodes: NodeInfo[] = [];
  readonly namespaces: NamespaceInfo[] = [];
  readonly pods: PodInfo[] = [];
  readonly services: ServiceInfo[] = [];
  readonly tierNames: string[] = [];
  readonly profileNames: string[] = [];
  readonly files = new Map<string, GeneratedFile>();
  readonly mix: FieldMix;
  readonly podVocab: LabelVocab;
  /** Keys rule selectors use (endpoint and network-set labels plus Calico's own). */
  readonly ruleKeys: string[];
  ruleVocab: LabelVocab;
  private readonly podKeys: string[];
  private readonly policyVocab: LabelVocab;
  private rulesWritten = 0;
  private policiesWritten = 0;
  private uid = 0;
  /** Lookup caches (filled as the parts are generated; keep generation linear). */
  private podsV4: PodInfo[] = [];
  private podsV6: PodInfo[] = [];
  private readonly nsByName = new Map<string, NamespaceInfo>();
  private readonly servicesByNs = new Map<string, ServiceInfo[]>();
  private allServiceAccounts: string[] = [];
  private nsSelectorVocab: LabelVocab = NS_VOCAB;
  private nodePorts = 0;

  constructor(
    readonly seed: number,
    readonly size: ClusterSize,
  ) {
    this.mix = size.mix === 'calico' ? CALICO_MIX : RANDOM_MIX;
    const apps =
      size.mix === 'calico' ? Array.from({ length: size.apps ?? 10 }, (_, i) => `app-${i}`) : [...APPS];
    this.podVocab = { app: apps, 'app.kubernetes.io/name': apps.slice(0, 6), ...POD_VOCAB_BASE };
    this.podKeys = Object.keys(this.podVocab);
    this.ruleVocab = {
      ...this.podVocab,
      ...NETSET_VOCAB,
      env: POD_VOCAB_BASE.env!,
      role: [...POD_VOCAB_BASE.role!, ...HEP_VOCAB.role!],
      'host-endpoint': ['true'],
      'projectcalico.org/orchestrator': ['k8s'],
      'projectcalico.org/namespace': [],
      'projectcalico.org/serviceaccount': [],
      'pcns.env': NS_VOCAB.env!,
      'pcsa.role': SA_VOCAB.role!,
    };
    this.ruleKeys = Object.keys(this.ruleVocab);
    this.policyVocab = { ...this.podVocab, 'host-endpoint': ['true'], role: [...POD_VOCAB_BASE.role!, ...HEP_VOCAB.role!] };
  }

  private rng(part: string): Rng {
    return new Rng(this.seed).fork(part);
  }

  private file(name: string, listKind: string, listApiVersion: string, rng: Rng): GeneratedFile {
    let f = this.files.get(name);
    if (!f) {
      f = { name, style: rng.chance(0.5) ? 'list' : 'multi', listKind, listApiVersion, objects: [] };
      this.files.set(name, f);
    }
    return f;
  }

  private k8sMeta(rng: Rng, name: string, namespace?: string): Json {
    const md: Json = { name };
    if (namespace !== undefined) md.namespace = namespace;
    // What kubectl prints; the loader ignores it.
    md.uid = `00000000-0000-4000-8000-${(++this.uid).toString(16).padStart(12, '0')}`;
    md.resourceVersion = String(1000 + rng.below(100000));
    md.creationTimestamp = '2026-01-01T00:00:00Z';
    return md;
  }

  private push(file: GeneratedFile, obj: Json): void {
    file.objects.push(obj);
  }

  // ------------------------------------------------------------ infrastructure

  generateNodes(): void {
    const rng = this.rng('nodes');
    const f = this.file('nodes.yaml', 'List', 'v1', rng);
    for (let i = 0; i < this.size.nodes; i++) {
      const name = `node-${i}`;
      const n: NodeInfo = {
        name,
        index: i,
        v4: NODE_V4 + BigInt(i),
        labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': rng.pick(['zone-a', 'zone-b', 'zone-c']) },
      };
      if (this.size.ipv6Share > 0 && rng.chance(0.6)) n.v6 = NODE_V6 + BigInt(i);
      if (rng.chance(0.3)) n.external = NODE_EXT_V4 + BigInt(i);
      this.nodes.push(n);
      const addresses: Json[] = [{ type: 'InternalIP', address: ip(4, n.v4) }];
      if (n.v6 !== undefined) addresses.push({ type: 'InternalIP', address: ip(6, n.v6) });
      if (n.external !== undefined) addresses.push({ type: 'ExternalIP', address: ip(4, n.external) });
      addresses.push({ type: 'Hostname', address: name });
      this.push(f, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { ...this.k8sMeta(rng, name), labels: n.labels },
        status: { addresses },
      });
    }
  }

  private randomLabels(rng: Rng, vocab: LabelVocab, p: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, vs] of Object.entries(vocab)) if (vs.length > 0 && rng.chance(p)) out[k] = rng.pick(vs);
    return out;
  }

  generateNamespaces(): void {
    const rng = this.rng('namespaces');
    const f = this.file('namespaces.yaml', 'List', 'v1', rng);
    const saFile = this.file('serviceaccounts.yaml', 'List', 'v1', rng);
    const words = ['default', 'kube-system', 'prod', 'staging', 'dev', 'payments', 'shop', 'data', 'monitoring', 'ingress'];
    const appsPerNs = this.size.mix === 'calico' ? Math.min(12, this.podVocab.app!.length) : 5;
    for (let i = 0; i < this.size.namespaces; i++) {
      const name = i < words.length ? words[i]! : `ns-${i}`;
      const labels = this.randomLabels(rng, NS_VOCAB, 0.6);
      const apps = rng.sample(this.podVocab.app!, rng.int(Math.max(1, appsPerNs - 3), appsPerNs));
      const sas: string[] = [];
      for (let s = 0; s < this.size.serviceAccountsPerNamespace; s++) sas.push(s === 0 ? 'default' : `sa-${rng.pick(SA_VOCAB.role!)}-${s}`);
      this.namespaces.push({ name, labels, apps, serviceAccounts: sas, defined: true });
      const md = this.k8sMeta(rng, name);
      if (Object.keys(labels).length > 0 || rng.chance(0.5)) {
        // The API server adds kubernetes.io/metadata.name; kubectl output has it, hand-written YAML often not.
        md.labels = rng.chance(0.5) ? { ...labels, 'kubernetes.io/metadata.name': name } : labels;
      }
      this.push(f, { apiVersion: 'v1', kind: 'Namespace', metadata: md, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
      for (const sa of sas) {
        const smd = this.k8sMeta(rng, sa, name);
        const sl = this.randomLabels(rng, SA_VOCAB, 0.5);
        if (Object.keys(sl).length) smd.labels = sl;
        this.push(saFile, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: smd });
      }
    }
    for (const n of this.namespaces) this.nsByName.set(n.name, n);
    this.allServiceAccounts = this.namespaces.flatMap((n) => n.serviceAccounts);
    this.nsSelectorVocab = { ...NS_VOCAB, 'kubernetes.io/metadata.name': this.namespaces.map((n) => n.name) };
    this.ruleVocab = {
      ...this.ruleVocab,
      'projectcalico.org/namespace': this.namespaces.map((n) => n.name),
      'projectcalico.org/serviceaccount': [...new Set(this.namespaces.flatMap((n) => n.serviceAccounts))],
    };
    if (this.size.orphanPods > 0) {
      this.namespaces.push({ name: 'orphan', labels: {}, apps: this.podVocab.app!.slice(0, 3), serviceAccounts: [], defined: false });
    }
  }

  generatePods(): void {
    const rng = this.rng('pods');
    const f = this.file('pods.yaml', 'List', 'v1', rng);
    const defined = this.namespaces.filter((n) => n.defined);
    const orphan = this.namespaces.find((n) => !n.defined);
    const perNode = new Array<number>(this.nodes.length).fill(0);
    const total = this.size.pods;
    // Node block size: enough host bits for the busiest node.
    const maxPerNode = Math.ceil((total / Math.max(1, this.nodes.length)) * 1.6) + 8;
    const hostBits = Math.max(8, Math.ceil(Math.log2(maxPerNode + 2)));
    if (this.nodes.length * 2 ** hostBits > 2 ** 23) throw new RangeError('too many pods for the 10.128.0.0/9 pod range');
    for (let i = 0; i < total; i++) {
      const ns = orphan && i >= total - this.size.orphanPods ? orphan : rng.pick(defined);
      const app = rng.pick(ns.apps);
      const labels: Record<string, string> = { app };
      for (const [k, vs] of Object.entries(this.podVocab)) {
        if (k === 'app') continue;
        if (rng.chance(this.size.mix === 'calico' ? 0.25 : 0.4)) labels[k] = rng.pick(vs);
      }
      if (this.size.mix === 'random' && rng.chance(0.02)) labels['pcns.env'] = rng.pick(NS_VOCAB.env!); // label shadowing (§2.2)
      const state = rng.weighted([
        ['running', 88],
        ['hostNetwork', 4],
        ['unscheduled', 3],
        ['succeeded', 3],
        ['pending', 2],
      ] as const);
      const pod: PodInfo = {
        name: `${app}-${i.toString(36)}-${rng.u32().toString(36).slice(0, 5)}`,
        namespace: ns.name,
        labels,
        hostNetwork: state === 'hostNetwork',
        phase: state === 'succeeded' ? 'Succeeded' : state === 'running' || state === 'hostNetwork' ? 'Running' : 'Pending',
        ports: [],
        annotationOnly: false,
      };
      if (state !== 'unscheduled') {
        // Skew placement a little (some nodes busier than others).
        const ni = rng.chance(0.3) ? rng.below(Math.max(1, Math.ceil(this.nodes.length / 3))) : rng.below(this.nodes.length);
        pod.node = this.nodes[ni]!;
      }
      if (ns.serviceAccounts.length && rng.chance(0.8)) pod.serviceAccount = rng.pick(ns.serviceAccounts);
      else if (rng.chance(0.1)) pod.serviceAccount = 'no-such-sa';
      if (pod.node && state !== 'pending') {
        if (pod.hostNetwork) {
          pod.v4 = pod.node.v4;
          pod.v6 = pod.node.v6;
        } else {
          const ni = pod.node.index;
          const slot = ++perNode[ni]!;
          if (slot + 2 >= 2 ** hostBits) throw new RangeError('pod block overflow');
          const v6 = rng.chance(this.size.ipv6Share);
          const v4 = !v6 || rng.chance(this.size.dualStackShare);
          if (v4) pod.v4 = POD_V4 + (BigInt(ni) << BigInt(hostBits)) + BigInt(slot + 1);
          if (v6) pod.v6 = POD_V6 + (BigInt(ni) << 64n) + BigInt(slot + 1);
          pod.annotationOnly = this.size.mix === 'random' && rng.chance(0.05);
        }
      }
      // Named container ports: same name, different numbers on different pods.
      const nPorts = rng.weighted([
        [0, 2],
        [1, 4],
        [2, 3],
        [3, 1],
      ] as const);
      for (const np of rng.sample(NAMED_PORTS, nPorts)) {
        pod.ports.push({ name: np.name, containerPort: rng.pick(np.ports), protocol: np.protocol, init: rng.chance(0.08) });
      }
      if (rng.chance(0.2)) pod.ports.push({ containerPort: rng.pick([8080, 9999, 7000]), protocol: 'TCP', init: false }); // unnamed
      this.pods.push(pod);
      if (pod.v4 !== undefined && !pod.hostNetwork && pod.phase === 'Running') this.podsV4.push(pod);
      if (pod.v6 !== undefined && !pod.hostNetwork && pod.phase === 'Running') this.podsV6.push(pod);
      this.push(f, this.podObject(rng, pod));
    }
  }

  private podObject(rng: Rng, pod: PodInfo): Json {
    const md = this.k8sMeta(rng, pod.name, pod.namespace);
    md.labels = pod.labels;
    const ipList: string[] = [];
    if (pod.v4 !== undefined) ipList.push(ip(4, pod.v4));
    if (pod.v6 !== undefined) ipList.push(ip(6, pod.v6));
    if (pod.annotationOnly && ipList.length) {
      md.annotations = { 'cni.projectcalico.org/podIPs': ipList.map((a) => (a.includes(':') ? `${a}/128` : `${a}/32`)).join(',') };
    }
    const portJson = (p: PodInfo['ports'][number]): Json => {
      const o: Json = { containerPort: p.containerPort };
      if (p.name) o.name = p.name;
      if (p.protocol !== 'TCP' || rng.chance(0.5)) o.protocol = p.protocol;
      return o;
    };
    const main = pod.ports.filter((p) => !p.init);
    const init = pod.ports.filter((p) => p.init);
    const spec: Json = {
      containers: [{ name: 'main', image: 'registry.example/app:1', ...(main.length ? { ports: main.map(portJson) } : {}) }],
    };
    if (init.length) spec.initContainers = [{ name: 'init', image: 'registry.example/init:1', ports: init.map(portJson) }];
    if (pod.node) spec.nodeName = pod.node.name;
    if (pod.hostNetwork) spec.hostNetwork = true;
    if (pod.serviceAccount) spec.serviceAccountName = pod.serviceAccount;
    const status: Json = { phase: pod.phase };
    if (pod.node) status.hostIP = ip(4, pod.node.v4);
    if (ipList.length && !pod.annotationOnly) {
      status.podIP = ipList[0];
      status.podIPs = ipList.map((a) => ({ ip: a }));
    }
    return { apiVersion: 'v1', kind: 'Pod', metadata: md, spec, status };
  }

  // ------------------------------------------------------------ services

  generateServices(): void {
    const rng = this.rng('services');
    const f = this.file('services.yaml', 'List', 'v1', rng);
    const sf = this.file('endpointslices.yaml', 'List', 'discovery.k8s.io/v1', rng);
    const podsByNs = new Map<string, PodInfo[]>();
    for (const p of this.pods) {
      let l = podsByNs.get(p.namespace);
      if (!l) podsByNs.set(p.namespace, (l = []));
      l.push(p);
    }
    const defined = this.namespaces.filter((n) => n.defined);
    for (let i = 0; i < this.size.services; i++) {
      const ns = rng.pick(defined);
      const app = rng.pick(ns.apps);
      const name = `svc-${app}-${i}`;
      const type = rng.weighted([
        ['ClusterIP', 50],
        ['NodePort', 18],
        ['LoadBalancer', 18],
        ['Headless', 6],
        ['ExternalName', 4],
        ['NoSelector', 4],
      ] as const);
      const md = this.k8sMeta(rng, name, ns.name);
      md.labels = { app };
      const spec: Json = {};
      const status: Json = { loadBalancer: {} };
      const svcPorts: { name?: string; protocol: 'TCP' | 'UDP' | 'SCTP'; port: number; targetPort: number | string; nodePort?: number }[] = [];
      const info: ServiceInfo = { name, namespace: ns.name, ports: [] };
      this.services.push(info);
      let byNs = this.servicesByNs.get(ns.name);
      if (!byNs) this.servicesByNs.set(ns.name, (byNs = []));
      byNs.push(info);
      if (type === 'ExternalName') {
        spec.type = 'ExternalName';
        spec.externalName = `${app}.example.com`;
        this.push(f, { apiVersion: 'v1', kind: 'Service', metadata: md, spec, status });
        continue;
      }
      const nPorts = rng.int(1, 3);
      for (const np of rng.sample(NAMED_PORTS, nPorts)) {
        const port = rng.pick([80, 443, 53, 8080, 9090, 5432, 3868, rng.int(1, 65535)]);
        const targetPort: number | string = rng.chance(0.5) ? np.name : rng.pick(np.ports);
        const sp: (typeof svcPorts)[number] = { protocol: np.protocol, port, targetPort };
        if (nPorts > 1 || rng.chance(0.5)) sp.name = `${np.name}-p`;
        if (type === 'NodePort' || type === 'LoadBalancer') sp.nodePort = 30000 + (this.nodePorts++ % 2768);
        svcPorts.push(sp);
        info.ports.push({ name: sp.name, protocol: np.protocol, port });
      }
      spec.ports = svcPorts.map((p) => {
        const o: Json = { port: p.port, targetPort: p.targetPort };
        if (p.name) o.name = p.name;
        if (p.protocol !== 'TCP' || rng.chance(0.5)) o.protocol = p.protocol;
        if (p.nodePort !== undefined) o.nodePort = p.nodePort;
        return o;
      });
      if (type !== 'NoSelector') spec.selector = { app };
      spec.type = type === 'Headless' || type === 'NoSelector' ? 'ClusterIP' : type;
      const dual = this.size.ipv6Share > 0 && rng.chance(0.3);
      if (type === 'Headless') {
        spec.clusterIP = 'None';
        spec.clusterIPs = ['None'];
      } else {
        const ips = [ip(4, SVC_V4 + BigInt(i))];
        if (dual) ips.push(ip(6, SVC_V6 + BigInt(i)));
        spec.clusterIP = ips[0];
        spec.clusterIPs = ips;
      }
      spec.ipFamilies = dual ? ['IPv4', 'IPv6'] : ['IPv4'];
      if (rng.chance(0.15)) spec.externalIPs = [ip(4, EXT_V4 + BigInt(i))];
      if (type === 'LoadBalancer') {
        const ingress: Json[] = [{ ip: ip(4, LB_V4 + BigInt(i)) }];
        if (dual && rng.chance(0.5)) ingress.push({ ip: ip(6, LB_V6 + BigInt(i)) });
        if (rng.chance(0.2)) ingress.push({ hostname: `lb-${i}.example.com` });
        status.loadBalancer = { ingress };
      }
      this.push(f, { apiVersion: 'v1', kind: 'Service', metadata: md, spec, status });

      // EndpointSlices (some services get none at all).
      if (type === 'NoSelector' || rng.chance(0.1)) continue;
      const backends = (podsByNs.get(ns.name) ?? []).filter(
        (p) => p.labels.app === app && p.phase === 'Running' && !p.hostNetwork && (p.v4 !== undefined || p.v6 !== undefined),
      );
      for (const family of dual ? ([4, 6] as const) : ([4] as const)) {
        // Group backends by their resolved target ports (the EndpointSlice controller does the same).
        const groups = new Map<string, { ports: Json[]; pods: PodInfo[] }>();
        for (const p of backends) {
          const addr = family === 4 ? p.v4 : p.v6;
          if (addr === undefined) continue;
          const ports: Json[] = [];
          for (const sp of svcPorts) {
            let num: number | undefined;
            if (typeof sp.targetPort === 'number') num = sp.targetPort;
            else num = p.ports.find((cp) => cp.name === sp.targetPort && cp.protocol === sp.protocol)?.containerPort;
            if (num === undefined) continue;
            const o: Json = { port: num, protocol: sp.protocol };
            if (sp.name) o.name = sp.name;
            else o.name = '';
            ports.push(o);
          }
          const key = JSON.stringify(ports);
          let g = groups.get(key);
          if (!g) groups.set(key, (g = { ports, pods: [] }));
          g.pods.push(p);
        }
        if (groups.size === 0) {
          // A slice with no endpoints (selector matches nothing running).
          groups.set('[]', { ports: svcPorts.map((sp) => ({ ...(sp.name ? { name: sp.name } : {}), port: typeof sp.targetPort === 'number' ? sp.targetPort : null, protocol: sp.protocol })), pods: [] });
        }
        let gi = 0;
        for (const g of groups.values()) {
          const smd = this.k8sMeta(rng, `${name}-${family === 4 ? 'v4' : 'v6'}${gi++}${rng.u32().toString(36).slice(0, 3)}`, ns.name);
          smd.labels = { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
          const endpoints = g.pods.map((p) => {
            const ready = rng.chance(0.85);
            const e: Json = {
              addresses: [ip(family, (family === 4 ? p.v4 : p.v6)!)],
              conditions: { ready, serving: ready || rng.chance(0.3), terminating: !ready && rng.chance(0.3) },
              targetRef: { kind: 'Pod', name: p.name, namespace: p.namespace },
            };
            if (p.node) e.nodeName = p.node.name;
            return e;
          });
          this.push(sf, {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: smd,
            addressType: family === 4 ? 'IPv4' : 'IPv6',
            endpoints,
            ports: g.ports,
          });
        }
      }
    }
  }

  // ------------------------------------------------------------ network sets, host endpoints, profiles

  /** A random masked CIDR in interesting address space: pod/node/service ranges, documentation ranges, anything. */
  randomCidr(rng: Rng, family: Family, opts: { allowZero?: boolean; masked?: boolean } = {}): string {
    const bits = familyBits(family);
    let anchor: bigint;
    const pods = family === 4 ? this.podsV4 : this.podsV6;
    const src = rng.weighted([
      ['pod', 4],
      ['node', 2],
      ['service', 1],
      ['external', 1],
      ['any', 2],
    ] as const);
    if (src === 'pod' && pods.length) {
      const p = rng.pick(pods);
      anchor = (family === 4 ? p.v4 : p.v6)!;
    } else if (src === 'node' && this.nodes.length) {
      const n = rng.pick(this.nodes);
      anchor = family === 4 ? n.v4 : (n.v6 ?? NODE_V6 + BigInt(n.index));
    } else if (src === 'service') {
      anchor = family === 4 ? SVC_V4 + BigInt(rng.below(Math.max(1, this.size.services))) : SVC_V6 + BigInt(rng.below(Math.max(1, this.size.services)));
    } else if (src === 'external') {
      anchor = family === 4 ? EXT_V4 + BigInt(rng.below(256)) : LB_V6 + BigInt(rng.below(256));
    } else {
      anchor = rng.bigBits(bits);
    }
    let len: number;
    if (opts.allowZero && rng.chance(0.08)) len = 0;
    else if (family === 4) len = rng.weighted([[8, 2], [9, 1], [12, 1], [16, 3], [20, 2], [24, 4], [26, 1], [28, 2], [30, 1], [31, 1], [32, 3]] as const);
    else len = rng.weighted([[16, 1], [32, 2], [48, 3], [56, 1], [64, 4], [96, 1], [112, 2], [120, 1], [127, 1], [128, 3]] as const);
    const base = opts.masked === false && len < bits && rng.chance(0.3) ? anchor : maskTo(anchor, len, family);
    if (len === bits && rng.chance(0.3)) return ip(family, base); // bare address
    return `${ip(family, base)}/${len}`;
  }

  generateNetworkSets(): void {
    const rng = this.rng('networksets');
    const nsf = this.file('networksets.yaml', 'NetworkSetList', 'projectcalico.org/v3', rng);
    const gf = this.file('globalnetworksets.yaml', 'GlobalNetworkSetList', 'projectcalico.org/v3', rng);
    const defined = this.namespaces.filter((n) => n.defined);
    const nets = (n: number, allowZero: boolean): string[] => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const fam: Family = this.size.ipv6Share > 0 && rng.chance(0.35) ? 6 : 4;
        out.push(this.randomCidr(rng, fam, { allowZero, masked: false }));
      }
      // Nested CIDRs: a supernet and a subnet of the first entry.
      if (out.length && rng.chance(0.5)) {
        const [a, l] = out[0]!.split('/');
        const fam: Family = a!.includes(':') ? 6 : 4;
        const bits = familyBits(fam);
        const len = l === undefined ? bits : Number(l);
        const addr = parseAddr(a!, fam);
        const sup = Math.max(0, len - rng.int(1, 8));
        out.push(`${ip(fam, maskTo(addr, sup, fam))}/${sup}`);
        if (len < bits) {
          const sub = Math.min(bits, len + rng.int(1, 8));
          const inside = maskTo(addr, len, fam) + (rng.bigBits(bits) & ((1n << BigInt(bits - len)) - 1n));
          out.push(`${ip(fam, maskTo(inside, sub, fam))}/${sub}`);
        }
      }
      return [...new Set(out)];
    };
    for (let i = 0; i < this.size.networkSets; i++) {
      const ns = rng.pick(defined);
      const labels = this.randomLabels(rng, NETSET_VOCAB, 0.6);
      this.push(nsf, {
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkSet',
        metadata: { name: `netset-${i}`, namespace: ns.name, ...(Object.keys(labels).length ? { labels } : {}) },
        spec: { nets: nets(rng.int(1, this.size.mix === 'calico' ? 20 : 5), false) },
      });
    }
    for (let i = 0; i < this.size.globalNetworkSets; i++) {
      const labels = this.randomLabels(rng, NETSET_VOCAB, 0.6);
      let list: string[];
      if (i === 0 && this.size.mix === 'random' && rng.chance(0.7)) {
        list = ['0.0.0.0/0'];
        if (this.size.ipv6Share > 0) list.push('::/0');
        labels.scope = 'internet';
      } else {
        list = nets(rng.int(1, this.size.mix === 'calico' ? 200 : 6), this.size.mix === 'random');
      }
      this.push(gf, {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkSet',
        metadata: { name: `gns-${i}`, ...(Object.keys(labels).length ? { labels } : {}) },
        spec: { nets: list },
      });
    }
  }

  generateProfilesAndHostEndpoints(): void {
    const rng = this.rng('heps');
    const pf = this.file('profiles.yaml', 'ProfileList', 'projectcalico.org/v3', rng);
    const hf = this.file('hostendpoints.yaml', 'HostEndpointList', 'projectcalico.org/v3', rng);
    for (let i = 0; i < this.size.profiles; i++) {
      const name = `prof-${i}`;
      this.profileNames.push(name);
      const spec: Json = {};
      if (rng.chance(0.7)) spec.labelsToApply = { 'profile-zone': rng.pick(['a', 'b']), ...(rng.chance(0.5) ? { role: rng.pick(HEP_VOCAB.role!) } : {}) };
      for (const direction of ['ingress', 'egress'] as const) {
        const rules = this.rules(rng, { direction }, rng.int(0, 3));
        if (rules.length || rng.chance(0.3)) spec[direction] = rules;
      }
      this.push(pf, { apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name }, spec });
    }
    const hepNodes = this.nodes.slice(0, Math.min(this.nodes.length, this.size.hostEndpoints));
    const hepPorts = (): Json[] => {
      const out: Json[] = [];
      if (rng.chance(0.6)) out.push({ name: 'ssh', port: 22, protocol: 'TCP' });
      if (rng.chance(0.6)) out.push({ name: 'http', port: rng.pick([80, 8080]), protocol: 'TCP' });
      if (rng.chance(0.4)) out.push({ name: 'dns', port: 53, protocol: 'UDP' });
      if (rng.chance(0.2)) out.push({ name: 'sig', port: 3868, protocol: 'SCTP' });
      return out;
    };
    const profilesFor = (): string[] => {
      const choices = [...this.profileNames, 'projectcalico-default-allow'];
      return rng.chance(0.2) ? [] : rng.sample(choices, rng.int(1, 2));
    };
    for (const n of hepNodes) {
      const expectedIPs = [ip(4, n.v4)];
      if (n.v6 !== undefined) expectedIPs.push(ip(6, n.v6));
      const labels: Record<string, string> = { 'host-endpoint': 'true', ...this.randomLabels(rng, { role: HEP_VOCAB.role!, env: HEP_VOCAB.env! }, 0.7) };
      const spec: Json = { node: n.name, interfaceName: 'eth0', expectedIPs, profiles: profilesFor() };
      const ports = hepPorts();
      if (ports.length) spec.ports = ports;
      this.push(hf, { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: `${n.name}-eth0`, labels }, spec });
    }
    const wildNode = this.nodes[hepNodes.length];
    if (this.size.wildcardHostEndpoint && wildNode) {
      const expectedIPs = [ip(4, wildNode.v4)];
      if (wildNode.v6 !== undefined) expectedIPs.push(ip(6, wildNode.v6));
      this.push(hf, {
        apiVersion: 'projectcalico.org/v3',
        kind: 'HostEndpoint',
        metadata: { name: `${wildNode.name}-auto-hep`, labels: { 'host-endpoint': 'true', role: 'node', 'projectcalico.org/created-by': 'calico-kube-controllers' } },
        spec: { node: wildNode.name, interfaceName: '*', expectedIPs, profiles: rng.chance(0.7) ? ['projectcalico-default-allow'] : profilesFor() },
      });
    }
  }

  // ------------------------------------------------------------ tiers and policies

  generateTiers(): void {
    const rng = this.rng('tiers');
    const f = this.file('tiers.yaml', 'TierList', 'projectcalico.org/v3', rng);
    const names = this.size.mix === 'calico' ? ['security', 'platform', 'app', 'audit'] : ['security', 'platform', 'app', 'audit', 'tenant', 'late'];
    for (let i = 0; i < this.size.tiers; i++) {
      const name = i < names.length ? names[i]! : `tier-${i}`;
      this.tierNames.push(name);
      const spec: Json = {};
      if (this.size.mix === 'calico') {
        spec.order = (i + 1) * 100;
        if (i === 0) spec.defaultAction = 'Pass';
      } else {
        const o = rng.weighted([
          ['low', 4],
          ['tie', 2],
          ['afterDefault', 2],
          ['none', 2],
        ] as const);
        if (o === 'low') spec.order = rng.int(1, 999) + (rng.chance(0.2) ? 0.5 : 0);
        else if (o === 'tie') spec.order = 500;
        else if (o === 'afterDefault') spec.order = 1_000_000 + rng.int(1, 5_000_000);
        if (rng.chance(0.5)) spec.defaultAction = 'Pass';
        else if (rng.chance(0.3)) spec.defaultAction = 'Deny';
      }
      this.push(f, { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec });
    }
    if (this.size.mix === 'random' && rng.chance(0.3)) {
      // Built-in tier written out explicitly (validation pins order and action).
      this.push(f, { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1_000_000, defaultAction: 'Deny' } });
    }
  }

  /** Per-policy rule counts for both directions, summing to size.totalRules when set. */
  private ruleBudget(rng: Rng): number[] {
    const n = this.size.policies;
    const [lo, hi] = this.size.rulesPerPolicy;
    const counts: number[] = [];
    for (let i = 0; i < 2 * n; i++) counts.push(rng.int(lo, hi));
    const target = this.size.totalRules;
    if (target !== undefined) {
      let sum = counts.reduce((a, b) => a + b, 0);
      // Nudge random entries up or down until the total is exact (stays within [0, hi*2]).
      while (sum !== target && counts.length > 0) {
        const i = rng.below(counts.length);
        if (sum < target) {
          counts[i]!++;
          sum++;
        } else if (counts[i]! > 0) {
          counts[i]!--;
          sum--;
        }
      }
    }
    return counts;
  }

  generatePolicies(): void {
    const rng = this.rng('policies');
    const gnpFile = this.file('globalnetworkpolicies.yaml', 'GlobalNetworkPolicyList', 'projectcalico.org/v3', rng);
    const npFile = this.file('networkpolicies.yaml', 'NetworkPolicyList', 'projectcalico.org/v3', rng);
    const knpFile = this.file('k8s-networkpolicies.yaml', 'List', 'networking.k8s.io/v1', rng);
    const stagedFile = this.file('staged-policies.yaml', 'List', 'projectcalico.org/v3', rng);
    const defined = this.namespaces.filter((n) => n.defined);
    const budget = this.ruleBudget(rng);
    const kinds: ReadonlyArray<readonly [string, number]> =
      this.size.mix === 'calico'
        ? [
            ['NetworkPolicy', 55],
            ['KubernetesNetworkPolicy', 25],
            ['GlobalNetworkPolicy', 15],
            ['StagedNetworkPolicy', 2],
            ['StagedGlobalNetworkPolicy', 1],
            ['StagedKubernetesNetworkPolicy', 2],
          ]
        : [
            ['GlobalNetworkPolicy', 25],
            ['NetworkPolicy', 30],
            ['KubernetesNetworkPolicy', 22],
            ['StagedGlobalNetworkPolicy', 7],
            ['StagedNetworkPolicy', 8],
            ['StagedKubernetesNetworkPolicy', 8],
          ];
    for (let i = 0; i < this.size.policies; i++) {
      const kind = rng.weighted(kinds);
      const nIngress = budget[2 * i]!;
      const nEgress = budget[2 * i + 1]!;
      const ns = rng.pick(defined);
      if (kind === 'KubernetesNetworkPolicy' || kind === 'StagedKubernetesNetworkPolicy') {
        const obj = this.k8sPolicy(rng, i, ns, nIngress, nEgress, kind === 'StagedKubernetesNetworkPolicy');
        this.push(kind === 'KubernetesNetworkPolicy' ? knpFile : stagedFile, obj);
      } else {
        const global = kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy';
        const obj = this.calicoPolicy(rng, i, kind, global ? undefined : ns, nIngress, nEgress);
        this.push(kind === 'GlobalNetworkPolicy' ? gnpFile : kind === 'NetworkPolicy' ? npFile : stagedFile, obj);
      }
      this.policiesWritten++;
    }
  }

  private order(rng: Rng): number | undefined {
    if (this.size.mix === 'calico') return rng.chance(0.8) ? rng.pick([10, 100, 200, 500, 1000]) + (rng.chance(0.3) ? rng.int(1, 99) : 0) : undefined;
    const o = rng.weighted([
      ['none', 3],
      ['int', 4],
      ['float', 1],
      ['tie', 3],
    ] as const);
    if (o === 'none') return undefined;
    if (o === 'int') return rng.int(0, 2000);
    if (o === 'float') return rng.int(0, 2000) + rng.pick([0.25, 0.5, 0.001]);
    return rng.pick([100, 1000]);
  }

  private calicoPolicy(rng: Rng, i: number, kind: string, ns: NamespaceInfo | undefined, nIngress: number, nEgress: number): Json {
    const global = ns === undefined;
    const spec: Json = {};
    let tier = 'default';
    if (this.tierNames.length && rng.chance(this.size.mix === 'calico' ? (global ? 0.8 : 0.3) : 0.55)) tier = rng.pick(this.tierNames);
    else if (this.size.mix === 'random' && rng.chance(0.04)) tier = rng.pick(['kube-admin', 'kube-baseline']);
    const base = `${global ? 'g' : 'np'}${i}-${rng.pick(['allow', 'deny', 'web', 'db', 'dns', 'egress', 'isolate'])}`;
    // `<tier>.<name>` is valid in every version (SEMANTICS.md §8).
    const name = tier !== 'default' && rng.chance(0.5) ? `${tier}.${base}` : base;
    if (tier !== 'default' || rng.chance(0.2)) spec.tier = tier;
    const order = this.order(rng);
    if (order !== undefined) spec.order = order;

    // Host-endpoint GNP with the special flags (valid combinations only, §8).
    let flags: 'none' | 'forward' | 'preDNAT' | 'doNotTrack' = 'none';
    if (global && rng.chance(this.size.mix === 'calico' ? 0.03 : 0.25)) flags = rng.pick(['forward', 'preDNAT', 'doNotTrack'] as const);
    if (flags !== 'none') {
      spec.selector = rng.pick(["has(host-endpoint)", "role == 'node'", "role in {'node', 'ingress'}", 'all()', "host-endpoint == 'true' && env != 'dev'"]);
      spec.applyOnForward = true;
      if (flags === 'preDNAT') spec.preDNAT = true;
      if (flags === 'doNotTrack') spec.doNotTrack = true;
    } else {
      const s = rng.weighted([
        ['omit', global ? 1 : 1],
        ['empty', global ? 0.5 : 1],
        ['all', global ? 0.5 : 1],
        ['random', 12],
      ] as const);
      if (s === 'empty') spec.selector = '';
      else if (s === 'all') spec.selector = 'all()';
      else if (s === 'random') spec.selector = this.policySelector(rng, ns);
      if (global && rng.chance(this.size.mix === 'calico' ? 0.1 : 0.2)) spec.namespaceSelector = rng.chance(0.2) ? 'all()' : randomSelector(rng, NS_VOCAB, undefined, this.mix.selectors);
      if (rng.chance(this.size.mix === 'calico' ? 0.03 : 0.1)) spec.serviceAccountSelector = randomSelector(rng, SA_VOCAB, undefined, this.mix.selectors);
      if (global && rng.chance(0.05)) spec.applyOnForward = true;
    }

    const scope = (direction: 'ingress' | 'egress'): RuleScope => (global ? { direction } : { direction, namespace: ns.name });
    // preDNAT policies may not have egress rules: their egress budget goes to ingress.
    const ingress = this.rules(rng, scope('ingress'), flags === 'preDNAT' ? nIngress + nEgress : nIngress);
    const egress = flags === 'preDNAT' ? [] : this.rules(rng, scope('egress'), nEgress);
    this.rulesWritten += ingress.length + egress.length;
    // Real policies often end with a criteria-free rule (allow/pass/deny the rest).
    for (const list of [ingress, egress]) {
      if (list.length > 0 && rng.chance(0.35)) {
        list[list.length - 1] = {
          action: rng.weighted([
            ['Allow', 40],
            ['Pass', 30],
            ['Deny', 20],
            ['Log', 10],
          ] as const),
        };
      }
    }
    if (ingress.length || rng.chance(0.3)) spec.ingress = ingress;
    if (egress.length) spec.egress = egress;
    else if (flags !== 'preDNAT' && rng.chance(0.1)) spec.egress = [];

    // types: defaulted by the loader unless written (sometimes deliberately narrower/wider than the rules).
    if (flags === 'preDNAT') spec.types = ['Ingress'];
    else if (rng.chance(this.size.mix === 'calico' ? 0.6 : 0.45)) {
      spec.types = rng.weighted([
        [['Ingress'], 3],
        [['Egress'], 2],
        [['Ingress', 'Egress'], 4],
        [['Egress', 'Ingress'], 1],
      ] as const).slice();
    }
    if (kind.startsWith('Staged') && rng.chance(0.5)) spec.stagedAction = 'Set';
    if (rng.chance(0.03)) spec.performanceHints = ['AssumeNeededOnEveryNode'];
    const metadata: Json = { name };
    if (!global) metadata.namespace = ns.name;
    return { apiVersion: 'projectcalico.org/v3', kind, metadata, spec };
  }

  private policySelector(rng: Rng, ns: NamespaceInfo | undefined): string {
    if (this.size.mix === 'calico') {
      const app = ns ? rng.pick(ns.apps) : rng.pick(this.podVocab.app!);
      return rng.weighted([
        [`app == '${app}'`, 80],
        [`app in {'${app}', '${rng.pick(this.podVocab.app!)}'}`, 8],
        [`tier == '${rng.pick(POD_VOCAB_BASE.tier!)}'`, 6],
        [`has(app) && env == '${rng.pick(POD_VOCAB_BASE.env!)}'`, 6],
      ] as const);
    }
    // Half of the policies get narrow selectors, so that not every endpoint sits behind every policy.
    return randomSelector(rng, this.policyVocab, undefined, rng.chance(0.5) ? this.mix.selectors : PLAIN_SELECTORS);
  }

  private k8sPolicy(rng: Rng, i: number, ns: NamespaceInfo, nIngress: number, nEgress: number, staged: boolean): Json {
    const rich = this.size.mix === 'random';
    const spec: Json = {};
    if (this.size.mix === 'calico' && rng.chance(0.85)) spec.podSelector = { matchLabels: { app: rng.pick(ns.apps) } };
    else spec.podSelector = rng.chance(0.2) ? {} : randomLabelSelector(rng, this.podVocab, rich);
    const ingress: Json[] = [];
    const egress: Json[] = [];
    for (let k = 0; k < nIngress; k++) ingress.push(this.k8sRule(rng, 'from', ns));
    for (let k = 0; k < nEgress; k++) egress.push(this.k8sRule(rng, 'to', ns));
    this.rulesWritten += nIngress + nEgress;
    if (ingress.length || rng.chance(0.4)) spec.ingress = ingress;
    if (egress.length) spec.egress = egress;
    if (rng.chance(0.7)) {
      const types: string[] = [];
      if (ingress.length || rng.chance(0.5) || !egress.length) types.push('Ingress');
      if (egress.length || rng.chance(0.3)) types.push('Egress');
      spec.policyTypes = types;
    }
    if (staged && rng.chance(0.5)) spec.stagedAction = 'Set';
    return {
      apiVersion: staged ? 'projectcalico.org/v3' : 'networking.k8s.io/v1',
      kind: staged ? 'StagedKubernetesNetworkPolicy' : 'NetworkPolicy',
      metadata: { name: `knp-${i}-${rng.pick(['web', 'db', 'default-deny', 'allow-same-ns', 'egress'])}`, namespace: ns.name },
      spec,
    };
  }

  private k8sRule(rng: Rng, peerField: 'from' | 'to', ns: NamespaceInfo): Json {
    const rich = this.size.mix === 'random';
    const rule: Json = {};
    const peerCount = rng.weighted([
      [0, rich ? 2 : 1],
      [1, 6],
      [2, rich ? 2 : 0],
    ] as const);
    if (peerCount === 0) {
      if (rng.chance(0.5)) rule[peerField] = [];
    } else {
      const peers: Json[] = [];
      for (let p = 0; p < peerCount; p++) {
        const t = rng.weighted([
          ['pod', 5],
          ['ns', 2],
          ['both', 2],
          ['ipBlock', 2],
          ['empty', rich ? 0.15 : 0],
        ] as const);
        if (t === 'pod') peers.push({ podSelector: this.size.mix === 'calico' && rng.chance(0.8) ? { matchLabels: { app: rng.pick(ns.apps) } } : randomLabelSelector(rng, this.podVocab, rich) });
        else if (t === 'ns') peers.push({ namespaceSelector: rng.chance(0.2) ? {} : randomLabelSelector(rng, NS_VOCAB, rich) });
        else if (t === 'both') peers.push({ podSelector: randomLabelSelector(rng, this.podVocab, rich), namespaceSelector: rng.chance(0.2) ? {} : randomLabelSelector(rng, NS_VOCAB, rich) });
        else if (t === 'ipBlock') peers.push({ ipBlock: this.ipBlock(rng) });
        else peers.push({});
      }
      rule[peerField] = peers;
    }
    const nPorts = rng.weighted([
      [0, 3],
      [1, 5],
      [2, rich ? 2 : 1],
    ] as const);
    if (nPorts > 0) {
      const ports: Json[] = [];
      for (let p = 0; p < nPorts; p++) {
        const entry: Json = {};
        const proto = rng.weighted([
          ['TCP', 6],
          ['UDP', 3],
          ['SCTP', 1],
          ['omit', 3],
        ] as const);
        if (proto !== 'omit') entry.protocol = proto;
        const form = rng.weighted([
          ['number', 6],
          ['named', rich ? 3 : 1],
          ['range', rich ? 2 : 1],
          ['none', 1],
        ] as const);
        if (form === 'number') entry.port = rng.pick(RULE_PORTS);
        else if (form === 'named') entry.port = rng.pick(PORT_NAMES);
        else if (form === 'range') {
          const [a, b] = rng.pick(RULE_RANGES);
          entry.port = a;
          entry.endPort = b;
        }
        ports.push(entry);
      }
      rule.ports = ports;
    }
    return rule;
  }

  private ipBlock(rng: Rng): Json {
    const fam: Family = this.size.ipv6Share > 0 && rng.chance(0.3) ? 6 : 4;
    const bits = familyBits(fam);
    // A CIDR short enough to carve exceptions out of.
    let cidr = this.randomCidr(rng, fam, { allowZero: true });
    if (!cidr.includes('/')) cidr += `/${bits}`;
    const [addrText, lenText] = cidr.split('/');
    const len = Number(lenText);
    const block: Json = { cidr };
    if (len < bits - 2 && rng.chance(0.5)) {
      const base = parseAddr(addrText!, fam);
      const except: string[] = [];
      for (let e = rng.int(1, 2); e > 0; e--) {
        const elen = rng.int(len + 1, Math.min(bits, len + 12));
        const inside = base + (rng.bigBits(bits) & ((1n << BigInt(bits - len)) - 1n));
        except.push(`${ip(fam, maskTo(inside, elen, fam))}/${elen}`);
      }
      block.except = [...new Set(except)];
    }
    return block;
  }

  // ------------------------------------------------------------ Calico rules

  private rules(rng: Rng, scope: RuleScope, n: number): Json[] {
    const out: Json[] = [];
    for (let i = 0; i < n; i++) out.push(this.rule(rng, scope));
    return out;
  }

  private protocolValue(rng: Rng, name: string | number): string | number {
    const num = typeof name === 'number' ? name : { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58, UDPLite: 136 }[name]!;
    if (typeof name === 'number') return rng.chance(0.2) ? String(name) : name;
    if (rng.chance(this.mix.protocolAsNumber)) return rng.chance(0.25) ? String(num) : num;
    return name;
  }

  private rule(rng: Rng, scope: RuleScope): Json {
    const mix = this.mix;
    const r: Json = { action: rng.weighted(mix.actions) };
    let family: Family | undefined;
    if (rng.chance(mix.ipVersion)) {
      family = rng.chance(0.6) ? 4 : 6;
      r.ipVersion = family;
    }
    let proto: number | undefined;
    if (rng.chance(mix.protocol)) {
      let name = rng.weighted(mix.protocols);
      // ICMP with ipVersion 6 (and ICMPv6 with 4) is a validation error: use the family's ICMP.
      if (family === 6 && (name === 'ICMP' || name === 1)) name = 'ICMPv6';
      if (family === 4 && (name === 'ICMPv6' || name === 58)) name = 'ICMP';
      r.protocol = this.protocolValue(rng, name);
      proto = typeof name === 'number' ? name : { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPv6: 58, UDPLite: 136 }[name]!;
    }
    if (rng.chance(mix.notProtocol)) {
      let candidates: (string | number)[] = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite', 6, 17, 1, 58, 47];
      if (family === 6) candidates = candidates.filter((c) => c !== 'ICMP' && c !== 1);
      if (family === 4) candidates = candidates.filter((c) => c !== 'ICMPv6' && c !== 58);
      const name = rng.pick(candidates);
      r.notProtocol = this.protocolValue(rng, name);
    }
    const isIcmp = proto === 1 || proto === 58;
    if (isIcmp) {
      const types: readonly number[] = proto === 1 ? ICMP_TYPES_V4 : ICMP_TYPES_V6;
      const icmp = (): Json => (rng.chance(0.5) ? { type: rng.pick(types) } : { type: rng.pick(types), code: rng.int(0, 4) });
      if (rng.chance(mix.icmp)) r.icmp = icmp();
      if (rng.chance(mix.notICMP)) r.notICMP = icmp();
    }
    // One family for every CIDR of the rule (§8): ipVersion, else the ICMP flavour, else random.
    const netFamily: Family = family ?? (proto === 1 ? 4 : proto === 58 ? 6 : this.size.ipv6Share > 0 && rng.chance(0.3) ? 6 : 4);
    const portsOk = proto === undefined || proto === 6 || proto === 17 || proto === 132;
    const numericOk = proto === 6 || proto === 17 || proto === 132;

    const source = this.entity(rng, scope, 'source', netFamily, portsOk, numericOk);
    const destination = this.entity(rng, scope, 'destination', netFamily, portsOk, numericOk);
    if (Object.keys(source).length || rng.chance(0.05)) r.source = source;
    if (Object.keys(destination).length || rng.chance(0.05)) r.destination = destination;

    if (rng.chance(mix.http) && scope.direction === 'ingress' && r.action === 'Allow' && (proto === undefined || proto === 6)) {
      r.http = rng.chance(0.5) ? { methods: ['GET', 'HEAD'] } : { methods: ['POST'], paths: [{ prefix: '/api' }, { exact: '/healthz' }] };
    }
    if (rng.chance(mix.metadata)) r.metadata = { annotations: { 'generated-by': 'netverdict-gen' } };
    return r;
  }

  private portList(rng: Rng, numericOk: boolean, namedOnly: boolean): (string | number)[] {
    const out: (string | number)[] = [];
    const n = rng.weighted([
      [1, 6],
      [2, 3],
      [3, 1],
    ] as const);
    for (let i = 0; i < n; i++) {
      const form = namedOnly || !numericOk ? 'named' : rng.weighted([
        ['number', 6],
        ['string', 1],
        ['range', 2],
        ['named', this.size.mix === 'calico' ? 1 : 3],
      ] as const);
      if (form === 'number') out.push(rng.chance(0.9) ? rng.pick(RULE_PORTS) : rng.int(1, 65535));
      else if (form === 'string') out.push(String(rng.pick(RULE_PORTS)));
      else if (form === 'range') {
        if (rng.chance(0.8)) {
          const [a, b] = rng.pick(RULE_RANGES);
          out.push(`${a}:${b}`);
        } else {
          const a = rng.int(1, 65000);
          out.push(`${a}:${a + rng.int(0, 100)}`);
        }
      } else out.push(rng.pick(PORT_NAMES));
    }
    return out;
  }

  private entity(rng: Rng, scope: RuleScope, side: 'source' | 'destination', family: Family, portsOk: boolean, numericOk: boolean): Json {
    const mix = this.mix;
    const e: Json = {};
    // services: destination of egress rules, source of ingress rules, alone (§4.9, §8).
    const servicesSide = scope.direction === 'egress' ? 'destination' : 'source';
    if (side === servicesSide && this.services.length && rng.chance(mix.services)) {
      const candidates = scope.namespace && rng.chance(0.7) ? (this.servicesByNs.get(scope.namespace) ?? []) : this.services;
      const svc = rng.pick(candidates.length ? candidates : this.services);
      e.services = { name: svc.name, namespace: svc.namespace };
      if (side === 'source' && portsOk && rng.chance(mix.sourcePorts * 3)) e.ports = this.portList(rng, numericOk, !numericOk);
      return e;
    }
    if (rng.chance(mix.nets)) {
      const list: string[] = [];
      for (let i = rng.int(1, 3); i > 0; i--) list.push(this.randomCidr(rng, family, { allowZero: true }));
      e.nets = [...new Set(list)];
    }
    if (rng.chance(mix.notNets)) {
      const list: string[] = [];
      for (let i = rng.int(1, 2); i > 0; i--) {
        let c = this.randomCidr(rng, family);
        if (c.endsWith('/0')) c = family === 4 ? '10.0.0.0/8' : 'fd00::/8';
        list.push(c);
      }
      e.notNets = [...new Set(list)];
    }
    if (rng.chance(mix.selector)) e.selector = this.ruleSelector(rng, scope);
    if (rng.chance(mix.notSelector)) e.notSelector = randomSelector(rng, this.ruleVocab, this.ruleKeys, mix.selectors);
    if (rng.chance(mix.namespaceSelector)) {
      e.namespaceSelector = rng.weighted([
        [randomSelector(rng, this.nsSelectorVocab, undefined, mix.selectors), 6],
        ['all()', 2],
        ['global()', 2],
      ] as const);
    }
    if (rng.chance(mix.serviceAccounts)) {
      const sa: Json = {};
      const form = rng.weighted([
        ['names', 2],
        ['selector', 2],
        ['both', 1],
      ] as const);
      if (form !== 'selector') {
        const names = new Set<string>();
        const pool = scope.namespace ? this.nsByName.get(scope.namespace)!.serviceAccounts : this.allServiceAccounts;
        for (let i = rng.int(1, 2); i > 0; i--) names.add(pool.length && rng.chance(0.9) ? rng.pick(pool) : 'sa-missing');
        sa.names = [...names];
      }
      if (form !== 'names') sa.selector = randomSelector(rng, SA_VOCAB, undefined, mix.selectors);
      e.serviceAccounts = sa;
    }
    const portsP = side === 'destination' ? mix.ports : mix.sourcePorts;
    if (portsOk && rng.chance(portsP)) e.ports = this.portList(rng, numericOk, !numericOk);
    if (portsOk && rng.chance(side === 'destination' ? mix.notPorts : mix.sourcePorts / 2)) e.notPorts = this.portList(rng, numericOk, !numericOk);
    return e;
  }

  private ruleSelector(rng: Rng, scope: RuleScope): string {
    if (this.size.mix === 'calico') {
      const ns = scope.namespace ? this.nsByName.get(scope.namespace) : undefined;
      const app = ns ? rng.pick(ns.apps) : rng.pick(this.podVocab.app!);
      return rng.weighted([
        [`app == '${app}'`, 75],
        [`role == 'ingress'`, 3],
        [`scope == '${rng.pick(NETSET_VOCAB.scope!)}'`, 8],
        [`feed == 'threat'`, 4],
        [`app in {'${app}', '${rng.pick(this.podVocab.app!)}'}`, 6],
        [`projectcalico.org/orchestrator == 'k8s'`, 2],
        [`has(tier)`, 2],
      ] as const);
    }
    if (rng.chance(0.06)) {
      const ns = rng.pick(this.namespaces);
      return `projectcalico.org/namespace == '${ns.name}'`;
    }
    return randomSelector(rng, this.ruleVocab, this.ruleKeys, this.mix.selectors);
  }

  // ------------------------------------------------------------ driver

  run(): GeneratedObjects {
    this.generateNodes();
    this.generateNamespaces();
    this.generatePods();
    this.generateServices();
    this.generateNetworkSets();
    this.generateTiers();
    this.generateProfilesAndHostEndpoints();
    this.generatePolicies();
    const files = [...this.files.values()].filter((f) => f.objects.length > 0);
    const objects = files.reduce((a, f) => a + f.objects.length, 0);
    return {
      seed: this.seed,
      size: this.size,
      files,
      stats: { objects, pods: this.pods.length, policies: this.policiesWritten, rules: this.rulesWritten },
    };
  }
}

function parseAddr(text: string, family: Family): bigint {
  if (family === 4) {
    const p = text.split('.').map(Number);
    return V4(p[0]!, p[1]!, p[2]!, p[3]!);
  }
  // Expand '::' for the parser-free path.
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g || '0', 16));
  return v;
}

// ---------------------------------------------------------------- public API

/** The resource objects of a seeded cluster (plain JS values, as YAML would hold them). */
export function generateClusterObjects(seed: number, size: ClusterSize): GeneratedObjects {
  return new Generator(seed, size).run();
}

const YAML_OPTIONS = { lineWidth: 0, minContentWidth: 0 } as const;

/** YAML text of one generated file, in its list or multi-document style. */
export function fileToYaml(f: GeneratedFile): string {
  if (f.style === 'list') {
    return stringify({ apiVersion: f.listApiVersion, items: f.objects, kind: f.listKind, metadata: { resourceVersion: '' } }, YAML_OPTIONS);
  }
  return f.objects.map((o) => stringify(o, YAML_OPTIONS)).join('---\n');
}

/** A seeded cluster as YAML files (load with `loadGeneratedCluster`). */
export function generateCluster(seed: number, size: ClusterSize): GeneratedCluster {
  const g = generateClusterObjects(seed, size);
  return {
    seed,
    size,
    docs: g.files.map((f) => ({ name: `gen-${seed}/${f.name}`, text: fileToYaml(f) })),
    stats: g.stats,
  };
}

/** Reads a generated cluster's YAML through the real loader. */
export function loadGeneratedCluster(g: GeneratedCluster): LoadResult {
  return loadClusterFromTexts(g.docs);
}

/**
 * A RawObject without YAML text behind it: every position is `object index:1`.
 * Made with Object.create so it does not depend on RawObject's constructor
 * (private position machinery); only the public surface the builder uses is
 * provided: file, indices, value, kind, apiVersion and the locate methods.
 */
function generatedRawObject(file: string, index: number, value: Json): RawObject {
  const at: LineColumn = { line: index + 1, column: 1 };
  const o = Object.create(RawObject.prototype) as RawObject;
  Object.defineProperties(o, {
    file: { value: file },
    docIndex: { value: index },
    itemIndex: { value: undefined },
    value: { value },
    kind: { value: typeof value.kind === 'string' ? value.kind : undefined },
    apiVersion: { value: typeof value.apiVersion === 'string' ? value.apiVersion : undefined },
    locate: { value: (): LineColumn => at },
    locateInString: { value: (): LineColumn => at },
    start: { get: (): LineColumn => at },
    has: { value: (): boolean => false },
  });
  return o;
}

/**
 * Builds the IR of a generated cluster without YAML: the objects go straight
 * into the loader's builder (same validation, defaulting and conversions as
 * `loadGeneratedCluster`; origins are `gen-<seed>/<file>:<object index + 1>:1`).
 * Fast enough for `calicoScale(100_000, 100_000)`.
 */
export function buildGeneratedCluster(g: GeneratedObjects): LoadResult {
  const diags = new DiagnosticBag();
  const raws: RawObject[] = [];
  for (const f of g.files) {
    const file = `gen-${g.seed}/${f.name}`;
    f.objects.forEach((o, i) => raws.push(generatedRawObject(file, i, o)));
  }
  const { cluster, expectations } = buildCluster(raws, diags);
  return { cluster, expectations, diagnostics: diags.items };
}
