/**
 * ResolvedCluster.networkSetAt (which network set names an address in flow
 * records) looks up a map per prefix length instead of scanning every CIDR.
 * It must name exactly what the scan named: the longest matching CIDR, the
 * first entity (then CIDR) in entity order among equally long ones. Checked
 * on random nested and duplicated CIDRs of both families, on addresses
 * inside, at the edges of and outside them, and on the generated clusters.
 */
import t, { type Test } from 'tap';
import { SMALL, TINY, generateCluster, loadGeneratedCluster } from '../../src/gen/cluster.js';
import { Rng } from '../../src/gen/random.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import { cidrContains, formatCidr, formatIp, parseCidr, type IpAddr } from '../../src/net/ip.js';
import { ResolvedCluster, type Entity } from '../../src/resolve/index.js';

function scan(model: ResolvedCluster, addr: IpAddr): Entity | undefined {
  let best: Entity | undefined;
  let bestLen = -1;
  for (const s of model.entities) {
    if (s.kind !== 'ns' && s.kind !== 'gns') continue;
    for (const c of s.cidrs) {
      if (c.prefixLen > bestLen && cidrContains(c, addr)) {
        best = s;
        bestLen = c.prefixLen;
      }
    }
  }
  return best;
}

function check(t: Test, model: ResolvedCluster, addrs: IpAddr[], label: string): void {
  let bad = 0;
  for (const a of addrs) {
    const want = scan(model, a);
    const got = model.networkSetAt(a);
    if (got !== want && bad++ < 3) t.fail(`${label}: ${formatIp(a)} named ${got?.name} (scan: ${want?.name})`);
  }
  t.equal(bad, 0, `${label}: ${addrs.length} addresses named as the scan names them`);
}

/** Addresses around every CIDR of the model's network sets, and random ones. */
function probes(rng: Rng, model: ResolvedCluster, random: number): IpAddr[] {
  const out: IpAddr[] = [];
  for (const e of model.entities) {
    if (e.kind !== 'ns' && e.kind !== 'gns') continue;
    for (const c of e.cidrs) {
      const bits = c.family === 4 ? 32 : 128;
      const size = 1n << BigInt(bits - c.prefixLen);
      const max = (1n << BigInt(bits)) - 1n;
      for (const v of [c.base, c.base + size - 1n, c.base - 1n, c.base + size, c.base + BigInt(rng.int(0, 1000)) % size]) {
        if (v >= 0n && v <= max) out.push({ family: c.family, value: v });
      }
    }
  }
  for (let i = 0; i < random; i++) {
    out.push({ family: 4, value: BigInt(rng.int(0, 0xffffffff)) });
    out.push({ family: 6, value: (BigInt(rng.int(0, 0xffffffff)) << 96n) | BigInt(rng.int(0, 0xffffffff)) });
  }
  return out;
}

t.test('random nested and duplicated network sets', async (t) => {
  for (let seed = 1; seed <= 5; seed++) {
    const rng = new Rng(seed);
    const bases4 = ['10.0.0.0', '10.1.0.0', '192.168.0.0', '203.0.113.0', '0.0.0.0'];
    const bases6 = ['fd00::', 'fd00:1::', '2001:db8::', '::'];
    const docs: string[] = [];
    for (let i = 0; i < 12; i++) {
      const nets: string[] = [];
      for (let k = rng.int(1, 5); k > 0; k--) {
        if (rng.int(0, 3) === 0) nets.push(`${rng.pick(bases6)}/${rng.pick([0, 16, 32, 48, 64, 128])}`);
        else nets.push(`${rng.pick(bases4)}/${rng.pick([0, 8, 16, 24, 28, 32])}`);
      }
      const masked = nets.map((n) => formatCidr(parseCidr(n)!.cidr));
      docs.push(
        i % 2
          ? `apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: g${i}\n  labels: {n: "${i}"}\nspec:\n  nets: [${masked.map((n) => `"${n}"`).join(', ')}]\n`
          : `apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n  name: s${i}\n  namespace: ns${i % 3}\nspec:\n  nets: [${masked.map((n) => `"${n}"`).join(', ')}]\n`,
      );
    }
    const loaded = loadClusterFromTexts([{ name: `sets-${seed}.yaml`, text: docs.join('---\n') }]);
    const model = new ResolvedCluster(loaded.cluster);
    check(t, model, probes(rng, model, 300), `seed ${seed}`);
  }
});

t.test('generated clusters', async (t) => {
  for (const [label, size] of [['tiny', TINY], ['small', SMALL]] as const) {
    const model = new ResolvedCluster(loadGeneratedCluster(generateCluster(3, size)).cluster);
    check(t, model, probes(new Rng(9), model, 500), label);
  }
});
