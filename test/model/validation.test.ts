/** Validation errors with exact file:line:column, field path and object. */
import t from 'tap';
import { formatDiagnostic } from '../../src/diag/diagnostic.js';
import { errs, GNP, load, NP } from './helpers.js';

t.test('broken YAML', async (t) => {
  const r = load(`${GNP}metadata:
  name: a
spec:
  selector: "x == 'y'
  egress: []
`);
  const e = r.diagnostics.filter((d) => d.severity === 'error');
  t.ok(e.length >= 1);
  t.equal(e[0]!.code, 'NV-YAML');
  t.equal(e[0]!.file, 't.yaml');
  t.ok(e[0]!.line! >= 6, 'points into the broken scalar');
  t.equal(r.cluster.policies.length, 0);
});

t.test('unknown field in spec, rule and entity rule (Calico rejects them)', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  selectr: all()
  ingress:
  - action: Allow
    sorce: {}
    destination:
      port: [80]
`);
  t.same(errs(r), [
    'NV-UNKNOWN-FIELD t.yaml:5:3 spec.selectr',
    'NV-UNKNOWN-FIELD t.yaml:8:5 spec.ingress[0].sorce',
    'NV-UNKNOWN-FIELD t.yaml:10:7 spec.ingress[0].destination.port',
  ]);
  t.equal(r.diagnostics[0]!.object, 'GlobalNetworkPolicy/a');
});

t.test('invalid selector: caret column for plain, double- and single-quoted scalars', async (t) => {
  const r = load(`${NP}metadata: {name: a, namespace: prod}
spec:
  selector: app == 'x' && foo = 'y'
  egress:
  - action: Allow
    destination:
      selector: "app == 'web' &&"
  - action: Allow
    source:
      selector: 'role == ''db'' ||| x'
`);
  // plain: value at col 13, '=' of "foo =" at offset 18 -> col 31
  // double-quoted: first char col 18, end of input at offset 15 -> col 33 (closing quote)
  // single-quoted: first char col 18, '''' counts once: offset 15 is the 3rd '|' -> col 35
  t.same(errs(r), [
    'NV-SELECTOR-SYNTAX t.yaml:5:31 spec.selector',
    'NV-SELECTOR-SYNTAX t.yaml:9:33 spec.egress[0].destination.selector',
    'NV-SELECTOR-SYNTAX t.yaml:12:35 spec.egress[1].source.selector',
  ]);
  t.match(formatDiagnostic(r.diagnostics[0]!), /^t\.yaml:5:31: error NV-SELECTOR-SYNTAX: invalid selector .*\(NetworkPolicy\/prod\/a, field spec\.selector\)$/);
});

t.test('global() placement', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  selector: global()
  egress:
  - action: Allow
    destination:
      namespaceSelector: global()
  - action: Allow
    destination:
      namespaceSelector: global() && a == 'b'
  - action: Allow
    destination:
      selector: global()
`);
  t.same(errs(r), ['NV-SELECTOR t.yaml:5:13 spec.selector', 'NV-SELECTOR t.yaml:12:26 spec.egress[1].destination.namespaceSelector', 'NV-SELECTOR t.yaml:15:17 spec.egress[2].destination.selector']);
});

t.test('invalid CIDR and unmasked rule CIDR; NetworkSet CIDRs may be unmasked', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  egress:
  - action: Allow
    destination:
      nets: [10.0.0.0/8, 10.0.0.1/8, 300.1.1.1/32, "fd00::/129"]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: s}
spec:
  nets: [10.1.2.3/16, 192.168.0.1, nonsense]
