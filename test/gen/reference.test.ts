/**
 * Sanity run of the reference evaluator on generated clusters and traffic:
 * it never throws, and the traffic produces both verdicts and several
 * decision reasons (i.e. the tuples are "interesting").
 */
import t from 'tap';
import { TINY, generateCluster, generateTuples, loadGeneratedCluster } from '../../src/gen/index.js';
import { ReferenceEvaluator, decidingEvaluation } from '../../src/reference/evaluate.js';
import { ResolvedCluster } from '../../src/resolve/index.js';

const SEEDS = [1, 2, 3];
const N = 20_000;

t.test('reference evaluator over 20k tuples per seed', async (t) => {
  const overall = new Map<string, number>();
  let totalMs = 0;
  let total = 0;
  for (const seed of SEEDS) {
    const { cluster } = loadGeneratedCluster(generateCluster(seed, TINY));
    const ev = new ReferenceEvaluator(new ResolvedCluster(cluster));
    const tuples = generateTuples(seed, cluster, N);
    const verdicts = { allow: 0, deny: 0 };
    const reasons = new Map<string, number>();
    const t0 = performance.now();
    let thrown: unknown;
    try {
      for (const tp of tuples) {
        const r = ev.evaluate(tp);
        verdicts[r.action]++;
        const d = decidingEvaluation(r);
        const key = d ? `${r.reason}/${d.point}:${d.reason}` : r.reason;
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
    } catch (e) {
      thrown = e;
    }
    const ms = performance.now() - t0;
    t.equal(thrown, undefined, `seed ${seed}: evaluate does not throw`);
    totalMs += ms;
    total += N;
    t.ok(verdicts.allow > N * 0.01, `seed ${seed}: some allows (${verdicts.allow})`);
    t.ok(verdicts.deny > N * 0.01, `seed ${seed}: some denies (${verdicts.deny})`);
    t.ok(reasons.size >= 5, `seed ${seed}: ${reasons.size} distinct decision reasons`);
    for (const [k, v] of reasons) overall.set(k, (overall.get(k) ?? 0) + v);
    t.comment(
      `seed ${seed}: allow ${((100 * verdicts.allow) / N).toFixed(1)}% deny ${((100 * verdicts.deny) / N).toFixed(1)}%, ${Math.round(N / (ms / 1000))} tuples/s`,
    );
  }
  const keys = [...overall.keys()];
  for (const r of ['policy/workload:rule', 'policy/workload:end_of_tier', 'policy/workload:profile', 'no_backend']) {
    t.ok(keys.includes(r), `reason ${r} occurs`);
  }
  t.ok(keys.some((k) => k.includes('/host:')), 'host endpoint policy decides some flows');
  t.ok(keys.some((k) => k.includes('/forward:')), 'forwarded (wildcard HEP) policy decides some flows');
  t.comment(`reasons: ${[...overall].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  t.comment(`reference evaluator: ${Math.round(total / (totalMs / 1000))} tuples/s on the tiny preset (under tsx)`);
});
