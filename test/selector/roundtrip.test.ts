/**
 * Seeded randomized property tests:
 *  1. random AST -> canonical string -> re-parse: evaluation identical on random label sets,
 *     and the re-parsed tree equals normaliseSelector(ast) (what Calico's parser makes of it);
 *  2. random AST -> "noisy" but valid spelling -> parse: evaluation identical;
 *  3. compiled matcher == uncompiled oracle, for Map, plain object and labelsOf inputs.
 */
import t from 'tap';
import {
  canonicalSelector,
  labelsOf,
  makeSelector,
  normaliseSelector,
  parseSelector,
} from '../../src/parse/selector/index.js';
import { evaluateAst } from '../../src/parse/selector/evaluate.js';
import { Gen } from './gen.js';

const SEED = 0x5e1ec7;
const AST_COUNT = 3000;
const LABELSETS_PER_AST = 12;

t.test(`random round trip (seed ${SEED})`, async (t) => {
  const g = new Gen(SEED);
  let failures = 0;
  let checks = 0;
  for (let i = 0; i < AST_COUNT && failures < 5; i++) {
    const ast = g.ast(4);
    const canonical = canonicalSelector(ast);
    const reparsed = parseSelector(canonical);
    const text = g.noisy(ast);
    const noisySel = parseSelector(text);
    const compiled = makeSelector(ast);
    if (JSON.stringify(reparsed.ast) !== JSON.stringify(normaliseSelector(ast))) {
      failures++;
      t.fail(`re-parse of canonical != normaliseSelector: ${canonical}`);
    }
    if (canonicalSelector(normaliseSelector(ast)) !== reparsed.canonical) {
      failures++;
      t.fail(`canonical of normalised tree differs: ${canonical}`);
    }
    for (let j = 0; j < LABELSETS_PER_AST; j++) {
      const labels = g.labels();
      const obj = Object.fromEntries(labels);
      const expected = evaluateAst(ast, labels);
      const got = [
        compiled.matches(labels),
        compiled.matches(obj),
        compiled.matches(labelsOf(obj)),
        reparsed.matches(labels),
        reparsed.matches(obj),
        noisySel.matches(labels),
        noisySel.matches(obj),
      ];
      checks++;
      if (got.some((x) => x !== expected)) {
        failures++;
        t.fail('evaluation mismatch', { canonical, text, labels: obj, expected, got });
        break;
      }
    }
  }
  t.equal(failures, 0, `${AST_COUNT} random selectors, ${checks} label-set checks`);
});

t.test('compiled matcher agrees on Map and plain-object labels over many calls', async (t) => {
  const sel = parseSelector(`app in {'a', 'b', 'c', 'd'} && env != 'dev' && !has(skip) || tier starts with 'front'`);
  const labels = new Map([['app', 'c'], ['env', 'prod'], ['tier', 'back']]);
  const obj = { app: 'c', env: 'prod', tier: 'back' };
  let n = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) {
    if (sel.matches(labels)) n++;
    if (sel.matches(obj)) n++;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.equal(n, 2_000_000);
  // Timing is informational only: speed targets live in bench/, not in unit tests.
  t.comment(`2M evaluations took ${ms.toFixed(0)} ms`);
});
