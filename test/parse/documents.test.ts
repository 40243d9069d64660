/** parse/documents.ts: multi-doc YAML, Lists, JSON, positions, YAML errors. */
import t from 'tap';
import { DiagnosticBag } from '../../src/diag/diagnostic.js';
import { formatPath, parseDocuments } from '../../src/parse/documents.js';

function parse(text: string, name = 'f.yaml') {
  const diags = new DiagnosticBag();
  const objs = parseDocuments({ name, text }, diags);
  return { objs, diags: diags.items };
}

t.test('multi-document YAML, empty documents skipped', async (t) => {
  const { objs, diags } = parse(`---
kind: A
metadata: {name: a}
---
# only a comment
---
---
kind: B
metadata: {name: b}
...
`);
  t.same(diags, []);
  t.same(
    objs.map((o) => [o.kind, o.docIndex, o.start]),
    [
      ['A', 0, { line: 2, column: 1 }],
      ['B', 1, { line: 8, column: 1 }],
    ],
  );
});

t.test('kind: List and *List expand to items', async (t) => {
  const { objs, diags } = parse(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
- apiVersion: v1
  kind: Service
  metadata: {name: s}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicyList
items:
- metadata: {name: g1}
  spec: {}
- kind: GlobalNetworkPolicy
  metadata: {name: g2}
---
kind: PodList
apiVersion: v1
items: []
`);
  t.same(diags, []);
  t.same(
    objs.map((o) => [o.kind, o.apiVersion, o.itemIndex, (o.value.metadata as { name: string }).name]),
    [
      ['Pod', 'v1', 0, 'p'],
      ['Service', 'v1', 1, 's'],
      ['GlobalNetworkPolicy', 'projectcalico.org/v3', 0, 'g1'],
      ['GlobalNetworkPolicy', 'projectcalico.org/v3', 1, 'g2'],
    ],
  );
  // Positions are relative to the item.
  t.same(objs[1]!.start, { line: 7, column: 3 });
  t.same(objs[1]!.locate(['metadata', 'name']), { line: 9, column: 20 });
  t.same(objs[2]!.locate(['spec']), { line: 15, column: 9 });
});

t.test('JSON through the same parser, with positions', async (t) => {
  const text = `{
  "apiVersion": "projectcalico.org/v3",
  "kind": "GlobalNetworkPolicy",
  "metadata": {"name": "j"},
  "spec": {"egress": [{"action": "Allow", "destination": {"selector": "a == 'b'"}}]}
}`;
  const { objs, diags } = parse(text, 'x.json');
  t.same(diags, []);
  t.equal(objs.length, 1);
  t.equal(objs[0]!.kind, 'GlobalNetworkPolicy');
  t.same(objs[0]!.locate(['spec', 'egress', 0]), { line: 5, column: 23 });
  t.same(objs[0]!.locate(['spec', 'egress', 0, 'destination', 'selector']), { line: 5, column: 71 });
  t.same(objs[0]!.locateInString(['spec', 'egress', 0, 'destination', 'selector'], 5), { line: 5, column: 77 });
});

t.test('YAML syntax errors become NV-YAML diagnostics with positions; other docs kept', async (t) => {
  const { objs, diags } = parse(`kind: A
metadata: {name: a}
---
kind: B
metadata: [unclosed
  name: b
---
kind: C
metadata: {name: c}
`);
  t.same(
    objs.map((o) => o.kind),
    ['A', 'C'],
  );
  t.ok(diags.length >= 1);
  t.equal(diags[0]!.code, 'NV-YAML');
  t.equal(diags[0]!.severity, 'error');
  t.equal(diags[0]!.file, 'f.yaml');
  t.equal(diags[0]!.line, 5);
});

t.test('duplicate keys and non-mapping documents', async (t) => {
  const { diags } = parse(`kind: A
kind: B
---
- just
- a list
`);
  t.same(
    diags.map((d) => [d.code, d.line, d.column]),
    [
      ['NV-YAML', 2, 1],
      ['NV-TYPE', 4, 1],
    ],
  );
});

t.test('locateInString maps decoded offsets to source columns', async (t) => {
  const text = `a:
  plain: x == 'y' && z
  dq: "x == \\"q\\" && z"
  sq: 'x == ''q'' && z'
  lit: |
    x == 'y' && z
  key with space: v
`;
  const { objs } = parse(text);
  const o = objs[0]!;
  // plain: value starts at column 10
  t.same(o.locateInString(['a', 'plain'], 0), { line: 2, column: 10 });
  t.same(o.locateInString(['a', 'plain'], 12), { line: 2, column: 22 });
  // double-quoted: first char at column 8; `\"` takes two source chars.
  t.same(o.locateInString(['a', 'dq'], 0), { line: 3, column: 8 });
  t.same(o.locateInString(['a', 'dq'], 5), { line: 3, column: 13 }); // the escaped quote -> its backslash
  t.same(o.locateInString(['a', 'dq'], 9), { line: 3, column: 19 }); // '&'
  // single-quoted: `''` is one char
  t.same(o.locateInString(['a', 'sq'], 5), { line: 4, column: 13 });
  t.same(o.locateInString(['a', 'sq'], 9), { line: 4, column: 19 });
  // block literal: best effort, content on the next line
  t.same(o.locateInString(['a', 'lit'], 9), { line: 6, column: 14 });
  // end of string -> just after the last character (closing quote for quoted)
  t.same(o.locateInString(['a', 'dq'], 13), { line: 3, column: 23 });
  t.equal(formatPath(['a', 'key with space']), 'a["key with space"]');
  t.equal(formatPath(['spec', 'egress', 1, 'destination']), 'spec.egress[1].destination');
  t.equal(formatPath(['metadata', 'labels', 'app.kubernetes.io/name']), 'metadata.labels["app.kubernetes.io/name"]');
});

t.test('locate falls back to the nearest existing ancestor; key positions', async (t) => {
  const { objs } = parse(`metadata:
  labels:
    good: x
    "bad key!": y
spec: {}
`);
  const o = objs[0]!;
  t.same(o.locate(['metadata', 'labels', 'bad key!'], { key: true }), { line: 4, column: 5 });
  t.same(o.locate(['metadata', 'labels', 'bad key!']), { line: 4, column: 17 });
  t.same(o.locate(['spec', 'missing', 3]), { line: 5, column: 7 });
});
