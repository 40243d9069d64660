/**
 * Differential test: the fast parser (parse/fast-yaml.ts) must give the same
 * values and the same positions as the `yaml` package on everything it
 * accepts, and fall back on everything else.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticBag } from '../../src/diag/diagnostic.js';
import { parseDocuments, type FieldPath, type RawObject } from '../../src/parse/documents.js';
import { fastParseJson, fastParseYamlDocument, resolvePlain } from '../../src/parse/fast-yaml.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function leaves(v: unknown, p: (string | number)[] = [], out: FieldPath[] = []): FieldPath[] {
  out.push(p);
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...p, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, [...p, k], out);
  return out;
}

function get(v: unknown, p: FieldPath): unknown {
  let c = v;
  for (const s of p) c = (c as Record<string | number, unknown>)[s];
  return c;
}

function compare(t: any, name: string, text: string) {
  const d1 = new DiagnosticBag();
  const d2 = new DiagnosticBag();
  const fast = parseDocuments({ name, text }, d1);
  const slow = parseDocuments({ name, text }, d2, { fast: false });
  t.same(d1.items, d2.items, `${name}: same diagnostics`);
  t.equal(fast.length, slow.length, `${name}: same object count`);
  for (let i = 0; i < Math.min(fast.length, slow.length); i++) {
    const a: RawObject = fast[i]!;
    const b: RawObject = slow[i]!;
    t.same(a.value, b.value, `${name}#${i}: same value`);
    t.equal(a.kind, b.kind);
    let mismatches = 0;
    for (const p of leaves(b.value)) {
      const la = a.locate(p);
      const lb = b.locate(p);
      const ka = a.locate(p, { key: true });
      const kb = b.locate(p, { key: true });
      if (la.line !== lb.line || la.column !== lb.column || ka.line !== kb.line || ka.column !== kb.column) {
        if (mismatches++ < 5) t.fail(`${name}#${i} ${p.join('.')}: fast ${la.line}:${la.column}/${ka.line}:${ka.column} vs yaml ${lb.line}:${lb.column}/${kb.line}:${kb.column}`);
      }
      const v = get(b.value, p);
      if (typeof v === 'string') {
        for (const off of [0, 1, Math.floor(v.length / 2), v.length]) {
          const sa = a.locateInString(p, off);
          const sb = b.locateInString(p, off);
          if (sa.line !== sb.line || sa.column !== sb.column) {
            if (mismatches++ < 5) t.fail(`${name}#${i} ${p.join('.')}@${off}: fast ${sa.line}:${sa.column} vs yaml ${sb.line}:${sb.column}`);
          }
        }
      }
    }
    t.equal(mismatches, 0, `${name}#${i}: positions agree`);
  }
}

const SNIPPETS: Record<string, string> = {
  basic: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: a   # trailing comment
  labels: {app: web, "quoted key": 'v', empty: ""}
spec:
  order: 100.5
  selector: app == 'x' && has(y)
  types:
  - Ingress
  - Egress
  ingress:
    - action: Allow
      protocol: TCP
      source:
        nets: [10.0.0.0/8, "fd00::/8"]
      destination:
        ports: [80, "443", 1000:2000, http]
  egress:
  - action: Deny
    destination: {selector: "role == \\"db\\"", notSelector: 'x == ''y'''}
  - action: Pass
    metadata:
      annotations:
        note: "tab\\there \\u00e9 \\x41"
`,
  scalars: `a: ~
b: null
c: Null
d:
e: true
f: False
g: 012
h: -17
i: +3
j: 0o17
k: 0x1F
l: 1.5
m: .5
n: 1e3
o: -.inf
p: .NaN
q: 1.2.3
r: yes
s: "123"
t: '2025-01-01'
u: 2025-01-01T00:00:00Z
v: a:b
w: http://x/y?z#frag
x: -foo
y: [a, 1, true, null, "s", {k: v, k2: [x]}, []]
z: {}
`,
  blockScalars: `metadata:
  annotations:
    lit: |
      line one
        indented
      line three

    strip: |-
      a
      b
    keep: |+
      a

    folded: >
      one
      two

      three
    folded-strip: >-
      x
      y
    last: |
      {"json": true}
other: 1
`,
  seqs: `items:
- a
- - nested
- key: v
  other: w
-
  late: 1
-
- {flow: map}
- "quoted"
top:
- x
- y
`,
  list: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
- kind: Service
  apiVersion: v1
  metadata:
    name: s
`,
  fallbacks: `anchors: &a {x: 1}
ref: *a
tagged: !!str 123
multi: this plain scalar
  continues here
quoted: "and this one
  too"
? complex
: key
merge:
  <<: {m: 1}
  n: 2
`,
  multiDoc: `# leading comment
---
a: 1
...
---
b: 2
--- # comment on marker
c: [1, 2]
---
`,
  crlf: 'apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: crlf\r\n  labels: {a: "b"}\r\n',
  json: `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "j1", "labels": {"a": "\\u0041\\n"}}},
    {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "x"}, "spec": {"n": -1.5e3, "b": false, "z": null, "arr": [1, [2, {}]]}}
  ]
}
`,
  markerWithContent: `--- {a: 1}
--- |
  text
`,
  errors: `a: [1
b: 2
---
ok: 1
---
dup: 1
dup: 2
`,
  weirdKeys: `"a b": 1
'c''d': 2
e f: 3
g:h: 4
"": 5
`,
  commentsEverywhere: `# c0
a:   # c1
  # c2
  b: 1 # c3
  # c4
  c:
    - x # c5
    # c6
    - y
# c7
d: e
`,
};

t.test('fast parser agrees with yaml on snippets', async (t) => {
  for (const [name, text] of Object.entries(SNIPPETS)) compare(t, name, text);
});

t.test('fast parser agrees with yaml on the fixtures', async (t) => {
  const dir = path.join(here, '..', 'fixtures', 'load');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  t.ok(files.length >= 4);
  for (const f of files) compare(t, path.basename(f), fs.readFileSync(f, 'utf8'));
});

t.test('the fast path really is taken for kubectl-style YAML and JSON, and declines the rest', async (t) => {
  const k = SNIPPETS.basic!;
  t.ok(fastParseYamlDocument(k, 0, k.length));
  t.ok(fastParseYamlDocument(SNIPPETS.scalars!, 0, SNIPPETS.scalars!.length));
  t.ok(fastParseYamlDocument(SNIPPETS.blockScalars!, 0, SNIPPETS.blockScalars!.length));
  t.ok(fastParseJson(SNIPPETS.json!, 0, SNIPPETS.json!.length));
  t.equal(fastParseYamlDocument(SNIPPETS.fallbacks!, 0, SNIPPETS.fallbacks!.length), null);
  t.equal(fastParseYamlDocument('a: 1\na: 2\n', 0, 9), null, 'duplicate keys go to yaml (which reports them)');
  t.equal(fastParseYamlDocument('# nothing\n', 0, 10), undefined);
  const fixture = fs.readFileSync(path.join(here, '..', 'fixtures', 'load', 'kubectl-get-all.yaml'), 'utf8');
  t.ok(fastParseYamlDocument(fixture, 0, fixture.length), 'kubectl get -o yaml output is on the fast path');
});

t.test('concatenated JSON values (jq output) load on the fast path (yaml would reject them)', async (t) => {
  const d = new DiagnosticBag();
  const objs = parseDocuments({ name: 'c.json', text: '{"kind": "A", "metadata": {"name": "a"}}\n{"kind": "B",\n "metadata": {"name": "b"}}\n' }, d);
  t.same(d.items, []);
  t.same(
    objs.map((o) => [o.kind, o.start, o.locate(['metadata', 'name'])]),
    [
      ['A', { line: 1, column: 1 }, { line: 1, column: 36 }],
      ['B', { line: 2, column: 1 }, { line: 3, column: 23 }],
    ],
  );
});

t.test('mutation fuzz: fast path never disagrees with yaml on values or errors', async (t) => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = [' ', '\n', ':', '-', '#', "'", '"', '[', ']', '{', '}', ',', '|', '>', 'a', '1', '\t', '  ', '- ', ': ', '\\'];
  const bases = Object.values(SNIPPETS).filter((s) => !s.startsWith('{'));
  let disagreements = 0;
  for (let n = 0; n < 4000; n++) {
    let text = bases[rnd(bases.length)]!;
    const edits = 1 + rnd(3);
    for (let e = 0; e < edits; e++) {
      const at = rnd(text.length + 1);
      if (rnd(2) === 0) text = text.slice(0, at) + alphabet[rnd(alphabet.length)] + text.slice(at);
      else text = text.slice(0, at) + text.slice(at + 1 + rnd(3));
    }
    const d1 = new DiagnosticBag();
    const d2 = new DiagnosticBag();
    const a = parseDocuments({ name: 'f', text }, d1);
    const b = parseDocuments({ name: 'f', text }, d2, { fast: false });
    const same =
      JSON.stringify(a.map((o) => o.value)) === JSON.stringify(b.map((o) => o.value)) &&
      d1.items.filter((d) => d.severity === 'error').length > 0 === d2.items.filter((d) => d.severity === 'error').length > 0;
    if (!same && disagreements++ < 3) t.fail(`disagreement on ${JSON.stringify(text)}`);
  }
  t.equal(disagreements, 0);
});

t.test('resolvePlain mirrors the core schema', async (t) => {
  t.equal(resolvePlain(''), null);
  t.equal(resolvePlain('~'), null);
  t.equal(resolvePlain('TRUE'), true);
  t.equal(resolvePlain('tRue'), 'tRue');
  t.equal(resolvePlain('0x10'), 16);
  t.equal(resolvePlain('0o10'), 8);
  t.equal(resolvePlain('010'), 10);
  t.equal(resolvePlain('1_000'), '1_000');
  t.equal(resolvePlain('-.INF'), -Infinity);
  t.ok(Number.isNaN(resolvePlain('.nan') as number));
  t.equal(resolvePlain('on'), 'on');
});
