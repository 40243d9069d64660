/**
 * Entities (SEMANTICS.md §2): workload endpoints, host endpoints, network sets
 * and global network sets, each with the label view selectors see (own labels,
 * then the labels of its parent profiles in order) and the addresses it
 * contributes to IP sets. Also the profiles synthesised from Namespaces
 * (`kns.<ns>`) and ServiceAccounts (`ksa.<ns>.<sa>`).
 */
import type { Cidr, IpAddr } from '../net/ip.js';
import { hostCidr } from '../net/ip.js';
import type { LabelSource } from '../parse/selector/types.js';
import type { Cluster, HostEndpoint, NamedPort, NetworkSet, Pod, Profile, Rule, Labels, Origin } from '../model/types.js';

export type EntityKind = 'wep' | 'hep' | 'ns' | 'gns';

export interface Entity {
  /** Dense id, stable for a given input (sorted order). */
  id: number;
  kind: EntityKind;
  name: string;
  namespace?: string;
  node?: string;
  ownLabels: Labels;
  /** Parent profile names, in order. */
  profiles: string[];
  /** Label view: own labels first, then each profile's labelsToApply. */
  labels: LabelSource;
  /** Addresses contributed to IP sets (/32 or /128 for endpoints). */
  cidrs: Cidr[];
  namedPorts: NamedPort[];
  pod?: Pod;
  hep?: HostEndpoint;
  set?: NetworkSet;
}

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
export const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';

/**
 * Label view: own labels first, then each parent's in order (the first
 * definition of a key wins). Read through the maps (no merged map per
 * entity: parents are shared by every pod of a namespace and service
 * account); a lookup is at most one probe per map.
 */
class InheritedLabels implements LabelSource {
  constructor(
    private readonly own: Labels,
    private readonly parents: readonly Labels[],
  ) {}
  /** Every label key visible through this view. */
  *keys(): Iterable<string> {
    const keys: string[] = [];
    this.forEach((_v, k) => keys.push(k));
    yield* keys;
  }
  /** Every visible label once, own first, then each parent's not defined before (as a merged `Map.forEach`). */
  forEach(visit: (value: string, key: string) => void): void {
    this.own.forEach(visit);
    const parents = this.parents;
    for (let i = 0; i < parents.length; i++) {
      parents[i]!.forEach((v, k) => {
        if (this.own.has(k)) return;
        for (let j = 0; j < i; j++) if (parents[j]!.has(k)) return;
        visit(v, k);
      });
    }
  }
  get(key: string): string | undefined {
    const v = this.own.get(key);
    if (v !== undefined) return v;
    const parents = this.parents;
    for (let i = 0; i < parents.length; i++) {
      const pv = parents[i]!.get(key);
      if (pv !== undefined) return pv;
    }
    return undefined;
  }
}

/** A copy of a label map (through forEach: no entry pair per label as `new Map(map)` makes). */
function copyLabels(src: Labels): Map<string, string> {
  const out = new Map<string, string>();
  src.forEach((v, k) => out.set(k, v));
  return out;
}

function allowAllRule(direction: string, origin: Origin | undefined): Rule {
  return {
    action: 'Allow',
    source: {},
    destination: {},
    index: 0,
    origin: origin ?? { file: '<builtin>', line: 0, column: 0, path: `spec.${direction}[0]` },
  };
}

/** Profiles by name: explicit Profile resources plus kns.* / ksa.* and the built-in default-allow. */
export function buildProfiles(cluster: Cluster): Map<string, Profile> {
  const profiles = new Map<string, Profile>();
  for (const ns of cluster.namespaces) {
    const labels = new Map<string, string>();
    for (const [k, v] of ns.labels) labels.set(`pcns.${k}`, v);
    labels.set('pcns.projectcalico.org/name', ns.name);
    profiles.set(`kns.${ns.name}`, {
      name: `kns.${ns.name}`,
      labelsToApply: labels,
      ingress: [allowAllRule('ingress', ns.origin)],
      egress: [allowAllRule('egress', ns.origin)],
      synthetic: true,
      origin: ns.origin,
    });
  }
  for (const sa of cluster.serviceAccounts) {
    const labels = new Map<string, string>();
    for (const [k, v] of sa.labels) labels.set(`pcsa.${k}`, v);
    labels.set('pcsa.projectcalico.org/name', sa.name);
    profiles.set(`ksa.${sa.namespace}.${sa.name}`, {
      name: `ksa.${sa.namespace}.${sa.name}`,
      labelsToApply: labels,
      ingress: [],
      egress: [],
      synthetic: true,
      origin: sa.origin,
    });
  }
  profiles.set(DEFAULT_ALLOW_PROFILE, {
    name: DEFAULT_ALLOW_PROFILE,
    labelsToApply: new Map(),
    ingress: [allowAllRule('ingress', undefined)],
    egress: [allowAllRule('egress', undefined)],
    synthetic: true,
  });
  // Explicit Profile resources win over synthesised ones of the same name.
  for (const p of cluster.profiles) profiles.set(p.name, p);
  return profiles;
}