`);
  t.same(errs(r), [
    'NV-CIDR t.yaml:8:26 spec.egress[0].destination.nets[1]',
    'NV-CIDR t.yaml:8:38 spec.egress[0].destination.nets[2]',
    'NV-CIDR t.yaml:8:52 spec.egress[0].destination.nets[3]',
    'NV-CIDR t.yaml:14:36 spec.nets[2]',
  ]);
  t.match(r.diagnostics[0]!.message, /host bits set.*10\.0\.0\.0\/8/);
});

t.test('network set nets are stored masked', async (t) => {
  const r = load(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: s, labels: {scope: x}}
spec:
  nets: [10.1.2.3/16, 192.168.0.1, "2001:db8::1/32"]
`);
  t.same(errs(r), []);
  t.same(
    r.cluster.networkSets[0]!.nets.map((c) => [c.family, c.base.toString(16), c.prefixLen]),
    [
      [4, 'a010000', 16],
      [4, 'c0a80001', 32],
      [6, '20010db8000000000000000000000000', 32],
    ],
  );
});

t.test('mixed families, ipVersion mismatch, notNets catch-all', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  egress:
  - action: Allow
    source: {nets: [10.0.0.0/8]}
    destination: {nets: ["fd00::/8"]}
  - action: Allow
    ipVersion: 6
    destination: {nets: [10.0.0.0/8]}
  - action: Deny
    destination: {notNets: [0.0.0.0/0]}
`);
  t.same(errs(r), [
    'NV-CIDR t.yaml:8:25 spec.egress[0].destination.nets',
    'NV-CIDR t.yaml:11:25 spec.egress[1].destination.nets',
    'NV-CIDR t.yaml:13:29 spec.egress[2].destination.notNets[0]',
  ]);
});

t.test('ports: invalid values, ranges, named; numeric ports need TCP/UDP/SCTP', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [80, "443", "1000:2000", http, 0, 70000, "2000:1000", "Bad_Name", "a--b"]
  - action: Allow
    destination:
      ports: [80]
  - action: Allow
    destination:
      ports: [http]
  - action: Allow
    protocol: ICMP
    destination:
      ports: [http]
`);
  t.same(errs(r), [
    'NV-PORT t.yaml:9:45 spec.ingress[0].destination.ports[4]',
    'NV-PORT t.yaml:9:48 spec.ingress[0].destination.ports[5]',
    'NV-PORT t.yaml:9:55 spec.ingress[0].destination.ports[6]',
    'NV-PORT t.yaml:9:68 spec.ingress[0].destination.ports[7]',
    'NV-PORT t.yaml:9:80 spec.ingress[0].destination.ports[8]',
    'NV-PORT t.yaml:12:14 spec.ingress[1].destination.ports',
    'NV-PORT t.yaml:19:14 spec.ingress[3].destination.ports',
  ]);
});

t.test('valid ports and protocols parse into the IR', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  ingress:
  - action: Allow
    protocol: "6"
    destination:
      ports: [80, "443", "1000:2000", http]
    source:
      notPorts: ["1:1023"]
  - action: Allow
    destination:
      ports: [http]
  - action: Deny
    protocol: 132
    notProtocol: UDPLite
`);
  t.same(errs(r), []);
  const [r0, r1, r2] = r.cluster.policies[0]!.ingress;
  t.equal(r0!.protocol, 6);
  t.same(r0!.destination.ports, {
    ranges: [
      { first: 80, last: 80 },
      { first: 443, last: 443 },
      { first: 1000, last: 2000 },
    ],
    named: ['http'],
  });
  t.same(r0!.source.notPorts, { ranges: [{ first: 1, last: 1023 }], named: [] });
  t.equal(r1!.protocol, undefined);
  t.same(r1!.destination.ports, { ranges: [], named: ['http'] });
  t.equal(r2!.protocol, 132);
  t.equal(r2!.notProtocol, 136);
});

t.test('bad protocol (case-sensitive names, 0, >255)', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  egress:
  - action: Allow
    protocol: tcp
  - action: Allow
    protocol: 0
  - action: Allow
    notProtocol: 256
  - action: Allow
    protocol: GRE
`);
  t.same(errs(r), [
    'NV-PROTOCOL t.yaml:7:15 spec.egress[0].protocol',
    'NV-PROTOCOL t.yaml:9:15 spec.egress[1].protocol',
    'NV-PROTOCOL t.yaml:11:18 spec.egress[2].notProtocol',
    'NV-PROTOCOL t.yaml:13:15 spec.egress[3].protocol',
  ]);
  t.match(r.diagnostics[0]!.message, /did you mean "TCP"/);
});

