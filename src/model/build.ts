/**
 * Raw objects → validated, defaulted IR (`Cluster` + `Expectations`).
 * Dispatches by kind, checks duplicates and tier references, adds the
 * built-in tiers, converts core/v1 Endpoints for services without slices.
 */
import type { DiagnosticBag } from '../diag/diagnostic.js';
import type { RawObject } from '../parse/documents.js';
import {
  BUILTIN_TIERS,
  buildCalicoPolicy,
  buildHostEndpoint,
  buildNetworkSet,
  buildProfile,
  buildTier,
} from './calico.js';
import { ObjectContext } from './context.js';
import { buildExpectations } from './expectations.js';
import { buildEndpoints, buildEndpointSlice, buildNamespace, buildNode, buildPod, buildService, buildServiceAccount } from './k8s.js';
import { buildK8sNetworkPolicy } from './k8s-networkpolicy.js';
import { readMeta, type Meta } from './meta.js';
import type { Cluster, EndpointSlice, Expectations, Policy, PolicyKind, Tier } from './types.js';
import { checkGnpName, checkNpName, checkSubdomain, checkTierName } from './validate.js';

type Handler =
  | { type: 'calico-policy'; kind: PolicyKind; namespaced: boolean }
  | { type: 'knp'; staged: boolean }
  | { type: 'tier' | 'gns' | 'ns-set' | 'hep' | 'profile' }
  | { type: 'namespace' | 'pod' | 'service' | 'endpoints' | 'slice' | 'sa' | 'node' };

const CALICO_GROUPS = ['projectcalico.org/v3', 'crd.projectcalico.org/v1'];

interface KindInfo {
  apiVersions: string[];
  namespaced: boolean;
  handler: Handler;
}

const CALICO_KINDS: Record<string, KindInfo> = {
  GlobalNetworkPolicy: { apiVersions: CALICO_GROUPS, namespaced: false, handler: { type: 'calico-policy', kind: 'GlobalNetworkPolicy', namespaced: false } },
  NetworkPolicy: { apiVersions: CALICO_GROUPS, namespaced: true, handler: { type: 'calico-policy', kind: 'NetworkPolicy', namespaced: true } },
  StagedGlobalNetworkPolicy: {
    apiVersions: CALICO_GROUPS,
    namespaced: false,
    handler: { type: 'calico-policy', kind: 'StagedGlobalNetworkPolicy', namespaced: false },
  },
  StagedNetworkPolicy: { apiVersions: CALICO_GROUPS, namespaced: true, handler: { type: 'calico-policy', kind: 'StagedNetworkPolicy', namespaced: true } },
  StagedKubernetesNetworkPolicy: { apiVersions: CALICO_GROUPS, namespaced: true, handler: { type: 'knp', staged: true } },
  Tier: { apiVersions: CALICO_GROUPS, namespaced: false, handler: { type: 'tier' } },
  GlobalNetworkSet: { apiVersions: CALICO_GROUPS, namespaced: false, handler: { type: 'gns' } },
  NetworkSet: { apiVersions: CALICO_GROUPS, namespaced: true, handler: { type: 'ns-set' } },
  HostEndpoint: { apiVersions: CALICO_GROUPS, namespaced: false, handler: { type: 'hep' } },
  Profile: { apiVersions: CALICO_GROUPS, namespaced: false, handler: { type: 'profile' } },
};

const K8S_KINDS: Record<string, KindInfo> = {
  Namespace: { apiVersions: ['v1'], namespaced: false, handler: { type: 'namespace' } },
  Pod: { apiVersions: ['v1'], namespaced: true, handler: { type: 'pod' } },
  Service: { apiVersions: ['v1'], namespaced: true, handler: { type: 'service' } },
  Endpoints: { apiVersions: ['v1'], namespaced: true, handler: { type: 'endpoints' } },
  ServiceAccount: { apiVersions: ['v1'], namespaced: true, handler: { type: 'sa' } },
  Node: { apiVersions: ['v1'], namespaced: false, handler: { type: 'node' } },
  EndpointSlice: { apiVersions: ['discovery.k8s.io/v1', 'discovery.k8s.io/v1beta1'], namespaced: true, handler: { type: 'slice' } },
  NetworkPolicy: { apiVersions: ['networking.k8s.io/v1'], namespaced: true, handler: { type: 'knp', staged: false } },
};

/** Picks the handler for (apiVersion, kind); undefined = unknown kind. */
function kindInfo(kind: string, apiVersion: string | undefined): KindInfo | 'bad-version' | undefined {
  const k8s = K8S_KINDS[kind];
  const cal = CALICO_KINDS[kind];
  if (!k8s && !cal) return undefined;
  if (apiVersion !== undefined) {
    if (cal && cal.apiVersions.includes(apiVersion)) return cal;
    if (k8s && k8s.apiVersions.includes(apiVersion)) return k8s;
    return 'bad-version';
  }
  // No apiVersion: unambiguous kinds only (NetworkPolicy exists in both groups).
  if (k8s && cal) return 'bad-version';
  return k8s ?? cal;
}

