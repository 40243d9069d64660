/**
 * LabelIndex narrows selector candidates through an inverted label index and
 * skips evaluation when the selector is made only of indexable terms
 * (==, in, has under && and ||). Its answers must be exactly a full scan's:
 * checked on generated clusters' entities for every policy selector, random
 * selectors over the entities' own label vocabulary, and edge cases.
 */
import t from 'tap';
import { SMALL, TINY, buildGeneratedCluster, generateClusterObjects } from '../../src/gen/cluster.js';
import { Rng } from '../../src/gen/random.js';
import { RICH_SELECTORS, randomSelector, type LabelVocab } from '../../src/gen/selectors.js';
import { parseSelector } from '../../src/parse/selector/index.js';
import type { Selector } from '../../src/parse/selector/types.js';
import { LabelIndex } from '../../src/resolve/labelindex.js';
import { ResolvedCluster, type Entity } from '../../src/resolve/index.js';

const EDGE = [
  'all()',
  'has(app)',
  '!has(app)',
  "app == ''",
  "app in {}",
  "app not in {}",
  "app in {'web', 'api', 'web'}",
  "app == 'web' && has(tier)",
  "app == 'web' && tier != 'frontend'",
  "(app == 'web' || app == 'db') && has(env)",
  "app == 'web' || !has(env)",
  "app contains 'e' && has(env)",
  "app starts with 'w' || app ends with 'b'",
  "has(projectcalico.org/namespace) && projectcalico.org/orchestrator == 'k8s'",
  "pcns.projectcalico.org/name in {'ns-0', 'ns-1'} && has(app)",
];

function vocabulary(entities: Entity[]): LabelVocab {
  const vocab: Record<string, Set<string>> = {};
  for (const e of entities) {
    const labels = e.labels as unknown as { keys(): Iterable<string>; get(k: string): string | undefined };
    for (const k of labels.keys()) (vocab[k] ??= new Set()).add(labels.get(k)!);
  }
  return Object.fromEntries(Object.entries(vocab).map(([k, vs]) => [k, [...vs, 'no-such-value']]));
}

for (const [name, size, seed] of [['tiny', TINY, 1], ['tiny', TINY, 2], ['tiny', TINY, 3], ['small', SMALL, 1]] as const) {
  t.test(`${name} seed ${seed}: index answers equal a full scan`, (tt) => {
    const model = new ResolvedCluster(buildGeneratedCluster(generateClusterObjects(seed, size)).cluster);
    const entities = model.entities;
    const index = new LabelIndex(entities);
    const selectors: Selector[] = [];
    for (const p of model.cluster.policies) selectors.push(model.appliesTo(p));
    for (const text of EDGE) selectors.push(parseSelector(text));
    const vocab = vocabulary(entities);
    const rng = new Rng(seed);
    for (let i = 0; i < 400; i++) selectors.push(parseSelector(randomSelector(rng, vocab, Object.keys(vocab), RICH_SELECTORS)));
    /** The index answers exactly as a scan of its entities, for every selector. */
    const sameAsScan = (ix: LabelIndex<Entity>, population: Entity[], what: string): void => {
      let bad = 0;
      for (const sel of selectors) {
        const want = population.filter((e) => sel.matches(e.labels)).map((e) => e.id);
        const got = ix.matching(sel).map((e) => e.id);
        if (want.join(',') !== got.join(',')) {
          bad++;
          if (bad <= 3) tt.fail(`${what}: ${sel.canonical}: index ${got.length} entities, scan ${want.length}`);
        }
      }
      tt.equal(bad, 0, `${selectors.length} selectors over ${what}`);
    };
    sameAsScan(index, entities, `${entities.length} entities`);
    // An index of a subset taken from the full index's lists (as the applying
    // index of a whole cluster): answers equal a scan of the subset. Both a
    // subset with gaps and a prefix of the entities (the endpoints: lists
    // shared as prefixes of the full index's).
    const subsets = {
      gapped: entities.filter((e, i) => e.kind === 'wep' || e.kind === 'hep' || i % 3 === 0),
      prefix: entities.filter((e) => e.kind === 'wep' || e.kind === 'hep'),
    };
    tt.ok(subsets.prefix.every((e, i) => e.id === i), 'endpoints are a prefix of the entities');
    for (const [name, subset] of Object.entries(subsets)) {
      const sub = new LabelIndex(subset, { index, basePositions: Int32Array.from(subset, (e) => e.id) });
      sameAsScan(sub, subset, `a ${name} subset of ${subset.length} entities`);
    }
    tt.end();
  });
}
