/**
 * Canonical form (SEMANTICS.md §1.4, Calico ast.go collectFragments) and the
 * tree rewrites of §3.1/§4.7 (prefixLabels, replaceAllAndGlobal, and/not helpers).
 */
import t from 'tap';
import {
  ALL,
  andSelectors,
  canonicalSelector,
  makeSelector,
  normaliseSelector,
  notSelector,
  parseSelector,
  prefixLabels,
  replaceAllAndGlobal,
  selectorUsesGlobal,
  type SelectorNode,
} from '../../src/parse/selector/index.js';

const canon = (s: string): string => parseSelector(s).canonical;

t.test('canonical strings', async (t) => {
  const rows: Array<[string, string]> = [
    // quoting choice: " unless the value contains "
    [`a == 'x'`, 'a == "x"'],
    [`a == "x"`, 'a == "x"'],
    [`a == "it's"`, `a == "it's"`],
    [`a == 'say "hi"'`, `a == 'say "hi"'`],
    [`a == ''`, 'a == ""'],
    [`a == 'x\\y'`, 'a == "x\\y"'],
    [`a != 'x'`, 'a != "x"'],
    [`a contains 'x'`, 'a contains "x"'],
    [`a startswith 'x'`, 'a starts with "x"'],
    [`a starts \t with 'x'`, 'a starts with "x"'],
    [`a endswith 'x'`, 'a ends with "x"'],
    // sets: sorted, de-duplicated, ", " separated, each member quoted on its own
    [`a in {}`, 'a in {}'],
    [`a not in {}`, 'a not in {}'],
    [`a notin{'b','a','b',}`, 'a not in {"a", "b"}'],
    [`a in {'"', "'"}`, `a in {'"', "'"}`],
    [`a in {'b', 'B', 'a', 'A', '1', '_', ''}`, 'a in {"", "1", "A", "B", "_", "a", "b"}'],
    [`a in {'é', 'z', '😀', '\uffff'}`, 'a in {"z", "é", "\uffff", "😀"}'], // UTF-8 byte order
    // functions
    [`has( a )`, 'has(a)'],
    [`all( )`, 'all()'],
    [`global( )`, 'global()'],
    [``, 'all()'],
    [` \t`, 'all()'],
    // negation: no space, parity collapse, parentheses keep nested nots
    [`! has(a)`, '!has(a)'],
    [`!!has(a)`, 'has(a)'],
    [`!!!has(a)`, '!has(a)'],
    [`!(!has(a))`, '!!has(a)'],
    [`!a == 'x'`, '!a == "x"'],
    [`!(a == 'x')`, '!a == "x"'],
    [`!all()`, '!all()'],
    [`!global()`, '!global()'],
    // and/or: always parenthesised, single spaces, nesting preserved
    [`has(a)&&has(b)`, '(has(a) && has(b))'],
    [`has(a)||has(b)`, '(has(a) || has(b))'],
    [`has(a) && has(b) && has(c)`, '(has(a) && has(b) && has(c))'],
    [`(has(a) && has(b)) && has(c)`, '((has(a) && has(b)) && has(c))'],
    [`has(a) && (has(b) && has(c))`, '(has(a) && (has(b) && has(c)))'],
    [`has(a) || has(b) && has(c)`, '(has(a) || (has(b) && has(c)))'],
    [`(has(a) || has(b)) && has(c)`, '((has(a) || has(b)) && has(c))'],
    [`!(has(a) || has(b))`, '!(has(a) || has(b))'],
    [`((has(a)))`, 'has(a)'],
    [`(has(a) && has(b))`, '(has(a) && has(b))'],
    [`  in   ==   'x'  `, 'in == "x"'],
  ];
  for (const [input, expected] of rows) {
    t.equal(canon(input), expected, `canonical of ${JSON.stringify(input)}`);
  }
});

t.test('canonical of constructed trees', async (t) => {
  t.equal(canonicalSelector({ kind: 'and', exprs: [{ kind: 'has', key: 'a' }] }), '(has(a))');
  t.equal(canonicalSelector({ kind: 'and', exprs: [] }), 'all()');
  t.equal(canonicalSelector({ kind: 'or', exprs: [] }), '!all()');
  t.equal(canonicalSelector({ kind: 'in', key: 'a', values: ['b', 'a', 'b'] }), 'a in {"a", "b"}');
  t.equal(canonicalSelector(notSelector(notSelector({ kind: 'has', key: 'a' }))), '!!has(a)');
  const s = makeSelector({ kind: 'eq', key: 'a', value: 'x' });
  t.equal(s.source, 'a == "x"');
  t.equal(s.canonical, 'a == "x"');
  t.equal(makeSelector({ kind: 'all' }, 'orig text').source, 'orig text');
  t.equal(String(s), 'a == "x"');
});

