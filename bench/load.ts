/**
 * Not a test: measures loadCluster on a generated cluster of 1,000 Calico
 * policies and 10,000 pods (kubectl-like pod objects).
 *   npx tsx bench/load.ts [policies] [pods]
 */
import { loadClusterFromTexts } from '../src/model/load.js';

const nPolicies = Number(process.argv[2] ?? 1000);
const nPods = Number(process.argv[3] ?? 10000);

function policies(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns-${i % 50}`;
    out.push(`apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: policy-${i}
  namespace: ${ns}
spec:
  order: ${i}
  selector: app == 'app-${i % 200}' && tier in {'web', 'api'}
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: role == 'frontend'
      namespaceSelector: team == 'team-${i % 10}'
    destination:
      ports: [80, 443, "8000:8100", http]
  - action: Deny
    source:
      nets: [10.${i % 256}.0.0/16, 192.168.0.0/24]
  egress:
  - action: Allow
    protocol: UDP
    destination:
      ports: [53]
      selector: k8s-app == 'kube-dns'
      namespaceSelector: projectcalico.org/name == 'kube-system'
  - action: Allow
    destination:
      notNets: [10.0.0.0/8]
`);
  }
  return out.join('---\n');
}

function pods(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    out.push(`apiVersion: v1
kind: Pod
metadata:
  name: pod-${i}
  namespace: ns-${i % 50}
  labels:
    app: app-${i % 200}
    tier: web
    pod-template-hash: 7d4b9c8f6d
  annotations:
    cni.projectcalico.org/podIP: ${ip}/32
  uid: 5c1f7c6e-2a44-4c2e-8d0b-${String(i).padStart(12, '0')}
spec:
  nodeName: node-${i % 20}
  serviceAccountName: default
  containers:
  - name: main
    image: nginx:1.27
    ports:
    - containerPort: 8080
      name: http
      protocol: TCP
    resources: {}
  restartPolicy: Always
status:
  phase: Running
  hostIP: 192.168.10.${i % 20}
  podIP: ${ip}
  podIPs:
  - ip: ${ip}
  conditions:
  - type: Ready
    status: "True"
`);
  }
  return out.join('---\n');
}

const texts = [
  { name: 'policies.yaml', text: policies(nPolicies) },
  { name: 'pods.yaml', text: pods(nPods) },
];
const mb = (texts[0]!.text.length + texts[1]!.text.length) / 1e6;
const runs = Number(process.argv[4] ?? 5);
const times: number[] = [];
for (let run = 0; run < runs; run++) {
  const t0 = performance.now();
  const r = loadClusterFromTexts(texts);
  const ms = performance.now() - t0;
  times.push(ms);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  console.log(
    `run ${run}: ${nPolicies} policies + ${nPods} pods (${mb.toFixed(1)} MB YAML) loaded in ${ms.toFixed(0)} ms; ` +
      `${r.cluster.policies.length} policies, ${r.cluster.pods.length} pods, ${errors} errors`,
  );
}

const sorted = [...times].sort((a, b) => a - b);
console.log(`min ${sorted[0]!.toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms over ${runs} runs (first run includes JIT warm-up)`);
