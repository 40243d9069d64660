/** Conversion: resources, masks, ports, protocols, splitting at 1024, rule ↔ filter map, YAML. */
import t from 'tap';
import { parseFilters, type Filter } from '../../src/classbench/parse.js';
import { convertFilters, conversionYaml, type Json } from '../../src/classbench/convert.js';
import { conversionCluster, loadConversionYaml } from '../../src/classbench/model.js';

function filters(lines: string[]): Filter[] {
  const r = parseFilters(lines.join('\n'), 'test.rules');
  if (r.issues.length) throw new Error(JSON.stringify(r.issues));
  return r.filters;
}

type Obj = { [k: string]: Json };
const spec = (o: Obj): Obj => o.spec as Obj;
const egress = (o: Obj): Obj[] => spec(o).egress as Obj[];

t.test('resources: wildcard HEP, tier, forward policy', async (t) => {
  const conv = convertFilters(filters(['@1.2.3.4/32 5.6.7.0/24 0 : 65535 80 : 80 0x06/0xFF']));
  t.same(conv.hostEndpoint, {
    apiVersion: 'projectcalico.org/v3',
    kind: 'HostEndpoint',
    metadata: { name: 'classbench-all-interfaces', labels: { classbench: 'true' } },
    spec: { node: 'classbench', interfaceName: '*', profiles: ['projectcalico-default-allow'] },
  });
  t.same(conv.tierObject, { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'classbench' }, spec: { order: 100, defaultAction: 'Deny' } });
  t.equal(conv.policies.length, 1);
  const p = conv.policies[0]!;
  t.same(p.metadata, { name: 'classbench-0000' });
  t.match(spec(p), { tier: 'classbench', order: 0, selector: "classbench == 'true'", applyOnForward: true, types: ['Egress'] });
  t.same(egress(p), [{ action: 'Allow', protocol: 6, source: { nets: ['1.2.3.4/32'] }, destination: { nets: ['5.6.7.0/24'], ports: [80] } }]);
  const ing = convertFilters(filters(['@1.2.3.4/32 5.6.7.0/24 0 : 65535 80 : 80 0x06/0xFF']), { direction: 'Ingress' });
  t.same(spec(ing.policies[0]!).types, ['Ingress']);
  t.equal((spec(ing.policies[0]!).ingress as Obj[]).length, 1);
  t.equal(spec(ing.policies[0]!).egress, undefined);
});

t.test('field mapping: /0, host bits, port forms, protocol masks', async (t) => {
  const conv = convertFilters(
    filters([
      '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00', // 1 match-all: empty rule
      '@10.1.2.3/8 192.168.1.77/24 1024 : 65535 0 : 1023 0x11/0xFF', // 2 host bits, range, lo=0
      '@0.0.0.0/0 0.0.0.0/0 0 : 0 53 : 53 0x11/0xFF', // 3 sport 0 only
      '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65534 0x06/0xFF', // 4 lo=0 hi=65534 -> notPorts 65535
      '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x2f/0xFF', // 5 GRE
    ]),
  );
  const rules = egress(conv.policies[0]!);
  t.same(rules[0], { action: 'Allow' });
  t.same(rules[1], { action: 'Allow', protocol: 17, source: { nets: ['10.0.0.0/8'], ports: ['1024:65535'] }, destination: { nets: ['192.168.1.0/24'], notPorts: ['1024:65535'] } });
  t.same(rules[2], { action: 'Allow', protocol: 17, source: { notPorts: ['1:65535'] }, destination: { ports: [53] } });
  t.same(rules[3], { action: 'Allow', protocol: 6, destination: { notPorts: [65535] } });
  t.same(rules[4], { action: 'Allow', protocol: 47 });
  t.equal(conv.maskedFilters, 1);
  t.same(conv.notes, []);
  // The loader accepts every generated rule (masked CIDRs, ports only with TCP/UDP).
  t.doesNotThrow(() => conversionCluster(conv, filters(['@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00'])));
});

