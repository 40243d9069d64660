/**
 * Invalid selectors with the expected 0-based error position (SEMANTICS.md §1.1/§1.2).
 * Calico tokenizes the whole input before parsing, so a lexical error later in
 * the text wins over a grammatical one earlier; positions follow that order.
 */
import t from 'tap';
import { parseSelector, SelectorSyntaxError } from '../../src/parse/selector/index.js';

const K513 = 'k'.repeat(513);

// [selector, position, substring expected in reason]
const rows: Array<[string, number, string]> = [
  // ---- lone punctuation
  [`a = 'x'`, 2, 'expected "=="'],
  [`a =`, 2, 'expected "=="'],
  [`=`, 0, 'expected "=="'],
  [`a == 'x' & b == 'y'`, 9, 'expected "&&"'],
  [`a & b`, 2, 'expected "&&"'],
  [`a | b`, 2, 'expected "||"'],
  [`a == 'x' | b == 'y'`, 9, 'expected "||"'],
  [`foo == "bar" &`, 13, 'expected "&&"'],
  [`foo == "bar" |`, 13, 'expected "||"'],
  [`a ! = 'x'`, 4, 'expected "=="'],
  [`a !== 'x'`, 4, 'expected "=="'],
  [`a === 'x'`, 4, 'expected "=="'],
  [`a == 'x' && b = 'y'`, 14, 'expected "=="'], // lexical error wins
  [`a == x && b = 'y'`, 12, 'expected "=="'],
  // ---- functions
  [`has (a)`, 4, 'expected operator after label "has"'],
  [`all ()`, 4, 'expected operator after label "all"'],
  [`global ()`, 7, 'expected operator after label "global"'],
  [`HAS(a)`, 3, 'expected operator after label "HAS"'],
  [`ALL()`, 3, 'expected operator after label "ALL"'],
  [`Global()`, 6, 'expected operator after label "Global"'],
  [`has('a')`, 4, 'label name in has()'],
  [`has("a")`, 4, 'label name in has()'],
  [`has()`, 4, 'label name in has()'],
  [`has( )`, 5, 'label name in has()'],
  [`has(a b)`, 6, 'expected ")"'],
  [`has(a,b)`, 5, 'expected ")"'],
  [`has(foo`, 7, 'expected ")"'],
  [`has( foo `, 9, 'expected ")"'],
  [`has(`, 4, 'label name in has()'],
  [`has(a:b)`, 5, 'expected ")"'],
  [`has(${K513})`, 4, 'longer than 512'],
  [`all(`, 4, 'expected ")"'],
  [`all(x)`, 4, 'expected ")"'],
  [`all( x )`, 5, 'expected ")"'],
  [`global(`, 7, 'expected ")"'],
  [`global(a)`, 7, 'expected ")"'],
  [`all`, 3, 'expected operator after label "all"'],
  [`has`, 3, 'expected operator after label "has"'],
  [`has(a) == 'x'`, 7, 'after complete expression'],
  [`all() == 'x'`, 6, 'after complete expression'],
  [`allx()`, 4, 'expected operator after label "allx"'],
  // ---- word operators
  [`a IN {'x'}`, 2, 'expected operator after label "a", found "IN"'],
  [`a In {'x'}`, 2, 'found "In"'],
  [`a NOT IN {'x'}`, 2, 'found "NOT"'],
  [`a inx {'x'}`, 2, 'found "inx"'],
  [`a in_ {'x'}`, 2, 'found "in_"'],
  [`a in/ {'x'}`, 2, 'found "in/"'],
  [`a notinx {'x'}`, 2, 'found "notinx"'],
  [`a not inx {'x'}`, 2, 'expected operator'],
  [`a not {'x'}`, 2, 'expected operator'],
  [`a containsx 'f'`, 2, 'found "containsx"'],
  [`a contains-'f'`, 2, 'found "contains-"'],
  [`a CONTAINS 'f'`, 2, 'found "CONTAINS"'],
  [`a starts withx 'f'`, 2, 'expected operator'],
  [`a starts 'f'`, 2, 'expected operator'],
  [`a starts foo "value"`, 2, 'expected operator'],
  [`a ends foo "value"`, 2, 'expected operator'],
  [`a ends withs "value"`, 2, 'expected operator'],
  [`a startswiths 'f'`, 2, 'expected operator'],
  [`a squiggles "value"`, 2, 'found "squiggles"'],
  [`a b`, 2, 'found "b"'],
  [`a b == 'x'`, 2, 'found "b"'],
  [`a has(b)`, 2, 'found "has"'],
  [`a starts with x`, 2, 'expected operator'], // boundary check applies after "with" + spaces
  [`a not in x`, 2, 'expected operator'],
  [`a in x`, 5, 'set literal'], // "in" ends at a boundary, then a label
  // ---- right-hand sides
  [`a == x`, 5, 'quoted string'],
  [`b == b`, 5, 'quoted string'],
  [`b contains b`, 11, 'quoted string'],
  [`b starts with b`, 2, 'expected operator'], // multi-word: spaces after "with" skipped, then no boundary
  [`b ends with b`, 2, 'expected operator'],
  [`b starts with (`, 14, 'quoted string'],
  [`b ends with`, 11, 'quoted string'],
  [`a == 1`, 5, 'quoted string'],
  [`a == (`, 5, 'quoted string'],
  [`a != ||`, 5, 'quoted string'],
  [`a in "bar"`, 5, 'set literal'],
  [`a in ""`, 5, 'set literal'],
  [`a not in 'x'`, 9, 'set literal'],
  [`a in`, 4, 'set literal'],
  [`a ==`, 4, 'quoted string'],
  [`a == `, 5, 'quoted string'],
  [`a contains`, 10, 'quoted string'],
  [`a == 'x' == 'y'`, 9, 'after complete expression'],
  [`'b1' == b`, 0, 'unexpected'],
  [`'x'`, 0, 'unexpected'],
  // ---- leftovers and dangling operators
  [`a == 'x' b == 'y'`, 9, 'unexpected "b" after complete expression'],
  [`a == 'x')`, 8, 'unexpected ")" after complete expression'],
  [`a == 'x' ,`, 9, 'unexpected "," after complete expression'],
  [`a == 'x' }`, 9, 'after complete expression'],
  [`a == 'x' {`, 9, 'after complete expression'],
  [`a == 'x' !`, 9, 'after complete expression'],
  [`a == 'x' 'y'`, 9, 'after complete expression'],
  [`has(a) has(b)`, 7, 'after complete expression'],
  [`has(a) !has(b)`, 7, 'after complete expression'],
  [`(has(a)) (has(b))`, 9, 'after complete expression'],
  [`a == 'x' &&`, 11, 'unexpected end of selector'],
  [`a == 'x' && `, 12, 'unexpected end of selector'],
  [`a == 'x' ||`, 11, 'unexpected end of selector'],
  [`has(foo) &&`, 11, 'unexpected end of selector'],
  [`a == 'x' && || b == 'y'`, 12, 'unexpected "||"'],
  [`&& a == 'x'`, 0, 'unexpected "&&"'],
  [`|| a == 'x'`, 0, 'unexpected "||"'],
  [`!`, 1, 'unexpected end of selector'],
  [`!!`, 2, 'unexpected end of selector'],
  [`! `, 2, 'unexpected end of selector'],
  [`a`, 1, 'expected operator after label "a"'],
  [`a `, 2, 'expected operator after label "a"'],
  [`b`, 1, 'expected operator'],
  [`a && b`, 2, 'expected operator after label "a", found "&&"'],
  [`a || b`, 2, 'expected operator'],
  [`a )`, 2, 'expected operator'],
  [`a (`, 2, 'expected operator'],
  [`a {'x'}`, 2, 'expected operator'],
  [`a 'x'`, 2, 'expected operator'],
  [`a !'x'`, 2, 'expected operator'],
  [`(a)`, 2, 'expected operator'],
  // ---- parentheses
  [`(`, 1, 'unexpected end of selector'],
  [`(a == "foo"`, 11, 'expected ")"'],
  [`((has(a))`, 9, 'expected ")"'],
  [`)`, 0, 'unexpected ")"'],
  [`()`, 1, 'unexpected ")"'],
  [`( )`, 2, 'unexpected ")"'],
  [`(has(a)))`, 8, 'after complete expression'],
  [`has(a) && ()`, 11, 'unexpected ")"'],
  [`!()`, 2, 'unexpected ")"'],
  // ---- sets
  [`a in {,}`, 6, 'quoted string or "}"'],
  [`a in {'a' 'b'}`, 10, 'expected "," or "}"'],
  [`a in {'a',,'b'}`, 10, 'quoted string or "}"'],
  [`a in {'a',,}`, 10, 'quoted string or "}"'],
  [`a in {,'a'}`, 6, 'quoted string or "}"'],
  [`a in {x}`, 6, 'quoted string or "}"'],
  [`a in {x, y}`, 6, 'quoted string or "}"'],
  [`a in {'a', x}`, 11, 'quoted string or "}"'],
  [`a in {x y}`, 8, 'expected operator after label "x"'], // lexer: label followed by a non-operator
  [`a in {'a'`, 9, 'expected "," or "}"'],
  [`a in {'a',`, 10, 'quoted string or "}"'],
  [`a in {`, 6, 'quoted string or "}"'],
  [`a in {'a')`, 9, 'expected "," or "}"'],
  [`a in {'a'} }`, 11, 'after complete expression'],
  [`a in {{}}`, 6, 'quoted string or "}"'],
  [`a in {'a' && 'b'}`, 10, 'expected "," or "}"'],
  [`foo in {"", ||`, 12, 'quoted string or "}"'],
  [`a in ('a')`, 5, 'set literal'],
  [`a in ['a']`, 5, 'unexpected character "["'],
  [`{,}`, 0, 'unexpected "{"'],
  [`{'a'}`, 0, 'unexpected "{"'],
  // ---- strings
  [`a == 'x`, 5, 'unterminated string'],
  [`a == "x`, 5, 'unterminated string'],
  [`a == "x'`, 5, 'unterminated string'],
  [`a == 'x"`, 5, 'unterminated string'],
  [`a == 'x\\'`.slice(0, -1) + `\\`, 5, 'unterminated string'],
  [`"FOO`, 0, 'unterminated string'],
  [`'FOO`, 0, 'unterminated string'],
  [`"FOO'`, 0, 'unterminated string'],
  [`a in {'x', 'y}`, 11, 'unterminated string'],
  [`a == 'it\\'s'`, 11, 'unterminated string'], // no escapes: 'it\' then s then an unterminated '
  [`a == 'x' && b == "`, 17, 'unterminated string'],
  // ---- keys
  [`${K513} == 'x'`, 0, 'longer than 512'],
  [`a == 'x' && ${K513} == 'x'`, 12, 'longer than 512'],
  [`${K513}`, 0, 'longer than 512'],
  [`é == 'x'`, 0, 'unexpected character U+00E9'],
  [`aé == 'x'`, 1, 'expected operator after label "a", found U+00E9'],
  [`has(é)`, 4, 'label name in has()'],
  [`has(aé)`, 5, 'expected ")"'],
  [`a:b == 'x'`, 1, 'expected operator after label "a", found ":"'],
  [`a@b == 'x'`, 1, 'found "@"'],
  [`a*b == 'x'`, 1, 'found "*"'],
  [`a$ == 'x'`, 1, 'found "$"'],
  [`$a == 'x'`, 0, 'unexpected character "$"'],
  [`*`, 0, 'unexpected character "*"'],
  [`%`, 0, 'unexpected character "%"'],
  [`a == "b" && %`, 12, 'unexpected character "%"'],
  [`a == "b" || %`, 12, 'unexpected character "%"'],
  [`a == 'x' && 😀 == 'y'`, 12, 'unexpected character U+1F600'],
  [`[a]`, 0, 'unexpected character "["'],
  [`a == 'x';`, 8, 'unexpected character ";"'],
  // ---- whitespace other than space/tab
  [`a == 'x'\n`, 8, 'unexpected character U+000A'],
  [`\na == 'x'`, 0, 'unexpected character U+000A'],
  [`a\n== 'x'`, 1, 'expected operator after label "a", found U+000A'],
  [`a ==\n'x'`, 4, 'unexpected character U+000A'],
  [`a == 'x'\r\n`, 8, 'unexpected character U+000D'],
  [`a == 'x' &&\nb == 'y'`, 11, 'U+000A'],
  [`a\u00a0== 'x'`, 1, 'found U+00A0'],
  [`\u00a0a == 'x'`, 0, 'U+00A0'],
  [`a ==\u00a0'x'`, 4, 'U+00A0'],
  [`a == 'x'\u000b`, 8, 'U+000B'],
  [`a == 'x'\f`, 8, 'U+000C'],
  [`has(\na)`, 4, 'label name in has()'],
  [`all(\n)`, 4, 'expected ")"'],
  [`a not\nin {'x'}`, 2, 'expected operator'],
  [`a starts\u00a0with 'x'`, 2, 'expected operator'],
  [`\n`, 0, 'U+000A'],
  [`\r`, 0, 'U+000D'],
  [`\u3000`, 0, 'U+3000'],
];

