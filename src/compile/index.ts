/**
 * compile: from the resolved model to the flat tables of the image
 * (docs/FORMAT.md). Every semantic decision is made here, so the native engine
 * stays a table interpreter:
 *
 * - every address criterion (selector sets, nets, notNets, source service
 *   addresses) becomes an *address set* bit; an address lookup yields an
 *   address class whose identity row says which sets contain the address;
 * - named-port and destination-service sets become (proto, port, set)
 *   memberships listed per address class;
 * - per-family rule filtering (SEMANTICS.md §4.4) happens here: every tier
 *   and profile block has a v4 and a v6 rule list;
 * - evaluations (workload, host, forward) become small op programs, shared by
 *   endpoints with the same plan;
 * - the flow-level facts the evaluator needs (owner endpoint kind/node,
 *   policed, host node, wildcard HEP per node, transit HEP) are class, node
 *   and config fields.
 *
 * Deterministic: everything is visited in sorted order (entity ids, tiers,
 * policyLess), sets and classes are numbered in first-use order of that walk.
 */
import type { Cidr, Family, IpAddr } from '../net/ip.js';
import { hasPorts, isIcmp } from '../net/ip.js';
import type { EntityRule, Policy, PortList, Profile, Rule, Tier } from '../model/types.js';
import type { Direction } from '../model/types.js';
import type { Entity, Frontend, ResolvedCluster, TierPlan } from '../resolve/index.js';
import type { Selector } from '../parse/selector/types.js';
import { policyTraceName, ResolvedCluster as ResolvedClusterCtor } from '../resolve/index.js';
import { StringTable, U32Parts, U32Records, writeImage, type Rec, type SectionData } from '../format/image.js';
import { RecordPacker, U32Buf, U32Chunks } from '../format/packed.js';
import * as S from '../format/spec.js';
import { NONE } from '../format/spec.js';
import { checkImageSize } from './limits.js';

/** Trace conventions shared with the reference evaluator's output. */
export const PROFILE_TIER = '__PROFILE__';
export const NO_MATCH = '__NO_MATCH__';

/** A port-set member: (address, protocol, port). */
interface PortMemberKey {
  addr: IpAddr;
  proto: number;
  port: number;
}

/** An address set: its CIDRs and the CIDRs of its entities (a selector set's members, without copying them). */
interface AddrSetDef {
  key: string;
  cidrs: readonly Cidr[];
  /** Entity ids (model.entities positions). */
  entities: Int32Array;
}

/** Match records of one rule: v4/v6 for its first context (namespace, profile or not), others by context key. */
interface MatchCacheEntry {
  ns: string | undefined;
  inProfile: boolean;
  /** -1: not compiled yet. */
  v4: number;
  v6: number;
  others: Map<string, number> | undefined;
}

/** A policy's rules of one direction as a tier block lists them. */
interface PolicyRules {
  ids: number[];
  v4: number[] | undefined;
  v6: number[] | undefined;
}

/**
 * Values by u32 sequence: found by a hash of the sequence, then compared
 * with the stored sequences of that hash (no key strings).
 */
class SeqIndex {
  private readonly store = new U32Buf();
  private readonly start: number[] = [0];
  private readonly values: number[] = [];
  private readonly hashes: number[] = [];
  /** Open addressing: entry + 1 per slot (0: empty), at most half full. */
  private slots = new Int32Array(1 << 10);

  private static hash(seq: U32Buf): number {
    const q = seq.raw();
    let h = 0x811c9dc5 ^ seq.length;
    for (let i = 0; i < seq.length; i++) h = Math.imul(h ^ q[i]!, 0x01000193);
    // Finalizer: FNV's low bits follow the words' low bits only.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    return h ^ (h >>> 13);
  }

  /** The value stored for `seq`, -1 when none. */
  get(seq: U32Buf): number {
    const q = seq.raw();
    const len = seq.length;
    const h = SeqIndex.hash(seq);
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = h & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const e = slots[i]! - 1;
      if (this.hashes[e] !== h) continue;
      const start = this.start[e]!;
      if (this.start[e + 1]! - start !== len) continue;
      const raw = this.store.raw();
      let k = 0;
      while (k < len && raw[start + k] === q[k]) k++;
      if (k === len) return this.values[e]!;
    }
    return -1;
  }

  /** Sequences stored. */
  get size(): number {
    return this.values.length;
  }

  /** Stores `value` for `seq` (not present). */
  add(seq: U32Buf, value: number): void {
    const h = SeqIndex.hash(seq);
    const e = this.values.length;
    const q = seq.raw();
    for (let i = 0; i < seq.length; i++) this.store.push(q[i]!);
    this.start.push(this.store.length);
    this.values.push(value);
    this.hashes.push(h);
    if (2 * (e + 1) > this.slots.length) {
      const old = this.slots;
      this.slots = new Int32Array(old.length * 2);
      for (let j = 0; j < old.length; j++) if (old[j] !== 0) this.place(old[j]! - 1);
    }
    this.place(e);
  }

  /** Puts entry e in the first free slot of its probe sequence. */
  private place(e: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.hashes[e]! & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = e + 1;
  }
}

/** A port set: its members, and named-port members as (entity id, proto, port) triples, one member per address of the entity. */
interface PortSetDef {
  key: string;
  members: PortMemberKey[];
  endpoints: readonly number[];
}

export interface CompileStats {
  addrSets: number;
  portSets: number;
  identities: number;
  classes: number;
  v4Intervals: number;
  v6Intervals: number;
  programs: number;
  tierBlocks: number;
  matches: number;
  rules: number;
  natFrontends: number;
  natBackends: number;
  dblocks: number;
  dbitsWords: number;
}

export interface CompiledImage {
  image: Uint8Array;
  stats: CompileStats;
}

/** u32 words per MATCHES record (MatchRec, 48 bytes): ruleId; action, flags, proto, notProto; icmpType, icmpCode, notIcmpType, notIcmpCode; addrTestStart; addrTestCount; dstSvcSet; srcPorts; srcNotPorts; dstPorts; dstNotPorts; padding. */
const MATCH_WORDS = S.MATCH.size / 4;
/** u32 words per RULE_META record (RuleMeta, 32 bytes): tier, name, file, line, ruleIndex, action | kind << 8, column, padding. */
const RULE_META_WORDS = S.RULE_META.size / 4;
const TIER_BLOCK_WORDS = S.TIER_BLOCK.size / 4;
const CLASS_WORDS = S.ADDR_CLASS.size / 4;
const DBLOCK_WORDS = S.DBLOCK.size / 4;

const MATCH_SIDES = [
  ['source', S.SIDE_SRC],
  ['destination', S.SIDE_DST],
] as const;
const NET_FIELDS = [
  ['nets', false],
  ['notNets', true],
] as const;

const ACTION_CODE: Record<string, number> = { allow: S.ACTION_ALLOW, deny: S.ACTION_DENY, pass: S.ACTION_PASS, log: S.ACTION_LOG };

function parsePortMemberKey(k: string): PortMemberKey {
  const [fam, value, proto, port] = k.split(':');
  return { addr: { family: Number(fam) as Family, value: BigInt(value!) }, proto: Number(proto), port: Number(port) };
}

/** v4: [addr, 0, 0, 0]; v6: four 32-bit words, most significant first. */
export function addrWords(family: Family, value: bigint): number[] {
  if (family === 4) return [Number(value), 0, 0, 0];
  return [3, 2, 1, 0].map((i) => Number((value >> BigInt(32 * i)) & 0xffffffffn));
}

