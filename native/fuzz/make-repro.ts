/**
 * Reproducers of the loader findings (native/fuzz/crashes/OPEN history), regenerated for the
 * current format instead of committed as stale bytes: each one compiles a real image
 * (examples/egress-allowlist), patches its records, and rewrites it with writeImage (layout,
 * lengths and CRC32C fixed), so the loader's structural checks are what it meets.
 *
 *   npx tsx native/fuzz/make-repro.ts [OUT_DIR]     (default build/fuzz-repro)
 *
 * writes <OUT_DIR>/<name>.nvt and <OUT_DIR>/expected.json ({ name: loader code }).
 * `make -C native/fuzz repro` runs every one through fuzz_image (no crash, no timeout);
 * test/native/fuzz.test.ts also checks each loader code through the addon.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileImage } from '../../src/compile/index.js';
import { readImage, writeImage, type Rec, type SectionData } from '../../src/format/image.js';
import { ACTION_LOG, NONE, OP_PROFILES, OP_TIERS, SECTION_NAMES, TIERS_NORMAL } from '../../src/format/spec.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import { ResolvedCluster } from '../../src/resolve/index.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');

export interface Repro {
  name: string;
  /** Loader error code the image must get (OK: accepted, and classification must be safe). */
  expect: string;
  why: string;
  image: Uint8Array;
}

type Sections = Record<string, Rec[]>;

function baseSections(): Sections {
  const dir = join(root, 'examples/egress-allowlist');
  const texts = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  const view = readImage(compileImage(new ResolvedCluster(loadClusterFromTexts(texts).cluster)).image);
  const out: Sections = {};
  for (const n of SECTION_NAMES) out[n] = view.records(n);
  return out;
}

function write(s: Sections): Uint8Array {
  return writeImage(s as unknown as SectionData);
}

/** An empty decision block (a tier block of Log rules only has none) reusing port table 0. */
function emptyDBlock(s: Sections): Rec {
  const first = s.DBLOCKS![0]!;
  return {
    ruleStart: 0, ruleCount: 0, words: 0, srcBase: 0, dstBase: 0, srcSetStart: 0, srcSetCount: 0, dstSetStart: 0, dstSetCount: 0,
    sportStart: first.sportStart!, sportCount: 1, dportStart: first.sportStart!, dportCount: 1,
  };
}

/** A program of `ops` TIERS ops over the same `tiers` refs to one block of `refs` refs to one match, then PROFILES. */
function aliasedProgram(s: Sections, ops: number, tiers: number, refs: number, match: Rec): void {
  const m = s.MATCHES!.length;
  s.MATCHES!.push(match);
  const refStart = s.RULE_REFS!.length;
  for (let i = 0; i < refs; i++) s.RULE_REFS!.push({ v: m });
  const tb = s.TIER_BLOCKS!.length;
  s.TIER_BLOCKS!.push({ v4Start: refStart, v4Count: refs, v6Start: refStart, v6Count: refs, endRule: 0, endAction: 2 });
  s.DBLOCKS!.push(emptyDBlock(s), emptyDBlock(s));
  const trStart = s.TIER_REFS!.length;
  for (let i = 0; i < tiers; i++) s.TIER_REFS!.push({ v: tb });
  const opStart = s.OPS!.length;
  for (let i = 0; i < ops; i++) s.OPS!.push({ opcode: OP_TIERS, arg: TIERS_NORMAL, start: trStart, count: tiers });
  s.OPS!.push({ opcode: OP_PROFILES, arg: 0, start: 0, count: 0 });
  s.PROGRAMS!.push({ opStart, opCount: ops + 1 });
  // Reachable: the first policed class runs it (the loader checks every program anyway).
  const c = s.CLASSES!.find((x) => (Number(x.flags) & 1) === 1);
  if (c) c.ingressProg = c.egressProg = s.PROGRAMS!.length - 1;
}

function logMatch(s: Sections): Rec {
  return { ...s.MATCHES![0]!, action: ACTION_LOG, flags: 0, addrTestStart: 0, addrTestCount: 0, dstSvcSet: NONE, srcPorts: NONE, srcNotPorts: NONE, dstPorts: NONE, dstNotPorts: NONE };
}