t.test('bad and missing action', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  egress:
  - action: allow
  - protocol: TCP
  - action: Reject
`);
  t.same(errs(r), ['NV-ACTION t.yaml:6:13 spec.egress[0].action', 'NV-ACTION t.yaml:7:5 spec.egress[1]', 'NV-ACTION t.yaml:8:13 spec.egress[2].action']);
});

t.test('ICMP checks', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  egress:
  - action: Allow
    icmp: {type: 8}
  - action: Allow
    protocol: ICMP
    icmp: {code: 0}
  - action: Allow
    protocol: ICMP
    icmp: {type: 255}
  - action: Allow
    protocol: ICMP
    ipVersion: 6
  - action: Allow
    protocol: ICMPv6
    icmp: {type: 128, code: 0}
    notICMP: {type: 1}
`);
  t.same(errs(r), [
    'NV-ICMP t.yaml:7:11 spec.egress[0].icmp',
    'NV-ICMP t.yaml:10:18 spec.egress[1].icmp.code',
    'NV-ICMP t.yaml:13:18 spec.egress[2].icmp.type',
    'NV-PROTOCOL t.yaml:15:15 spec.egress[3].protocol',
  ]);
  t.same(r.diagnostics.length, 4);
});

t.test('missing tier, defined tier, built-in and legacy built-in tiers', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  tier: security
---
${GNP}metadata: {name: b}
spec:
  tier: platform
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: platform}
spec: {order: 100}
---
${GNP}metadata: {name: c}
spec:
  tier: adminnetworkpolicy
---
${GNP}metadata: {name: d}
spec:
  tier: kube-admin
`);
  t.same(errs(r), ['NV-TIER-MISSING t.yaml:5:9 spec.tier']);
  const tiers = Object.fromEntries(r.cluster.tiers.map((x) => [x.name, x]));
  t.same(tiers['default'], { name: 'default', order: 1_000_000, defaultAction: 'Deny', defined: true, builtin: true });
  t.same(tiers['kube-admin'], { name: 'kube-admin', order: 1000, defaultAction: 'Pass', defined: true, builtin: true });
  t.same(tiers['kube-baseline'], { name: 'kube-baseline', order: 10_000_000, defaultAction: 'Pass', defined: true, builtin: true });
  t.same(tiers['adminnetworkpolicy'], { name: 'adminnetworkpolicy', order: 1000, defaultAction: 'Pass', defined: true, builtin: true });
  t.match(tiers['platform'], { order: 100, defaultAction: 'Deny', defined: true, builtin: false });
  t.match(tiers['security'], { defined: false, builtin: false, defaultAction: 'Deny' });
  t.equal(tiers['security']!.order, undefined);
});

t.test('Tier validation', async (t) => {
  const r = load(`apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: default}
spec: {order: 5, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: my.tier}
spec: {order: 5, defaultAction: Allow}
`);
  t.same(errs(r), ['NV-TIER t.yaml:4:15 spec.order', 'NV-TIER t.yaml:4:33 spec.defaultAction', 'NV-NAME t.yaml:8:18 metadata.name', 'NV-ACTION t.yaml:9:33 spec.defaultAction']);
});

t.test('duplicate objects', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
---
${GNP}metadata: {name: a}
---
${NP}metadata: {name: a}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a}
spec: {podSelector: {}}
---
${NP}metadata: {name: a, namespace: default}
`);
  t.same(errs(r), ['NV-DUPLICATE t.yaml:7:18 metadata.name', 'NV-DUPLICATE t.yaml:20:18 metadata.name']);
  t.match(r.diagnostics[0]!.message, /already defined at t\.yaml:1:1/);
  t.equal(r.cluster.policies.length, 3);
});