/** An absent or empty CIDR list, or one with a CIDR of family f. */
function hasFamily(list: readonly Cidr[] | undefined, f: Family): boolean {
  if (!list || list.length === 0) return true;
  for (let i = 0; i < list.length; i++) if (list[i]!.family === f) return true;
  return false;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class Compiler {
  readonly strings = new StringTable();
  /** RULE_META records as u32 words (RULE_META_WORDS each). */
  readonly ruleMeta = new U32Buf();
  private readonly ruleIdByRule = new Map<Rule, number>();
  private readonly ruleIdByKey = new Map<string, number>();

  readonly addrSets: AddrSetDef[] = [];
  private readonly addrSetIds = new Map<string, number>();
  readonly portSets: PortSetDef[] = [];
  private readonly portSetIds = new Map<string, number>();

  /** MATCHES records as u32 words (MATCH_WORDS each; see matchWords). */
  readonly matches = new U32Buf();
  private readonly matchCache = new Map<Rule, MatchCacheEntry>();
  /** ADDR_TESTS as u32 words: setId, side | negate << 8. */
  readonly addrTests = new U32Buf();
  /** PORT_LISTS as u32 words: rangeStart, rangeCount, namedStart, namedCount. */
  readonly portLists = new U32Buf();
  /** PORT_RANGES as u32 words: first | last << 16. */
  readonly portRanges = new U32Buf();
  readonly namedRefs: number[] = [];

  readonly ruleRefs = new U32Buf();
  /** TIER_BLOCKS as u32 words (6 each): v4Start, v4Count, v6Start, v6Count, endRule, endAction. */
  readonly tierBlocks = new U32Buf();
  /** Tier block ids by key (see tierBlock). */
  private readonly tierBlockIds = new SeqIndex();
  private readonly keySeq = new U32Buf(64);
  private readonly tierIds = new Map<Tier, number>();
  readonly tierRefs: number[] = [];
  readonly profileBlocks: Rec[] = [];
  /** Profile block ids by direction and profile name. */
  private readonly profileBlockIds = { ingress: new Map<string, number>(), egress: new Map<string, number>() };
  readonly profileRefs: number[] = [];
  /** PROGRAMS as u32 words: opStart, opCount. */
  readonly programs = new U32Buf();
  /** OPS as u32 words: opcode, arg, start, count. */
  readonly ops = new U32Buf();
  /** The program being built (see beginProgram). */
  private readonly progSeq = new U32Buf(256);
  /** Program ids by op sequence. */
  private readonly programIds = new SeqIndex();
  /** Per policy and direction: its rules' ids, then per family its match records (NONE left out), built on first use. */
  private readonly policyRules = new Map<Policy, { ingress?: PolicyRules; egress?: PolicyRules }>();

  constructor(readonly model: ResolvedCluster) {}

  // ---- rule map -------------------------------------------------------------

  private newRule(meta: { tier: string; name: string; action: string; ruleIndex: number; kind: number; file?: string; line?: number; column?: number }): number {
    const id = this.ruleMeta.length / RULE_META_WORDS;
    const w = this.ruleMeta;
    w.reserve(RULE_META_WORDS);
    w.push(this.strings.ref(meta.tier));
    w.push(this.strings.ref(meta.name));
    w.push(this.strings.ref(meta.file ?? ''));
    w.push(meta.line ?? 0);
    w.push(meta.ruleIndex); // i32: -1 is 0xffffffff
    w.push((ACTION_CODE[meta.action]! & 0xff) | ((meta.kind & 0xff) << 8));
    w.push(meta.column ?? 0);
    w.push(0);
    return id;
  }

  pseudoRule(tier: string, name: string, action: 'deny' | 'pass', kind: number, origin?: { file: string; line: number; column: number }): number {
    const key = `${kind}|${tier}|${name}|${action}`;
    let id = this.ruleIdByKey.get(key);
    if (id === undefined) {
      id = this.newRule({ tier, name, action, ruleIndex: -1, kind, file: origin?.file, line: origin?.line, column: origin?.column });
      this.ruleIdByKey.set(key, id);
    }
    return id;
  }

  private ruleId(rule: Rule, tier: string, name: string, inProfile: boolean): number {
    let id = this.ruleIdByRule.get(rule);
    if (id === undefined) {
      let action = rule.action.toLowerCase();
      if (inProfile && action === 'pass') action = 'deny'; // Pass in a profile acts as Deny (§3.5).
      id = this.newRule({
        tier,
        name,
        action,
        ruleIndex: rule.index,
        kind: inProfile ? S.RULE_KIND_PROFILE : S.RULE_KIND_POLICY,
        file: rule.origin.file,
        line: rule.origin.line,
        column: rule.origin.column,
      });
      this.ruleIdByRule.set(rule, id);
    }
    return id;
  }

  // ---- sets -----------------------------------------------------------------

  private addrSet(key: string, members: () => { cidrs?: readonly Cidr[]; entities?: Int32Array }): number {
    let id = this.addrSetIds.get(key);
    if (id === undefined) {
      id = this.newAddrSet(key, members());
      this.addrSetIds.set(key, id);
    }
    return id;
  }

  /** Appends an address set (the next id). */
  private newAddrSet(key: string, m: { cidrs?: readonly Cidr[]; entities?: Int32Array }): number {
    this.addrSets.push({ key, cidrs: m.cidrs ?? [], entities: m.entities ?? new Int32Array(0) });
    return this.addrSets.length - 1;
  }

  /** Address set ids of selector objects (the model caches them per entity rule), found by canonical text on first sight. */
  private readonly selectorSetIds = new Map<Selector, number>();

  /** The address set of a selector's matching entities. */
  private selectorSet(sel: Selector): number {
    let id = this.selectorSetIds.get(sel);
    if (id === undefined) {
      id = this.selectorSetsByText.get(sel.canonical);
      if (id === undefined) {
        id = this.newAddrSet(`sel|${sel.canonical}`, { entities: this.model.ipsets.matchingEntityIds(sel) });
        this.selectorSetsByText.set(sel.canonical, id);
      }
      this.selectorSetIds.set(sel, id);
    }
    return id;
  }

  /** Selector set ids by canonical text (no prefixed key string per lookup; other sets' keys never collide). */
  private readonly selectorSetsByText = new Map<string, number>();

  /** Appends an ADDR_TESTS record (a bound function: match passes it around as `test`). */
  private readonly addrTest = (side: number, negate: boolean, setId: number): void => {
    this.addrTests.push(setId);
    this.addrTests.push(side | (negate ? 1 << 8 : 0));
  };

  /** Port set by key; members may repeat (a class lists each membership once, see classOf). */
  private portSet(key: string, members: () => { members?: PortMemberKey[]; endpoints?: readonly number[] }): number {
    let id = this.portSetIds.get(key);
    if (id === undefined) {
      id = this.portSets.length;
      const m = members();
      this.portSets.push({ key, members: m.members ?? [], endpoints: m.endpoints ?? [] });
      this.portSetIds.set(key, id);
    }
    return id;
  }

  // ---- rules ----------------------------------------------------------------

  /** Per-family rule filtering (§4.4). */
  private ruleExists(rule: Rule, f: Family): boolean {
    let version = rule.ipVersion;
    if (version === undefined) {
      if (rule.protocol === 1) version = 4;
      else if (rule.protocol === 58) version = 6;
    }
    if (version !== undefined && version !== f) return false;
    return hasFamily(rule.source.nets, f) && hasFamily(rule.source.notNets, f) && hasFamily(rule.destination.nets, f) && hasFamily(rule.destination.notNets, f);
  }

  private portList(er: EntityRule, list: PortList | undefined, rule: Rule, ns: string | undefined): number {
    if (!list || (list.ranges.length === 0 && list.named.length === 0)) return NONE;
    const rangeStart = this.portRanges.length;
    const namedStart = this.namedRefs.length;
    for (const r of list.ranges) this.portRanges.push((r.first & 0xffff) | ((r.last & 0xffff) << 16));
    const positive = this.model.ruleSelectors(er, ns).positive;
    for (const name of list.named) {
      const key = `np|${positive?.canonical ?? '<all>'}|${name}|${rule.protocol ?? '*'}`;
      this.namedRefs.push(
        this.portSet(key, () => ({ endpoints: this.model.ipsets.namedPortEndpoints(positive, name, rule.protocol) })),
      );
    }
    const pl = this.portLists;
    pl.reserve(4);
    pl.push(rangeStart);
    pl.push(list.ranges.length);
    pl.push(namedStart);
    pl.push(list.named.length);
    return pl.length / 4 - 1;
  }

  private setMatch(entry: MatchCacheEntry, usual: boolean, f: Family, ctx: string, v: number): void {
    if (!usual) (entry.others ??= new Map()).set(ctx, v);
    else if (f === 4) entry.v4 = v;
    else entry.v6 = v;
  }

  /** Match record index of `rule` for family `f` (NONE when the rule does not exist for f). */
  private match(rule: Rule, f: Family, ns: string | undefined, ruleId: number, inProfile: boolean): number {
    // A rule is almost always compiled in one context (its policy's namespace):
    // that context's records sit in a small per-rule entry, others in a map.
    let entry = this.matchCache.get(rule);
    if (!entry) this.matchCache.set(rule, (entry = { ns, inProfile, v4: -1, v6: -1, others: undefined }));
    const usual = entry.ns === ns && entry.inProfile === inProfile;
    const ctx = usual ? '' : `${f}|${ns ?? ''}|${inProfile ? 1 : 0}`;
    const have = usual ? (f === 4 ? entry.v4 : entry.v6) : entry.others?.get(ctx);
    if (have !== undefined && have !== -1) return have;
    if (!this.ruleExists(rule, f)) {
      this.setMatch(entry, usual, f, ctx, NONE);
      return NONE;
    }
    let flags = 0;
    let action = ACTION_CODE[rule.action.toLowerCase()]!;
    if (inProfile && action === S.ACTION_PASS) action = S.ACTION_DENY;
    let proto = 0;
    let notProto = 0;
    let icmpType = 0;
    let icmpCode = 0;
    let notIcmpType = 0;
    let notIcmpCode = 0;
    if (rule.protocol !== undefined) {
      flags |= S.M_PROTO;
      proto = rule.protocol;
    }
    if (rule.notProtocol !== undefined) {
      flags |= S.M_NOT_PROTO;
      notProto = rule.notProtocol;
    }
    if (rule.icmp) {
      flags |= S.M_ICMP_TYPE;
      icmpType = rule.icmp.type;
      if (rule.icmp.code !== undefined) {
        flags |= S.M_ICMP_CODE;
        icmpCode = rule.icmp.code;
      }
    }
    if (rule.notICMP) {
      flags |= S.M_NOT_ICMP_TYPE;
      notIcmpType = rule.notICMP.type;
      if (rule.notICMP.code !== undefined) {
        flags |= S.M_NOT_ICMP_CODE;
        notIcmpCode = rule.notICMP.code;
      }
    }
    const addrTestStart = this.addrTests.length / 2;
    const test = this.addrTest;
    for (let si = 0; si < MATCH_SIDES.length; si++) {
      const [sideName, side] = MATCH_SIDES[si]!;
      const er = rule[sideName];
      for (let fi = 0; fi < NET_FIELDS.length; fi++) {
        const [field, negate] = NET_FIELDS[fi]!;
        const list = er[field];
        if (!list || list.length === 0) continue;
        const fam = list.filter((c) => c.family === f);
        const key = `nets|${f}|${fam.map((c) => `${c.base}/${c.prefixLen}`).sort().join(',')}`;
        test(side, negate, this.addrSet(key, () => ({ cidrs: fam })));
      }
      const sels = this.model.ruleSelectors(er, ns);
      if (sels.positive) test(side, false, this.selectorSet(sels.positive));
      if (sels.negative) test(side, true, this.selectorSet(sels.negative));
    }
    const srcSvc = rule.source.services;
    if (srcSvc) {
      test(S.SIDE_SRC, false, this.addrSet(`svc|${srcSvc.namespace}/${srcSvc.name}`, () => ({ cidrs: this.model.ipsets.serviceSet(srcSvc.namespace, srcSvc.name).addrs.members })));
    }
    const addrTestCount = this.addrTests.length / 2 - addrTestStart;
    const dstSvc = rule.destination.services;
    const dstSvcSet = dstSvc
      ? this.portSet(`svcp|${dstSvc.namespace}/${dstSvc.name}`, () => ({ members: [...this.model.ipsets.serviceSet(dstSvc.namespace, dstSvc.name).withPorts].map(parsePortMemberKey) }))
      : NONE;
    const srcPorts = this.portList(rule.source, rule.source.ports, rule, ns);
    const srcNotPorts = this.portList(rule.source, rule.source.notPorts, rule, ns);
    const dstPorts = this.portList(rule.destination, rule.destination.ports, rule, ns);
    const dstNotPorts = this.portList(rule.destination, rule.destination.notPorts, rule, ns);
    const w = this.matches;
    const idx = w.length / MATCH_WORDS;
    w.reserve(MATCH_WORDS);
    w.push(ruleId);
    w.push((action & 0xff) | ((flags & 0xff) << 8) | ((proto & 0xff) << 16) | ((notProto & 0xff) << 24));
    w.push((icmpType & 0xff) | ((icmpCode & 0xff) << 8) | ((notIcmpType & 0xff) << 16) | ((notIcmpCode & 0xff) << 24));
    w.push(addrTestStart);
    w.push(addrTestCount);
    w.push(dstSvcSet);
    w.push(srcPorts);
    w.push(srcNotPorts);
    w.push(dstPorts);
    w.push(dstNotPorts);
    w.push(0);
    w.push(0);
    this.setMatch(entry, usual, f, ctx, idx);
    return idx;
  }

  private pushRuleLists(items: { rule: Rule; ns: string | undefined; id: number; inProfile: boolean }[]): Rec {
    const out: Rec = {};
    for (const f of [4, 6] as const) {
      const start = this.ruleRefs.length;
      for (const it of items) {
        const m = this.match(it.rule, f, it.ns, it.id, it.inProfile);
        if (m !== NONE) this.ruleRefs.push(m);
      }
      out[`v${f}Start`] = start;
      out[`v${f}Count`] = this.ruleRefs.length - start;
    }
    return out;
  }

  // ---- tiers, profiles, programs ---------------------------------------------

  private policyRulesOf(p: Policy, dir: Direction, tier: string): PolicyRules {
    let byDir = this.policyRules.get(p);
    if (!byDir) this.policyRules.set(p, (byDir = {}));
    let l = byDir[dir];
    if (!l) {
      const name = policyTraceName(p);
      l = byDir[dir] = { ids: p[dir].map((rule) => this.ruleId(rule, tier, name, false)), v4: undefined, v6: undefined };
    }
    return l;
  }

  /** Tier block of `policies[0, count)` (non-empty, in tier order) of `tier`, at `positions[0, count)` of the tier's policy list (ResolvedCluster.tierPosition). */
  private tierBlock(tier: Tier, policies: readonly Policy[], count: number, positions: ArrayLike<number>, dir: Direction, endMode: 'tier' | 'pass'): number {
    const endAction = endMode === 'pass' || tier.defaultAction === 'Pass' ? 'pass' : 'deny';
    // Key: direction and end action, tier, policy positions (no key string per endpoint).
    const key = this.keySeq;
    key.length = 0;
    key.push((dir === 'ingress' ? 2 : 0) + (endAction === 'pass' ? 1 : 0));
    let tierId = this.tierIds.get(tier);
    if (tierId === undefined) this.tierIds.set(tier, (tierId = this.tierIds.size));
    key.push(tierId);
    for (let i = 0; i < count; i++) key.push(positions[i]!);
    let id = this.tierBlockIds.get(key);
    if (id >= 0) return id;
    // Rule ids of every policy first, then per family the match records: the
    // order in which rule ids and match records are first numbered.
    const lists: PolicyRules[] = [];
    for (let i = 0; i < count; i++) lists.push(this.policyRulesOf(policies[i]!, dir, tier.name));
    const starts = [0, 0];
    const counts = [0, 0];
    for (let fi = 0; fi < 2; fi++) {
      const f: Family = fi === 0 ? 4 : 6;
      const start = this.ruleRefs.length;
      for (let i = 0; i < count; i++) {
        const p = policies[i]!;
        const l = lists[i]!;
        let ms = f === 4 ? l.v4 : l.v6;
        if (!ms) {
          ms = [];
          const rules = p[dir];
          for (let k = 0; k < rules.length; k++) {
            const m = this.match(rules[k]!, f, p.namespace, l.ids[k]!, false);
            if (m !== NONE) ms.push(m);
          }
          if (f === 4) l.v4 = ms;
          else l.v6 = ms;
        }
        this.ruleRefs.append(ms);
      }
      starts[fi] = start;
      counts[fi] = this.ruleRefs.length - start;
    }
    const last = policies[count - 1]!;
    const endRule = this.pseudoRule(tier.name, policyTraceName(last), endAction, S.RULE_KIND_END_OF_TIER, last.origin);
    const tb = this.tierBlocks;
    id = tb.length / TIER_BLOCK_WORDS;
    tb.reserve(TIER_BLOCK_WORDS);
    tb.push(starts[0]!);
    tb.push(counts[0]!);
    tb.push(starts[1]!);
    tb.push(counts[1]!);
    tb.push(endRule);
    tb.push(endAction === 'pass' ? S.ACTION_PASS : S.ACTION_DENY);
    this.tierBlockIds.add(key, id);
    return id;
  }

  /** Appends a tier op over `tiers` to the program being built. */
  private tierOp(opcode: number, arg: number, tiers: readonly TierPlan[], dir: Direction, endMode: 'tier' | 'pass'): void {
    const op = this.beginOp(opcode, arg);
    for (const tp of tiers) {
      const positions = tp.policies.map((p) => this.model.tierPosition(p));
      this.progSeq.push(this.tierBlock(tp.tier, tp.policies, tp.policies.length, positions, dir, endMode));
    }
    this.endOp(op);
  }

  private profileBlock(name: string, dir: Direction): number {
    let id = this.profileBlockIds[dir].get(name);
    if (id !== undefined) return id;
    const profile: Profile | undefined = this.model.profiles.get(name);
    let rec: Rec;
    if (!profile) {
      rec = { v4Start: 0, v4Count: 0, v6Start: 0, v6Count: 0, missingRule: this.pseudoRule(PROFILE_TIER, name, 'deny', S.RULE_KIND_MISSING_PROFILE) };
    } else {
      rec = this.pushRuleLists(profile[dir].map((rule) => ({ rule, ns: undefined, id: this.ruleId(rule, PROFILE_TIER, name, true), inProfile: true })));
      rec.missingRule = NONE;
    }
    id = this.profileBlocks.length;
    this.profileBlocks.push(rec);
    this.profileBlockIds[dir].set(name, id);
    return id;
  }

  // A program is built into `progSeq` as ops [opcode, arg, hasRefs, refCount,
  // refs...] (beginProgram, ops, endProgram), then found by that sequence.

  private beginProgram(): void {
    this.progSeq.length = 0;
  }

  /** Opens an op with refs; returns where its header starts. */
  private beginOp(opcode: number, arg: number): number {
    const at = this.progSeq.length;
    const q = this.progSeq;
    q.push(opcode);
    q.push(arg);
    q.push(1);
    q.push(0);
    return at;
  }

  private endOp(at: number): void {
    const q = this.progSeq;
    q.raw()[at + 3] = q.length - at - 4;
  }

  /** An op without refs. */
  private plainOp(opcode: number, arg: number): void {
    const q = this.progSeq;
    q.push(opcode);
    q.push(arg);
    q.push(0);
    q.push(0);
  }

  private endProgram(): number {
    const have = this.programIds.get(this.progSeq);
    if (have >= 0) return have;
    const q = this.progSeq.raw();
    const len = this.progSeq.length;
    const id = this.programs.length / 2;
    let opCount = 0;
    const opStart = this.ops.length / 4;
    for (let i = 0; i < len; ) {
      const opcode = q[i]!;
      const arg = q[i + 1]!;
      const refCount = q[i + 3]!;
      let start = 0;
      if (q[i + 2]) {
        const target = opcode === S.OP_PROFILES ? this.profileRefs : this.tierRefs;
        start = target.length;
        for (let k = 0; k < refCount; k++) target.push(q[i + 4 + k]!);
      }
      const ops = this.ops;
      ops.reserve(4);
      ops.push(opcode);
      ops.push(arg);
      ops.push(start);
      ops.push(refCount);
      opCount++;
      i += 4 + refCount;
    }
    this.programs.push(opStart);
    this.programs.push(opCount);
    this.programIds.add(this.progSeq, id);
    return id;
  }

  private profilesOp(e: Entity, dir: Direction): void {
    const op = this.beginOp(S.OP_PROFILES, 0);
    for (const n of e.profiles) this.progSeq.push(this.profileBlock(n, dir));
    this.endOp(op);
  }

  private prePolicyOps(e: Entity, dir: Direction): void {
    const plan = this.model.planFor(e);
    if (plan.untracked[dir].length) this.tierOp(S.OP_TIERS, S.TIERS_UNTRACKED, plan.untracked[dir], dir, 'pass');
    if (dir === 'ingress' && plan.preDNAT.ingress.length) this.tierOp(S.OP_TIERS, S.TIERS_PREDNAT, plan.preDNAT.ingress, dir, 'pass');
  }

  /** The workload program being built: its direction and normal-tiers op (-1: not opened yet). */
  private wlDir: Direction = 'ingress';
  private wlOp = -1;
  /** forEachNormalTier's visitor for workloadProgram (one function, not a closure per program). */
  private readonly wlTier = (tier: Tier, policies: readonly Policy[], count: number, positions: Int32Array): void => {
    if (this.wlOp < 0) this.wlOp = this.beginOp(S.OP_TIERS, S.TIERS_NORMAL);
    this.progSeq.push(this.tierBlock(tier, policies, count, positions, this.wlDir, 'tier'));
  };

  workloadProgram(e: Entity, dir: Direction): number {
    this.beginProgram();
    // The normal tiers of the endpoint's plan, walked without building it.
    this.wlDir = dir;
    this.wlOp = -1;
    this.model.forEachNormalTier(e, dir, this.wlTier);
    if (this.wlOp >= 0) this.endOp(this.wlOp);
    this.profilesOp(e, dir);
    return this.endProgram();
  }

  hostProgram(e: Entity, dir: Direction): number {
    const plan = this.model.planFor(e);
    this.beginProgram();
    this.plainOp(S.OP_FAILSAFE, dir === 'ingress' ? S.DIR_INGRESS : S.DIR_EGRESS);
    this.prePolicyOps(e, dir);
    if (plan.normal[dir].length) this.tierOp(S.OP_TIERS, S.TIERS_NORMAL, plan.normal[dir], dir, 'tier');
    this.profilesOp(e, dir);
    return this.endProgram();
  }

  forwardProgram(e: Entity, dir: Direction): number {
    const plan = this.model.planFor(e);
    this.beginProgram();
    this.prePolicyOps(e, dir);
    this.tierOp(S.OP_FORWARD_TIERS, 0, plan.forward[dir], dir, 'tier');
    return this.endProgram();
  }
}

interface ExactProps {
  epKind: number;
  epNode: number;
  hostNode: number;
  policed: boolean;
  egressProg: number;
  ingressProg: number;
  /**
   * (port set id, proto, port) memberships of this exact address, packed as
   * setId * 2^24 + proto * 2^16 + port: `memberships[portStart, portStart + portCount)`.
   */
  portStart: number;
  portCount: number;
  /** Position among the addresses with memberships, -1 before the first. */
  owner: number;
}

/**
 * Sorts the (key, value) pairs [0, n) of `keys`/`vals` by key, stably and in
 * place: LSD radix, two passes of `bits`-bit digits (keys < 2^(2·bits)),
 * through `tmpKeys`/`tmpVals` (length ≥ n) and `count` (length ≥ 2^bits + 1).
 */
function radixSortPairs(keys: Uint32Array, vals: Uint32Array, n: number, bits: number, tmpKeys: Uint32Array, tmpVals: Uint32Array, count: Uint32Array): void {
  const mask = (1 << bits) - 1;
  for (const [shift, kIn, vIn, kOut, vOut] of [
    [0, keys, vals, tmpKeys, tmpVals],
    [bits, tmpKeys, tmpVals, keys, vals],
  ] as const) {
    count.fill(0, 0, mask + 2);
    for (let i = 0; i < n; i++) count[((kIn[i]! >>> shift) & mask) + 1]!++;
    for (let d = 0; d <= mask; d++) count[d + 1]! += count[d]!;
    for (let i = 0; i < n; i++) {
      const at = count[(kIn[i]! >>> shift) & mask]!++;
      kOut[at] = kIn[i]!;
      vOut[at] = vIn[i]!;
    }
  }
}

/** Sweep event flag: the event stands for every set of an entity (its id in bits 1..30). */
const GROUP_EVENT = 0x80000000;

/** Events per position as CSR: `at[k]` is event k's position index, `code(k)` its payload. */
function csr(positions: number, at: Uint32Array, code: (k: number) => number): { evStart: Uint32Array; evSet: Uint32Array } {
  const evStart = new Uint32Array(positions + 1);
  for (let k = 0; k < at.length; k++) evStart[at[k]! + 1]!++;
  for (let i = 0; i < positions; i++) evStart[i + 1]! += evStart[i]!;
  const fill = evStart.slice(0, positions);
  const evSet = new Uint32Array(at.length);
  for (let k = 0; k < at.length; k++) evSet[fill[at[k]!]!++] = code(k);
  return { evStart, evSet };
}

/** Active address sets during a sweep: counts, a bitmap and an order-free hash of the active ones. */
class SweepState {
  readonly count: Int32Array;
  readonly bits: Uint32Array;
  hash = 0;
  size = 0;

  constructor(
    sets: number,
    private readonly zobrist: Uint32Array,
  ) {
    this.count = new Int32Array(sets);
    this.bits = new Uint32Array(Math.ceil(sets / 32));
  }

  /** Adds d to set s's count; true when s became active or inactive. */
  apply(s: number, d: number): boolean {
    const before = this.count[s]!;
    const after = before + d;
    this.count[s] = after;
    if ((before === 0) === (after === 0)) return false;
    this.hash ^= this.zobrist[s]!;
    this.size += after === 0 ? -1 : 1;
    this.bits[s >>> 5]! ^= 1 << (s & 31);
    return true;
  }
}

/**
 * Identities (distinct sorted address-set lists) in first-use order, rows
 * stored back to back (IDENTITY_SETS); found by (hash, size) and checked
 * against the active counts, so equal lists always get the same id.
 */
class IdentityTable {
  readonly sets = new U32Chunks();
  readonly rowStart: number[] = [];
  readonly rowCount: number[] = [];
  /** Per identity, its sweep hash (rows are found by hash and size, then checked). */
  private readonly hashes: number[] = [];
  /** Open addressing: identity + 1 per slot (0: empty), at most half full. */
  private slots = new Int32Array(1 << 12);
  private readonly zobrist: Uint32Array;
  /** Scratch: the row being added. */
  private row = new Uint32Array(256);

  constructor(private readonly setCount: number) {
    this.zobrist = new Uint32Array(setCount);
    let x = 0x9e3779b9;
    for (let i = 0; i < setCount; i++) {
      // xorshift32: any fixed sequence works (lookups are verified).
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.zobrist[i] = x >>> 0;
    }
    this.intern(this.newSweep()); // identity 0: no sets
  }

  newSweep(): SweepState {
    return new SweepState(this.setCount, this.zobrist);
  }

  /** The identity of the sweep's active sets (a new one when unseen). */
  intern(st: SweepState): number {
    const hash = st.hash | 0;
    let slots = this.slots;
    let mask = slots.length - 1;
    let i = IdentityTable.slotOf(hash, st.size) & mask;
    for (; slots[i] !== 0; i = (i + 1) & mask) {
      const id = slots[i]! - 1;
      if (this.hashes[id] !== hash || this.rowCount[id] !== st.size) continue;
      const start = this.rowStart[id]!;
      const end = start + this.rowCount[id]!;
      let same = true;
      for (let k = start; k < end; k++) {
        if (st.count[this.sets.at(k)] === 0) {
          same = false;
          break;
        }
      }
      if (same) return id;
    }
    const id = this.rowStart.length;
    const start = this.sets.length;
    if (this.row.length < st.size) this.row = new Uint32Array(Math.max(st.size, this.row.length * 2));
    const row = this.row;
    let n = 0;
    const bits = st.bits;
    for (let w = 0; w < bits.length; w++) {
      for (let x = bits[w]!; x !== 0; x &= x - 1) row[n++] = w * 32 + 31 - Math.clz32(x & -x);
    }
    this.sets.append(row, n);
    this.rowStart.push(start);
    this.rowCount.push(n);
    this.hashes.push(hash);
    if (2 * (id + 1) > slots.length) {
      // Grow: every identity again in a table twice the size.
      this.slots = slots = new Int32Array(slots.length * 2);
      mask = slots.length - 1;
      for (let j = 0; j <= id; j++) {
        let k = IdentityTable.slotOf(this.hashes[j]!, this.rowCount[j]!) & mask;
        while (slots[k] !== 0) k = (k + 1) & mask;
        slots[k] = j + 1;
      }
    } else slots[i] = id + 1;
    return id;
  }

  /** Slot hash of (sweep hash, size). */
  private static slotOf(hash: number, size: number): number {
    const h = Math.imul(hash ^ size, 0x85ebca6b);
    return h ^ (h >>> 15);
  }
}

/** Compiles a resolved cluster into image bytes. */
export function compileImage(model: ResolvedCluster): CompiledImage {
  checkImageSize(model);
  const c = new Compiler(model);

  // 1. Programs of every policed endpoint (entity id order).
  const progs = new Map<Entity, { egress: number; ingress: number }>();
  for (let i = 0; i < model.entities.length; i++) {
    const e = model.entities[i]!;
    if (!model.isPoliced(e)) continue;
    if (e.kind === 'wep') progs.set(e, { egress: c.workloadProgram(e, 'egress'), ingress: c.workloadProgram(e, 'ingress') });
    else if (e.kind === 'hep') progs.set(e, { egress: c.hostProgram(e, 'egress'), ingress: c.hostProgram(e, 'ingress') });
  }

  // 2. Nodes (sorted names) and their wildcard-HEP forward programs.
  const nodeNames = new Set<string>();
  for (const e of model.entities) if (e.node !== undefined) nodeNames.add(e.node);
  for (const n of model.nodeAddresses.keys()) nodeNames.add(n);
  for (const n of model.wildcardHeps.keys()) nodeNames.add(n);
  const nodes = [...nodeNames].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const nodeId = new Map(nodes.map((n, i) => [n, i]));
  const nodeRecs: Rec[] = nodes.map((n) => {
    const fwd = model.isPolicedNode(n) ? model.wildcardHeps.get(n) : undefined;
    return fwd
      ? { fwdEgressProg: c.forwardProgram(fwd, 'egress'), fwdIngressProg: c.forwardProgram(fwd, 'ingress') }
      : { fwdEgressProg: NONE, fwdIngressProg: NONE };
  });
  let transit: Entity | undefined;
  if (model.options.node !== undefined) transit = model.wildcardHeps.get(model.options.node);
  else if (model.wildcardHeps.size === 1) transit = [...model.wildcardHeps.values()][0];
  const transitIngressProg = transit ? c.forwardProgram(transit, 'ingress') : NONE;
  const transitEgressProg = transit ? c.forwardProgram(transit, 'egress') : NONE;
  const noProfileMatchRule = c.pseudoRule(PROFILE_TIER, NO_MATCH, 'deny', S.RULE_KIND_NO_PROFILE_MATCH);

  // 3. Exact addresses: owners (endpoints, host addresses) and port-set members.
  //    Keyed by the u32 value for IPv4 and the BigInt for IPv6 (no BigInt work
  //    on the IPv4 path).
  const exact: Map<number | bigint, ExactProps>[] = [];
  const exactFor = (f: Family): Map<number | bigint, ExactProps> => (exact[f] ??= new Map());
  const exactKey = (f: Family, v: bigint): number | bigint => (f === 4 ? Number(v) : v);
  const blank = (): ExactProps => ({ epKind: S.EP_NONE, epNode: NONE, hostNode: NONE, policed: false, egressProg: NONE, ingressProg: NONE, portStart: 0, portCount: 0, owner: -1 });
  const ownerAddrs: IpAddr[] = [];
  for (let i = 0; i < model.entities.length; i++) {
    const e = model.entities[i]!;
    if (e.kind === 'wep' || e.kind === 'hep') for (let k = 0; k < e.cidrs.length; k++) ownerAddrs.push({ family: e.cidrs[k]!.family, value: e.cidrs[k]!.base });
  }
  for (const addrs of model.nodeAddresses.values()) ownerAddrs.push(...addrs);
  for (let i = 0; i < ownerAddrs.length; i++) {
    const a = ownerAddrs[i]!;
    const m = exactFor(a.family);
    const k = exactKey(a.family, a.value);
    if (m.has(k)) continue;
    const ep = model.endpointAt(a);
    const hostNode = model.hostNodeAt(a);
    const p = blank();
    if (ep && (ep.kind === 'wep' || ep.kind === 'hep')) {
      p.epKind = ep.kind === 'wep' ? S.EP_WEP : S.EP_HEP;
      p.epNode = ep.node !== undefined ? nodeId.get(ep.node)! : NONE;
      const pr = progs.get(ep);
      if (pr) {
        p.policed = true;
        p.egressProg = pr.egress;
        p.ingressProg = pr.ingress;
      }
    }
    if (hostNode !== undefined) p.hostNode = nodeId.get(hostNode)!;
    m.set(k, p);
  }
  if (c.portSets.length >= 2 ** 29) throw new Error('too many port sets'); // packed memberships stay below 2^53
  // Memberships gathered as (owner, membership) pairs, then grouped per owner (CSR): no array per address.
  const owners: ExactProps[] = [];
  const memOwner = new U32Buf();
  const memValue: number[] = [];
  const addMembership = (family: Family, value: bigint, membership: number): void => {
    const m = exactFor(family);
    const k = exactKey(family, value);
    let p = m.get(k);
    if (!p) m.set(k, (p = blank()));
    if (p.owner < 0) {
      p.owner = owners.length;
      owners.push(p);
    }
    memOwner.push(p.owner);
    memValue.push(membership);
  };
  const entities = model.entities;
  for (let setId = 0; setId < c.portSets.length; setId++) {
    const ps = c.portSets[setId]!;
    for (const mem of ps.members) addMembership(mem.addr.family, mem.addr.value, setId * 2 ** 24 + mem.proto * 2 ** 16 + mem.port);
    const eps = ps.endpoints;
    for (let i = 0; i < eps.length; i += 3) {
      const membership = setId * 2 ** 24 + eps[i + 1]! * 2 ** 16 + eps[i + 2]!;
      const cidrs = entities[eps[i]!]!.cidrs;
      for (let k = 0; k < cidrs.length; k++) addMembership(cidrs[k]!.family, cidrs[k]!.base, membership);
    }
  }
  const memberships = new Float64Array(memValue.length);
  {
    for (let i = 0; i < memOwner.length; i++) owners[memOwner.at(i)]!.portCount++;
    let at = 0;
    for (const p of owners) {
      p.portStart = at;
      at += p.portCount;
    }
    const fill = owners.map((p) => p.portStart);
    for (let i = 0; i < memOwner.length; i++) memberships[fill[memOwner.at(i)]!++] = memValue[i]!;
  }

  // 4. Address classes per family: sweep over every set member's range.
  const identities = new IdentityTable(c.addrSets.length);
  /** Class ids by key: [exact?, identity, (exact properties, memberships as (setId, proto << 16 | port))]. */
  const classIds = new SeqIndex();
  const classKey = new U32Buf(64);
  /** Class of an address without exact properties, by identity. */
  const plainClassIds = new Map<number, number>();
  /** CLASSES as u32 words (CLASS_WORDS each). */
  const classRecs = new U32Buf();
  const portMembers = new RecordPacker(S.PORT_MEMBER, ['setId', 'proto', 'port']);
  /** Scratch: an address's packed memberships (sorted, they sort by (setId, proto, port)). */
  let packedPorts = new Float64Array(64);
  const classOf = (identity: number, p: ExactProps | undefined): number => {
    if (!p) {
      const have = plainClassIds.get(identity);
      if (have !== undefined) return have;
    }
    const key = classKey;
    key.length = 0;
    key.push(p ? 1 : 0);
    key.push(identity);
    if (p) {
      key.push(p.epKind);
      key.push(p.epNode);
      key.push(p.hostNode);
      key.push(p.policed ? 1 : 0);
      key.push(p.egressProg);
      key.push(p.ingressProg);
    }
    let nPorts = 0;
    if (p && p.portCount) {
      if (packedPorts.length < p.portCount) packedPorts = new Float64Array(Math.max(p.portCount, packedPorts.length * 2));
      for (let i = 0; i < p.portCount; i++) packedPorts[nPorts++] = memberships[p.portStart + i]!;
      packedPorts.subarray(0, nPorts).sort();
      // Each membership once.
      let u = 0;
      for (let i = 0; i < nPorts; i++) if (i === 0 || packedPorts[i] !== packedPorts[u - 1]) packedPorts[u++] = packedPorts[i]!;
      nPorts = u;
      for (let i = 0; i < nPorts; i++) {
        const v = packedPorts[i]!;
        const setId = Math.floor(v / 2 ** 24);
        key.push(setId);
        key.push(v - setId * 2 ** 24);
      }
    }
    let id = classIds.get(key);
    if (id >= 0) {
      if (!p) plainClassIds.set(identity, id);
      return id;
    }
    id = classRecs.length / CLASS_WORDS;
    const portStart = portMembers.count;
    for (let i = 0; i < nPorts; i++) {
      const v = packedPorts[i]!;
      const setId = Math.floor(v / 2 ** 24);
      const low = v - setId * 2 ** 24;
      portMembers.push(setId, low >>> 16, low & 0xffff);
    }
    classRecs.reserve(CLASS_WORDS);
    classRecs.push(identity);
    classRecs.push(portStart);
    classRecs.push(nPorts);
    classRecs.push(p?.epNode ?? NONE);
    classRecs.push(p?.hostNode ?? NONE);
    classRecs.push(p?.egressProg ?? NONE);
    classRecs.push(p?.ingressProg ?? NONE);
    classRecs.push(((p?.epKind ?? S.EP_NONE) & 0xff) | ((p?.policed ? S.CLASS_POLICED : 0) << 8));
    classIds.add(key, id);
    if (!p) plainClassIds.set(identity, id);
    return id;
  };
  classOf(0, undefined);

  /**
   * Per entity, the address sets it is in (CSR by entity id, set ids
   * ascending), shared by both families' sweeps (an entity without ranges of
   * a family has no events there).
   */
  const groups = ((): { start: Uint32Array; sets: Uint32Array } => {
    const entityCount = model.entities.length;
    const start = new Uint32Array(entityCount + 1);
    const sets = c.addrSets;
    for (let id = 0; id < sets.length; id++) {
      const ents = sets[id]!.entities;
      for (let k = 0; k < ents.length; k++) start[ents[k]! + 1]!++;
    }
    for (let e = 0; e < entityCount; e++) start[e + 1]! += start[e]!;
    const out = new Uint32Array(start[entityCount]!);
    const fill = start.slice(0, entityCount);
    for (let id = 0; id < sets.length; id++) {
      const ents = sets[id]!.entities;
      for (let k = 0; k < ents.length; k++) out[fill[ents[k]!]!++] = id;
    }
    return { start, sets: out };
  })();

  /**
   * Interval sweep over the sorted distinct positions (every member range's
   * start and end, every exact address and the one after it, and 0): the
   * set events of each position (CSR: `evStart`, `evSet` = set << 1 | start)
   * update the active-set counts (a group event stands for one event per set
   * of its entity), whose identity (sorted set ids) gives the
   * interval's identity; consecutive positions of the same class merge.
   */
  const sweep = <P>(
    positions: P[],
    evStart: Uint32Array,
    evSet: Uint32Array,
    ex: Map<P, ExactProps>,
    groups?: { start: Uint32Array; sets: Uint32Array },
  ): { starts: P[]; classes: number[] } => {
    const state = identities.newSweep();
    const starts: P[] = [];
    const classes: number[] = [];
    let identity = -1;
    for (let i = 0; i < positions.length; i++) {
      const pos = positions[i]!;
      let toggled = false;
      for (let k = evStart[i]!; k < evStart[i + 1]!; k++) {
        const ev = evSet[k]!;
        const d = ev & 1 ? 1 : -1;
        if (ev & GROUP_EVENT) {
          // An entity range: an event for every set the entity is in.
          const g = (ev >>> 1) & 0x3fffffff;
          for (let j = groups!.start[g]!; j < groups!.start[g + 1]!; j++) if (state.apply(groups!.sets[j]!, d)) toggled = true;
        } else if (state.apply(ev >>> 1, d)) toggled = true;
      }
      // The active sets only change at set events: keep the identity otherwise.
      if (toggled || identity < 0) identity = identities.intern(state);
      const cls = classOf(identity, ex.get(pos));
      if (classes.length > 0 && classes[classes.length - 1] === cls) continue;
      starts.push(pos);
      classes.push(cls);
    }
    return { starts, classes };
  };

  // IPv4: u32 positions, events radix-sorted by position. An entity's range
  // is one group event for all the sets it is in (not one event per set).
  const exact4 = (exact[4] ?? new Map()) as Map<number, ExactProps>;
  const v4 = (() => {
    const NO_SET = 0xffffffff; // a position without a set event
    const entityCount = model.entities.length;
    if (entityCount >= 2 ** 30 - 1 || c.addrSets.length >= 2 ** 30) throw new Error('too many entities or address sets');
    const groupStart = groups.start;
    let bound = 1 + 2 * exact4.size;
    for (const s of c.addrSets) bound += 2 * s.cidrs.length;
    for (let e = 0; e < entityCount; e++) if (groupStart[e + 1] !== groupStart[e]) bound += 2 * model.entities[e]!.cidrs.length;
    const keys = new Uint32Array(bound);
    const codes = new Uint32Array(bound);
    let n = 0;
    keys[n] = 0;
    codes[n++] = NO_SET;
    /** Events of the IPv4 members of `cidrs`: code << 1 | 1 at starts, code << 1 at ends (none at 2^32). */
    const add = (cidrs: readonly Cidr[], code: number): void => {
      for (let k = 0; k < cidrs.length; k++) {
        const cidr = cidrs[k]!;
        if (cidr.family !== 4) continue;
        const base = Number(cidr.base);
        keys[n] = base;
        codes[n++] = ((code << 1) | 1) >>> 0;
        const end = base + 2 ** (32 - cidr.prefixLen);
        if (end < 2 ** 32) {
          keys[n] = end;
          codes[n++] = (code << 1) >>> 0;
        }
      }
    };
    c.addrSets.forEach((s, id) => add(s.cidrs, id));
    for (let e = 0; e < entityCount; e++) if (groupStart[e + 1] !== groupStart[e]) add(model.entities[e]!.cidrs, (GROUP_EVENT >>> 1) | e);
    for (const v of exact4.keys()) {
      keys[n] = v;
      codes[n++] = NO_SET;
      if (v + 1 < 2 ** 32) {
        keys[n] = v + 1;
        codes[n++] = NO_SET;
      }
    }
    radixSortPairs(keys, codes, n, 16, new Uint32Array(n), new Uint32Array(n), new Uint32Array(65537));
    const sk = keys;
    const sc = codes;
    const positions: number[] = [];
    const evStart = new U32Buf();
    const evSet = new U32Buf(n);
    for (let i = 0; i < n; i++) {
      if (i === 0 || sk[i] !== sk[i - 1]) {
        positions.push(sk[i]!);
        evStart.push(evSet.length);
      }
      if (sc[i] !== NO_SET) evSet.push(sc[i]!);
    }
    evStart.push(evSet.length);
    return sweep(positions, evStart.view(), evSet.view(), exact4, groups);
  })();

  // IPv6: BigInt positions, deduplicated by value, then sorted.
  const exact6 = (exact[6] ?? new Map()) as Map<bigint, ExactProps>;
  const v6 = (() => {
    const TOP6 = 1n << 128n;
    const index = new Map<bigint, number>([[0n, 0]]);
    const positions: bigint[] = [0n];
    const addPos = (v: bigint): number => {
      let i = index.get(v);
      if (i === undefined) {
        i = positions.length;
        positions.push(v);
        index.set(v, i);
      }
      return i;
    };
    const evPos = new U32Buf();
    const evCode = new U32Buf();
    /** IPv6 members as (start, end) position indices, end -1 when the range reaches the top. */
    const ranges6 = (cidrs: readonly Cidr[]): number[] => {
      const out: number[] = [];
      for (const cidr of cidrs) {
        if (cidr.family !== 6) continue;
        const end = cidr.base + (1n << BigInt(128 - cidr.prefixLen));
        out.push(addPos(cidr.base), end < TOP6 ? addPos(end) : -1);
      }
      return out;
    };
    const add = (ranges: number[], id: number): void => {
      for (let k = 0; k < ranges.length; k += 2) {
        evPos.push(ranges[k]!);
        evCode.push(((id << 1) | 1) >>> 0);
        if (ranges[k + 1]! >= 0) {
          evPos.push(ranges[k + 1]!);
          evCode.push((id << 1) >>> 0);
        }
      }
    };
    // As for IPv4, an entity's ranges are group events for all its sets.
    const entityCount = model.entities.length;
    c.addrSets.forEach((s, id) => add(ranges6(s.cidrs), id));
    for (let e = 0; e < entityCount; e++) {
      if (groups.start[e + 1] !== groups.start[e]) add(ranges6(model.entities[e]!.cidrs), (GROUP_EVENT >>> 1) | e);
    }
    for (const v of exact6.keys()) {
      addPos(v);
      if (v + 1n < TOP6) addPos(v + 1n);
    }
    const order = positions.map((_p, i) => i).sort((a, b) => cmpBig(positions[a]!, positions[b]!));
    const rank = new Uint32Array(positions.length);
    order.forEach((i, r) => (rank[i] = r));
    const at = new Uint32Array(evPos.length);
    for (let k = 0; k < at.length; k++) at[k] = rank[evPos.at(k)]!;
    const { evStart, evSet } = csr(positions.length, at, (k) => evCode.at(k));
    return sweep(order.map((i) => positions[i]!), evStart, evSet, exact6, groups);
  })();

  // Sparse identity rows: each identity's sorted address-set ids.
  const identitySets = identities.sets.parts();
  const identityRows = new Uint32Array(2 * identities.rowStart.length);
  for (let i = 0; i < identities.rowStart.length; i++) {
    identityRows[2 * i] = identities.rowStart[i]!;
    identityRows[2 * i + 1] = identities.rowCount[i]!;
  }

  const decision = buildDecision(c);

  // 5. NAT: every exact frontend key of the model's NAT table, sorted, and its
  //    NodePort table (applies to every node address, after an exact miss);
  //    frontends of one service port and family share one backend list.
  const backends: Rec[] = [];
  const backendStart = new Map<unknown, Map<number, number>>();
  const natEntries = [...model.nat.entries()];
  const natAddr = natEntries.map((e) => addrWords(e.addr.family, e.addr.value));
  const natOrder = natEntries.map((_e, i) => i);
  natOrder.sort((i, j) => {
    const a = natEntries[i]!;
    const b = natEntries[j]!;
    if (a.addr.family !== b.addr.family) return a.addr.family - b.addr.family;
    const wa = natAddr[i]!;
    const wb = natAddr[j]!;
    for (let k = 0; k < 4; k++) if (wa[k] !== wb[k]) return wa[k]! - wb[k]!;
    return a.proto - b.proto || a.port - b.port;
  });
  const backendsOf = (frontend: Frontend, family: Family): { backendStart: number; backendCount: number } => {
    const bl = frontend.backends;
    let byFam = backendStart.get(frontend.servicePort);
    if (!byFam) backendStart.set(frontend.servicePort, (byFam = new Map()));
    let start = byFam.get(family);
    if (start === undefined) {
      start = backends.length;
      for (const b of bl) backends.push({ addr: addrWords(b.addr.family, b.addr.value), port: b.port, family: b.addr.family });
      byFam.set(family, start);
    }
    return { backendStart: bl.length ? start : 0, backendCount: bl.length };
  };
  const feRecs: Rec[] = natOrder.map((i) => {
    const fe = natEntries[i]!;
    return { addr: natAddr[i]!, family: fe.addr.family, proto: fe.proto, port: fe.port, ...backendsOf(fe.frontend, fe.addr.family) };
  });
  // NodePorts: one record per (family with node addresses, proto, port), sorted.
  const nodePortRecs: Rec[] = [...model.nat.nodePortEntries()]
    .sort((a, b) => a.family - b.family || a.proto - b.proto || a.port - b.port)
    .map((np) => ({ family: np.family, proto: np.proto, port: np.port, ...backendsOf(np.frontend, np.family) }));

  // 6. Failsafe ports and protocol flags.
  const failsafe: Rec[] = [
    ...model.options.failsafeInbound.map((f) => ({ dir: S.DIR_INGRESS, proto: f.protocol, port: f.port })),
    ...model.options.failsafeOutbound.map((f) => ({ dir: S.DIR_EGRESS, proto: f.protocol, port: f.port })),
  ];
  const protoFlags = new Uint8Array(256);
  for (let p = 0; p < 256; p++) protoFlags[p] = (hasPorts(p) ? S.PROTO_HAS_PORTS : 0) | (isIcmp(p) ? S.PROTO_IS_ICMP : 0);

  const e2h = model.options.endpointToHostAction;
  const config: Rec = {
    identitySetCount: identitySets.count,
    addrSetCount: c.addrSets.length,
    portSetCount: c.portSets.length,
    transitIngressProg,
    transitEgressProg,
    noProfileMatchRule,
    endpointToHostAction: e2h === 'Drop' ? S.E2H_DROP : e2h === 'Accept' ? S.E2H_ACCEPT : S.E2H_RETURN,
    identityCount: identities.rowStart.length,
    nodeCount: nodes.length,
  };

  const data: SectionData = {
    CONFIG: [config],
    PROTO_FLAGS: protoFlags,
    V4_STARTS: v4.starts,
    V4_CLASS: v4.classes,
    V6_STARTS: v6.starts.map((s) => ({ w: addrWords(6, s) })),
    V6_CLASS: v6.classes,
    CLASSES: new U32Records(classRecs.length / CLASS_WORDS, classRecs.view()),
    IDENTITY_ROWS: new U32Records(identities.rowStart.length, identityRows),
    PORT_MEMBERS: portMembers.records(),
    NODES: nodeRecs,
    PROGRAMS: new U32Records(c.programs.length / 2, c.programs.view()),
    OPS: new U32Records(c.ops.length / 4, c.ops.view()),
    TIER_BLOCKS: new U32Records(c.tierBlocks.length / TIER_BLOCK_WORDS, c.tierBlocks.view()),
    PROFILE_BLOCKS: c.profileBlocks,
    TIER_REFS: c.tierRefs,
    PROFILE_REFS: c.profileRefs,
    RULE_REFS: c.ruleRefs.view(),
    MATCHES: new U32Records(c.matches.length / MATCH_WORDS, c.matches.view()),
    ADDR_TESTS: new U32Records(c.addrTests.length / 2, c.addrTests.view()),
    PORT_LISTS: new U32Records(c.portLists.length / 4, c.portLists.view()),
    PORT_RANGES: new U32Records(c.portRanges.length, c.portRanges.view()),
    NAMED_REFS: c.namedRefs,
    FAILSAFE: failsafe,
    NAT_FRONTENDS: feRecs,
    NAT_BACKENDS: backends,
    NAT_NODEPORTS: nodePortRecs,
    RULE_META: new U32Records(c.ruleMeta.length / RULE_META_WORDS, c.ruleMeta.view()),
    STRINGS: c.strings.bytes(),
    IDENTITY_SETS: identitySets,
    DBLOCKS: decision.blocks,
    DRULES: decision.rules,
    DSETS: decision.sets,
    DLISTS: decision.lists,
    DPORTS: decision.ports,
    DBITS: decision.bits,
  };
  return {
    image: writeImage(data),
    stats: {
      addrSets: c.addrSets.length,
      portSets: c.portSets.length,
      identities: identities.rowStart.length,
      classes: classRecs.length / CLASS_WORDS,
      v4Intervals: v4.starts.length,
      v6Intervals: v6.starts.length,
      programs: c.programs.length / 2,
      tierBlocks: c.tierBlocks.length / TIER_BLOCK_WORDS,
      matches: c.matches.length / MATCH_WORDS,
      rules: c.ruleMeta.length / RULE_META_WORDS,
      natFrontends: feRecs.length,
      natBackends: backends.length,
      dblocks: decision.blocks.count,
      dbitsWords: decision.bits.count,
    },
  };
}

/** Library entry for `netverdict compile`: resolve (optionally for one node) and compile. */
export function compileCluster(cluster: import('../model/types.js').Cluster, options: import('../resolve/index.js').ResolveOptions = {}): CompiledImage {
  return compileImage(new ResolvedClusterCtor(cluster, options));
}

// ---- decision structure (docs/FORMAT.md §4 "Decision blocks") --------------

interface DecisionTables {
  blocks: U32Records;
  rules: U32Records;
  sets: U32Records;
  lists: Uint32Array;
  ports: U32Records;
  /** DBITS: u64 words as (low, high) u32 pairs. */
  bits: U32Parts;
}

const PORT_PROTOS: number[] = [];
for (let p = 0; p < 256; p++) if (hasPorts(p)) PORT_PROTOS.push(p);
/** Port-table keys are proto << 16 | port, below 2^24. */
const KEY_END = 1 << 24;

/**
 * DBITS rows, deduplicated by content (a row is appended on first use; equal
 * rows share its word offset). Found through an open-addressing table keyed
 * by a hash of the words, then compared.
 */
class RowTable {
  readonly halves = new U32Chunks();
  /**
   * Per slot, SLOT words side by side (one cache line per probe): row start
   * (index into `halves`) + 1 (0 when empty), its hash, its length, and its
   * first two words (most rows have two: blocks of up to 64 rules), so a
   * probe rarely reads `halves`.
   */
  private slots = new Int32Array(SLOT << 12);
  private rows = 0;

  /** Word offset (u64 words) of the row whose u32 halves are `words[0, len)`. */
  intern(words: Uint32Array, len: number): number {
    let h = 0x811c9dc5 ^ len;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
    // Finalizer: the low bits of the product above depend only on the words'
    // low bits (rows of small blocks would crowd a few slots).
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const w0 = len > 0 ? words[0]! | 0 : 0;
    const w1 = len > 1 ? words[1]! | 0 : 0;
    // Rows of up to two words: first a small direct-mapped cache of recent
    // rows (about half the interns at 10k/10k hit it; the table is MBs).
    const recent = this.recent;
    const r = (h & (RECENT - 1)) * 5;
    if (len <= 2 && recent[r + 4] !== 0 && recent[r] === h && recent[r + 1] === len && recent[r + 2] === w0 && recent[r + 3] === w1) return recent[r + 4]! - 1;
    const offset = this.find(h, len, w0, w1, words);
    if (len <= 2) {
      recent[r] = h;
      recent[r + 1] = len;
      recent[r + 2] = w0;
      recent[r + 3] = w1;
      recent[r + 4] = offset + 1;
    }
    return offset;
  }

  /** Recent rows of up to two words: hash, length, the words, offset + 1 (0: empty). */
  private readonly recent = new Int32Array(RECENT * 5);

  /** intern's table lookup (and insertion). */
  private find(h: number, len: number, w0: number, w1: number, words: Uint32Array): number {
    const slots = this.slots;
    const mask = slots.length / SLOT - 1;
    const halves = this.halves;
    let i = h & mask;
    for (; slots[SLOT * i] !== 0; i = (i + 1) & mask) {
      const at = SLOT * i;
      if (slots[at + 1] !== h || slots[at + 2] !== len || slots[at + 3] !== w0 || slots[at + 4] !== w1) continue;
      const start = slots[at]! - 1;
      let k = 2;
      while (k < len && halves.at(start + k) === words[k]) k++;
      if (k >= len) return start / 2;
    }
    const start = halves.length;
    for (let k = 0; k < len; k++) halves.push(words[k]!);
    const at = SLOT * i;
    slots[at] = start + 1;
    slots[at + 1] = h;
    slots[at + 2] = len;
    slots[at + 3] = w0;
    slots[at + 4] = w1;
    if (++this.rows * 2 > mask + 1) this.grow();
    return start / 2;
  }

  private grow(): void {
    const old = this.slots;
    const size = (old.length / SLOT) * 2;
    const slots = (this.slots = new Int32Array(SLOT * size));
    for (let j = 0; j < old.length; j += SLOT) {
      if (old[j] === 0) continue;
      let i = old[j + 1]! & (size - 1);
      while (slots[SLOT * i] !== 0) i = (i + 1) & (size - 1);
      for (let w = 0; w < SLOT; w++) slots[SLOT * i + w] = old[j + w]!;
    }
  }
}

/** RowTable slot words. */
const SLOT = 5;
/** RowTable recent-row cache entries. */
const RECENT = 1024;

/** Set bits of a u32 (SWAR popcount). */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Interval end that is past every key (no end event). */
const NO_END = 0xffffffff;

/**
 * Port criteria of every match record for one field (source port or
 * destination (protocol, port)), flat: criteria of match m are
 * [start[m], start[m + 1]), criterion k has `negate[k]` and the intervals
 * [ivStart[k], ivStart[k + 1]) of `lo`/`hi` (key ranks after `rank()`; `hi`
 * NO_END when the interval reaches KEY_END; empty intervals left out).
 */
class PortCriteria {
  readonly start: Uint32Array;
  readonly negate = new U32Buf();
  readonly ivStart = new U32Buf();
  readonly lo = new U32Buf();
  readonly hi = new U32Buf();

  constructor(matches: number) {
    this.start = new Uint32Array(matches + 1);
    this.ivStart.push(0);
  }

  /** Opens a criterion (of the match being filled). */
  open(negate: boolean): void {
    this.negate.push(negate ? 1 : 0);
  }

  /** Key interval [lo, hi) of the open criterion. */
  interval(lo: number, hi: number): void {
    if (hi <= lo) return; // empty: never holds
    this.lo.push(lo);
    this.hi.push(hi < KEY_END ? hi : NO_END);
  }

  /**
   * Port ranges of the open criterion on each protocol with ports (only
   * `onlyProto` when not -1): every port when `any`, else the PORT_RANGES
   * words [start, start + count) (first | last << 16).
   */
  ranges(onlyProto: number, any: boolean, words: Uint32Array, start: number, count: number): void {
    for (let i = 0; i < PORT_PROTOS.length; i++) {
      const q = PORT_PROTOS[i]!;
      if (onlyProto !== -1 && q !== onlyProto) continue;
      if (any) this.interval(q << 16, (q << 16) + 65536);
      else for (let k = start; k < start + count; k++) this.interval((q << 16) + (words[k]! & 0xffff), (q << 16) + (words[k]! >>> 16) + 1);
    }
  }

  /** Closes the open criterion. */
  close(): void {
    this.ivStart.push(this.lo.length);
  }

  /**
   * Id of match m's criteria (just filled, the last ones) in `ids`, keyed by
   * the sequence (negate, interval count, lo, hi...) per criterion in
   * `scratch`: equal criteria, equal ids (0: none).
   */
  signature(m: number, ids: SeqIndex, scratch: U32Buf): number {
    const end = this.negate.length;
    if (this.start[m] === end) return 0;
    const neg = this.negate.raw();
    const ivs = this.ivStart.raw();
    const lo = this.lo.raw();
    const hi = this.hi.raw();
    scratch.length = 0;
    for (let ci = this.start[m]!; ci < end; ci++) {
      scratch.push(neg[ci]!);
      scratch.push(ivs[ci + 1]! - ivs[ci]!);
      for (let k = ivs[ci]!; k < ivs[ci + 1]!; k++) {
        scratch.push(lo[k]!);
        scratch.push(hi[k]!);
      }
    }
    let id = ids.get(scratch);
    if (id < 0) ids.add(scratch, (id = ids.size + 1));
    return id;
  }

  /** Marks every interval end key in `bits` (one bit per key below KEY_END) and its 2^16-key page in `pages`. */
  markKeys(bits: Uint32Array, pages: Uint8Array): void {
    const lo = this.lo.raw();
    const hi = this.hi.raw();
    for (let k = 0; k < this.lo.length; k++) {
      bits[lo[k]! >>> 5]! |= 1 << (lo[k]! & 31);
      pages[lo[k]! >>> 16] = 1;
      if (hi[k] !== NO_END) {
        bits[hi[k]! >>> 5]! |= 1 << (hi[k]! & 31);
        pages[hi[k]! >>> 16] = 1;
      }
    }
  }

  /** Replaces every key by its rank. */
  rank(rankOf: (key: number) => number): void {
    const lo = this.lo.raw();
    const hi = this.hi.raw();
    for (let k = 0; k < this.lo.length; k++) {
      lo[k] = rankOf(lo[k]!);
      if (hi[k] !== NO_END) hi[k] = rankOf(hi[k]!);
    }
  }
}

/**
 * One decision block per tier block and family: the family's rule list
 * without Log rules (a matching Log rule never decides nor records), and per
 * field a bitmap of the rules that field lets through:
 *  - source / destination address: the rules with no single-set test on that
 *    side pass by default (`base` row); a rule with exactly one test (set s,
 *    positive or negative) is listed under s, and the engine sets (positive)
 *    or clears (negative) its bit when the address's identity contains s;
 *  - source port and destination (protocol, port): interval tables keyed by
 *    proto << 16 | port (port 0 for protocols without ports), each interval
 *    with the row of rules whose protocol and port-range criteria hold there.
 * Criteria that no field captures exactly (named ports, service sets, ICMP
 * type/code, several address tests on one side) are left to a full check of
 * the candidate (`verify`). The deciding rule is the first candidate that
 * passes its check — the same rule the linear walk finds first.
 */
function buildDecision(c: Compiler): DecisionTables {
  const M = c.matches.length / MATCH_WORDS;
  const mw = c.matches.raw();
  const plw = c.portLists.raw();
  const prw = c.portRanges.raw();
  const atw = c.addrTests.raw();
  const ports = new U32Buf();
  const rows = new RowTable();
  // Per match record (shared by every block that lists it), in flat arrays:
  // what the decision fields capture, its rule id and action.
  const mVerify = new Uint8Array(M);
  /** Per side: the rule's only address test on that side as setId * 2 + negate, -1 when none or several. */
  const mSingle = [new Int32Array(M).fill(-1), new Int32Array(M).fill(-1)] as const;
  const mAction = new Uint8Array(M);
  const mRule = new Uint32Array(M);
  const sport = new PortCriteria(M);
  /** Per match record, an id of its source-port criteria (equal ids: equal criteria); most blocks' source-port tables repeat. */
  const mSportSig = new Uint32Array(M);
  const sportSigs = new SeqIndex();
  const dport = new PortCriteria(M);
  /** As mSportSig for the destination (protocol, port) criteria: a tier block's v4 and v6 blocks mostly list the same criteria. */
  const mDportSig = new Uint32Array(M);
  const dportSigs = new SeqIndex();
  const sigScratch = new U32Buf(64);
  /** Adds the port list's criterion (NONE: none) to `pc`: its ranges, or every port when `anyPort` or (unless `negate`) it names ports; true when it names ports. */
  const portCriterion = (pc: PortCriteria, list: number, negate: boolean, onlyProto: number): boolean => {
    if (list === NONE) return false;
    const named = plw[4 * list + 3]! > 0;
    pc.open(negate);
    // A `ports` list with named ports: any port may hit (checked by verify).
    pc.ranges(onlyProto, named && !negate, prw, plw[4 * list]!, plw[4 * list + 1]!);
    pc.close();
    return named;
  };
  for (let m = 0; m < M; m++) {
    const at = m * MATCH_WORDS;
    const w1 = mw[at + 1]!;
    mAction[m] = w1 & 0xff;
    mRule[m] = mw[at]!;
    let verify = false;
    const flags = (w1 >>> 8) & 0xff;
    const proto = (w1 >>> 16) & 0xff;
    const notProto = w1 >>> 24;
    if (flags & (S.M_ICMP_TYPE | S.M_NOT_ICMP_TYPE)) verify = true;
    if (mw[at + 5]! !== NONE) verify = true; // destination service set
    const testStart = mw[at + 3]!;
    const testCount = mw[at + 4]!;
    for (let side = 0; side < 2; side++) {
      let count = 0;
      let only = -1;
      for (let k = 0; k < testCount; k++) {
        const t1 = atw[2 * (testStart + k) + 1]!;
        if ((t1 & 0xff) !== side) continue;
        if (count++ === 0) only = atw[2 * (testStart + k)]! * 2 + ((t1 >>> 8) & 0xff ? 1 : 0);
      }
      if (count === 1) mSingle[side][m] = only;
      else if (count > 1) verify = true;
    }
    sport.start[m] = sport.negate.length;
    if (portCriterion(sport, mw[at + 6]!, false, -1)) verify = true;
    if (portCriterion(sport, mw[at + 7]!, true, -1)) verify = true;
    mSportSig[m] = sport.signature(m, sportSigs, sigScratch);
    dport.start[m] = dport.negate.length;
    // With a protocol criterion the rule's destination bit is 0 outside that
    // protocol's keys whatever its ports: its port criteria only matter there.
    const onlyProto = flags & S.M_PROTO ? proto : -1;
    if (flags & S.M_PROTO) {
      dport.open(false);
      dport.interval(proto << 16, (proto + 1) << 16);
      dport.close();
    }
    if (flags & S.M_NOT_PROTO) {
      dport.open(true);
      dport.interval(notProto << 16, (notProto + 1) << 16);
      dport.close();
    }
    // Named destination ports: any port may hit (checked by verify).
    if (portCriterion(dport, mw[at + 8]!, false, onlyProto)) verify = true;
    if (portCriterion(dport, mw[at + 9]!, true, onlyProto)) verify = true;
    mDportSig[m] = dport.signature(m, dportSigs, sigScratch);
    mVerify[m] = verify ? 1 : 0;
  }
  sport.start[M] = sport.negate.length;
  dport.start[M] = dport.negate.length;

  // Keys as ranks among every interval end (and key 0, rank 0): the event
  // sort of a block then works on small numbers.
  const keyBits = new Uint32Array(KEY_END >>> 5);
  const pages = new Uint8Array(KEY_END >>> 16);
  keyBits[0]! |= 1;
  pages[0] = 1;
  sport.markKeys(keyBits, pages);
  dport.markKeys(keyBits, pages);
  const wordRank = new Uint32Array(keyBits.length); // read only in pages with keys
  let keyCount = 0;
  for (let page = 0; page < pages.length; page++) {
    if (!pages[page]) continue;
    for (let w = page << 11; w < (page + 1) << 11; w++) {
      wordRank[w] = keyCount;
      keyCount += popcount32(keyBits[w]!);
    }
  }
  const keyOf = new Uint32Array(keyCount);
  for (let page = 0, r = 0; page < pages.length; page++) {
    if (!pages[page]) continue;
    for (let w = page << 11; w < (page + 1) << 11; w++) {
      for (let x = keyBits[w]!; x !== 0; x &= x - 1) keyOf[r++] = w * 32 + 31 - Math.clz32(x & -x);
    }
  }
  const rankOf = (key: number): number => wordRank[key >>> 5]! + popcount32(keyBits[key >>> 5]! & ((1 << (key & 31)) - 1));
  sport.rank(rankOf);
  dport.rank(rankOf);
  /** Radix digits of the event sort: one pass when the ranks fit in 2^11, else two. */
  const rankBits = Math.max(1, 32 - Math.clz32(keyCount - 1));
  const digitBits = rankBits <= 11 ? rankBits : Math.ceil(rankBits / 2);
  const passes = rankBits <= 11 ? 1 : 2;

  // Output sized at once: rules (without Log rules), single-test entries and
  // distinct (block side, set) pairs counted first.
  let ruleTotal = 0;
  let singleTotal = 0;
  let setTotal = 0;
  const seenIn = new Int32Array(c.addrSets.length).fill(-1); // last block side that listed each set
  let blockSide = 0;
  const ruleRefs = c.ruleRefs.raw();
  const tbw = c.tierBlocks.raw();
  const tierBlockCount = c.tierBlocks.length / TIER_BLOCK_WORDS;
  for (let tb = 0; tb < tierBlockCount; tb++) {
    for (let f = 0; f < 2; f++) {
      const refStart = tbw[tb * TIER_BLOCK_WORDS + 2 * f]!;
      const refEnd = refStart + tbw[tb * TIER_BLOCK_WORDS + 2 * f + 1]!;
      for (let side = 0; side < 2; side++, blockSide++) {
        const single = mSingle[side as 0 | 1];
        for (let i = refStart; i < refEnd; i++) {
          const m = ruleRefs[i]!;
          if (mAction[m] === S.ACTION_LOG) continue;
          if (side === 0) ruleTotal++;
          const t = single[m]!;
          if (t < 0) continue;
          singleTotal++;
          if (seenIn[t >>> 1] !== blockSide) {
            seenIn[t >>> 1] = blockSide;
            setTotal++;
          }
        }
      }
    }
  }
  /** DRULES: ruleId, matchIdx, action | verify << 8, 0. */
  const rules = new Uint32Array(ruleTotal * 4);
  let ruleCount = 0;
  /** DSETS: setId, listStart, posCount, negCount. */
  const sets = new Uint32Array(setTotal * 4);
  let setCount = 0;
  const lists = new Uint32Array(singleTotal);
  let listCount = 0;

  // Scratch buffers shared by every block (grown on demand): no typed array per block.
  let ms = new Int32Array(256);
  let evKey: Uint32Array = new Uint32Array(1024);
  let evCode: Uint32Array = new Uint32Array(1024);
  let tmpKey: Uint32Array = new Uint32Array(1024);
  let tmpCode: Uint32Array = new Uint32Array(1024);
  const digits = new Uint32Array((1 << digitBits) + 1);
  let crRule = new Int32Array(256);
  let crNegate = new Uint8Array(256);
  let inside = new Int32Array(256);
  let failing = new Int32Array(256);
  let cur = new Uint32Array(64);
  let last = new Uint32Array(64);
  const base = [new Uint32Array(64), new Uint32Array(64)];
  const setEntries = [new Float64Array(256), new Float64Array(256)];
  const roomU32 = (a: Uint32Array, need: number): Uint32Array => {
    if (need <= a.length) return a;
    const b = new Uint32Array(Math.max(need, a.length * 2));
    b.set(a);
    return b;
  };

  /** Scratch for the packed sort: key rank * 2^28 + code (ranks < 2^24, codes < 2^28: below 2^52). */
  let packed = new Float64Array(1024);
  /** The same as u32 words, key rank << (32 - rankBits) | code, when the codes fit (an integer sort is faster). */
  let packed32 = new Uint32Array(1024);
  const codeBits = 32 - rankBits;
  /**
   * Sorts events [0, e) by key rank (the order within a key does not matter;
   * codes are below `codeEnd`): insertion sort when few; packed (key, code)
   * numbers through the typed-array sort while e is small next to the radix
   * digit range (a radix pass clears and sums 2^digitBits counters); else LSD
   * radix.
   */
  const sortEvents = (e: number, codeEnd: number): void => {
    if (e > 24 && e < passes << digitBits && codeEnd <= 2 ** codeBits) {
      if (packed32.length < e) packed32 = new Uint32Array(Math.max(e, packed32.length * 2));
      for (let i = 0; i < e; i++) packed32[i] = ((evKey[i]! << codeBits) | evCode[i]!) >>> 0;
      const sorted = packed32.subarray(0, e).sort();
      const mask = 2 ** codeBits - 1; // codeBits <= 31
      for (let i = 0; i < e; i++) {
        const v = sorted[i]!;
        evKey[i] = v >>> codeBits;
        evCode[i] = v & mask;
      }
      return;
    }
    if (e > 24 && e < passes << digitBits) {
      if (packed.length < e) packed = new Float64Array(Math.max(e, packed.length * 2));
      for (let i = 0; i < e; i++) packed[i] = evKey[i]! * 2 ** 28 + evCode[i]!;
      const sorted = packed.subarray(0, e).sort();
      for (let i = 0; i < e; i++) {
        const v = sorted[i]!;
        const key = Math.floor(v / 2 ** 28);
        evKey[i] = key;
        evCode[i] = v - key * 2 ** 28;
      }
      return;
    }
    if (e <= 24) {
      for (let i = 1; i < e; i++) {
        const key = evKey[i]!;
        const code = evCode[i]!;
        let j = i - 1;
        for (; j >= 0 && evKey[j]! > key; j--) {
          evKey[j + 1] = evKey[j]!;
          evCode[j + 1] = evCode[j]!;
        }
        evKey[j + 1] = key;
        evCode[j + 1] = code;
      }
      return;
    }
    tmpKey = roomU32(tmpKey, e);
    tmpCode = roomU32(tmpCode, e);
    const mask = (1 << digitBits) - 1;
    let kIn = evKey;
    let cIn = evCode;
    let kOut = tmpKey;
    let cOut = tmpCode;
    for (let pass = 0, shift = 0; pass < passes; pass++, shift += digitBits) {
      digits.fill(0);
      for (let i = 0; i < e; i++) digits[((kIn[i]! >>> shift) & mask) + 1]!++;
      for (let d = 0; d < mask; d++) digits[d + 1]! += digits[d]!;
      for (let i = 0; i < e; i++) {
        const at = digits[(kIn[i]! >>> shift) & mask]!++;
        kOut[at] = kIn[i]!;
        cOut[at] = cIn[i]!;
      }
      [kIn, cIn, kOut, cOut] = [kOut, cOut, kIn, cIn];
    }
    if (kIn !== evKey) {
      // An odd number of passes: the sorted events are in the scratch pair.
      [evKey, tmpKey] = [tmpKey, evKey];
      [evCode, tmpCode] = [tmpCode, evCode];
    }
  };

  /**
   * Port field table over keys proto << 16 | port: a row per key interval,
   * bit i set when none of rule i's criteria fails there. A sweep over the
   * criteria's interval ends (sorted by key; the state after a key does not
   * depend on the order of its events), counting per criterion the intervals
   * holding the key and per rule its failing criteria; an entry is emitted at
   * key 0 and wherever the row differs from the previous entry's (`diff`
   * counts the rules whose bit differs).
   */
  const portTable = (n: number, halves: number, pc: PortCriteria): { start: number; count: number } => {
    let crCount = 0;
    let e = 0;
    const cStart = pc.start;
    const cNeg = pc.negate.raw();
    const ivStart = pc.ivStart.raw();
    const lo = pc.lo.raw();
    const hi = pc.hi.raw();
    for (let i = 0; i < n; i++) {
      const m = ms[i]!;
      for (let ci = cStart[m]!; ci < cStart[m + 1]!; ci++) {
        if (crCount === crRule.length) {
          const rule2 = new Int32Array(crCount * 2);
          rule2.set(crRule);
          crRule = rule2;
          const neg2 = new Uint8Array(crCount * 2);
          neg2.set(crNegate);
          crNegate = neg2;
        }
        if (crCount >= 2 ** 27) throw new Error(`decision block too large (${crCount} port criteria)`);
        crRule[crCount] = i;
        crNegate[crCount] = cNeg[ci]!;
        const a = ivStart[ci]!;
        const b = ivStart[ci + 1]!;
        if (e + 2 * (b - a) > evKey.length) {
          evKey = roomU32(evKey, e + 2 * (b - a));
          evCode = roomU32(evCode, e + 2 * (b - a));
        }
        for (let k = a; k < b; k++) {
          evKey[e] = lo[k]!;
          evCode[e++] = crCount * 2 + 1;
          if (hi[k] !== NO_END) {
            evKey[e] = hi[k]!;
            evCode[e++] = crCount * 2;
          }
        }
        crCount++;
      }
    }
    sortEvents(e, 2 * crCount);
    if (inside.length < crCount) inside = new Int32Array(Math.max(crCount, inside.length * 2));
    inside.fill(0, 0, crCount);
    if (failing.length < n) failing = new Int32Array(Math.max(n, failing.length * 2));
    failing.fill(0, 0, n);
    for (let ci = 0; ci < crCount; ci++) if (!crNegate[ci]) failing[crRule[ci]!]!++;
    cur.fill(0, 0, halves);
    last.fill(0, 0, halves);
    for (let i = 0; i < n; i++) if (failing[i] === 0) cur[i >> 5]! |= 1 << (i & 31);
    const start = ports.length >>> 1;
    let k = 0;
    let first = true;
    let diff = 0;
    while (k < e || first) {
      const at = first ? 0 : evKey[k]!;
      for (; k < e && evKey[k] === at; k++) {
        const code = evCode[k]!;
        const ci = code >>> 1;
        const before = inside[ci]!;
        const after = before + (code & 1 ? 1 : -1);
        inside[ci] = after;
        if (before > 0 === after > 0) continue;
        // The criterion fails where (negate ? inside : outside).
        const failsNow = crNegate[ci] ? after > 0 : after === 0;
        const rule = crRule[ci]!;
        const f = (failing[rule]! += failsNow ? 1 : -1);
        if ((failsNow && f === 1) || (!failsNow && f === 0)) {
          const w = rule >> 5;
          const bit = 1 << (rule & 31);
          cur[w]! ^= bit;
          diff += (cur[w]! ^ last[w]!) & bit ? 1 : -1;
        }
      }
      if (first || diff !== 0) {
        ports.push(keyOf[at]!);
        ports.push(rows.intern(cur, halves));
        for (let w = 0; w < halves; w++) last[w] = cur[w]!;
        diff = 0;
      }
      first = false;
    }
    return { start, count: (ports.length >>> 1) - start };
  };

  /**
   * A port table depends only on its rules' criteria, in order: blocks with
   * the same sequence of criteria ids repeat the first one's entries (the
   * same keys and, rows being interned, the same row offsets). Tables by
   * that sequence, as (start, count) of their entries in `ports`.
   */
  const tableSeq = new U32Buf(256);
  const reusedTable = (n: number, halves: number, pc: PortCriteria, sig: Uint32Array, tables: SeqIndex, made: number[]): { start: number; count: number } => {
    tableSeq.length = 0;
    for (let i = 0; i < n; i++) tableSeq.push(sig[ms[i]!]!);
    const t = tables.get(tableSeq);
    if (t >= 0) {
      const start = ports.length >>> 1;
      const from = made[2 * t]!;
      const count = made[2 * t + 1]!;
      ports.reserve(2 * count);
      ports.raw().copyWithin(ports.length, 2 * from, 2 * (from + count));
      ports.length += 2 * count;
      return { start, count };
    }
    const table = portTable(n, halves, pc);
    tables.add(tableSeq, made.length >>> 1);
    made.push(table.start, table.count);
    return table;
  };
  const sportTables = new SeqIndex();
  const sportMade: number[] = [];
  const dportTables = new SeqIndex();
  const dportMade: number[] = [];
  if (tierBlockCount > 0 && c.addrSets.length >= 2 ** 21) throw new Error('too many address sets for the decision tables');
  const blocks = new Uint32Array(2 * tierBlockCount * DBLOCK_WORDS);
  let blockCount = 0;
  for (let tb = 0; tb < tierBlockCount; tb++) {
    for (let f = 0; f < 2; f++) {
      const refStart = tbw[tb * TIER_BLOCK_WORDS + 2 * f]!;
      const refCount = tbw[tb * TIER_BLOCK_WORDS + 2 * f + 1]!;
      if (ms.length < refCount) ms = new Int32Array(Math.max(refCount, ms.length * 2));
      let n = 0;
      for (let i = 0; i < refCount; i++) {
        const m = ruleRefs[refStart + i]!;
        if (mAction[m] !== S.ACTION_LOG) ms[n++] = m;
      }
      const words = Math.ceil(n / 64);
      const halves = words * 2;
      if (cur.length < halves) {
        const size = Math.max(halves, cur.length * 2);
        cur = new Uint32Array(size);
        last = new Uint32Array(size);
        base[0] = new Uint32Array(size);
        base[1] = new Uint32Array(size);
      }
      const ruleStart = ruleCount;
      // Per side, (setId, negative, rule) of single-test rules as setId * 2^32 + negative * 2^31 + rule.
      const entries: Float64Array[] = [];
      for (let side = 0; side < 2; side++) {
        const b = base[side]!;
        b.fill(0, 0, halves);
        if (setEntries[side]!.length < n) setEntries[side] = new Float64Array(Math.max(n, setEntries[side]!.length * 2));
        const se = setEntries[side]!;
        const single = mSingle[side as 0 | 1];
        let count = 0;
        for (let i = 0; i < n; i++) {
          const t = single[ms[i]!]!;
          if (t >= 0) {
            se[count++] = (t >>> 1) * 2 ** 32 + (t & 1 ? 2 ** 31 : 0) + i;
            if (t & 1) b[i >> 5]! |= 1 << (i & 31);
          } else b[i >> 5]! |= 1 << (i & 31);
        }
        entries[side] = se.subarray(0, count).sort();
      }
      for (let i = 0; i < n; i++) {
        const m = ms[i]!;
        const at = 4 * ruleCount++;
        rules[at] = mRule[m]!;
        rules[at + 1] = m;
        rules[at + 2] = mAction[m]! | (mVerify[m]! << 8);
      }
      // Address fields: per set id (ascending), its positive then negative rules (in rule order).
      const sideStart = [0, 0];
      const sideCount = [0, 0];
      for (let side = 0; side < 2; side++) {
        const start = setCount;
        const sorted = entries[side]!;
        for (let k = 0; k < sorted.length; ) {
          const setId = Math.floor(sorted[k]! / 2 ** 32);
          const listStart = listCount;
          let pos = 0;
          let neg = 0;
          for (; k < sorted.length && Math.floor(sorted[k]! / 2 ** 32) === setId; k++) {
            const low = sorted[k]! - setId * 2 ** 32;
            if (low >= 2 ** 31) {
              neg++;
              lists[listCount++] = low - 2 ** 31;
            } else {
              pos++;
              lists[listCount++] = low;
            }
          }
          const at = 4 * setCount++;
          sets[at] = setId;
          sets[at + 1] = listStart;
          sets[at + 2] = pos;
          sets[at + 3] = neg;
        }
        sideStart[side] = start;
        sideCount[side] = setCount - start;
      }
      const sp = reusedTable(n, halves, sport, mSportSig, sportTables, sportMade);
      const dp = reusedTable(n, halves, dport, mDportSig, dportTables, dportMade);
      const at = DBLOCK_WORDS * blockCount++;
      blocks[at] = ruleStart;
      blocks[at + 1] = n;
      blocks[at + 2] = words;
      blocks[at + 3] = rows.intern(base[0]!, halves);
      blocks[at + 4] = rows.intern(base[1]!, halves);
      blocks[at + 5] = sideStart[0]!;
      blocks[at + 6] = sideCount[0]!;
      blocks[at + 7] = sideStart[1]!;
      blocks[at + 8] = sideCount[1]!;
      blocks[at + 9] = sp.start;
      blocks[at + 10] = sp.count;
      blocks[at + 11] = dp.start;
      blocks[at + 12] = dp.count;
    }
  }
  return {
    blocks: new U32Records(blockCount, blocks),
    rules: new U32Records(ruleCount, rules),
    sets: new U32Records(setCount, sets),
    lists,
    ports: new U32Records(ports.length >>> 1, ports.view()),
    bits: rows.halves.parts(2),
  };
}