t.test('canonical is stable under re-parse (except !-runs across parentheses)', async (t) => {
  for (const input of [
    `a == 'x' || b in {'q', 'p'} && !c contains "z"`,
    `!(a starts with 'x' && (b ends with "y" || has(c)))`,
    `(((a != '1') || (b not in {}))) && global()`,
  ]) {
    const c1 = canon(input);
    t.equal(canon(c1), c1, input);
  }
  // Calico quirk: "!(!x)" keeps two nots, printed "!!x", which re-parses to x.
  t.equal(canon('!(!has(a))'), '!!has(a)');
  t.equal(canon(canon('!(!has(a))')), 'has(a)');
});

t.test('prefixLabels (Calico PrefixVisitor)', async (t) => {
  const p = (s: string, prefix: string): string => canonicalSelector(prefixLabels(parseSelector(s).ast, prefix));
  t.equal(p(`env == 'x'`, 'pcns.'), 'pcns.env == "x"');
  t.equal(p(`env != 'x'`, 'pcns.'), 'pcns.env != "x"');
  t.equal(p(`has(env)`, 'pcns.'), 'has(pcns.env)');
  t.equal(p(`env in {'a'}`, 'pcsa.'), 'pcsa.env in {"a"}');
  t.equal(p(`env not in {'a'}`, 'pcsa.'), 'pcsa.env not in {"a"}');
  t.equal(p(`env contains 'a'`, 'pcns.'), 'pcns.env contains "a"');
  t.equal(p(`env starts with 'a'`, 'pcns.'), 'pcns.env starts with "a"');
  t.equal(p(`env ends with 'a'`, 'pcns.'), 'pcns.env ends with "a"');
  t.equal(p(`all()`, 'pcns.'), 'all()');
  t.equal(p(`global()`, 'pcns.'), 'global()');
  t.equal(p(``, 'pcns.'), 'all()');
  t.equal(p(`!(a == 'x' || has(b)) && all()`, 'pcns.'), '(!(pcns.a == "x" || has(pcns.b)) && all())');
  t.equal(p(`kubernetes.io/metadata.name == 'prod'`, 'pcns.'), 'pcns.kubernetes.io/metadata.name == "prod"');
  // does not mutate its input
  const ast = parseSelector(`a == 'x'`).ast;
  prefixLabels(ast, 'p.');
  t.same(ast, { kind: 'eq', key: 'a', value: 'x' });
  // prefixed keys may exceed 512 characters (not re-validated, like Calico)
  const long = prefixLabels(parseSelector(`has(${'k'.repeat(512)})`).ast, 'pcns.');
  t.equal(long.kind === 'has' && long.key.length, 517);
  // evaluation of a prefixed selector
  const sel = makeSelector(prefixLabels(parseSelector(`env == 'prod'`).ast, 'pcns.'));
  t.equal(sel.matches({ 'pcns.env': 'prod' }), true);
  t.equal(sel.matches({ env: 'prod' }), false);
});

