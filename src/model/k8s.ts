/**
 * Core Kubernetes objects → IR: Namespace, ServiceAccount, Pod, Service,
 * EndpointSlice, Endpoints (fallback), Node. Unknown fields are ignored
 * (kubectl output carries many); fields we use are type-checked.
 */
import type { IpAddr } from '../net/ip.js';
import type { FieldPath } from '../parse/documents.js';
import type { Json, ObjectContext } from './context.js';
import type { Meta } from './meta.js';
import type {
  EndpointSlice,
  EndpointSliceEndpoint,
  EndpointSlicePort,
  NamedPort,
  Namespace,
  Node,
  Pod,
  Service,
  ServiceAccount,
  ServicePort,
} from './types.js';
import { parseIpChecked } from './validate.js';

const K8S_PROTOCOLS: Readonly<Record<string, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

export const ANNOTATION_POD_IP = 'cni.projectcalico.org/podIP';
export const ANNOTATION_POD_IPS = 'cni.projectcalico.org/podIPs';

/** Kubernetes protocol field (TCP default); undefined + error when invalid. */
function k8sProtocol(ctx: ObjectContext, v: unknown, path: FieldPath): number | undefined {
  if (v === undefined || v === null || v === '') return 6;
  if (typeof v === 'string' && K8S_PROTOCOLS[v] !== undefined) return K8S_PROTOCOLS[v];
  ctx.error('NV-PROTOCOL', `invalid protocol ${JSON.stringify(v)}: must be TCP, UDP or SCTP`, path);
  return undefined;
}

function ipField(ctx: ObjectContext, v: unknown, path: FieldPath, opts: { cidrOk?: boolean } = {}): IpAddr | undefined {
  const s = ctx.str(v, path);
  if (s === undefined || s === '') return undefined;
  let text = s.trim();
  if (opts.cidrOk && text.includes('/')) text = text.slice(0, text.indexOf('/'));
  const ip = parseIpChecked(text);
  if (!ip) ctx.error('NV-IP', `invalid IP address "${s}"`, path);
  return ip;
}

export function buildNamespace(ctx: ObjectContext, meta: Meta): Namespace {
  const labels = new Map(meta.labels);
  // The API server adds this label to every Namespace (SEMANTICS.md ambiguity 5).
  if (!labels.has('kubernetes.io/metadata.name')) labels.set('kubernetes.io/metadata.name', meta.name);
  return { name: meta.name, labels, origin: ctx.origin([]) };
}

export function buildServiceAccount(ctx: ObjectContext, meta: Meta): ServiceAccount {
  return { name: meta.name, namespace: meta.namespace!, labels: meta.labels, origin: ctx.origin([]) };
}

function containerPorts(ctx: ObjectContext, spec: Json, field: 'containers' | 'initContainers', out: NamedPort[]): void {
  const containers = ctx.list(spec[field], ['spec', field]) ?? [];
  containers.forEach((c, ci) => {
    const cm = ctx.map(c, ['spec', field, ci]);
    if (!cm) return;
    const ports = ctx.list(cm.ports, ['spec', field, ci, 'ports']) ?? [];
    ports.forEach((p, pi) => {
      const path = ['spec', field, ci, 'ports', pi];
      const pm = ctx.map(p, path);
      if (!pm) return;
      const name = ctx.str(pm.name, [...path, 'name']);
      const port = ctx.int(pm.containerPort, [...path, 'containerPort']);
      if (!name || !port) return; // only named, non-zero ports are named ports
      const proto = pm.protocol === undefined || pm.protocol === null || pm.protocol === '' ? 'TCP' : pm.protocol;
      const n = typeof proto === 'string' ? K8S_PROTOCOLS[proto] : undefined;
      if (n === undefined) return; // other protocols are ignored (SEMANTICS.md §2.1)
      out.push({ name, protocol: n, port });
    });
  });
}

