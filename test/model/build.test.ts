/** IR building and defaulting: types, tiers, namespaces, pods, services, slices, Endpoints fallback, nodes, HEPs. */
import t from 'tap';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCidr, formatIp } from '../../src/net/ip.js';
import { loadCluster } from '../../src/model/load.js';
import { errs, GNP, load, NP } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

t.test('Calico types defaulting (§3.2) and explicit types', async (t) => {
  const r = load(`${GNP}metadata: {name: none}
---
${GNP}metadata: {name: ing}
spec: {ingress: [{action: Allow}]}
---
${GNP}metadata: {name: eg}
spec: {egress: [{action: Allow}]}
---
${GNP}metadata: {name: both}
spec: {ingress: [{action: Allow}], egress: [{action: Deny}]}
---
${NP}metadata: {name: explicit}
spec: {types: [Egress], ingress: [{action: Allow}]}
`);
  t.same(errs(r), []);
  t.same(
    r.cluster.policies.map((p) => [p.name, p.types]),
    [
      ['none', { ingress: true, egress: false }],
      ['ing', { ingress: true, egress: false }],
      ['eg', { ingress: false, egress: true }],
      ['both', { ingress: true, egress: true }],
      ['explicit', { ingress: false, egress: true }],
    ],
  );
});

t.test('policy defaults: tier default, order, selector all(), namespace default, flags; rule origins', async (t) => {
  const r = load(`${NP}metadata: {name: p}
spec:
  order: 10.5
  egress:
  - action: Allow
  - action: Deny
    destination: {selector: "app == 'x'", namespaceSelector: "team == 'a'", notSelector: has(b), serviceAccounts: {names: [sa1], selector: "x == 'y'"}}
---
${GNP}metadata: {name: g}
spec:
  tier: default
  selector: "role == 'db'"
  namespaceSelector: has(team)
  serviceAccountSelector: "x == 'y'"
  applyOnForward: true
  doNotTrack: true
  ingress: [{action: Pass, ipVersion: 6, protocol: ICMPv6, icmp: {type: 128, code: 0}, notICMP: {type: 129}}]
`);
  t.same(errs(r), []);
  const [np, gnp] = r.cluster.policies;
  t.match(np, { kind: 'NetworkPolicy', namespace: 'default', tier: 'default', order: 10.5, staged: false, applyOnForward: false });
  t.equal(np!.selector.source, '');
  t.ok(np!.selector.matches({}), 'empty selector = all()');
  t.same(np!.egress[1]!.origin, { file: 't.yaml', line: 8, column: 5, path: 'spec.egress[1]' });
  t.same(np!.origin, { file: 't.yaml', line: 1, column: 1, path: '' });
  const d = np!.egress[1]!.destination;
  t.equal(d.selector!.source, "app == 'x'");
  t.equal(d.namespaceSelector!.source, "team == 'a'");
  t.equal(d.notSelector!.source, 'has(b)');
  t.same(d.serviceAccounts!.names, ['sa1']);
  t.equal(d.serviceAccounts!.selector!.source, "x == 'y'");
  t.match(gnp, { kind: 'GlobalNetworkPolicy', namespace: undefined, order: undefined, applyOnForward: true, doNotTrack: true, preDNAT: false });
  t.equal(gnp!.namespaceSelector!.source, 'has(team)');
  t.equal(gnp!.serviceAccountSelector!.source, "x == 'y'");
  t.match(gnp!.ingress[0], { action: 'Pass', ipVersion: 6, protocol: 58, icmp: { type: 128, code: 0 }, notICMP: { type: 129 }, index: 0 });
});

t.test('staged Calico policies', async (t) => {
  const r = load(`apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: s}
spec: {stagedAction: Set, egress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: s, namespace: x}
spec: {stagedAction: Bogus}
`);
  t.same(errs(r), ['NV-ACTION t.yaml:9:22 spec.stagedAction']);
  t.match(r.cluster.policies[0], { kind: 'StagedGlobalNetworkPolicy', staged: true, types: { ingress: false, egress: true } });
});

t.test('Namespace gets kubernetes.io/metadata.name; ServiceAccount', async (t) => {
  const r = load(`apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {kubernetes.io/metadata.name: dev}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: prod, labels: {tier: fe}}
`);
  t.same(errs(r), []);
  t.same([...r.cluster.namespaces[0]!.labels], [
    ['team', 'a'],
    ['kubernetes.io/metadata.name', 'prod'],
  ]);
  t.same([...r.cluster.namespaces[1]!.labels], [['kubernetes.io/metadata.name', 'dev']]);
  t.match(r.cluster.serviceAccounts[0], { name: 'web', namespace: 'prod' });
});

