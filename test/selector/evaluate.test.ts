/**
 * Valid selectors × label sets × expected result (SEMANTICS.md §1.1–§1.3).
 * Each row: selector text, label sets it must match, label sets it must not match.
 */
import t from 'tap';
import { labelsOf, parseSelector } from '../../src/parse/selector/index.js';

type L = Record<string, string>;
type Row = [sel: string, yes: L[], no: L[]];

const rows: Row[] = [
  // ---- equality / inequality, absent labels
  [`a == 'x'`, [{ a: 'x' }, { a: 'x', b: 'y' }], [{}, { a: 'X' }, { a: '' }, { b: 'x' }, { a: 'x ' }]],
  [`a == "x"`, [{ a: 'x' }], [{}, { a: 'y' }]],
  [`a == ''`, [{ a: '' }], [{}, { a: 'x' }]],
  [`a != 'x'`, [{}, { a: 'y' }, { a: '' }, { b: 'x' }], [{ a: 'x' }]],
  [`a != ''`, [{}, { a: 'x' }], [{ a: '' }]],
  [`a=='x'`, [{ a: 'x' }], [{}]],
  [`a!='x'`, [{}], [{ a: 'x' }]],
  // ---- sets
  [`a in {'x', 'y'}`, [{ a: 'x' }, { a: 'y' }], [{}, { a: 'z' }, { a: '' }]],
  [`a in {}`, [], [{}, { a: '' }, { a: 'x' }]],
  [`a not in {}`, [{}, { a: '' }, { a: 'x' }], []],
  [`a not in {'x', 'y'}`, [{}, { a: 'z' }, { a: '' }], [{ a: 'x' }, { a: 'y' }]],
  [`a in {'x',}`, [{ a: 'x' }], [{ a: '' }]],
  [`a in {'x', 'y',}`, [{ a: 'y' }], [{}]],
  [`a in {''}`, [{ a: '' }], [{}, { a: 'x' }]],
  [`a in {'x', 'x', "x"}`, [{ a: 'x' }], [{ a: 'y' }]],
  [`a in{'x'}`, [{ a: 'x' }], [{}]],
  [`a in{}`, [], [{ a: 'x' }]],
  [`a notin {'x'}`, [{}, { a: 'y' }], [{ a: 'x' }]],
  [`a notin{'x'}`, [{}], [{ a: 'x' }]],
  [`a not  in {'x'}`, [{}], [{ a: 'x' }]],
  [`a not\t\tin {'x'}`, [{}], [{ a: 'x' }]],
  [`a not \t in{'x'}`, [{}], [{ a: 'x' }]],
  [`a in {"'", '"', "c"}`, [{ a: 'c' }, { a: '"' }, { a: "'" }], [{}, { a: 'e' }]],
  [`a not in {"'", '"', "c"}`, [{}, { a: 'e' }], [{ a: 'c' }, { a: '"' }, { a: "'" }]],
  [`a in {'b' , 'c'}`, [{ a: 'c' }], [{ a: 'b ' }]],
  // ---- contains / starts with / ends with
  [`a contains 'b'`, [{ a: 'b' }, { a: 'abc' }], [{}, { a: '' }, { a: 'B' }]],
  [`a contains ''`, [{ a: '' }, { a: 'x' }], [{}]],
  [`a contains'b'`, [{ a: 'abc' }], [{ a: 'x' }]],
  [`a contains"b"`, [{ a: 'abc' }], [{ a: 'x' }]],
  [`a starts with 'ab'`, [{ a: 'ab' }, { a: 'abc' }], [{}, { a: 'cab' }, { a: 'a' }]],
  [`a startswith 'ab'`, [{ a: 'abc' }], [{ a: 'cab' }]],
  [`a startswith'ab'`, [{ a: 'abc' }], [{ a: 'cab' }]],
  [`a starts  with 'ab'`, [{ a: 'abc' }], [{ a: 'cab' }]],
  [`a starts\twith 'ab'`, [{ a: 'abc' }], [{ a: 'cab' }]],
  [`a starts with ''`, [{ a: '' }, { a: 'x' }], [{}]],
  [`a ends with 'bc'`, [{ a: 'bc' }, { a: 'abc' }], [{}, { a: 'bca' }]],
  [`a endswith 'bc'`, [{ a: 'abc' }], [{ a: 'bca' }]],
  [`a ends   with"bc"`, [{ a: 'abc' }], [{ a: 'bca' }]],
  [`a ends with ''`, [{ a: '' }], [{}]],
  // ---- has / all / global
  [`has(a)`, [{ a: '' }, { a: 'x' }], [{}, { b: 'x' }, { A: 'x' }]],
  [`has( a )`, [{ a: '' }], [{}]],
  [`has(\ta\t)`, [{ a: '' }], [{}]],
  [`!has(a)`, [{}, { b: 'x' }], [{ a: '' }]],
  [`all()`, [{}, { a: 'x' }], []],
  [`all( )`, [{}, { a: 'x' }], []],
  [`all(\t)`, [{}], []],
  [`!all()`, [], [{}, { a: 'x' }]],
  [`global()`, [{}, { a: 'x' }], []],
  [`global( )`, [{}], []],
  [`!global()`, [], [{}]],
  [``, [{}, { a: 'x' }], []],
  [` `, [{}], []],
  [`\t \t`, [{}], []],
  // ---- quoting
  [`a == "it's"`, [{ a: "it's" }], [{ a: 'its' }]],
  [`a == 'say "hi"'`, [{ a: 'say "hi"' }], [{ a: 'say hi' }]],
  [`a == 'x\\y'`, [{ a: 'x\\y' }], [{ a: 'xy' }, { a: 'x\\\\y' }]],
  [`a == 'x\\'`, [{ a: 'x\\' }], [{ a: 'x' }]],
  [`a == "x\\"`, [{ a: 'x\\' }], []],
  [`a == 'x\\n'`, [{ a: 'x\\n' }], [{ a: 'x\n' }]],
  [`a == 'with space'`, [{ a: 'with space' }], [{ a: 'with' }]],
  [`a == 'tab\there'`, [{ a: 'tab\there' }], []],
  [`a == 'line\nbreak'`, [{ a: 'line\nbreak' }], []],
  [`a == '&& || ! ( ) { } , =='`, [{ a: '&& || ! ( ) { } , ==' }], []],
  [`a == 'héllo ✓'`, [{ a: 'héllo ✓' }], [{ a: 'hello' }]],
  [`a == '😀'`, [{ a: '😀' }], []],
  // ---- keys
  [`0 == 'x'`, [{ '0': 'x' }], [{}]],
  [`9abc == 'x'`, [{ '9abc': 'x' }], []],
  [`-a == 'x'`, [{ '-a': 'x' }], []],
  [`.a == 'x'`, [{ '.a': 'x' }], []],
  [`/a == 'x'`, [{ '/a': 'x' }], []],
  [`_ == 'x'`, [{ _: 'x' }], []],
  [`- == 'x'`, [{ '-': 'x' }], []],
  [`has(-)`, [{ '-': '' }], [{}]],
  [`has(.)`, [{ '.': '' }], [{}]],
  [`has(/)`, [{ '/': '' }], [{}]],
  [`projectcalico.org/namespace == 'default'`, [{ 'projectcalico.org/namespace': 'default' }], [{ namespace: 'default' }]],
  [`has(calico/k8s_NS-.1/role)`, [{ 'calico/k8s_NS-.1/role': 'x' }], [{}]],
  [`A == 'x'`, [{ A: 'x' }], [{ a: 'x' }]],
  [`a/b/c.d-e_f == 'x'`, [{ 'a/b/c.d-e_f': 'x' }], []],
  ['k'.repeat(512) + ` == 'x'`, [{ ['k'.repeat(512)]: 'x' }], [{}]],
  [`has(${'k'.repeat(512)})`, [{ ['k'.repeat(512)]: '' }], [{}]],
  // ---- keyword-like label names in key position
  [`in == 'x'`, [{ in: 'x' }], [{}]],
  [`has == 'x'`, [{ has: 'x' }], [{}]],
  [`all == 'x'`, [{ all: 'x' }], [{}]],
  [`global == 'x'`, [{ global: 'x' }], [{}]],
  [`not == 'x'`, [{ not: 'x' }], [{}]],
  [`not in {'x'}`, [{ not: 'x' }], [{}]],
  [`in in {'x'}`, [{ in: 'x' }], [{}]],
  [`in not in {'x'}`, [{}], [{ in: 'x' }]],
  [`contains contains 'contains'`, [{ contains: 'xcontainsx' }], [{}]],
  [`starts starts with 'x'`, [{ starts: 'xy' }], []],
  [`startswith starts with 'x'`, [{ startswith: 'xy' }], []],
  [`endswith ends with 'y'`, [{ endswith: 'xy' }], []],
  [`with == 'x'`, [{ with: 'x' }], []],
  [`has(has)`, [{ has: '' }], [{}]],
  [`has(in)`, [{ in: '' }], [{}]],
  [`has(all)`, [{ all: '' }], [{}]],
  [`has(global)`, [{ global: '' }], [{}]],
  [`has(has) && all != 'x' || global in {'y'}`, [{ has: '' }, { global: 'y', all: 'x' }], [{ all: 'x' }]],
  [`allx == 'x'`, [{ allx: 'x' }], []],
  [`hasx == 'x'`, [{ hasx: 'x' }], []],
  [`all.x == 'x'`, [{ 'all.x': 'x' }], []],
  [`!in == 'x'`, [{}], [{ in: 'x' }]],
  // ---- whitespace
  [`  a == 'x'  `, [{ a: 'x' }], []],
  [`\ta\t==\t'x'\t`, [{ a: 'x' }], []],
  [`a=='x'&&b=='y'`, [{ a: 'x', b: 'y' }], [{ a: 'x' }]],
  [`a=='x'||b=='y'`, [{ b: 'y' }], [{}]],
  [`(a=='x')`, [{ a: 'x' }], [{}]],
  [`!has(a)&&!has(b)`, [{}], [{ a: '' }]],
  // ---- precedence and grouping
  [`a == 'x' || b == 'y' && c == 'z'`, [{ a: 'x' }, { b: 'y', c: 'z' }], [{ b: 'y' }, { c: 'z' }, {}]],
  [`(a == 'x' || b == 'y') && c == 'z'`, [{ a: 'x', c: 'z' }, { b: 'y', c: 'z' }], [{ a: 'x' }, { c: 'z' }]],
  [`a == 'x' && b == 'y' || c == 'z'`, [{ a: 'x', b: 'y' }, { c: 'z' }], [{ a: 'x' }, { b: 'y' }]],
  [`a == 'x' && (b == 'y' || c == 'z')`, [{ a: 'x', b: 'y' }, { a: 'x', c: 'z' }], [{ c: 'z' }, { a: 'x' }]],
  [`!a == 'x'`, [{}, { a: 'y' }], [{ a: 'x' }]],
  [`!a == 'x' && has(b)`, [{ b: '' }], [{ a: 'x', b: '' }, {}]],
  [`!has(a) || has(b)`, [{}, { a: '', b: '' }], [{ a: '' }]],
  [`!(has(a) || has(b))`, [{}], [{ a: '' }, { b: '' }]],
  [`!(has(a) && has(b))`, [{}, { a: '' }], [{ a: '', b: '' }]],
  [`!!has(a)`, [{ a: '' }], [{}]],
  [`!!!has(a)`, [{}], [{ a: '' }]],
  [`! ! has(a)`, [{ a: '' }], [{}]],
  [`!!! has(a)`, [{}], [{ a: '' }]],
  [`!(!has(a))`, [{ a: '' }], [{}]],
  [`!!(!has(a))`, [{}], [{ a: '' }]],
  [`((((has(a)))))`, [{ a: '' }], [{}]],
  [`( has(a) )`, [{ a: '' }], [{}]],
  [`(all())`, [{}], []],
  [`!(all())`, [], [{}]],
  [`has(a) && has(b) && has(c)`, [{ a: '', b: '', c: '' }], [{ a: '', b: '' }]],
  [`has(a) || has(b) || has(c)`, [{ c: '' }], [{}]],
  [`(has(a) && has(b)) && has(c)`, [{ a: '', b: '', c: '' }], [{ a: '', c: '' }]],
  [`has(a) && !has(b) || !has(c) && has(d)`, [{ a: '', c: '' }, { d: '' }], [{ a: '', b: '', c: '' }]],
  [`all() && has(a)`, [{ a: '' }], [{}]],
  [`global() && has(a)`, [{ a: '' }], [{}]],
  [`!global() || has(a)`, [{ a: '' }], [{}]],
  [`a != 'x' && a != 'y'`, [{}, { a: 'z' }], [{ a: 'x' }, { a: 'y' }]],
  [`a == 'x' && a == 'y'`, [], [{ a: 'x' }, { a: 'y' }, {}]],
];