export function buildPod(ctx: ObjectContext, value: Json, meta: Meta): Pod {
  const spec = ctx.map(value.spec, ['spec']) ?? {};
  const status = ctx.map(value.status, ['status']) ?? {};
  const nodeName = ctx.str(spec.nodeName, ['spec', 'nodeName']) || undefined;
  const hostNetwork = ctx.bool(spec.hostNetwork, ['spec', 'hostNetwork']) ?? false;
  const serviceAccountName =
    ctx.str(spec.serviceAccountName, ['spec', 'serviceAccountName']) || ctx.str(spec.serviceAccount, ['spec', 'serviceAccount']) || undefined;
  const phase = ctx.str(status.phase, ['status', 'phase']) || undefined;

  // IPs: status.podIPs, else status.podIP, else the Calico annotations (getPodIPs).
  let ips: IpAddr[] = [];
  const podIPs = ctx.list(status.podIPs, ['status', 'podIPs']);
  if (podIPs && podIPs.length > 0) {
    podIPs.forEach((e, i) => {
      const m = ctx.map(e, ['status', 'podIPs', i]);
      const ip = m ? ipField(ctx, m.ip, ['status', 'podIPs', i, 'ip']) : undefined;
      if (ip) ips.push(ip);
    });
  } else if (typeof status.podIP === 'string' && status.podIP !== '') {
    const ip = ipField(ctx, status.podIP, ['status', 'podIP']);
    if (ip) ips.push(ip);
  } else {
    const plural = meta.annotations.get(ANNOTATION_POD_IPS);
    const single = meta.annotations.get(ANNOTATION_POD_IP);
    const key = plural ? ANNOTATION_POD_IPS : single ? ANNOTATION_POD_IP : undefined;
    if (key) {
      const parts = (plural ?? single)!.split(',');
      for (const part of parts) {
        const ip = ipField(ctx, part, ['metadata', 'annotations', key], { cidrOk: true });
        if (ip) ips.push(ip);
      }
    }
  }
  // Finished pods keep their endpoint but lose their IPs (IsFinished).
  const deleting = ctx.raw.value.metadata && typeof (ctx.raw.value.metadata as Json).deletionTimestamp === 'string';
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Completed' || (deleting && meta.annotations.get(ANNOTATION_POD_IP) === '')) ips = [];

  const ports: NamedPort[] = [];
  containerPorts(ctx, spec, 'containers', ports);
  containerPorts(ctx, spec, 'initContainers', ports);

  const pod: Pod = { name: meta.name, namespace: meta.namespace!, labels: meta.labels, hostNetwork, ips, ports, origin: ctx.origin([]) };
  if (nodeName) pod.nodeName = nodeName;
  if (phase) pod.phase = phase;
  if (serviceAccountName) pod.serviceAccountName = serviceAccountName;
  return pod;
}

const SERVICE_TYPES = new Set(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);

