/**
 * The compiler's shortcuts into the resolved model, checked against their
 * definitions on generated clusters (whole cluster and `--node`):
 * - forEachNormalTier visits planFor(e).normal[dir], each policy with its
 *   tierPosition (the index in its tier's policyLess order);
 * - namedPortEndpoints(sel, name, proto) lists, in entity then declaration
 *   order, the workload and host endpoints matching `sel` (all when
 *   undefined) that declare port `name` (with protocol `proto` when given),
 *   and namedPortMembers expands each to one member per address.
 */
import t from 'tap';
import { SMALL, TINY, buildGeneratedCluster, generateClusterObjects } from '../../src/gen/cluster.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import type { Selector } from '../../src/parse/selector/types.js';

for (const [size, seed] of [[TINY, 1], [TINY, 2], [SMALL, 1]] as const) {
  t.test(`${size.name} seed ${seed}`, (tt) => {
    const cluster = buildGeneratedCluster(generateClusterObjects(seed, size)).cluster;
    const whole = new ResolvedCluster(cluster);
    const node = whole.entities.find((e) => e.kind === 'wep' && e.node !== undefined)?.node;
    for (const model of [whole, new ResolvedCluster(cluster, { node })]) {
      const where = model === whole ? 'cluster' : `node ${node}`;
      // Tier walks.
      let walks = 0;
      for (const e of model.entities) {
        if (!model.isPoliced(e) || e.kind !== 'wep') continue;
        for (const dir of ['ingress', 'egress'] as const) {
          const got: string[] = [];
          model.forEachNormalTier(e, dir, (tier, policies, count, positions) => {
            for (let i = 0; i < count; i++) {
              if (positions[i] !== model.tierPosition(policies[i]!)) tt.fail(`${where}: ${e.name} ${dir}: position of ${policies[i]!.name}`);
              got.push(`${tier.name}/${policies[i]!.name}`);
            }
          });
          const want = model.planFor(e).normal[dir].flatMap((tp) => tp.policies.map((p) => `${tp.tier.name}/${p.name}`));
          if (got.join(',') !== want.join(',')) tt.fail(`${where}: ${e.name} ${dir}: ${got.join(',')} != ${want.join(',')}`);
          walks++;
        }
      }
      tt.ok(walks > 0, `${where}: ${walks} tier walks equal the plans`);
      // Named ports.
      const sels: (Selector | undefined)[] = [undefined];
      for (const p of cluster.policies) {
        for (const r of [...p.ingress, ...p.egress]) {
          for (const er of [r.source, r.destination]) {
            const s = model.ruleSelectors(er, p.namespace);
            if (s.positive) sels.push(s.positive);
            if (s.negative) sels.push(s.negative);
          }
        }
        sels.push(model.appliesTo(p));
      }
      const portNames = new Set<string>();
      for (const e of model.entities) for (const np of e.namedPorts) portNames.add(np.name);
      portNames.add('no-such-port');
      let sets = 0;
      for (const sel of sels.slice(0, 60)) {
        for (const name of portNames) {
          for (const proto of [undefined, 6, 17]) {
            const want: number[] = [];
            for (const e of model.entities) {
              if (e.kind !== 'wep' && e.kind !== 'hep') continue;
              if (sel && !sel.matches(e.labels)) continue;
              for (const np of e.namedPorts) if (np.name === name && (proto === undefined || np.protocol === proto)) want.push(e.id, np.protocol, np.port);
            }
            const got = model.ipsets.namedPortEndpoints(sel, name, proto);
            if (got.join(',') !== want.join(',')) tt.fail(`${where}: ${sel?.canonical ?? '<all>'} ${name} ${proto}: ${got.length / 3} endpoints, want ${want.length / 3}`);
            const members = model.ipsets.namedPortMembers(sel, name, proto);
            const wantMembers = [];
            for (let i = 0; i < want.length; i += 3) for (const c of model.entities[want[i]!]!.cidrs) wantMembers.push(`${c.family}:${c.base}:${want[i + 1]}:${want[i + 2]}`);
            const gotMembers = members.map((m) => `${m.addr.family}:${m.addr.value}:${m.proto}:${m.port}`);
            if (gotMembers.join(',') !== wantMembers.join(',')) tt.fail(`${where}: members of ${sel?.canonical ?? '<all>'} ${name} ${proto}`);
            sets++;
          }
        }
      }
      tt.ok(sets > 0, `${where}: ${sets} named-port sets equal a scan`);
    }
    tt.end();
  });
}