t.test('valid selectors evaluate as Calico does', async (t) => {
  for (const [sel, yes, no] of rows) {
    const s = parseSelector(sel);
    t.equal(s.source, sel);
    for (const labels of yes) {
      t.equal(s.matches(labels), true, `${JSON.stringify(sel)} matches ${JSON.stringify(labels)}`);
      t.equal(s.matches(new Map(Object.entries(labels))), true, `${JSON.stringify(sel)} matches Map ${JSON.stringify(labels)}`);
      t.equal(s.matches(labelsOf(labels)), true, `${JSON.stringify(sel)} matches labelsOf ${JSON.stringify(labels)}`);
    }
    for (const labels of no) {
      t.equal(s.matches(labels), false, `${JSON.stringify(sel)} rejects ${JSON.stringify(labels)}`);
      t.equal(s.matches(new Map(Object.entries(labels))), false, `${JSON.stringify(sel)} rejects Map ${JSON.stringify(labels)}`);
      t.equal(s.matches(labelsOf(labels)), false, `${JSON.stringify(sel)} rejects labelsOf ${JSON.stringify(labels)}`);
    }
  }
});

t.test('AST shape', async (t) => {
  t.same(parseSelector('').ast, { kind: 'all' });
  t.same(parseSelector(' \t ').ast, { kind: 'all' });
  t.same(parseSelector('!!has(a)').ast, { kind: 'has', key: 'a' });
  t.same(parseSelector('!!!has(a)').ast, { kind: 'not', expr: { kind: 'has', key: 'a' } });
  t.same(parseSelector('!(!has(a))').ast, { kind: 'not', expr: { kind: 'not', expr: { kind: 'has', key: 'a' } } });
  t.same(parseSelector(`a == 'x' || b == 'y' && c == 'z'`).ast, {
    kind: 'or',
    exprs: [
      { kind: 'eq', key: 'a', value: 'x' },
      { kind: 'and', exprs: [{ kind: 'eq', key: 'b', value: 'y' }, { kind: 'eq', key: 'c', value: 'z' }] },
    ],
  });
  t.same(parseSelector(`has(a) && has(b) && has(c)`).ast, {
    kind: 'and',
    exprs: [{ kind: 'has', key: 'a' }, { kind: 'has', key: 'b' }, { kind: 'has', key: 'c' }],
  });
  t.same(parseSelector(`(has(a) && has(b)) && has(c)`).ast, {
    kind: 'and',
    exprs: [{ kind: 'and', exprs: [{ kind: 'has', key: 'a' }, { kind: 'has', key: 'b' }] }, { kind: 'has', key: 'c' }],
  });
  t.same(parseSelector(`a in {'z', 'a', 'z', 'm',}`).ast, { kind: 'in', key: 'a', values: ['a', 'm', 'z'] });
  t.same(parseSelector(`a notin{}`).ast, { kind: 'notin', key: 'a', values: [] });
  t.same(parseSelector(`a starts  with'x'`).ast, { kind: 'startswith', key: 'a', value: 'x' });
  t.same(parseSelector(`a endswith "x"`).ast, { kind: 'endswith', key: 'a', value: 'x' });
  t.same(parseSelector(`a contains''`).ast, { kind: 'contains', key: 'a', value: '' });
  t.same(parseSelector(`global( )`).ast, { kind: 'global' });
  t.same(parseSelector(`has( x/y )`).ast, { kind: 'has', key: 'x/y' });
  t.same(parseSelector(`a == 'x\\'`).ast, { kind: 'eq', key: 'a', value: 'x\\' });
});