t.test('invalid labels point at the key; non-string values', async (t) => {
  const r = load(`apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    good: "yes"
    "-bad": x
    ok2: "not valid!"
    num: 1
`);
  t.same(errs(r), ['NV-LABEL t.yaml:7:5 metadata.labels["-bad"]', 'NV-LABEL t.yaml:8:5 metadata.labels.ok2', 'NV-LABEL t.yaml:9:5 metadata.labels.num']);
});

t.test('missing kind / metadata.name; bad names', async (t) => {
  const r = load(`apiVersion: v1
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x}
---
${GNP}metadata: {name: a.b.c}
---
${NP}metadata: {name: Upper}
`);
  t.same(errs(r), ['NV-KIND t.yaml:1:1', 'NV-NAME t.yaml:6:11 metadata', 'NV-NAME t.yaml:10:18 metadata.name', 'NV-NAME t.yaml:14:18 metadata.name']);
});

t.test('services restrictions and NetworkPolicy namespace default', async (t) => {
  const r = load(`${NP}metadata: {name: a, namespace: prod}
spec:
  egress:
  - action: Allow
    destination:
      services: {name: db}
  - action: Allow
    source:
      services: {name: db, namespace: x}
  - action: Allow
    protocol: TCP
    destination:
      services: {name: db, namespace: x}
      ports: [80]
---
${GNP}metadata: {name: g}
spec:
  ingress:
  - action: Allow
    source:
      services: {name: db}
      selector: a == 'b'
`);
  t.same(errs(r), [
    'NV-RULE t.yaml:11:17 spec.egress[1].source.services',
    'NV-RULE t.yaml:16:14 spec.egress[2].destination.ports',
    'NV-RULE t.yaml:25:17 spec.ingress[0].source.services',
    'NV-RULE t.yaml:25:17 spec.ingress[0].source.services',
  ]);
  t.same(errs(r, 'warning'), ['NV-SERVICE-NAMESPACE t.yaml:8:17 spec.egress[0].destination.services']);
});

t.test('services default namespace in the IR', async (t) => {
  const r = load(`${NP}metadata: {name: a, namespace: prod}
spec:
  egress:
  - action: Allow
    destination:
      services: {name: db}
`);
  t.same(errs(r), []);
  t.same(r.cluster.policies[0]!.egress[0]!.destination.services, { name: 'db', namespace: 'prod' });
});

t.test('http: hasHttp + warning; restrictions', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  ingress:
  - action: Allow
    http:
      methods: [GET]
      paths: [{prefix: /api}]
  egress:
  - action: Deny
    http: {methods: [GET]}
`);
  t.same(errs(r), ['NV-RULE t.yaml:12:11 spec.egress[0].http', 'NV-RULE t.yaml:12:11 spec.egress[0].http']);
  t.same(errs(r, 'warning'), ['NV-HTTP-IGNORED t.yaml:8:7 spec.ingress[0].http', 'NV-HTTP-IGNORED t.yaml:12:11 spec.egress[0].http']);
});

t.test('GNP flags and types validation', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  preDNAT: true
  types: [Ingress, Ingress]
---
${GNP}metadata: {name: b}
spec:
  types: [Sideways]
  doNotTrack: yes
`);
  t.same(errs(r), [
    'NV-DUPLICATE t.yaml:6:20 spec.types[1]',
    'NV-POLICY t.yaml:5:12 spec.preDNAT',
    'NV-TYPE t.yaml:13:15 spec.doNotTrack',
    'NV-TYPE t.yaml:12:11 spec.types[0]',
  ]);
});

t.test('every diagnostic carries file, line, column, path and object', async (t) => {
  const r = load(`${GNP}metadata: {name: a}
spec:
  egress:
  - action: Nope
    protocol: xyz
    destination: {nets: [bad], ports: [0], selector: "(("}
`);
  t.ok(r.diagnostics.length >= 4);
  for (const d of r.diagnostics) {
    t.equal(d.file, 't.yaml');
    t.type(d.line, 'number');
    t.type(d.column, 'number');
    t.ok(d.path);
    t.equal(d.object, 'GlobalNetworkPolicy/a');
  }
});
