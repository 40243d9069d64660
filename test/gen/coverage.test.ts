/**
 * The generated policies use every rule field the engine must implement
 * (walk of the IR, plus spellings only visible in the raw objects).
 */
import t from 'tap';
import { TINY, buildGeneratedCluster, generateClusterObjects } from '../../src/gen/index.js';
import { irFeatures, rawFeatures } from './helpers.js';

const REQUIRED = [
  // actions, versions, protocols
  'action Allow', 'action Deny', 'action Pass', 'action Log',
  'ipVersion 4', 'ipVersion 6',
  'protocol 6', 'protocol 17', 'protocol 132', 'protocol 1', 'protocol 58', 'protocol 136', 'protocol other',
  'protocol name', 'protocol number', 'protocol quoted number',
  'notProtocol', 'notProtocol name', 'notProtocol number',
  'icmp type', 'icmp type+code', 'notICMP type', 'notICMP type+code',
  // entity rules, both sides
  ...['source', 'destination'].flatMap((s) => [
    `${s}.nets`, `${s}.notNets`, `${s}.selector`, `${s}.notSelector`, `${s}.namespaceSelector`,
    `${s}.serviceAccounts.names`, `${s}.serviceAccounts.selector`, `${s}.services`,
    `${s}.ports number`, `${s}.ports range`, `${s}.ports named`,
    `${s}.notPorts number`, `${s}.notPorts named`,
  ]),
  'destination.notPorts range',
  'nets /0', 'nets v6', 'namespaceSelector global()', 'namespaceSelector all()', 'http',
  // policy headers and kinds
  'kind GlobalNetworkPolicy', 'kind NetworkPolicy', 'kind KubernetesNetworkPolicy',
  'kind StagedGlobalNetworkPolicy', 'kind StagedNetworkPolicy', 'kind StagedKubernetesNetworkPolicy',
  'gnp namespaceSelector', 'gnp serviceAccountSelector', 'np serviceAccountSelector',
  'applyOnForward', 'preDNAT', 'doNotTrack', 'policy order none', 'egress type without rules',
  'tier unordered', 'tier Pass',
  // Kubernetes NetworkPolicy conversion inputs
  'knp ipBlock except', 'knp podSelector+namespaceSelector', 'knp named port', 'knp endPort range', 'knp endPort',
  'knp rule without peers', 'knp empty peer list', 'knp empty peer',
  // endpoints, services, sets
  'pod hostNetwork', 'pod unscheduled', 'pod Succeeded', 'pod dual stack', 'pod v6 only', 'pod named ports',
  'named port with several numbers',
  'service ClusterIP', 'service NodePort', 'service LoadBalancer', 'service externalIPs', 'service loadBalancer IP',
  'service v6 clusterIP', 'service without slices', 'endpoint not ready',
  'hep named', 'hep wildcard', 'hep profiles', 'Profile', 'Node addresses',
  'NetworkSet', 'GlobalNetworkSet', 'netset /0', 'netset v6', 'netset nested',
];

t.test('tiny over 8 seeds covers every feature', async (t) => {
  const seen = new Map<string, number>();
  for (let seed = 1; seed <= 8; seed++) {
    const objs = generateClusterObjects(seed, TINY);
    const r = buildGeneratedCluster(objs);
    const f = irFeatures(r.cluster);
    for (const x of rawFeatures(objs.files.flatMap((file) => file.objects))) f.add(x);
    for (const x of f) seen.set(x, (seen.get(x) ?? 0) + 1);
  }
  const missing = REQUIRED.filter((x) => !seen.has(x));
  t.same(missing, [], 'no feature missing');
  t.comment(`features (seeds of 8): ${[...seen].sort().map(([k, v]) => `${k}=${v}`).join(', ')}`);
});