t.test('filters Calico cannot express exactly: expanded or dropped, with notes', async (t) => {
  const fs = filters([
    '@0.0.0.0/0 10.0.0.0/8 0 : 65535 53 : 53 0x00/0x00', // 1 ports + any protocol
    '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0xFF', // 2 exact protocol 0
    '@0.0.0.0/0 0.0.0.0/0 0 : 65535 7 : 7 0x01/0xFF', // 3 ports with ICMP
    '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x06/0xFE', // 4 partial mask: 6, 7
    '@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x11/0xFF', // 5 plain
  ]);
  const conv = convertFilters(fs);
  t.same(
    conv.notes.map((n) => [n.filter, n.kind]),
    [
      [1, 'expanded'],
      [2, 'dropped'],
      [3, 'dropped'],
      [4, 'expanded'],
    ],
  );
  const rules = egress(conv.policies[0]!);
  t.same(
    rules.map((r) => r.protocol),
    [6, 17, 132, 6, 7, 17],
  );
  t.same(
    conv.rules.map((r) => r.filter),
    [1, 1, 1, 4, 4, 5],
  );
  t.same(conv.rulesOf(2), []);
  t.same(
    conv.rulesOf(1).map((r) => r.ruleIndex),
    [0, 1, 2],
  );
  t.equal(conv.filterOf('classbench-0000', 5), 5);
  t.doesNotThrow(() => conversionCluster(conv, fs));
});

t.test('splitting: 1024 rules per policy, increasing order, map both ways', async (t) => {
  const lines: string[] = [];
  for (let i = 0; i < 2500; i++) lines.push(`@10.${i >> 8}.${i & 255}.0/24 0.0.0.0/0 0 : 65535 ${i + 1} : ${i + 1} 0x06/0xFF`);
  const fs = filters(lines);
  const conv = convertFilters(fs);
  t.same(
    conv.summaries.map((s) => [s.name, s.order, s.rules, s.firstFilter, s.lastFilter]),
    [
      ['classbench-0000', 0, 1024, 1, 1024],
      ['classbench-0001', 1, 1024, 1025, 2048],
      ['classbench-0002', 2, 452, 2049, 2500],
    ],
  );
  t.equal(conv.filterOf('classbench-0001', 0), 1025);
  t.equal(conv.filterOf('classbench-0002', 451), 2500);
  t.equal(conv.filterOf('classbench-0002', 452), undefined);
  t.equal(conv.filterOf('other', 0), undefined);
  t.same(conv.rulesOf(2048), [{ policy: 'classbench-0001', ruleIndex: 1023, filter: 2048 }]);
  // Both model paths load without errors and give the same policies, rules and order.
  const ir = conversionCluster(conv, fs, 'big.rules').cluster;
  const yaml = loadConversionYaml(conversionYaml(conv, fs, 'big.rules')).cluster;
  for (const c of [ir, yaml]) {
    t.same(
      c.policies.map((p) => [p.name, p.tier, p.order, p.egress.length, p.applyOnForward, p.types]),
      conv.summaries.map((s) => [s.name, 'classbench', s.order, s.rules, true, { ingress: false, egress: true }]),
    );
    t.equal(c.hostEndpoints.length, 1);
    t.equal(c.hostEndpoints[0]!.interfaceName, '*');
  }
  const strip = (c: typeof ir): unknown => JSON.parse(JSON.stringify(c.policies.map((p) => p.egress.map((r) => ({ ...r, origin: undefined }))), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  t.same(strip(ir), strip(yaml));
  // IR origins name the filter lines.
  t.match(ir.policies[1]!.egress[0]!.origin, { file: 'big.rules', line: 1025 });
  t.throws(() => convertFilters(fs, { maxRulesPerPolicy: 1025 }), RangeError);
  t.equal(convertFilters(fs, { maxRulesPerPolicy: 1000 }).policies.length, 3);
  t.equal(convertFilters(fs.slice(0, 1024)).policies.length, 1);
  t.equal(convertFilters(fs.slice(0, 1025)).policies.length, 2);
});

t.test('YAML: comments name the filters, quoted port ranges', async (t) => {
  const fs = filters(['@1.2.3.4/32 5.6.7.0/24 0 : 65535 1024 : 2047 0x06/0xFF']);
  const files = conversionYaml(convertFilters(fs), fs, 'x.rules');
  t.same(
    files.map((f) => f.name),
    ['00-classbench-base.yaml', 'classbench-0000.yaml'],
  );
  t.match(files[1]!.text, /# filter 1 \(x\.rules:1\) @1\.2\.3\.4\/32 5\.6\.7\.0\/24 0 : 65535 1024 : 2047 0x06\/0xFF\n\s+- action: Allow\n/);
  t.match(files[1]!.text, /ports: \["1024:2047"\]/);
  t.match(files[0]!.text, /interfaceName: "\*"/);
});
