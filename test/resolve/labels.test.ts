/**
 * An entity's label view reads its own labels, then each parent profile's
 * labelsToApply in order; the first definition of a key wins, in get, keys
 * and forEach alike (the view is read through the maps, not merged).
 */
import t from 'tap';
import type { Cluster, HostEndpoint, Profile } from '../../src/model/types.js';
import { buildEntities } from '../../src/resolve/entities.js';

const origin = { file: 'test', line: 1, column: 1, path: '' };
const profile = (name: string, labels: [string, string][]): Profile => ({
  name,
  labelsToApply: new Map(labels),
  ingress: [],
  egress: [],
  synthetic: false,
  origin,
});

t.test('own labels, then parents in order; the first definition wins', (tt) => {
  const hep: HostEndpoint = {
    name: 'h',
    node: 'n1',
    expectedIPs: [],
    profiles: ['p1', 'missing', 'p2'],
    labels: new Map([
      ['role', 'own'],
      ['a', 'own'],
    ]),
    ports: [],
    origin,
  };
  const cluster = { pods: [], hostEndpoints: [hep], networkSets: [] } as unknown as Cluster;
  const profiles = new Map([
    ['p1', profile('p1', [['role', 'p1'], ['zone', 'p1'], ['only1', 'x']])],
    ['p2', profile('p2', [['zone', 'p2'], ['a', 'p2'], ['only2', 'y'], ['empty', '']])],
  ]);
  const [e] = buildEntities(cluster, profiles);
  const labels = e!.labels as { get(k: string): string | undefined; keys(): Iterable<string>; forEach(v: (value: string, key: string) => void): void };
  const want: [string, string][] = [
    ['role', 'own'],
    ['a', 'own'],
    ['zone', 'p1'],
    ['only1', 'x'],
    ['only2', 'y'],
    ['empty', ''],
  ];
  for (const [k, v] of want) tt.equal(labels.get(k), v, `get ${k}`);
  tt.equal(labels.get('absent'), undefined, 'absent key');
  tt.same([...labels.keys()], want.map(([k]) => k), 'keys: each once, in view order');
  const seen: [string, string][] = [];
  labels.forEach((v, k) => seen.push([k, v]));
  tt.same(seen, want, 'forEach: each key once with its winning value');
  tt.end();
});
