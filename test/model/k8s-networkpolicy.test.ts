/** Kubernetes NetworkPolicy → Calico IR (SEMANTICS.md §5, conversion.go). */
import t from 'tap';
import { formatCidr } from '../../src/net/ip.js';
import type { EntityRule, Policy, Rule } from '../../src/model/types.js';
import { errs, KNP, load } from './helpers.js';

function knp(spec: string, extraMeta = ''): { policy: Policy | undefined; r: ReturnType<typeof load> } {
  const r = load(`${KNP}metadata: {name: np, namespace: prod${extraMeta}}\nspec:\n${spec}`);
  return { policy: r.cluster.policies[0], r };
}

/** Compact view of an entity rule. */
function er(e: EntityRule): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (e.selector) o.selector = e.selector.source;
  if (e.namespaceSelector) o.namespaceSelector = e.namespaceSelector.source;
  if (e.nets) o.nets = e.nets.map(formatCidr);
  if (e.notNets) o.notNets = e.notNets.map(formatCidr);
  if (e.ports) o.ports = [...e.ports.ranges.map((p) => (p.first === p.last ? String(p.first) : `${p.first}:${p.last}`)), ...e.ports.named];
  return o;
}
function view(rules: Rule[]) {
  return rules.map((x) => ({ index: x.index, action: x.action, protocol: x.protocol, source: er(x.source), destination: er(x.destination), path: x.origin.path }));
}

const ORCH = "projectcalico.org/orchestrator == 'k8s'";

t.test('identity, tier, order, selector from matchLabels (sorted) and matchExpressions', async (t) => {
  const { policy, r } = knp(`  podSelector:
    matchLabels: {zeta: z, app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [b, a]}
    - {key: env, operator: NotIn, values: [dev]}
    - {key: canary, operator: Exists}
    - {key: legacy, operator: DoesNotExist}
`);
  t.same(errs(r), []);
  t.match(policy, { kind: 'KubernetesNetworkPolicy', name: 'np', namespace: 'prod', tier: 'default', order: 1000, staged: false });
  t.equal(
    policy!.selector.source,
    `${ORCH} && app == 'web' && zeta == 'z' && tier in { 'b', 'a' } && env not in { 'dev' } && has(canary) && ! has(legacy)`,
  );
  t.ok(policy!.selector.matches({ 'projectcalico.org/orchestrator': 'k8s', app: 'web', zeta: 'z', tier: 'a', env: 'prod', canary: '' }));
  t.notOk(policy!.selector.matches({ 'projectcalico.org/orchestrator': 'k8s', app: 'web', zeta: 'z', tier: 'a', env: 'prod', canary: '', legacy: 'x' }));
  t.notOk(policy!.selector.matches({ app: 'web', zeta: 'z', tier: 'a', canary: '' }), 'needs the orchestrator label');
  t.equal(policy!.origin.line, 1);
});

t.test('podSelector {} = all pods (orchestrator clause only)', async (t) => {
  const { policy } = knp('  podSelector: {}\n');
  t.equal(policy!.selector.source, ORCH);
});

t.test('policyTypes defaulting when absent: Ingress always, Egress iff egress rules', async (t) => {
  t.same(knp('  podSelector: {}\n').policy!.types, { ingress: true, egress: false });
  t.same(knp('  podSelector: {}\n  egress: [{}]\n').policy!.types, { ingress: true, egress: true });
  t.same(knp('  podSelector: {}\n  egress: []\n').policy!.types, { ingress: true, egress: false });
  t.same(knp('  podSelector: {}\n  policyTypes: [Egress]\n').policy!.types, { ingress: false, egress: true });
  t.same(knp('  podSelector: {}\n  policyTypes: [Ingress, Egress]\n').policy!.types, { ingress: true, egress: true });
  const { r } = knp('  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n');
  t.same(errs(r, 'warning'), ['NV-KNP-TYPES t.yaml:6:16 spec.policyTypes']);
});

t.test('ingress: [{}] allows everything; ingress: [] denies everything', async (t) => {
  const all = knp('  podSelector: {}\n  ingress: [{}]\n').policy!;
  t.same(view(all.ingress), [{ index: 0, action: 'Allow', protocol: undefined, source: {}, destination: {}, path: 'spec.ingress[0]' }]);
  const none = knp('  podSelector: {}\n  ingress: []\n').policy!;
  t.same(none.ingress, []);
  t.same(none.types, { ingress: true, egress: false });
});

t.test('ports grouped by protocol (default TCP), sorted, merged into ranges, named kept, endPort', async (t) => {
  const { policy, r } = knp(`  podSelector: {}
  ingress:
  - ports:
    - port: 81
    - port: 80
    - {protocol: UDP, port: 53}
    - port: http
    - {port: 82, endPort: 90}
    - {protocol: SCTP, port: 9000}
    - port: 100
`);
  t.same(errs(r), []);
  t.same(view(policy!.ingress), [
    { index: 0, action: 'Allow', protocol: 132, source: {}, destination: { ports: ['9000'] }, path: 'spec.ingress[0]' },
    { index: 1, action: 'Allow', protocol: 6, source: {}, destination: { ports: ['80:90', '100', 'http'] }, path: 'spec.ingress[0]' },
    { index: 2, action: 'Allow', protocol: 17, source: {}, destination: { ports: ['53'] }, path: 'spec.ingress[0]' },
  ]);
});