t.test('pod IP sources: podIPs, podIP, Calico annotations; finished pods lose IPs', async (t) => {
  const pod = (name: string, body: string) => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ns
${body}`;
  const r = load(
    pod('a', `  annotations: {cni.projectcalico.org/podIP: 10.9.9.9/32}
spec: {nodeName: n1}
status:
  podIP: 10.0.0.1
  podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]
`) +
      pod('b', `spec: {nodeName: n1}\nstatus: {podIP: 10.0.0.2}\n`) +
      pod('c', `  annotations:\n    cni.projectcalico.org/podIPs: "10.0.0.3/32,fd00::3/128"\n    cni.projectcalico.org/podIP: 10.0.0.99/32\nspec: {nodeName: n1}\n`) +
      pod('d', `  annotations: {cni.projectcalico.org/podIP: 10.0.0.4/32}\nspec: {nodeName: n1}\n`) +
      pod('e', `spec: {nodeName: n1}\nstatus: {phase: Succeeded, podIP: 10.0.0.5}\n`) +
      pod('f', `spec: {nodeName: n1}\nstatus: {phase: Failed, podIP: 10.0.0.6}\n`) +
      pod('g', `spec: {nodeName: n1, hostNetwork: true}\nstatus: {phase: Running, podIP: 192.168.1.1}\n`) +
      pod('h', `spec: {}\nstatus: {phase: Pending}\n`) +
      pod('i', `spec: {nodeName: n1}\nstatus: {podIP: 10.0.0.300}\n`),
  );
  t.same(errs(r), ['NV-IP t.yaml:77:17 status.podIP']);
  const ips = Object.fromEntries(r.cluster.pods.map((p) => [p.name, p.ips.map(formatIp)]));
  t.same(ips, {
    a: ['10.0.0.1', 'fd00::1'],
    b: ['10.0.0.2'],
    c: ['10.0.0.3', 'fd00::3'],
    d: ['10.0.0.4'],
    e: [],
    f: [],
    g: ['192.168.1.1'],
    h: [],
  });
  const byName = Object.fromEntries(r.cluster.pods.map((p) => [p.name, p]));
  t.match(byName.e, { phase: 'Succeeded', nodeName: 'n1' });
  t.equal(byName.g!.hostNetwork, true);
  t.equal(byName.h!.nodeName, undefined);
});

t.test('named ports from containers and initContainers (§2.1)', async (t) => {
  const r = load(`apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns}
spec:
  serviceAccountName: web
  initContainers:
  - name: init
    ports: [{name: init-port, containerPort: 7000}]
  containers:
  - name: a
    ports:
    - {name: http, containerPort: 8080}
    - {name: dns, containerPort: 53, protocol: UDP}
    - {name: sig, containerPort: 5060, protocol: SCTP}
    - {containerPort: 9999}
    - {name: zero, containerPort: 0}
  - name: b
    ports: [{name: metrics, containerPort: 9090, protocol: TCP}]
`);
  t.same(errs(r), []);
  const p = r.cluster.pods[0]!;
  t.equal(p.serviceAccountName, 'web');
  t.same(p.ports, [
    { name: 'http', protocol: 6, port: 8080 },
    { name: 'dns', protocol: 17, port: 53 },
    { name: 'sig', protocol: 132, port: 5060 },
    { name: 'metrics', protocol: 6, port: 9090 },
    { name: 'init-port', protocol: 6, port: 7000 },
  ]);
});

t.test('Service and EndpointSlice protocol defaults; Endpoints fallback only without slices', async (t) => {
  const r = load(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIPs: [10.96.0.10, "fd00::10"]
  externalIPs: [203.0.113.5]
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http, nodePort: 30080}
  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}
status:
  loadBalancer:
    ingress: [{ip: 198.51.100.7}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: true}
  nodeName: n1
  targetRef: {kind: Pod, name: web-1, namespace: shop}
- addresses: [10.0.0.2]
  conditions: {ready: false}
ports:
- {name: http, port: 8080}
- {name: dns, port: 5353, protocol: UDP}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets:
- addresses: [{ip: 10.0.0.1}]
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: shop}
subsets:
- addresses:
  - ip: 10.0.1.1
    nodeName: n2
    targetRef: {kind: Pod, name: legacy-1}
  notReadyAddresses: [{ip: 10.0.1.2}]
  ports: [{name: http, port: 8080}, {name: q, port: 9000, protocol: UDP}]
`);
  t.same(errs(r), []);
  const svc = r.cluster.services[0]!;
  t.match(svc, { name: 'web', namespace: 'shop', type: 'NodePort' });
  t.same(svc.clusterIPs.map(formatIp), ['10.96.0.10', 'fd00::10']);
  t.same(svc.externalIPs.map(formatIp), ['203.0.113.5']);
  t.same(svc.loadBalancerIPs.map(formatIp), ['198.51.100.7']);
  t.same(svc.ports, [
    { name: 'http', protocol: 6, port: 80, targetPort: 'http', nodePort: 30080 },
    { name: 'dns', protocol: 17, port: 53, targetPort: 5353 },
  ]);
  t.same([...svc.selector!], [['app', 'web']]);
  t.equal(r.cluster.endpointSlices.length, 2, 'web uses its slice; legacy falls back to Endpoints');
  const [slice, legacy] = r.cluster.endpointSlices;
  t.match(slice, { name: 'web-abc', serviceName: 'web', fromEndpoints: false });
  t.same(slice!.ports, [
    { name: 'http', protocol: 6, port: 8080 },
    { name: 'dns', protocol: 17, port: 5353 },
  ]);
  t.same(slice!.endpoints.map((e) => [e.addresses.map(formatIp), e.ready, e.nodeName, e.targetPod]), [
    [['10.0.0.1'], true, 'n1', { namespace: 'shop', name: 'web-1' }],
    [['10.0.0.2'], false, undefined, undefined],
  ]);
  t.match(legacy, { name: 'legacy', namespace: 'shop', serviceName: 'legacy', fromEndpoints: true });
  t.same(legacy!.ports, [
    { name: 'http', protocol: 6, port: 8080 },
    { name: 'q', protocol: 17, port: 9000 },
  ]);
  t.same(legacy!.endpoints.map((e) => [e.addresses.map(formatIp), e.ready, e.nodeName, e.targetPod]), [
    [['10.0.1.1'], true, 'n2', { namespace: 'shop', name: 'legacy-1' }],
    [['10.0.1.2'], false, undefined, undefined],
  ]);
  t.same(errs(r, 'warning'), ['NV-ENDPOINTS-FALLBACK t.yaml:41:1']);
});