/** A pod is a workload endpoint only if scheduled and not host-networked (§2.1). */
export function isWorkloadEndpoint(pod: Pod): boolean {
  return !pod.hostNetwork && pod.nodeName !== undefined && pod.nodeName !== '';
}

export function podProfiles(pod: Pod): string[] {
  const names = [`kns.${pod.namespace}`];
  if (pod.serviceAccountName) names.push(`ksa.${pod.namespace}.${pod.serviceAccountName}`);
  return names;
}

export function buildEntities(cluster: Cluster, profiles: Map<string, Profile>): Entity[] {
  const entities: Entity[] = [];
  const parentLabels = (names: string[]): Labels[] =>
    names.map((n) => profiles.get(n)?.labelsToApply).filter((l): l is Labels => l !== undefined);
  /** Pods' profile names and their labels, shared by the pods of one namespace and service account (read only). */
  const podParents = new Map<string, { names: string[]; labels: Labels[] }>();

  for (const pod of cluster.pods) {
    if (!isWorkloadEndpoint(pod)) continue;
    const own = copyLabels(pod.labels);
    own.set(NAMESPACE_LABEL, pod.namespace);
    own.set(ORCHESTRATOR_LABEL, 'k8s');
    if (pod.serviceAccountName && pod.serviceAccountName.length < 63) own.set(SERVICE_ACCOUNT_LABEL, pod.serviceAccountName);
    const parentKey = `${pod.namespace}\0${pod.serviceAccountName ?? ''}`;
    let parents = podParents.get(parentKey);
    if (!parents) {
      const names = podProfiles(pod);
      podParents.set(parentKey, (parents = { names, labels: parentLabels(names) }));
    }
    entities.push({
      id: 0,
      kind: 'wep',
      name: pod.name,
      namespace: pod.namespace,
      node: pod.nodeName,
      ownLabels: own,
      profiles: parents.names,
      labels: new InheritedLabels(own, parents.labels),
      cidrs: pod.ips.map(hostCidr),
      namedPorts: pod.ports,
      pod,
    });
  }
  for (const hep of cluster.hostEndpoints) {
    entities.push({
      id: 0,
      kind: 'hep',
      name: hep.name,
      node: hep.node,
      ownLabels: hep.labels,
      profiles: hep.profiles,
      labels: new InheritedLabels(hep.labels, parentLabels(hep.profiles)),
      cidrs: hep.expectedIPs.map(hostCidr),
      namedPorts: hep.ports,
      hep,
    });
  }
  for (const set of cluster.networkSets) {
    if (set.namespace !== undefined) {
      const own = copyLabels(set.labels);
      own.set(NAMESPACE_LABEL, set.namespace);
      const prof = [`kns.${set.namespace}`];
      entities.push({
        id: 0,
        kind: 'ns',
        name: set.name,
        namespace: set.namespace,
        ownLabels: own,
        profiles: prof,
        labels: new InheritedLabels(own, parentLabels(prof)),
        cidrs: set.nets,
        namedPorts: [],
        set,
      });
    } else {
      entities.push({
        id: 0,
        kind: 'gns',
        name: set.name,
        ownLabels: set.labels,
        profiles: [],
        labels: new InheritedLabels(set.labels, []),
        cidrs: set.nets,
        namedPorts: [],
        set,
      });
    }
  }
  const kindOrder: Record<EntityKind, number> = { wep: 0, hep: 1, ns: 2, gns: 3 };
  entities.sort(
    (a, b) =>
      kindOrder[a.kind] - kindOrder[b.kind] ||
      cmp(a.namespace ?? '', b.namespace ?? '') ||
      cmp(a.name, b.name),
  );
  entities.forEach((e, i) => (e.id = i));
  return entities;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function entityDisplayName(e: { kind: EntityKind; name: string; namespace?: string }): string {
  return e.namespace ? `${e.namespace}/${e.name}` : e.name;
}

export type { IpAddr };
