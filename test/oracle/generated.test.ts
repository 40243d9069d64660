/**
 * Differential test on seeded random clusters (src/gen, preset tiny: every
 * rule field, IPv4 and IPv6, tiers with Pass, KNP/NP/GNP, host endpoints,
 * services) × seeded tuples, native engine vs the reference evaluator, for
 * the whole-cluster view and one node's data path, with each
 * DefaultEndpointToHostAction. NETVERDICT_DIFF_TUPLES sets the total
 * (default 1,000,000); every other seed runs the engine with NV_LPM=search
 * (address lookup by binary search instead of the trie) and every other pair
 * of seeds with a decision tree on every IPv4 block, and by dozens of runs
 * with programs read from the image's tables instead of the derived flat
 * programs (NV_FLAT_PROGRAMS=0) or flat with one inline tier reference
 * (NV_FLAT_REFS=1), and by threes with program masks on every program that
 * qualifies (NV_PMASK_MIN_RULES=0), with or without the node lane path
 * (NV_NODE_LANES=0), half of those with every tier cut after its first rule
 * and programs after four positions (NV_PMASK_TIER=1, NV_PMASK_POSITIONS=4:
 * the masks hand the rest to the walk), the lanes' runs half with their
 * table of first positions and half without (NV_LANE_MEMO=0: the lanes AND
 * the masks), or with the lanes walking every program (NV_PMASK=0,
 * NV_NODE_LANES=1). A mismatch prints the seed, options and the tuple:
 * `netverdict explain` on `src/gen` seed N reproduces it.
 */
import t from 'tap';
import { generateCluster, loadGeneratedCluster, TINY } from '../../src/gen/cluster.js';
import { serviceFrontend } from '../../src/reference/evaluate.js';
import { ResolvedCluster, type ResolveOptions } from '../../src/resolve/index.js';
import { describeTuple, differential } from './compare.js';
import { generateTuples } from './tuples.js';

const TOTAL = Number(process.env.NETVERDICT_DIFF_TUPLES ?? 1_000_000);
const PER_RUN = 20_000;
const runs = Math.max(1, Math.ceil(TOTAL / PER_RUN));

