/**
 * The size guard: ResolvedCluster.tierListRules() (what an image grows with)
 * equals its definition — the rules of every distinct (tier, applying
 * policies) list over the policed endpoints — and compileImage refuses a
 * model above the limit with ImageTooLargeError, which the CLI prints as a
 * plain message (exit 2) naming the ways out.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SMALL, TINY, buildGeneratedCluster, generateClusterObjects } from '../../src/gen/cluster.js';
import { compileImage } from '../../src/compile/index.js';
import { CompileLimitError, DEFAULT_MAX_RULE_ENTRIES, ImageTooLargeError, checkImageSize, maxRuleEntries } from '../../src/compile/limits.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import type { Policy } from '../../src/model/types.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function byDefinition(model: ResolvedCluster): number {
  const byTier = (model as unknown as { policiesByTier: Map<string, Policy[]> }).policiesByTier;
  const seen = new Set<string>();
  let total = 0;
  for (const e of model.entities) {
    if (!model.isPoliced(e)) continue;
    for (const [tier, list] of byTier) {
      const applying = list.filter((p) => model.appliesTo(p).matches(e.labels));
      const key = `${tier}|${applying.map((p) => `${p.kind}/${p.namespace ?? ''}/${p.name}`).join(',')}`;
      const rules = applying.reduce((n, p) => n + p.ingress.length + p.egress.length, 0);
      if (rules === 0 || seen.has(key)) continue;
      seen.add(key);
      total += rules;
    }
  }
  return total;
}

t.test('tierListRules equals its definition', (t) => {
  for (const [size, seed] of [[TINY, 1], [TINY, 2], [SMALL, 1]] as const) {
    const cluster = buildGeneratedCluster(generateClusterObjects(seed, size)).cluster;
    for (const options of [{}, { node: cluster.nodes[0]!.name }]) {
      const model = new ResolvedCluster(cluster, options);
      const want = byDefinition(model);
      t.ok(want > 0, 'some rules');
      t.equal(model.tierListRules(), want, `${size.name} seed ${seed} ${options.node ?? 'whole cluster'}: ${want}`);
    }
  }
  t.end();
});

t.test('compileImage refuses a model over the limit', (t) => {
  const model = new ResolvedCluster(buildGeneratedCluster(generateClusterObjects(1, TINY)).cluster);
  const n = model.tierListRules();
  t.doesNotThrow(() => checkImageSize(model, n));
  t.ok(thrown(() => checkImageSize(model, n - 1)) instanceof ImageTooLargeError, 'one below: refused');
  const saved = process.env.NETVERDICT_MAX_RULE_ENTRIES;
  try {
    process.env.NETVERDICT_MAX_RULE_ENTRIES = String(n - 1);
    const err = thrown(() => compileImage(model));
    t.ok(err instanceof ImageTooLargeError, 'ImageTooLargeError');
    t.equal((err as ImageTooLargeError).ruleEntries, n);
    t.match((err as Error).message, /--node NAME.*--scope traffic.*NETVERDICT_MAX_RULE_ENTRIES/);
    process.env.NETVERDICT_MAX_RULE_ENTRIES = String(n);
    t.ok(compileImage(model).image.length > 0, 'compiles at the limit');
  } finally {
    if (saved === undefined) delete process.env.NETVERDICT_MAX_RULE_ENTRIES;
    else process.env.NETVERDICT_MAX_RULE_ENTRIES = saved;
  }
  t.equal(maxRuleEntries({}), DEFAULT_MAX_RULE_ENTRIES);
  t.equal(maxRuleEntries({ NETVERDICT_MAX_RULE_ENTRIES: '1000' }), 1000);
  for (const bad of ['0', '-5', '1.5', 'many']) t.ok(thrown(() => maxRuleEntries({ NETVERDICT_MAX_RULE_ENTRIES: bad })) instanceof CompileLimitError, `"${bad}" refused`);
  t.end();
});

t.test('the CLI prints the refusal and exits 2, no stack trace', (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'compile', '-p', join(root, 'examples/egress-allowlist'), '-o', '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, NETVERDICT_MAX_RULE_ENTRIES: '1' },
  });
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /^netverdict: the image would hold about \d+ rule entries/);
  t.notMatch(r.stderr, /at .*\.ts:\d+/);
  t.end();
});
