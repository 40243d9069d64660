/** Shared helpers for the generator tests: IR normalisation and feature coverage. */
import type { Cluster, EntityRule, Policy, Rule } from '../../src/model/types.js';
import type { Json } from '../../src/gen/index.js';

/** A JSON-comparable view of IR values: no origins, selectors as text, Maps as sorted entries, bigints as strings. */
export function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Map) return [...v.entries()].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)).map(([k, x]) => [k, normalise(x)]);
  if (Array.isArray(v)) return v.map(normalise);
  const o = v as Record<string, unknown>;
  if (typeof o.canonical === 'string' && 'ast' in o) return `sel:${String(o.source)}`;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) {
    if (k === 'origin') continue;
    if (o[k] === undefined) continue;
    out[k] = normalise(o[k]);
  }
  return out;
}

/** Features of the IR (what the engine must implement) found in a cluster. */
export function irFeatures(cluster: Cluster): Set<string> {
  const f = new Set<string>();
  const side = (p: Policy | undefined, s: 'source' | 'destination', e: EntityRule): void => {
    if (e.nets?.length) f.add(`${s}.nets`);
    if (e.nets?.some((c) => c.prefixLen === 0)) f.add('nets /0');
    if (e.nets?.some((c) => c.family === 6)) f.add('nets v6');
    if (e.notNets?.length) f.add(`${s}.notNets`);
    if (e.selector) f.add(`${s}.selector`);
    if (e.notSelector) f.add(`${s}.notSelector`);
    if (e.namespaceSelector) {
      f.add(`${s}.namespaceSelector`);
      if (e.namespaceSelector.ast.kind === 'global') f.add('namespaceSelector global()');
      if (e.namespaceSelector.ast.kind === 'all') f.add('namespaceSelector all()');
    }
    if (e.serviceAccounts?.names) f.add(`${s}.serviceAccounts.names`);
    if (e.serviceAccounts?.selector) f.add(`${s}.serviceAccounts.selector`);
    if (e.services) f.add(`${s}.services`);
    for (const field of ['ports', 'notPorts'] as const) {
      const pl = e[field];
      if (!pl) continue;
      if (pl.ranges.some((r) => r.first === r.last)) f.add(`${s}.${field} number`);
      if (pl.ranges.some((r) => r.first < r.last)) f.add(`${s}.${field} range`);
      if (pl.named.length) f.add(`${s}.${field} named`);
    }
    if (p && p.kind === 'KubernetesNetworkPolicy') {
      if (e.nets && e.notNets) f.add('knp ipBlock except');
      if (e.selector && e.namespaceSelector) f.add('knp podSelector+namespaceSelector');
      if (e.ports?.named.length) f.add('knp named port');
      if (e.ports?.ranges.some((r) => r.first < r.last)) f.add('knp endPort range');
    }
  };
  const rule = (p: Policy | undefined, r: Rule): void => {
    f.add(`action ${r.action}`);
    if (r.ipVersion !== undefined) f.add(`ipVersion ${r.ipVersion}`);
    if (r.protocol !== undefined) f.add(`protocol ${[6, 17, 132, 1, 58, 136].includes(r.protocol) ? r.protocol : 'other'}`);
    if (r.notProtocol !== undefined) f.add('notProtocol');
    if (r.icmp) f.add(r.icmp.code === undefined ? 'icmp type' : 'icmp type+code');
    if (r.notICMP) f.add(r.notICMP.code === undefined ? 'notICMP type' : 'notICMP type+code');
    if (r.hasHttp) f.add('http');
    side(p, 'source', r.source);
    side(p, 'destination', r.destination);
  };
  for (const p of cluster.policies) {
    f.add(`kind ${p.kind}`);
    if (p.namespaceSelector) f.add('gnp namespaceSelector');
    if (p.serviceAccountSelector) f.add(`${p.namespace ? 'np' : 'gnp'} serviceAccountSelector`);
    if (p.applyOnForward) f.add('applyOnForward');
    if (p.preDNAT) f.add('preDNAT');
    if (p.doNotTrack) f.add('doNotTrack');
    if (p.order === undefined) f.add('policy order none');
    if (p.types.egress && p.egress.length === 0) f.add('egress type without rules');
    for (const r of [...p.ingress, ...p.egress]) rule(p, r);
  }
  for (const pr of cluster.profiles) for (const r of [...pr.ingress, ...pr.egress]) rule(undefined, r);
  for (const t of cluster.tiers) {
    if (t.builtin) continue;
    if (t.order === undefined) f.add('tier unordered');
    if (t.defaultAction === 'Pass') f.add('tier Pass');
  }
  for (const pod of cluster.pods) {
    if (pod.hostNetwork) f.add('pod hostNetwork');
    if (!pod.nodeName) f.add('pod unscheduled');
    if (pod.phase === 'Succeeded') f.add('pod Succeeded');
    const fams = new Set(pod.ips.map((a) => a.family));
    if (fams.size === 2) f.add('pod dual stack');
    if (fams.size === 1 && fams.has(6)) f.add('pod v6 only');
    if (pod.ports.length) f.add('pod named ports');
  }
  const portNumbers = new Map<string, Set<number>>();
  for (const pod of cluster.pods) for (const np of pod.ports) {
    let s = portNumbers.get(np.name);
    if (!s) portNumbers.set(np.name, (s = new Set()));
    s.add(np.port);
  }
  if ([...portNumbers.values()].some((s) => s.size > 1)) f.add('named port with several numbers');
  for (const s of cluster.services) {
    f.add(`service ${s.type}`);
    if (s.externalIPs.length) f.add('service externalIPs');
    if (s.loadBalancerIPs.length) f.add('service loadBalancer IP');
    if (s.clusterIPs.some((a) => a.family === 6)) f.add('service v6 clusterIP');
    if (!cluster.endpointSlices.some((e) => e.namespace === s.namespace && e.serviceName === s.name)) f.add('service without slices');
  }
  for (const sl of cluster.endpointSlices) if (sl.endpoints.some((e) => e.ready === false)) f.add('endpoint not ready');
  for (const h of cluster.hostEndpoints) {
    f.add(h.interfaceName === '*' ? 'hep wildcard' : 'hep named');
    if (h.profiles.length) f.add('hep profiles');
  }
  for (const n of cluster.networkSets) {
    f.add(n.namespace ? 'NetworkSet' : 'GlobalNetworkSet');
    if (n.nets.some((c) => c.prefixLen === 0)) f.add('netset /0');
    if (n.nets.some((c) => c.family === 6)) f.add('netset v6');
    for (const a of n.nets) for (const b of n.nets) if (a !== b && a.family === b.family && a.prefixLen < b.prefixLen) f.add('netset nested');
  }
  if (cluster.profiles.some((p) => !p.synthetic)) f.add('Profile');
  if (cluster.nodes.some((n) => n.addresses.length)) f.add('Node addresses');
  return f;
}