let total = 0;
let mismatches = 0;
let maskRuns = 0;
let cutRuns = 0;
let laneRuns = 0;
let memoRuns = 0;
let maskLaneRuns = 0;
/** Tuples whose destination is a service frontend, by frontend kind (NodePorts must be among them). */
const frontendKinds: Record<string, number> = {};
const outcomes: Record<string, number> = {};
for (let run = 0; run < runs; run++) {
  const seed = Math.floor(run / 3) + 1;
  const variant = run % 3;
  const g = generateCluster(seed, TINY);
  const loaded = loadGeneratedCluster(g);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) {
    t.fail(`seed ${seed}: generated cluster does not load: ${errors[0]!.message}`);
    continue;
  }
  const nodes = [...new Set(loaded.cluster.pods.map((p) => p.nodeName).filter((n): n is string => !!n))].sort();
  const options: ResolveOptions =
    variant === 0 ? {} : variant === 1 ? { endpointToHostAction: 'Return' } : { endpointToHostAction: 'Accept', ...(nodes[0] ? { node: nodes[0] } : {}) };
  const model = new ResolvedCluster(loaded.cluster, options);
  const tuples = generateTuples(seed * 7 + variant, model, PER_RUN);
  for (const tp of tuples) {
    const kind = serviceFrontend(model, tp)?.frontend.kind;
    if (kind) frontendKinds[kind] = (frontendKinds[kind] ?? 0) + 1;
  }
  // Every other seed loads the engine with the /16 index + binary search
  // instead of the derived 16-8-8 trie (NV_LPM=search, read at load).
  const searchLpm = Math.floor(run / 3) % 2 === 1;
  if (searchLpm) process.env.NV_LPM = 'search';
  // Every other seed, too, gets a decision tree on every IPv4 tier block
  // (NV_DTREE_MIN_RULES=1; by default only blocks of 64+ rules get one, which
  // tiny clusters lack): exact leaf boxes and the batch loop's lockstep
  // descent hints are compared with the reference here.
  const allTrees = Math.floor(run / 6) % 2 === 0;
  if (allTrees) process.env.NV_DTREE_MIN_RULES = '1';
  // And, by dozens of runs, programs are read from the derived one-line flat
  // programs (default; only programs over 3 ops use the image's tables), from
  // PROGRAMS / OPS / TIER_REFS (NV_FLAT_PROGRAMS=0), or flat with at most one
  // inline tier reference (NV_FLAT_REFS=1: the rest read from TIER_REFS).
  const flatMode = Math.floor(run / 12) % 3;
  if (flatMode === 1) process.env.NV_FLAT_PROGRAMS = '0';
  if (flatMode === 2) process.env.NV_FLAT_REFS = '1';
  // And by threes of runs: program masks (engine.h PmProg) on every program
  // that qualifies (NV_PMASK_MIN_RULES=0; by default only programs of 40+
  // rules, which tiny clusters lack), with the node lane path or without it
  // (NV_NODE_LANES=0); no masks and the lanes walking every program, on whole
  // clusters too (NV_PMASK=0, NV_NODE_LANES=1); or the default (lanes on one
  // node's image).
  const pmMode = Math.floor(run / 3) % 4;
  if (pmMode === 1 || pmMode === 2) process.env.NV_PMASK_MIN_RULES = '0';
  if (pmMode === 2) process.env.NV_NODE_LANES = '0';
  // Half of those with cut programs (PM_WALK positions, engine.h kPmWords).
  const cutMode = (pmMode === 1 || pmMode === 2) && Math.floor(run / 12) % 2 === 1;
  if (cutMode) {
    process.env.NV_PMASK_TIER = '1';
    process.env.NV_PMASK_POSITIONS = '4';
  }
  // The lanes' runs: half without their first-position table (engine.h pmMemo_).
  const memoOff = pmMode === 1 && Math.floor(run / 24) % 2 === 1;
  if (memoOff) process.env.NV_LANE_MEMO = '0';
  if (pmMode === 3) {
    process.env.NV_PMASK = '0';
    process.env.NV_NODE_LANES = '1';
  }
  const d = differential(model, tuples);
  delete process.env.NV_PMASK_MIN_RULES;
  delete process.env.NV_PMASK_TIER;
  delete process.env.NV_PMASK_POSITIONS;
  delete process.env.NV_PMASK;
  delete process.env.NV_NODE_LANES;
  delete process.env.NV_LANE_MEMO;
  if (d.pmCount > 0) maskRuns++;
  if (d.pmCut) cutRuns++;
  if (d.nodeLanes && d.pmCount > 0) {
    if (d.laneMemoBytes > 0) memoRuns++;
    else maskLaneRuns++;
  }
  if (d.nodeLanes) laneRuns++;
  if (searchLpm) delete process.env.NV_LPM;
  if (allTrees) delete process.env.NV_DTREE_MIN_RULES;
  delete process.env.NV_FLAT_PROGRAMS;
  delete process.env.NV_FLAT_REFS;
  total += d.tuples;
  mismatches += d.mismatches.length;
  for (const [k, v] of Object.entries(d.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  for (const m of d.mismatches.slice(0, 3)) {
    t.comment(`MISMATCH [${m.strategy}] gen seed ${seed} preset tiny options ${JSON.stringify(options)} tuple ${describeTuple(m.tuple)}\n  reference: ${m.reference}\n  native:    ${m.native}`);
  }
  if (d.mismatches.length) t.fail(`seed ${seed} ${JSON.stringify(options)}: ${d.mismatches.length} of ${d.tuples} tuples differ`);
}
t.comment(`outcomes: ${JSON.stringify(outcomes)}`);
t.comment(`service frontends hit: ${JSON.stringify(frontendKinds)}`);
t.ok((frontendKinds.nodePort ?? 0) > 0 && (frontendKinds.clusterIP ?? 0) > 0, 'the generated tuples hit NodePorts and ClusterIPs');
t.comment(`runs with program masks: ${maskRuns} (cut: ${cutRuns}), with the node lane path: ${laneRuns} (lane programs by the first-position table: ${memoRuns}, by their masks: ${maskLaneRuns})`);
if (runs >= 12) t.ok(maskRuns > 0 && laneRuns > 0, 'program masks and the node lane path were compared with the reference');
if (runs >= 48) t.ok(cutRuns > 0, 'cut program masks (PM_WALK) were compared with the reference');
if (runs >= 48) t.ok(memoRuns > 0 && maskLaneRuns > 0, 'lane programs with and without the first-position table were compared with the reference');
t.equal(mismatches, 0, `${total} tuples over ${runs} cluster/option runs: engine == reference`);