t.test('protocol without port = all ports of that protocol (not narrowed by later ports)', async (t) => {
  const { policy } = knp(`  podSelector: {}
  egress:
  - ports:
    - {protocol: UDP}
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 443}
    - {protocol: TCP}
`);
  t.same(view(policy!.egress), [
    { index: 0, action: 'Allow', protocol: 6, source: {}, destination: {}, path: 'spec.egress[0]' },
    { index: 1, action: 'Allow', protocol: 17, source: {}, destination: {}, path: 'spec.egress[0]' },
  ]);
});

t.test('peers: one rule per (protocol × peer); ingress puts peers in source, egress in destination', async (t) => {
  const { policy, r } = knp(`  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {role: fe}}
    - namespaceSelector: {}
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {}
    ports: [{port: 80}, {protocol: UDP, port: 53}]
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.1/8, except: [10.1.2.3/16]}
    ports: [{port: 443}]
`);
  t.same(errs(r), []);
  t.same(view(policy!.ingress), [
    { index: 0, action: 'Allow', protocol: 6, source: { selector: `${ORCH} && role == 'fe'` }, destination: { ports: ['80'] }, path: 'spec.ingress[0]' },
    { index: 1, action: 'Allow', protocol: 6, source: { selector: ORCH, namespaceSelector: 'all()' }, destination: { ports: ['80'] }, path: 'spec.ingress[0]' },
    { index: 2, action: 'Allow', protocol: 6, source: { selector: ORCH, namespaceSelector: "team == 'a'" }, destination: { ports: ['80'] }, path: 'spec.ingress[0]' },
    { index: 3, action: 'Allow', protocol: 17, source: { selector: `${ORCH} && role == 'fe'` }, destination: { ports: ['53'] }, path: 'spec.ingress[0]' },
    { index: 4, action: 'Allow', protocol: 17, source: { selector: ORCH, namespaceSelector: 'all()' }, destination: { ports: ['53'] }, path: 'spec.ingress[0]' },
    { index: 5, action: 'Allow', protocol: 17, source: { selector: ORCH, namespaceSelector: "team == 'a'" }, destination: { ports: ['53'] }, path: 'spec.ingress[0]' },
  ]);
  t.same(view(policy!.egress), [
    { index: 0, action: 'Allow', protocol: 6, source: {}, destination: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'], ports: ['443'] }, path: 'spec.egress[0]' },
  ]);
  t.same(policy!.types, { ingress: true, egress: true });
});

t.test('rule indexes run across k8s rules; origins point at the k8s rule', async (t) => {
  const { policy } = knp(`  podSelector: {}
  ingress:
  - ports: [{port: 1}, {protocol: UDP, port: 2}]
  - from: [{podSelector: {}}]
`);
  t.same(
    policy!.ingress.map((x) => [x.index, x.origin.path, x.origin.line, x.origin.column]),
    [
      [0, 'spec.ingress[0]', 7, 5],
      [1, 'spec.ingress[0]', 7, 5],
      [2, 'spec.ingress[1]', 8, 5],
    ],
  );
});

t.test('a rule that fails to convert is dropped with a warning; the rest applies', async (t) => {
  const { policy, r } = knp(`  podSelector: {}
  ingress:
  - ports: [{port: http, endPort: 90}]
  - ports: [{port: 70000}]
  - ports: [{port: 90, endPort: 80}]
  - ports: [{port: 22}]
`);
  t.same(errs(r), []);
  t.same(errs(r, 'warning'), [
    'NV-KNP-RULE-DROPPED t.yaml:7:5 spec.ingress[0]',
    'NV-KNP-RULE-DROPPED t.yaml:8:5 spec.ingress[1]',
    'NV-KNP-RULE-DROPPED t.yaml:9:5 spec.ingress[2]',
  ]);
  t.same(view(policy!.ingress), [{ index: 0, action: 'Allow', protocol: 6, source: {}, destination: { ports: ['22'] }, path: 'spec.ingress[3]' }]);
});

t.test('invalid ipBlock and protocol are errors (the API server rejects them)', async (t) => {
  const { r } = knp(`  podSelector: {}
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/33}}]
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]
  - ports: [{protocol: ICMP}]
  - to: [{podSelector: {matchExpressions: [{key: a, operator: Equals, values: [x]}]}}]
`);
  t.same(errs(r), [
    'NV-CIDR t.yaml:7:27 spec.egress[0].to[0].ipBlock.cidr',
    'NV-CIDR t.yaml:8:48 spec.egress[1].to[0].ipBlock.except[0]',
    'NV-PROTOCOL t.yaml:9:24 spec.egress[2].ports[0].protocol',
    'NV-SELECTOR t.yaml:10:63 spec.egress[3].to[0].podSelector.matchExpressions[0].operator',
  ]);
});

t.test('unknown fields in a core k8s NetworkPolicy are ignored', async (t) => {
  const r = load(`${KNP}metadata:
  name: np
  namespace: prod
  uid: abc
  generation: 3
  managedFields: [{manager: kubectl}]
spec:
  podSelector: {}
  somethingNew: true
status: {}
`);
  t.same(r.diagnostics, []);
  t.equal(r.cluster.policies.length, 1);
});

t.test('StagedKubernetesNetworkPolicy converts the same way, staged', async (t) => {
  const r = load(`apiVersion: projectcalico.org/v3
kind: StagedKubernetesNetworkPolicy
metadata: {name: s, namespace: prod}
spec:
  stagedAction: Set
  podSelector: {matchLabels: {app: x}}
  ingress: [{}]
`);
  t.same(errs(r), []);
  t.match(r.cluster.policies[0], { kind: 'StagedKubernetesNetworkPolicy', staged: true, tier: 'default', order: 1000 });
});