export function buildService(ctx: ObjectContext, value: Json, meta: Meta): Service {
  const spec = ctx.map(value.spec, ['spec']) ?? {};
  const status = ctx.map(value.status, ['status']) ?? {};
  let type: Service['type'] = 'ClusterIP';
  const t = ctx.str(spec.type, ['spec', 'type']);
  if (t !== undefined && t !== '') {
    if (SERVICE_TYPES.has(t)) type = t as Service['type'];
    else ctx.error('NV-TYPE', `invalid Service type "${t}"`, ['spec', 'type']);
  }
  const clusterIPs: IpAddr[] = [];
  const addIp = (list: IpAddr[], v: unknown, path: FieldPath) => {
    if (v === 'None') return;
    const ip = ipField(ctx, v, path);
    if (ip && !list.some((x) => x.family === ip.family && x.value === ip.value)) list.push(ip);
  };
  const cips = ctx.list(spec.clusterIPs, ['spec', 'clusterIPs']);
  if (cips && cips.length) cips.forEach((v, i) => addIp(clusterIPs, v, ['spec', 'clusterIPs', i]));
  else if (spec.clusterIP !== undefined) addIp(clusterIPs, spec.clusterIP, ['spec', 'clusterIP']);
  const externalIPs: IpAddr[] = [];
  (ctx.list(spec.externalIPs, ['spec', 'externalIPs']) ?? []).forEach((v, i) => addIp(externalIPs, v, ['spec', 'externalIPs', i]));
  const loadBalancerIPs: IpAddr[] = [];
  if (typeof spec.loadBalancerIP === 'string' && spec.loadBalancerIP) addIp(loadBalancerIPs, spec.loadBalancerIP, ['spec', 'loadBalancerIP']);
  const lb = ctx.map(status.loadBalancer, ['status', 'loadBalancer']);
  (lb ? (ctx.list(lb.ingress, ['status', 'loadBalancer', 'ingress']) ?? []) : []).forEach((e, i) => {
    const m = ctx.map(e, ['status', 'loadBalancer', 'ingress', i]);
    if (m && m.ip !== undefined) addIp(loadBalancerIPs, m.ip, ['status', 'loadBalancer', 'ingress', i, 'ip']);
  });
  const ports: ServicePort[] = [];
  (ctx.list(spec.ports, ['spec', 'ports']) ?? []).forEach((p, i) => {
    const path = ['spec', 'ports', i];
    const m = ctx.map(p, path);
    if (!m) return;
    const protocol = k8sProtocol(ctx, m.protocol, [...path, 'protocol']);
    const port = ctx.int(m.port, [...path, 'port']);
    if (port === undefined || port < 1 || port > 65535) {
      ctx.error('NV-PORT', 'Service port must be 1-65535', m.port === undefined ? path : [...path, 'port']);
      return;
    }
    const sp: ServicePort = { protocol: protocol ?? 6, port };
    const name = ctx.str(m.name, [...path, 'name']);
    if (name) sp.name = name;
    if (typeof m.targetPort === 'number') {
      if (!Number.isInteger(m.targetPort) || m.targetPort < 1 || m.targetPort > 65535) ctx.error('NV-PORT', 'targetPort must be 1-65535', [...path, 'targetPort']);
      else sp.targetPort = m.targetPort;
    } else if (typeof m.targetPort === 'string' && m.targetPort !== '') {
      sp.targetPort = /^[0-9]+$/.test(m.targetPort) ? Number(m.targetPort) : m.targetPort;
    }
    const nodePort = ctx.int(m.nodePort, [...path, 'nodePort']);
    if (nodePort) sp.nodePort = nodePort;
    if (protocol !== undefined) ports.push(sp);
  });
  const svc: Service = { name: meta.name, namespace: meta.namespace!, type, clusterIPs, externalIPs, loadBalancerIPs, ports, origin: ctx.origin([]) };
  const sel = ctx.map(spec.selector, ['spec', 'selector']);
  if (sel) {
    const m = new Map<string, string>();
    for (const [k, v] of Object.entries(sel)) if (typeof v === 'string') m.set(k, v);
    svc.selector = m;
  }
  return svc;
}

function sliceEndpoint(ctx: ObjectContext, m: Json, path: FieldPath, ns: string, addresses: IpAddr[]): EndpointSliceEndpoint {
  const ep: EndpointSliceEndpoint = { addresses };
  const nodeName = ctx.str(m.nodeName, [...path, 'nodeName']);
  if (nodeName) ep.nodeName = nodeName;
  const tr = ctx.map(m.targetRef, [...path, 'targetRef']);
  if (tr && (tr.kind === undefined || tr.kind === 'Pod') && typeof tr.name === 'string') {
    ep.targetPod = { namespace: typeof tr.namespace === 'string' && tr.namespace ? tr.namespace : ns, name: tr.name };
  }
  return ep;
}