t.test('invalid selectors throw SelectorSyntaxError at the expected position', async (t) => {
  for (const [sel, pos, reason] of rows) {
    const label = JSON.stringify(sel.length > 60 ? sel.slice(0, 57) + '...' : sel);
    let caught: unknown;
    try {
      parseSelector(sel);
    } catch (e) {
      caught = e;
    }
    if (!(caught instanceof SelectorSyntaxError)) {
      t.fail(`${label} should be rejected`, { got: caught });
      continue;
    }
    t.equal(caught.position, pos, `${label} position`);
    t.match(caught.reason, reason, `${label} reason`);
    t.equal(caught.selector, sel);
  }
});

t.test('error object shape', async (t) => {
  try {
    parseSelector(`a = 'x'`);
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof SelectorSyntaxError);
    t.ok(e instanceof Error);
    const err = e as SelectorSyntaxError;
    t.equal(err.code, 'NV-SELECTOR-SYNTAX');
    t.equal(err.name, 'SelectorSyntaxError');
    t.equal(err.selector, `a = 'x'`);
    t.equal(err.position, 2);
    t.equal(err.reason, 'expected "=="');
    t.equal(err.message.split('\n')[0], `invalid selector at character 2: expected "==": a = 'x'`);
    t.equal(err.message.split('\n')[1], `  a = 'x'`);
    t.equal(err.message.split('\n')[2], `    ^`);
  }
  try {
    parseSelector(`a ==`);
    t.fail('should throw');
  } catch (e) {
    const err = e as SelectorSyntaxError;
    t.equal(err.position, 4);
    t.match(err.message, /^invalid selector at character 4 \(end of selector\): /);
  }
  try {
    parseSelector(`a ==\n'x'`);
    t.fail('should throw');
  } catch (e) {
    const err = e as SelectorSyntaxError;
    // caret line stays aligned: control characters are shown as one character each
    t.equal(err.message.split('\n').length, 4);
    t.equal(err.message.split('\n')[3], '      ^');
  }
});
