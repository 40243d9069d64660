/**
 * Endpoint plans come from per-tier CSR lists built for the policed
 * endpoints at once (ResolvedCluster.applyingPolicies). They must equal the
 * definition — every tier's enforced policies, in order, whose applies-to
 * selector matches the endpoint's labels — for every policed endpoint, with
 * and without `--node` (then endpoints of other nodes and network sets are
 * outside the indexed population and filtered directly), for every tier.
 */
import t from 'tap';
import { SMALL, TINY, buildGeneratedCluster, generateClusterObjects } from '../../src/gen/cluster.js';
import { ResolvedCluster, type Entity } from '../../src/resolve/index.js';
import type { Policy } from '../../src/model/types.js';

type Applying = { applyingPolicies(e: Entity, tier: string): Policy[]; policiesByTier: Map<string, Policy[]> };
const names = (list: Policy[]): string => list.map((p) => `${p.kind}/${p.namespace ?? ''}/${p.name}`).join(',');

for (const [size, seeds] of [[TINY, [1, 2, 3, 4]], [SMALL, [1]]] as const) {
  for (const seed of seeds) {
    t.test(`${size.name} seed ${seed}`, async (t) => {
      const cluster = buildGeneratedCluster(generateClusterObjects(seed, size)).cluster;
      const whole = new ResolvedCluster(cluster);
      const node = whole.entities.find((e) => e.kind === 'wep' && e.node !== undefined)?.node;
      t.ok(node, 'a node with workloads');
      const perNode = new ResolvedCluster(cluster, { node });
      let checked = 0;
      let nonEmpty = 0;
      for (const model of [whole, perNode]) {
        const m = model as unknown as Applying;
        for (const e of model.entities) {
          for (const tier of model.orderedTiers) {
            const list = m.policiesByTier.get(tier.name) ?? [];
            const want = names(list.filter((p) => model.appliesTo(p).matches(e.labels)));
            const got = names(m.applyingPolicies(e, tier.name));
            if (got !== want) t.fail(`${model === whole ? 'cluster' : `node ${node}`}: ${e.kind} ${e.name} tier ${tier.name}: ${got} != ${want}`);
            checked++;
            if (want) nonEmpty++;
          }
        }
        // An entity that is not the model's own (a copy) is filtered directly.
        const e = model.entities.find((x) => x.kind === 'wep')!;
        const copy = { ...e };
        for (const tier of model.orderedTiers) {
          const list = m.policiesByTier.get(tier.name) ?? [];
          t.equal(names(m.applyingPolicies(copy, tier.name)), names(list.filter((p) => model.appliesTo(p).matches(e.labels))));
        }
      }
      t.ok(nonEmpty > 0 && nonEmpty < checked, `${checked} (entity, tier) lists checked, ${nonEmpty} non-empty`);
    });
  }
}