export function makeRepros(): Repro[] {
  const out: Repro[] = [];
  {
    const s = baseSections();
    aliasedProgram(s, 1000, 1000, 1000, logMatch(s));
    out.push({
      name: 'work-budget-aliased-tiers',
      expect: 'WORK_BUDGET',
      why: 'was timeout-classify-cost-unbounded (format 1.0): 1,000 TIERS ops x the same 1,000 tier refs x one block of 1,000 refs to one Log match, end action Pass: 10^9 rule visits per tuple',
      image: write(s),
    });
  }
  {
    // Per-rule work counts too: 20,000 refs to one match whose port list has 2,000 ranges.
    const s = baseSections();
    const rs = s.PORT_RANGES!.length;
    for (let i = 0; i < 2000; i++) s.PORT_RANGES!.push({ first: 2 * i + 1, last: 2 * i + 1 });
    s.PORT_LISTS!.push({ rangeStart: rs, rangeCount: 2000, namedStart: 0, namedCount: 0 });
    const m = logMatch(s);
    m.dstPorts = s.PORT_LISTS!.length - 1;
    aliasedProgram(s, 1, 1, 20000, m);
    out.push({ name: 'work-budget-heavy-rule', expect: 'WORK_BUDGET', why: '20,000 refs to one rule of 2,000 port ranges: 4 x 10^7 range tests per tuple', image: write(s) });
  }
  {
    // The 2.0 analogue of identity-words-wrap: a decision block whose ceil(ruleCount / 64) wraps in 32 bits.
    const s = baseSections();
    Object.assign(s.DBLOCKS![0]!, { ruleCount: 0xffffffc1, words: 0 });
    out.push({ name: 'dblock-words-wrap', expect: 'BAD_INDEX', why: 'DBLOCKS ruleCount 0xFFFFFFC1, words 0 (= (ruleCount + 63) / 64 in u32)', image: write(s) });
  }
  {
    const s = baseSections();
    Object.assign(s.DSETS![0]!, { posCount: 0xffffffff, negCount: 2 });
    out.push({ name: 'dset-count-wrap', expect: 'BAD_INDEX', why: 'DSETS posCount + negCount = 2^32 + 1 (1 in u32)', image: write(s) });
  }
  {
    const s = baseSections();
    const row = s.IDENTITY_ROWS!.find((r) => Number(r.setCount) > 0)!;
    s.IDENTITY_SETS![Number(row.setStart) + Number(row.setCount) - 1] = { v: 0xfffffff0 };
    out.push({ name: 'identity-set-id-out-of-range', expect: 'BAD_INDEX', why: 'was identity-words-wrap-wild-read (1.0): a set id near 2^32', image: write(s) });
  }
  {
    // Accepted: nothing is sized by addrSetCount in 2.0, so huge set ids must classify safely.
    const s = baseSections();
    s.CONFIG![0]!.addrSetCount = 0xffffffff;
    const row = s.IDENTITY_ROWS!.find((r) => Number(r.setCount) > 0)!;
    s.IDENTITY_SETS![Number(row.setStart) + Number(row.setCount) - 1] = { v: 0xfffffffe };
    out.push({ name: 'identity-set-id-huge-accepted', expect: 'OK', why: 'was identity-words-wrap-in-image (1.0): addrSetCount 2^32 - 1, set id 2^32 - 2', image: write(s) });
  }
  {
    const s = baseSections();
    s.NAT_NODEPORTS = [{ family: 4, proto: 6, port: 30000, backendStart: 1, backendCount: 0xffffffff }];
    out.push({ name: 'nodeport-backend-count-wrap', expect: 'BAD_INDEX', why: 'NAT_NODEPORTS backendStart + backendCount = 2^32 (0 in u32)', image: write(s) });
  }
  {
    const s = baseSections();
    s.NAT_NODEPORTS = [
      { family: 4, proto: 17, port: 30000, backendStart: 0, backendCount: 0 },
      { family: 4, proto: 6, port: 30001, backendStart: 0, backendCount: 0 },
    ];
    out.push({ name: 'nodeport-unsorted', expect: 'BAD_ORDER', why: 'NAT_NODEPORTS not sorted by (family, proto, port)', image: write(s) });
  }
  {
    // Accepted: every TCP port of both families is a NodePort (131,072 records; the hash at full width).
    const s = baseSections();
    const n = s.NAT_BACKENDS!.length;
    s.NAT_NODEPORTS = [];
    for (const family of [4, 6]) for (const proto of [6]) for (let port = 0; port < 65536; port++) s.NAT_NODEPORTS.push({ family, proto, port, backendStart: 0, backendCount: port % (n + 1) });
    out.push({ name: 'nodeports-everywhere-accepted', expect: 'OK', why: 'a NodePort table covering a whole protocol loads and classifies safely', image: write(s) });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? join(root, 'build/fuzz-repro');
  mkdirSync(dir, { recursive: true });
  const expected: Record<string, string> = {};
  for (const r of makeRepros()) {
    writeFileSync(join(dir, `${r.name}.nvt`), r.image);
    expected[r.name] = r.expect;
  }
  writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
  console.log(`make-repro: ${Object.keys(expected).length} images in ${relative(process.cwd(), dir) || '.'}`);
}