function policyNameChecker(kind: PolicyKind): (n: string) => string | undefined {
  return kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy' ? checkGnpName : checkNpName;
}

export interface BuildResult {
  cluster: Cluster;
  expectations: Expectations[];
}

function emptyCluster(): Cluster {
  return {
    namespaces: [],
    serviceAccounts: [],
    pods: [],
    networkSets: [],
    hostEndpoints: [],
    profiles: [],
    tiers: [],
    policies: [],
    services: [],
    endpointSlices: [],
    nodes: [],
  };
}

/** Builds the IR from raw objects, reporting into `diags`. Never throws for bad input. */
export function buildCluster(objects: RawObject[], diags: DiagnosticBag): BuildResult {
  const cluster = emptyCluster();
  const expectations: Expectations[] = [];
  const unknown = new Map<string, { count: number; first: RawObject }>();
  const seen = new Map<string, RawObject>();
  const definedTiers = new Map<string, Tier>();
  const policyChecks: { policy: Policy; ctx: ObjectContext }[] = [];
  const endpointsObjs: { slices: EndpointSlice[]; ctx: ObjectContext }[] = [];

  for (const raw of objects) {
    const value = raw.value;
    const kind = raw.kind;
    const ctx = new ObjectContext(raw, diags, kind ?? '<unknown kind>');
    if (kind === undefined) {
      if (value.kind !== undefined) ctx.error('NV-TYPE', 'kind must be a string', ['kind']);
      else ctx.error('NV-KIND', 'missing kind', []);
      continue;
    }
    if (kind === 'Expectations') {
      const e = buildExpectations(ctx, value);
      if (e) expectations.push(e);
      continue;
    }
    const info = kindInfo(kind, raw.apiVersion);
    if (info === undefined) {
      const u = unknown.get(kind);
      if (u) u.count++;
      else unknown.set(kind, { count: 1, first: raw });
      continue;
    }
    if (info === 'bad-version') {
      const expected = [...(CALICO_KINDS[kind]?.apiVersions.slice(0, 1) ?? []), ...(K8S_KINDS[kind]?.apiVersions.slice(0, 1) ?? [])];
      ctx.error(
        'NV-API-VERSION',
        raw.apiVersion === undefined
          ? `missing apiVersion for kind ${kind} (expected ${expected.join(' or ')})`
          : `unsupported apiVersion "${raw.apiVersion}" for kind ${kind} (expected ${expected.join(' or ')})`,
        raw.apiVersion === undefined ? [] : ['apiVersion'],
      );
      continue;
    }
    if (raw.apiVersion === 'crd.projectcalico.org/v1') {
      ctx.warning('NV-API-VERSION', `${kind} with apiVersion crd.projectcalico.org/v1 (the backing CRD) read as projectcalico.org/v3`, ['apiVersion']);
    }
    const h = info.handler;
    const checkName =
      h.type === 'calico-policy' ? policyNameChecker(h.kind) : h.type === 'tier' ? checkTierName : checkSubdomain;
    const meta: Meta | undefined = readMeta(ctx, value, { namespaced: info.namespaced, checkName });
    if (!meta) continue;

    // Duplicates: same group/kind/namespace/name.
    const group = info === K8S_KINDS[kind] ? (raw.apiVersion?.split('/')[0] ?? 'core') : 'projectcalico.org';
    const key = `${group}|${kind}|${meta.namespace ?? ''}|${meta.name}`;
    const prev = seen.get(key);
    if (prev) {
      const p = prev.start;
      ctx.error('NV-DUPLICATE', `duplicate ${ctx.object}: already defined at ${prev.file}:${p.line}:${p.column}`, ['metadata', 'name']);
      continue;
    }
    seen.set(key, raw);

    switch (h.type) {
      case 'calico-policy': {
        const p = buildCalicoPolicy(ctx, value, meta, h.kind);
        if (p) {
          policyChecks.push({ policy: p, ctx });
          if (!ctx.failed) cluster.policies.push(p);
        }
        break;
      }
      case 'knp': {
        const p = buildK8sNetworkPolicy(ctx, value, meta, h.staged);
        if (p && !ctx.failed) cluster.policies.push(p);
        break;
      }
      case 'tier': {
        const t = buildTier(ctx, value, meta);
        if (t && !ctx.failed) definedTiers.set(t.name, t);
        break;
      }
      case 'gns':
      case 'ns-set': {
        const s = buildNetworkSet(ctx, value, meta, h.type === 'gns');
        if (s && !ctx.failed) cluster.networkSets.push(s);
        break;
      }
      case 'hep': {
        const e = buildHostEndpoint(ctx, value, meta);
        if (e && !ctx.failed) cluster.hostEndpoints.push(e);
        break;
      }
      case 'profile': {
        const p = buildProfile(ctx, value, meta);
        if (p && !ctx.failed) cluster.profiles.push(p);
        break;
      }
      case 'namespace':
        cluster.namespaces.push(buildNamespace(ctx, meta));
        break;
      case 'sa':
        cluster.serviceAccounts.push(buildServiceAccount(ctx, meta));
        break;
      case 'pod': {
        const p = buildPod(ctx, value, meta);
        if (!ctx.failed) cluster.pods.push(p);
        break;
      }
      case 'service': {
        const s = buildService(ctx, value, meta);
        if (!ctx.failed) cluster.services.push(s);
        break;
      }
      case 'slice': {
        const s = buildEndpointSlice(ctx, value, meta);
        if (!ctx.failed) cluster.endpointSlices.push(s);
        break;
      }
      case 'endpoints': {
        const slices = buildEndpoints(ctx, value, meta);
        if (!ctx.failed) endpointsObjs.push({ slices, ctx });
        break;
      }
      case 'node': {
        const n = buildNode(ctx, value, meta);
        if (!ctx.failed) cluster.nodes.push(n);
        break;
      }
    }
  }

  // Unknown kinds: one warning per kind.
  for (const [kind, u] of [...unknown.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const p = u.first.start;
    diags.warning('NV-UNKNOWN-KIND', `skipped ${u.count} object${u.count === 1 ? '' : 's'} of unsupported kind ${kind}`, {
      file: u.first.file,
      line: p.line,
      column: p.column,
      object: kind,
    });
  }

  // Tiers: built-ins (always present), defined tiers, referenced-but-missing tiers.
  const tiers = new Map<string, Tier>();
  for (const [name, b] of BUILTIN_TIERS) {
    if (b.alwaysPresent) tiers.set(name, { name, order: b.order, defaultAction: b.defaultAction, defined: true, builtin: true });
  }
  for (const [name, t] of definedTiers) tiers.set(name, t);
  for (const { policy, ctx } of policyChecks) {
    const tier = policy.tier;
    if (tiers.has(tier)) continue;
    const b = BUILTIN_TIERS.get(tier);
    if (b) {
      tiers.set(tier, { name: tier, order: b.order, defaultAction: b.defaultAction, defined: true, builtin: true });
      continue;
    }
    ctx.error('NV-TIER-MISSING', `tier "${tier}" is not defined (add a Tier object, or use a built-in tier: default, kube-admin, kube-baseline)`, ['spec', 'tier']);
  }
  for (const { policy, ctx } of policyChecks) {
    if (!tiers.has(policy.tier)) tiers.set(policy.tier, { name: policy.tier, defaultAction: 'Deny', defined: false, builtin: false });
    // v3.31 and earlier required `<tier>.<name>` for non-default tiers and derived the tier from it.
    const dot = policy.name.indexOf('.');
    if (dot > 0 && !policy.name.startsWith('knp.') && !policy.name.startsWith('ossg.')) {
      const prefix = policy.name.slice(0, dot);
      if (prefix !== policy.tier && definedTiers.has(prefix) && ctx.raw.value.spec && (ctx.raw.value.spec as Record<string, unknown>).tier === undefined) {
        ctx.warning(
          'NV-TIER-PREFIX',
          `policy name starts with tier "${prefix}." but spec.tier is not set: Calico v3.32+ puts it in tier "${policy.tier}" (v3.31 and earlier derived tier "${prefix}" from the name)`,
          ['metadata', 'name'],
        );
      }
    }
  }
  cluster.tiers = [...tiers.values()];

  // core/v1 Endpoints: only for services that have no EndpointSlice.
  const sliced = new Set(cluster.endpointSlices.filter((s) => s.serviceName).map((s) => `${s.namespace}/${s.serviceName}`));
  for (const { slices, ctx } of endpointsObjs) {
    if (slices.length === 0) continue;
    const svcKey = `${slices[0]!.namespace}/${slices[0]!.serviceName}`;
    if (sliced.has(svcKey)) continue;
    ctx.warning(
      'NV-ENDPOINTS-FALLBACK',
      `service ${svcKey} has no EndpointSlice: using the core/v1 Endpoints object instead (felix only reads EndpointSlices)`,
      [],
    );
    cluster.endpointSlices.push(...slices);
  }

  // Pods whose namespace has no Namespace object (felix: missing kns.* profile → drop-all).
  {
    const nsNames = new Set(cluster.namespaces.map((n) => n.name));
    const missing = new Map<string, number>();
    for (const p of cluster.pods) if (!nsNames.has(p.namespace)) missing.set(p.namespace, (missing.get(p.namespace) ?? 0) + 1);
    if (missing.size > 0) {
      const list = [...missing.entries()].sort().map(([n, c]) => `${n} (${c} pod${c === 1 ? '' : 's'})`);
      diags.warning(
        'NV-NAMESPACE-MISSING',
        `pods in namespaces without a Namespace object: ${list.join(', ')}; Calico gives such pods a drop-all profile`,
      );
    }
  }

  return { cluster, expectations };
}