t.test('Node addresses, HostEndpoint, Profile, NetworkSet', async (t) => {
  const r = load(`apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {zone: a}}
status:
  addresses:
  - {type: InternalIP, address: 192.168.10.11}
  - {type: ExternalIP, address: 203.0.113.11}
  - {type: Hostname, address: node-1}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-1-eth0, labels: {role: host}}
spec:
  node: node-1
  interfaceName: eth0
  expectedIPs: [192.168.10.11]
  profiles: [projectcalico-default-allow]
  ports: [{name: ssh, protocol: TCP, port: 22}]
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: p1}
spec:
  labelsToApply: {env: prod}
  ingress: [{action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: shop, labels: {kind: partner}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: bad}
spec: {interfaceName: eth0, ports: [{name: x, protocol: ICMP, port: 0}]}
`);
  t.same(errs(r), ['NV-HEP t.yaml:35:7 spec', 'NV-PROTOCOL t.yaml:35:57 spec.ports[0].protocol', 'NV-PORT t.yaml:35:69 spec.ports[0].port']);
  t.same(r.cluster.nodes[0]!.addresses.map(formatIp), ['192.168.10.11', '203.0.113.11']);
  t.match(r.cluster.hostEndpoints[0], { name: 'node-1-eth0', node: 'node-1', interfaceName: 'eth0', profiles: ['projectcalico-default-allow'], ports: [{ name: 'ssh', protocol: 6, port: 22 }] });
  t.same(r.cluster.hostEndpoints[0]!.expectedIPs.map(formatIp), ['192.168.10.11']);
  t.match(r.cluster.profiles[0], { name: 'p1', synthetic: false });
  t.same([...r.cluster.profiles[0]!.labelsToApply], [['env', 'prod']]);
  t.match(r.cluster.networkSets[0], { name: 'partners', namespace: 'shop' });
  t.same(r.cluster.networkSets[0]!.nets.map(formatCidr), ['198.51.100.0/24']);
});

t.test('a real `kubectl get all -o yaml` dump loads: unknown kinds warned once per kind with count', async (t) => {
  const file = path.join(here, '..', 'fixtures', 'load', 'kubectl-get-all.yaml');
  const r = await loadCluster([file]);
  t.same(errs(r), []);
  const w = r.diagnostics.filter((d) => d.severity === 'warning');
  t.same(
    w.map((d) => [d.code, d.message, d.line]),
    [
      ['NV-UNKNOWN-KIND', 'skipped 1 object of unsupported kind Deployment', 114],
      ['NV-UNKNOWN-KIND', 'skipped 2 objects of unsupported kind ReplicaSet', 164],
      ['NV-NAMESPACE-MISSING', 'pods in namespaces without a Namespace object: shop (1 pod); Calico gives such pods a drop-all profile', undefined],
    ],
  );
  t.equal(r.cluster.pods.length, 1);
  const pod = r.cluster.pods[0]!;
  t.match(pod, { name: 'web-7d4b9c8f6d-x2k9p', namespace: 'shop', nodeName: 'node-1', phase: 'Running', serviceAccountName: 'web' });
  t.same(pod.ips.map(formatIp), ['10.244.1.17']);
  t.same(pod.ports, [
    { name: 'http', protocol: 6, port: 8080 },
    { name: 'metrics', protocol: 6, port: 9090 },
  ]);
  t.equal(r.cluster.services[0]!.name, 'web');
  t.same(r.cluster.services[0]!.clusterIPs.map(formatIp), ['10.96.12.34']);
});

t.test('missing apiVersion / wrong apiVersion', async (t) => {
  const r = load(`kind: NetworkPolicy
metadata: {name: x}
---
apiVersion: projectcalico.org/v2
kind: GlobalNetworkPolicy
metadata: {name: y}
---
kind: Pod
metadata: {name: z}
`);
  t.same(errs(r), ['NV-API-VERSION t.yaml:1:1', 'NV-API-VERSION t.yaml:4:13 apiVersion']);
  t.equal(r.cluster.pods.length, 1, 'unambiguous kinds load without apiVersion');
});
