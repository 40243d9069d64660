/**
 * Test vectors ported (as data) from Calico's own tables:
 *   libcalico-go/lib/selector/tokenizer/tokenizer_test.go  (tokenTests)
 *   libcalico-go/lib/selector/parser/parser_test.go        (selectorTests, badSelectors,
 *                                                          canonicalisationTests, Visitor table)
 * at projectcalico/calico commit 87c15906.
 */
import t from 'tap';
import {
  canonicalSelector,
  parseSelector,
  prefixLabels,
  SelectorSyntaxError,
} from '../../src/parse/selector/index.js';
import { tokenize } from '../../src/parse/selector/lexer.js';

// ---- tokenizer: input -> compact token list ("kind" or "kind:value"), or null for an error.
const tokenVectors: Array<[string, string[] | null]> = [
  [`a=="b"`, ['label:a', 'eq', 'string:b', 'eof']],
  [`a!="b"`, ['label:a', 'ne', 'string:b', 'eof']],
  [`a != "b"`, ['label:a', 'ne', 'string:b', 'eof']],
  [`(a=="b")`, ['lparen', 'label:a', 'eq', 'string:b', 'rparen', 'eof']],
  [`label == "value"`, ['label:label', 'eq', 'string:value', 'eof']],
  [`label contains "value"`, ['label:label', 'contains', 'string:value', 'eof']],
  [`contains contains "contains"`, ['label:contains', 'contains', 'string:contains', 'eof']],
  [`contains contains 'contains'`, ['label:contains', 'contains', 'string:contains', 'eof']],
  [`label contains"value"`, ['label:label', 'contains', 'string:value', 'eof']],
  [`label startswith "value"`, ['label:label', 'startswith', 'string:value', 'eof']],
  [`label endswith "value"`, ['label:label', 'endswith', 'string:value', 'eof']],
  [`label starts with "value"`, ['label:label', 'startswith', 'string:value', 'eof']],
  [`startswith starts with "value"`, ['label:startswith', 'startswith', 'string:value', 'eof']],
  [`label ends with "value"`, ['label:label', 'endswith', 'string:value', 'eof']],
  [`endswith ends with "value"`, ['label:endswith', 'endswith', 'string:value', 'eof']],
  [`label starts  with "value"`, ['label:label', 'startswith', 'string:value', 'eof']],
  [`label ends  with "value"`, ['label:label', 'endswith', 'string:value', 'eof']],
  ['a'.repeat(512) + ` == "value"`, ['label:' + 'a'.repeat(512), 'eq', 'string:value', 'eof']],
  ['a'.repeat(513) + ` == "value"`, null],
  [`label == "value`, null],
  [`label == 'value`, null],
  [`label = "value"`, null],
  [`all(`, null],
  [`global(`, null],
  [`has()`, null],
  [`has(foo`, null],
  [`has( foo `, null],
  [`a == "b" & has(foo)`, null],
  [`a == "b" | has(foo)`, null],
  [`label starts foo "value"`, null],
  [`label inf "value"`, null],
  [`label ends foo "value"`, null],
  [`label ends withs "value"`, null],
  [`label squiggles "value"`, null],
  [`a not in "bar" && !has(foo) || b in c`,
    ['label:a', 'notin', 'string:bar', 'and', 'not', 'has:foo', 'or', 'label:b', 'in', 'label:c', 'eof']],
  [`has(calico/k8s_ns)`, ['has:calico/k8s_ns', 'eof']],
  [`has(calico/k8s_ns/role)`, ['has:calico/k8s_ns/role', 'eof']],
  [`has(calico/k8s_NS-.1/role)`, ['has:calico/k8s_NS-.1/role', 'eof']],
  [`calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
    ['label:calico/k8s_ns', 'eq', 'string:kube-system', 'and', 'label:k8s-app', 'eq', 'string:kube-dns', 'eof']],
  [`a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c `,
    ['label:a', 'notin', 'string:bar', 'and', 'not', 'has:foo', 'or', 'label:b', 'in', 'label:c', 'eof']],
  [`a notin"bar"&&!has(foo)||b in"c"`,
    ['label:a', 'notin', 'string:bar', 'and', 'not', 'has:foo', 'or', 'label:b', 'in', 'string:c', 'eof']],
  [`a not in {}`, ['label:a', 'notin', 'lbrace', 'rbrace', 'eof']],
  [`a not in {"a"}`, ['label:a', 'notin', 'lbrace', 'string:a', 'rbrace', 'eof']],
  [`a not in {"a","B"}`, ['label:a', 'notin', 'lbrace', 'string:a', 'comma', 'string:B', 'rbrace', 'eof']],
  [`global()`, ['global', 'eof']],
  [`global( )`, ['global', 'eof']],
  [`all()`, ['all', 'eof']],
  [`all( )`, ['all', 'eof']],
  // Additional lexer-level cases (ours).
  [`a in{'x'}`, ['label:a', 'in', 'lbrace', 'string:x', 'rbrace', 'eof']],
  [`a contains'x'`, ['label:a', 'contains', 'string:x', 'eof']],
  [`a starts\t \twith'x'`, ['label:a', 'startswith', 'string:x', 'eof']],
  [`in in in`, ['label:in', 'in', 'label:in', 'eof']],
  [`a ! = 'x'`, null],
  [`a !== 'x'`, null],
  [`!=`, ['ne', 'eof']],
  [`has (a)`, ['label:has', 'lparen', 'label:a', 'rparen', 'eof']],
  [`a == 'x'\n`, null],
  [``, ['eof']],
  [` \t `, ['eof']],
];

t.test('tokenizer vectors (tokenizer_test.go)', async (t) => {
  for (const [input, expected] of tokenVectors) {
    const name = JSON.stringify(input.length > 50 ? input.slice(0, 47) + '...' : input);
    if (expected === null) {
      t.throws(() => tokenize(input), SelectorSyntaxError, `${name} is a lexical error`);
    } else {
      const got = tokenize(input).map((tok) =>
        tok.kind === 'label' || tok.kind === 'string' || tok.kind === 'has' ? `${tok.kind}:${tok.value}` : tok.kind);
      t.same(got, expected, `${name} tokens`);
    }
  }
});

t.test('token positions', async (t) => {
  const toks = tokenize(`  a  not \t in {'x' ,"y"} && has( b )`);
  t.same(toks.map((x) => [x.kind, x.pos, x.end]), [
    ['label', 2, 3], ['notin', 5, 13], ['lbrace', 14, 15], ['string', 15, 18], ['comma', 19, 20],
    ['string', 20, 23], ['rbrace', 23, 24], ['and', 25, 27], ['has', 28, 36], ['eof', 36, 36],
  ]);
});

// ---- parser_test.go selectorTests: [selector, matching label sets, non-matching label sets]
type L = Record<string, string>;
const selectorVectors: Array<[string, L[], L[]]> = [
  [`a == "b"`, [{ a: 'b' }, { a: 'b', c: 'd' }], [{}, { a: 'c' }, { c: 'd' }]],
  [`a == "b" && c == "d"`, [{ a: 'b', c: 'd' }], [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }]],
  [`a == "b" || c == "d"`, [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }], [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }]],
  [`a in {"'", '"', "c"}`, [{ a: 'c' }, { a: '"' }, { a: "'" }], [{}, { a: 'e' }]],
  [`a not in {"'", '"', "c"}`, [{}, { a: 'e' }], [{ a: 'c' }, { a: '"' }, { a: "'" }]],
  [`a == 'a'`, [{ a: 'a' }], []],
  [`a == "a"`, [{ a: 'a' }], []],
  [`a != "b"`, [{ a: 'a' }], []],
  [`a != "a"`, [{}], []],
  [`a contains "a"`, [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { b: 'aaa' }]],
  [`a starts with "a"`, [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }]],
  [`a ends with "a"`, [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }]],
  [`a in {"a"}`, [{ a: 'a' }], []],
  [`!a in {"a"}`, [{ a: 'b' }], []],
  [`a in {"a", "b"}`, [{ a: 'a' }, { a: 'b' }], []],
  [`a not in {"d", "e"}`, [{ a: 'a' }], []],
  [`has(a)`, [{ a: 'b' }], []],
  [`!has(a)`, [{ b: 'b' }], []],
  [``, [{}, { a: 'b' }], []],
  [` `, [{}], []],
  [`all()`, [{}], []],
  [` all()`, [{}, { a: 'b' }], []],
  [`global()`, [{}], []],
  [` global()`, [{}, { a: 'b' }], []],
  [`a == 'a'`, [], [{ a: 'b' }, {}]],
  [`a != "a"`, [], [{ a: 'a' }]],
  [`a != 'a'`, [], [{ a: 'a' }]],
  [`a in {"a"}`, [], [{ a: 'b' }]],
  [`a not in {"a"}`, [], [{ a: 'a' }]],
  [`a in {"a", "b"}`, [], [{ a: 'c' }]],
  [`has(b)`, [], [{ a: 'b' }]],
  [`!!has(b)`, [], [{ a: 'b' }]],
  [`! has(a)`, [], [{ a: 'b' }]],
  [`!has(a)`, [], [{ a: 'b' }]],
  [`!!! has(a)`, [], [{ a: 'b' }]],
  [`!!!has(a)`, [], [{ a: 'b' }]],
  [`!! ! has(a)`, [], [{ a: 'b' }]],
  [`! !!has(a)`, [], [{ a: 'b' }]],
  [`a == 'a1' && b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && !b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`!a == 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`has(a) && !has(b)`, [{ a: 'a' }], []],
  [`!has(b) && has(a)`, [{ a: 'a' }], []],
  [`!(!has(a) || has(b))`, [{ a: 'a' }], []],
  [`!(has(b) || !has(a))`, [{ a: 'a' }], []],
  [`a == 'a1' || b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' || b != 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`! a == 'a1' || ! b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
];

t.test('selector vectors (parser_test.go selectorTests), also after canonicalising', async (t) => {
  for (const [sel, yes, no] of selectorVectors) {
    const s = parseSelector(sel);
    const again = parseSelector(s.canonical);
    for (const l of yes) {
      t.equal(s.matches(l), true, `${JSON.stringify(sel)} matches ${JSON.stringify(l)}`);
      t.equal(again.matches(l), true, `${JSON.stringify(s.canonical)} matches ${JSON.stringify(l)}`);
    }
    for (const l of no) {
      t.equal(s.matches(l), false, `${JSON.stringify(sel)} rejects ${JSON.stringify(l)}`);
      t.equal(again.matches(l), false, `${JSON.stringify(s.canonical)} rejects ${JSON.stringify(l)}`);
    }
  }
});

const badSelectors = [
  'b == b', 'b contains b', 'b starts with b', 'b ends with b', "'b1' == b", 'b', 'a b', '!',
  'foo == "bar" &', 'foo == "bar" |', 'foo != ||', 'foo in {"", ||', 'foo in ""',
  '"FOO', `"FOO'`, "'FOO", '(', '(a == "foo"', ')', '()', '%', 'a == "b" && %', 'a == "b" || %',
  'a ', 'has(foo) &&',
];

t.test('bad selectors (parser_test.go badSelectors)', async (t) => {
  for (const sel of badSelectors) {
    t.throws(() => parseSelector(sel), SelectorSyntaxError, `${JSON.stringify(sel)} rejected`);
  }
});

// ---- parser_test.go canonicalisationTests: input -> canonical
const canonicalVectors: Array<[string, string]> = [
  ['', 'all()'],
  [' all() ', 'all()'],
  [' (all() )', 'all()'],
  ['! (has( b)||! has(a ))', '!(has(b) || !has(a))'],
  ['! (a == "b"&&! c != "d")', '!(a == "b" && !c != "d")'],
  [`a == "'"`, `a == "'"`],
  [`a == '"'`, `a == '"'`],
  [`a contains '"'`, `a contains '"'`],
  [`a contains "'"`, `a contains "'"`],
  [`a startswith '"'`, `a starts with '"'`],
  [`a endswith "'"`, `a ends with "'"`],
  [`a!='"'`, `a != '"'`],
  ['a in {"d"}', 'a in {"d"}'],
  ['a in {"a", "b"}', 'a in {"a", "b"}'],
  ['a in {"d", "a", "b"}', 'a in {"a", "b", "d"}'],
  ['a in {"z", "x", "y", "a"}', 'a in {"a", "x", "y", "z"}'],
  ['a in {"z", "z", "x", "y", "x", "a"}', 'a in {"a", "x", "y", "z"}'],
];

t.test('canonical vectors (parser_test.go canonicalisationTests) and round trip', async (t) => {
  for (const [input, expected] of canonicalVectors) {
    const s = parseSelector(input);
    t.equal(s.canonical, expected, `canonical of ${JSON.stringify(input)}`);
    t.equal(canonicalSelector(s.ast), expected);
    t.equal(parseSelector(s.canonical).canonical, expected, `round trip of ${JSON.stringify(expected)}`);
  }
});

// ---- parser_test.go Visitor table (PrefixVisitor with prefix "visited/")
const visitorVectors: Array<[string, string]> = [
  [`k == 'v'`, 'visited/k == "v"'],
  [`k != 'v'`, 'visited/k != "v"'],
  [`k contains 'v'`, 'visited/k contains "v"'],
  [`k starts with 'v'`, 'visited/k starts with "v"'],
  [`k ends with 'v'`, 'visited/k ends with "v"'],
  [`k == 'v' && x == 'y'`, '(visited/k == "v" && visited/x == "y")'],
  [`k == 'v' || has(x)`, '(visited/k == "v" || has(visited/x))'],
  [`!(k == 'v')`, '!visited/k == "v"'],
  [`k in {'v'}`, 'visited/k in {"v"}'],
  [`k not in {'v'}`, 'visited/k not in {"v"}'],
  [`!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))`,
    '!(!((visited/k == "v" && has(visited/t)) || all()) && visited/a in {"b", "c"})'],
];

t.test('prefix visitor vectors (parser_test.go Visitor tests)', async (t) => {
  for (const [input, expected] of visitorVectors) {
    t.equal(canonicalSelector(prefixLabels(parseSelector(input).ast, 'visited/')), expected, input);
  }
});