export function buildEndpointSlice(ctx: ObjectContext, value: Json, meta: Meta): EndpointSlice {
  const addressType = ctx.str(value.addressType, ['addressType']);
  const endpoints: EndpointSliceEndpoint[] = [];
  const fqdn = addressType === 'FQDN';
  (ctx.list(value.endpoints, ['endpoints']) ?? []).forEach((e, i) => {
    const path = ['endpoints', i];
    const m = ctx.map(e, path);
    if (!m) return;
    const addresses: IpAddr[] = [];
    if (!fqdn) {
      (ctx.list(m.addresses, [...path, 'addresses']) ?? []).forEach((a, j) => {
        const ip = ipField(ctx, a, [...path, 'addresses', j]);
        if (ip) addresses.push(ip);
      });
    }
    const ep = sliceEndpoint(ctx, m, path, meta.namespace!, addresses);
    const cond = ctx.map(m.conditions, [...path, 'conditions']);
    if (cond && typeof cond.ready === 'boolean') ep.ready = cond.ready;
    endpoints.push(ep);
  });
  const ports: EndpointSlicePort[] = [];
  (ctx.list(value.ports, ['ports']) ?? []).forEach((p, i) => {
    const path = ['ports', i];
    const m = ctx.map(p, path);
    if (!m) return;
    const protocol = k8sProtocol(ctx, m.protocol, [...path, 'protocol']);
    if (protocol === undefined) return;
    const sp: EndpointSlicePort = { protocol };
    const name = ctx.str(m.name, [...path, 'name']);
    if (name) sp.name = name;
    const port = ctx.int(m.port, [...path, 'port']);
    if (port !== undefined) {
      if (port < 1 || port > 65535) ctx.error('NV-PORT', 'EndpointSlice port must be 1-65535', [...path, 'port']);
      else sp.port = port;
    }
    ports.push(sp);
  });
  const slice: EndpointSlice = { name: meta.name, namespace: meta.namespace!, endpoints, ports, fromEndpoints: false, origin: ctx.origin([]) };
  const svc = meta.labels.get('kubernetes.io/service-name');
  if (svc) slice.serviceName = svc;
  return slice;
}

/** core/v1 Endpoints → one EndpointSlice-equivalent per subset (used only when the service has no slice). */
export function buildEndpoints(ctx: ObjectContext, value: Json, meta: Meta): EndpointSlice[] {
  const out: EndpointSlice[] = [];
  const subsets = ctx.list(value.subsets, ['subsets']) ?? [];
  subsets.forEach((s, si) => {
    const sp = ['subsets', si];
    const m = ctx.map(s, sp);
    if (!m) return;
    const endpoints: EndpointSliceEndpoint[] = [];
    for (const [field, ready] of [
      ['addresses', true],
      ['notReadyAddresses', false],
    ] as const) {
      (ctx.list(m[field], [...sp, field]) ?? []).forEach((a, ai) => {
        const ap = [...sp, field, ai];
        const am = ctx.map(a, ap);
        if (!am) return;
        const ip = ipField(ctx, am.ip, [...ap, 'ip']);
        if (!ip) return;
        const ep = sliceEndpoint(ctx, am, ap, meta.namespace!, [ip]);
        ep.ready = ready;
        endpoints.push(ep);
      });
    }
    const ports: EndpointSlicePort[] = [];
    (ctx.list(m.ports, [...sp, 'ports']) ?? []).forEach((p, pi) => {
      const pp = [...sp, 'ports', pi];
      const pm = ctx.map(p, pp);
      if (!pm) return;
      const protocol = k8sProtocol(ctx, pm.protocol, [...pp, 'protocol']);
      if (protocol === undefined) return;
      const port: EndpointSlicePort = { protocol };
      const name = ctx.str(pm.name, [...pp, 'name']);
      if (name) port.name = name;
      const n = ctx.int(pm.port, [...pp, 'port']);
      if (n !== undefined && n >= 1 && n <= 65535) port.port = n;
      ports.push(port);
    });
    out.push({
      name: subsets.length > 1 ? `${meta.name}-${si}` : meta.name,
      namespace: meta.namespace!,
      serviceName: meta.name,
      endpoints,
      ports,
      fromEndpoints: true,
      origin: ctx.origin(sp),
    });
  });
  return out;
}

export function buildNode(ctx: ObjectContext, value: Json, meta: Meta): Node {
  const status = ctx.map(value.status, ['status']) ?? {};
  const addresses: IpAddr[] = [];
  (ctx.list(status.addresses, ['status', 'addresses']) ?? []).forEach((a, i) => {
    const m = ctx.map(a, ['status', 'addresses', i]);
    if (!m || (m.type !== 'InternalIP' && m.type !== 'ExternalIP')) return;
    const ip = ipField(ctx, m.address, ['status', 'addresses', i, 'address']);
    if (ip && !addresses.some((x) => x.family === ip.family && x.value === ip.value)) addresses.push(ip);
  });
  return { name: meta.name, addresses, labels: meta.labels, origin: ctx.origin([]) };
}
