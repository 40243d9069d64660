/** kind: Expectations parsing and validation. */
import t from 'tap';
import { formatIp } from '../../src/net/ip.js';
import { errs, load } from './helpers.js';

t.test('flows with verdicts and trace expectations', async (t) => {
  const r = load(`kind: Expectations
node: node-1
flows:
- {src: 10.0.1.10, dst: 203.0.113.10, proto: TCP, dport: 443, expect: Allow}
- {src: 10.0.1.10, dst: 198.51.100.66, proto: tcp, dport: "443", sport: 40000, expect: deny, why: "free text"}
- {src: 10.0.1.10, dst: 10.0.2.5, proto: ICMP, icmpType: 8, icmpCode: 0, expect: ALLOW,
   egress: "default|frontend-egress|allow|0", ingress: none}
- {src: 10.0.1.10, dst: 10.0.2.5, proto: 6, dport: 80, expect: Deny, egress: ["tier1|p1|pass|2", "default|p2|deny|-1"]}
- {src: "fd00::1", dst: "fd00::2", proto: ICMPv6, icmpType: 128, expect: Allow}
- {src: 10.0.0.1, dst: 10.0.0.2, proto: udplite, dport: 5, expect: Allow}
---
apiVersion: netverdict/v1
kind: Expectations
metadata: {name: named}
flows: []
`);
  t.same(r.diagnostics, []);
  t.equal(r.expectations.length, 2);
  const e = r.expectations[0]!;
  t.equal(e.node, 'node-1');
  t.equal(e.name, undefined);
  t.same(e.origin, { file: 't.yaml', line: 1, column: 1, path: '' });
  const f = e.flows;
  t.equal(f.length, 6);
  t.match(f[0], { proto: 6, dport: 443, expect: 'Allow', origin: { line: 4, column: 3, path: 'flows[0]' } });
  t.equal(formatIp(f[0]!.src), '10.0.1.10');
  t.equal(formatIp(f[0]!.dst), '203.0.113.10');
  t.equal(f[0]!.egress, undefined);
  t.match(f[1], { proto: 6, dport: 443, sport: 40000, expect: 'Deny', why: 'free text' });
  t.match(f[2], { proto: 1, icmpType: 8, icmpCode: 0, expect: 'Allow' });
  t.same(f[2]!.egress, { kind: 'deciding', entry: 'default|frontend-egress|allow|0' });
  t.same(f[2]!.ingress, { kind: 'none' });
  t.same(f[3]!.egress, { kind: 'trace', entries: ['tier1|p1|pass|2', 'default|p2|deny|-1'] });
  t.match(f[4], { proto: 58, icmpType: 128 });
  t.equal(f[4]!.src.family, 6);
  t.equal(f[5]!.proto, 136);
  t.equal(r.expectations[1]!.name, 'named');
});

t.test('flow validation errors with positions', async (t) => {
  const r = load(`kind: Expectations
flows:
- {src: 10.0.1.999, dst: 10.0.0.1, proto: TCP, dport: 70000, expect: Allow}
- {src: 10.0.0.1, dst: "fd00::1", proto: GRE, expect: Maybe}
- {src: 10.0.0.1, dst: 10.0.0.2, proto: ICMP, icmpType: 300, expect: Deny, egress: "not-a-trace"}
- {dst: 10.0.0.2, proto: UDP, expect: Allow, extra: 1}
`);
  t.same(errs(r), [
    'NV-IP t.yaml:3:9 flows[0].src',
    'NV-PORT t.yaml:3:55 flows[0].dport',
    'NV-EXPECT t.yaml:4:24 flows[1].dst',
    'NV-PROTOCOL t.yaml:4:42 flows[1].proto',
    'NV-EXPECT t.yaml:4:55 flows[1].expect',
    'NV-ICMP t.yaml:5:57 flows[2].icmpType',
    'NV-EXPECT t.yaml:5:84 flows[2].egress',
    'NV-UNKNOWN-FIELD t.yaml:6:46 flows[3].extra',
    'NV-EXPECT t.yaml:6:3 flows[3]',
  ]);
  t.equal(r.expectations[0]!.flows.length, 0);
});