/** Spelling features only visible in the raw objects (the IR normalises them away). */
export function rawFeatures(objects: Json[]): Set<string> {
  const f = new Set<string>();
  const walkRule = (r: Json): void => {
    for (const k of ['protocol', 'notProtocol']) {
      const v = r[k];
      if (typeof v === 'number') f.add(`${k} number`);
      else if (typeof v === 'string') f.add(/^[0-9]+$/.test(v) ? `${k} quoted number` : `${k} name`);
    }
  };
  for (const o of objects) {
    const spec = (o.spec ?? {}) as Json;
    if (o.kind === 'NetworkPolicy' && o.apiVersion === 'networking.k8s.io/v1') {
      for (const [dir, peerField] of [
        ['ingress', 'from'],
        ['egress', 'to'],
      ] as const) {
        for (const r of (spec[dir] as Json[] | undefined) ?? []) {
          const peers = r[peerField] as Json[] | undefined;
          if (peers === undefined) f.add('knp rule without peers');
          else if (peers.length === 0) f.add('knp empty peer list');
          else if (peers.some((p) => Object.keys(p).length === 0)) f.add('knp empty peer');
          for (const p of (r.ports as Json[] | undefined) ?? []) if (p.endPort !== undefined) f.add('knp endPort');
        }
      }
    }
    for (const dir of ['ingress', 'egress']) for (const r of (spec[dir] as Json[] | undefined) ?? []) if (typeof r.action === 'string') walkRule(r);
  }
  return f;
}
