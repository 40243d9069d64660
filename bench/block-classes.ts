/**
 * Question: would per-tier-block identity classes pay on an image? (docs/BENCHMARKS.md,
 * "What remains" 1: the RFC idea applied to Calico blocks.) Per tier block and side, the sets
 * its IPv4 rules test, and how many distinct projections of the image's identities onto those
 * sets there are (the classes a per-block identity table would hold); then what such tables
 * would weigh, dense (blocks x identities x 2 sides x 2 bytes) or sparse (identities outside
 * their block's most common class).
 *   npx tsx bench/block-classes.ts IMAGE.nvt [sampleIdentities=2000]
 * Identities are sampled evenly when there are more than the sample (class counts are then a
 * lower bound, sparse entries are scaled up).
 */
import { readFileSync } from 'node:fs';
import { readImage } from '../src/format/image.js';
import type { SectionName } from '../src/format/spec.js';

const path = process.argv[2];
if (!path) {
  console.error('usage: npx tsx bench/block-classes.ts IMAGE.nvt [sampleIdentities=2000]');
  process.exit(2);
}
const sample = Number(process.argv[3] ?? '2000');
const img = readImage(new Uint8Array(readFileSync(path)));
const sec = (name: SectionName) => {
  const s = img.section(name);
  if (!s) throw new Error(`image has no ${name} section`);
  return s;
};
const u32 = (name: SectionName, i: number, at = 0): number => img.view.getUint32(sec(name).offset + i * sec(name).recordSize + at, true);
const u8 = (name: SectionName, i: number, at: number): number => img.view.getUint8(sec(name).offset + i * sec(name).recordSize + at);

// Identities in use (the address classes'), each as its sorted set ids.
const inUse = new Set<number>();
for (let i = 0; i < sec('CLASSES').count; i++) inUse.add(u32('CLASSES', i, 0));
const all = [...inUse];
const step = Math.max(1, Math.ceil(all.length / sample));
const ids = all.filter((_, i) => i % step === 0);
const rowOf = (id: number): Uint32Array => {
  const start = u32('IDENTITY_ROWS', id, 0), count = u32('IDENTITY_ROWS', id, 4);
  const a = new Uint32Array(count);
  for (let k = 0; k < count; k++) a[k] = u32('IDENTITY_SETS', start + k);
  return a;
};
const rows = new Map(ids.map((id) => [id, rowOf(id)]));
const has = (r: Uint32Array, x: number): boolean => {
  let lo = 0, hi = r.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (r[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo < r.length && r[lo] === x;
};

let blocks = 0, rules = 0;
const sets = [0, 0], maxSets = [0, 0], classes = [0, 0], maxClasses = [0, 0], sparse = [0, 0];
for (let b = 0; b < sec('TIER_BLOCKS').count; b++) {
  const start = u32('TIER_BLOCKS', b, 0), count = u32('TIER_BLOCKS', b, 4);
  if (count === 0) continue;
  blocks++;
  rules += count;
  const tested: [Set<number>, Set<number>] = [new Set(), new Set()];
  for (let i = 0; i < count; i++) {
    const m = u32('RULE_REFS', start + i);
    const ts = u32('MATCHES', m, 12), tc = u32('MATCHES', m, 16);
    for (let k = 0; k < tc; k++) tested[u8('ADDR_TESTS', ts + k, 4)]!.add(u32('ADDR_TESTS', ts + k, 0));
  }
  for (let side = 0; side < 2; side++) {
    const s = [...tested[side]!];
    sets[side]! += s.length;
    maxSets[side] = Math.max(maxSets[side]!, s.length);
    const byKey = new Map<string, number>();
    for (const id of ids) {
      const r = rows.get(id)!;
      const key = s.filter((x) => has(r, x)).join(',');
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    }
    classes[side]! += byKey.size;
    maxClasses[side] = Math.max(maxClasses[side]!, byKey.size);
    sparse[side]! += (ids.length - Math.max(...byKey.values())) * step;
  }
}
const mean = (a: number[]) => a.map((x) => +(x / blocks).toFixed(1));
console.log(JSON.stringify({
  image: path,
  tierBlocks: blocks,
  ipv4RuleRefs: rules,
  identities: all.length,
  sampled: ids.length,
  setsPerBlockSide: { mean: mean(sets), max: maxSets },
  classesPerBlockSide: { mean: mean(classes), max: maxClasses },
  denseTablesMB: +((blocks * all.length * 2 * 2) / 1e6).toFixed(1),
  sparseEntries: sparse,
}, null, 1));
