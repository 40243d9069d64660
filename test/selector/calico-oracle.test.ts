/**
 * Differential test against Calico's own selector code (tokenizer.go, parser.go,
 * ast.go compiled by test/selector/oracle/build.sh). Skipped unless
 * NV_CALICO_SELECTOR_ORACLE names the built oracle binary.
 *
 * For every input (valid noisy spellings, random mutations of them, random
 * token soup, hand-picked edge cases) it checks: accept/reject agrees, the
 * canonical string is byte-identical, and evaluation agrees on random labels.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { parseSelector, SelectorSyntaxError } from '../../src/parse/selector/index.js';
import { Gen } from './gen.js';

const ORACLE = process.env.NV_CALICO_SELECTOR_ORACLE;
const SEED = Number(process.env.NV_SELECTOR_FUZZ_SEED ?? 0xca1c0);
const COUNT = Number(process.env.NV_SELECTOR_FUZZ_COUNT ?? 20000);

const EDGE = [
  '', ' ', '\t', '\n', 'a', 'a ', '!', '!!', '()', '(', ')', '{}', 'a in {}', 'a in {,}', `a in {'x',}`,
  `a in{'x'}`, `a contains'x'`, `a notin{'x'}`, `a starts  with'x'`, `a startswith 'x'`, `a ends with x`,
  `a starts with x`, `a in x`, `a not in x`, `in in {'x'}`, `not in {'x'}`, `has == 'x'`, `all == 'x'`,
  `has (a)`, `all ()`, `has( a )`, `all( )`, `HAS(a)`, `ALL()`, `has('a')`, `has(a b)`, `a IN {'x'}`,
  `a inx {'x'}`, `a containsx 'f'`, `a starts withx 'f'`, `a == x`, `a == 'x' b == 'y'`, `a == 'x')`,
  `a == 'x' ,`, `has(a) == 'x'`, `a ==`, `a == 'x' &&`, `a ! = 'x'`, `a !== 'x'`, `a = 'x'`, `a & b`,
  `a | b`, `{'a' 'b'}`, `a in {'a' 'b'}`, `a in {'a',,'b'}`, `a in {x}`, `a in {'x'`, `a == 'x`,
  `a == 'x\\'`, `a == "it's"`, `a == 'say "hi"'`, `!(!has(a))`, `!!!has(a)`, `(has(a) && has(b)) && has(c)`,
  'k'.repeat(512) + ` == 'x'`, 'k'.repeat(513) + ` == 'x'`, `has(${'k'.repeat(513)})`, `a == 'x'\n`,
  `a\u00a0== 'x'`, `é == 'x'`, `aé == 'x'`, `a == 'é😀'`, `a in {'😀', '\uffff', 'é', 'z'}`, `0 == 'x'`,
  `-a == 'x'`, `.a == 'x'`, `/a == 'x'`, `global()`, `!global()`, `global( )`, `global ()`, `allx()`,
  `a in {'x'} }`, `a == '' && b != ""`, `a contains ''`,
];

t.test('agrees with Calico on accept/reject, canonical form and evaluation', { skip: ORACLE ? false : 'NV_CALICO_SELECTOR_ORACLE not set' }, async (t) => {
  const g = new Gen(SEED);
  const inputs: string[] = [...EDGE];
  for (let i = 0; i < COUNT; i++) {
    const r = i % 3;
    const valid = g.noisy(g.ast(3));
    inputs.push(r === 0 ? valid : r === 1 ? g.mutate(valid) : g.soup());
  }
  const labelSets = Array.from({ length: 8 }, () => Object.fromEntries(g.labels()));
  labelSets.push({});
  const req = inputs.map((sel) => JSON.stringify({ sel, labels: labelSets })).join('\n') + '\n';
  const res = spawnSync(ORACLE as string, { input: req, maxBuffer: 1 << 30 });
  t.equal(res.status, 0, 'oracle ran');
  const lines = res.stdout.toString('utf8').trim().split('\n');
  t.equal(lines.length, inputs.length);

  let accepted = 0;
  let rejected = 0;
  let failures = 0;
  for (let i = 0; i < inputs.length && failures < 10; i++) {
    const sel = inputs[i];
    const o = JSON.parse(lines[i]) as { ok: boolean; validate: boolean; canon: string; err: string; results: boolean[] | null };
    let mine: ReturnType<typeof parseSelector> | undefined;
    let myErr: unknown;
    try {
      mine = parseSelector(sel);
    } catch (e) {
      myErr = e;
    }
    if (myErr !== undefined && !(myErr instanceof SelectorSyntaxError)) throw myErr;
    const ok = mine !== undefined;
    if (ok !== o.ok || o.validate !== o.ok) {
      failures++;
      t.fail('accept/reject differs', { sel, calico: o.ok ? 'accepts' : o.err, calicoValidate: o.validate, ours: ok ? 'accepts' : (myErr as Error).message });
      continue;
    }
    if (!mine) {
      rejected++;
      continue;
    }
    accepted++;
    if (mine.canonical !== o.canon) {
      failures++;
      t.fail('canonical differs', { sel, calico: o.canon, ours: mine.canonical });
      continue;
    }
    const results = labelSets.map((l) => mine.matches(l));
    if (JSON.stringify(results) !== JSON.stringify(o.results)) {
      failures++;
      t.fail('evaluation differs', { sel, calico: o.results, ours: results });
    }
  }
  t.equal(failures, 0, `${inputs.length} inputs (${accepted} accepted, ${rejected} rejected by both)`);
});