t.test('replaceAllAndGlobal (§3.1 / §4.7)', async (t) => {
  const NS = 'projectcalico.org/namespace';
  const hasNs: SelectorNode = { kind: 'has', key: NS };
  const notHasNs: SelectorNode = { kind: 'not', expr: hasNs };
  const rw = (s: string, prefix = 'pcns.'): string =>
    canonicalSelector(replaceAllAndGlobal(prefixLabels(parseSelector(s).ast, prefix), hasNs, notHasNs));

  // EntityRule namespaceSelector
  t.equal(rw(`all()`), `has(${NS})`);
  t.equal(rw(``), `has(${NS})`);
  t.equal(rw(`global()`), `!has(${NS})`);
  t.equal(rw(`env == 'x'`), 'pcns.env == "x"');
  t.equal(rw(`all() && env == 'x'`), `(has(${NS}) && pcns.env == "x")`);
  t.equal(rw(`!all()`), `!has(${NS})`);
  // textual Calico: "!global()" -> "!!has(ns)" -> re-parsed as has(ns)
  t.equal(rw(`!global()`), `has(${NS})`);
  t.equal(rw(`!!!global()`), `has(${NS})`);
  t.equal(rw(`global() || has(x)`), `(!has(${NS}) || has(pcns.x))`);
  t.equal(rw(`!(global() || has(x))`), `!(!has(${NS}) || has(pcns.x))`);

  // GNP spec.namespaceSelector: only all() is rewritten
  const gnp = replaceAllAndGlobal(prefixLabels(parseSelector('all()').ast, 'pcns.'), hasNs, undefined);
  t.equal(canonicalSelector(gnp), `has(${NS})`);
  t.equal(canonicalSelector(replaceAllAndGlobal(parseSelector('global()').ast, hasNs, undefined)), 'global()');
  t.equal(canonicalSelector(replaceAllAndGlobal(parseSelector('all() && global()').ast, undefined, notHasNs)),
    `(all() && !has(${NS}))`);

  // serviceAccountSelector
  const SA = 'projectcalico.org/serviceaccount';
  t.equal(canonicalSelector(replaceAllAndGlobal(prefixLabels(parseSelector('all()').ast, 'pcsa.'),
    { kind: 'has', key: SA }, undefined)), `has(${SA})`);

  // Semantics: namespace all() selects only namespaced entities; global() only non-namespaced ones.
  const nsAll = makeSelector(replaceAllAndGlobal(parseSelector('all()').ast, hasNs, notHasNs));
  const nsGlobal = makeSelector(replaceAllAndGlobal(parseSelector('global()').ast, hasNs, notHasNs));
  const pod = { [NS]: 'default', 'pcns.env': 'x' };
  const gns = { role: 'internet' };
  t.equal(nsAll.matches(pod), true);
  t.equal(nsAll.matches(gns), false);
  t.equal(nsGlobal.matches(pod), false);
  t.equal(nsGlobal.matches(gns), true);

  // Result equals what Calico's parser makes of the textually rewritten canonical string.
  for (const s of [`!global()`, `!(!global())`, `global() && !all()`, `!(all() || !global())`, `a in {'y','x'} && all()`]) {
    const tree = replaceAllAndGlobal(parseSelector(s).ast, hasNs, notHasNs);
    const text = parseSelector(s).canonical.split('all()').join(`has(${NS})`).split('global()').join(`!has(${NS})`);
    t.same(tree, parseSelector(text).ast, `tree rewrite of ${s} equals textual rewrite`);
  }
});

t.test('andSelectors / notSelector / ALL / normaliseSelector', async (t) => {
  const a = parseSelector(`a == 'x'`).ast;
  const b = parseSelector(`has(b) && has(c)`).ast;
  t.same(ALL, { kind: 'all' });
  t.equal(andSelectors(), ALL);
  t.equal(andSelectors(a), a);
  t.same(andSelectors(a, b), { kind: 'and', exprs: [a, b] });
  // shaped like Calico's parse of "(sel) && (ns)": nested and is kept
  t.same(andSelectors(b, a), parseSelector(`(${canonicalSelector(b)}) && (${canonicalSelector(a)})`).ast);
  t.equal(canonicalSelector(andSelectors(b, a)), '((has(b) && has(c)) && a == "x")');
  t.same(notSelector(a), { kind: 'not', expr: a });
  t.same(notSelector(notSelector(a)), parseSelector(`!(!(a == 'x'))`).ast);
  t.equal(makeSelector(notSelector(ALL)).matches({}), false);
  t.equal(makeSelector(andSelectors(a, notSelector(b))).matches({ a: 'x', b: '' }), true);
  t.equal(makeSelector(andSelectors(a, notSelector(b))).matches({ a: 'x', b: '', c: '' }), false);

  // normaliseSelector == parse(canonical(tree))
  const trees: SelectorNode[] = [
    { kind: 'not', expr: { kind: 'not', expr: a } },
    { kind: 'not', expr: { kind: 'and', exprs: [{ kind: 'not', expr: a }] } },
    { kind: 'or', exprs: [a] },
    { kind: 'and', exprs: [] },
    { kind: 'not', expr: { kind: 'or', exprs: [] } },
    { kind: 'in', key: 'k', values: ['z', 'a', 'z'] },
    { kind: 'and', exprs: [{ kind: 'or', exprs: [] }, { kind: 'not', expr: { kind: 'not', expr: { kind: 'not', expr: b } } }] },
  ];
  for (const tree of trees) {
    t.same(normaliseSelector(tree), parseSelector(canonicalSelector(tree)).ast, canonicalSelector(tree));
  }
});

t.test('selectorUsesGlobal', async (t) => {
  t.equal(selectorUsesGlobal(parseSelector('global()').ast), true);
  t.equal(selectorUsesGlobal(parseSelector('!global()').ast), true);
  t.equal(selectorUsesGlobal(parseSelector(`a == 'x' && (has(b) || global())`).ast), true);
  t.equal(selectorUsesGlobal(parseSelector(`all()`).ast), false);
  t.equal(selectorUsesGlobal(parseSelector(``).ast), false);
  t.equal(selectorUsesGlobal(parseSelector(`global == 'x' && has(global)`).ast), false);
  t.equal(selectorUsesGlobal(parseSelector(`a == 'global()'`).ast), false);
});