t.test('label lookup: own properties only, Map-likes, labelsOf', async (t) => {
  // Inherited Object.prototype members are not labels.
  t.equal(parseSelector('has(constructor)').matches({}), false);
  t.equal(parseSelector('has(toString)').matches({}), false);
  t.equal(parseSelector('has(__proto__)').matches({}), false);
  t.equal(parseSelector('constructor != "x"').matches({}), true);
  t.equal(parseSelector('has(constructor)').matches(labelsOf({})), false);
  t.equal(parseSelector('has(constructor)').matches({ constructor: 'x' } as Record<string, string>), true);
  // A label called "get" on a plain object is still a plain object.
  t.equal(parseSelector(`get == 'x'`).matches({ get: 'x' }), true);
  t.equal(parseSelector(`has(get)`).matches({}), false);
  // Object with a null prototype.
  const bare = Object.create(null) as Record<string, string>;
  bare.a = 'x';
  t.equal(parseSelector(`a == 'x'`).matches(bare), true);
  // Any object with get() is a LabelSource.
  const src = { get: (k: string) => (k === 'a' ? 'x' : undefined) };
  t.equal(parseSelector(`a == 'x' && b != 'y'`).matches(src), true);
  t.equal(parseSelector(`has(b)`).matches(src), false);
});
