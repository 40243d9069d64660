/**
 * The only module that loads the native addon (createRequire on the node-gyp
 * build output), checks its ABI and format version, and wraps it in typed,
 * validated calls. Batches go in and out as caller-owned typed arrays.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { wordsToAddr, type Family, type IpAddr } from '../net/ip.js';
import { readImage, type ImageView } from '../format/image.js';
import { EVAL_REASONS, FLOW_REASONS, FORMAT_MAJOR, NONE, SECTIONS } from '../format/spec.js';

/** The addon ABI this wrapper speaks (native/addon/addon.cc kAbiVersion). */
export const ADDON_ABI = 6;

export interface BatchOutputs {
  verdict: Uint8Array;
  reason?: Uint8Array;
  egressRule?: Uint32Array;
  ingressRule?: Uint32Array;
  decidingRule?: Uint32Array;
  /** byte 0 egress, byte 1 ingress, byte 2 deciding evaluation reason (EVAL_REASONS index). */
  evalReasons?: Uint32Array;
  /** Index into the NAT backend table, or NONE. */
  natBackend?: Uint32Array;
  /** Linear strategy: match records tested for the tuple. */
  rulesVisited?: Uint32Array;
  /**
   * Trace events (all three or none): tuple i's event words at
   * events[i * eventStride ...], their number in eventCount[i], or
   * EVENT_OVERFLOW when they did not fit (then incomplete). See EV_* below.
   */
  events?: Uint32Array;
  eventCount?: Uint8Array;
  /** 1..MAX_EVENT_STRIDE; events.length >= n * eventStride. */
  eventStride?: number;
}

/**
 * Trace event words (native/include/engine.h): kind in bits 31..30, payload
 * below. EV_ENTRY / EV_LOG carry a rule id (a trace entry of the evaluation
 * under way, in order; a matching Log rule); EV_EVAL closes an evaluation with
 * slot | reason << 8 | allow << 16 (EVAL_SLOTS, EVAL_REASONS index).
 */
export const EV_ENTRY = 0;
export const EV_LOG = 1;
export const EV_EVAL = 2;
export const EVENT_PAYLOAD = 0x3fffffff;
export const EVENT_OVERFLOW = 0xff;
export const MAX_EVENT_STRIDE = 254;
/** Which evaluation of the packet's path an EV_EVAL closes (engine.h EvalSlot). */
export const EVAL_SLOTS = ['src', 'dst', 'forward-egress', 'forward-ingress', 'transit-ingress', 'transit-egress'] as const;

/**
 * How the engine walks a program's tiers (same outputs either way):
 * `linear` tests rule after rule like Calico's BPF program (its
 * `rulesVisited` is the Calico cost model); `decision` intersects per-field
 * rule bitmaps per tier (docs/FORMAT.md "Decision blocks"; `rulesVisited` =
 * candidates given a full check), or, on one node's image, per-field masks
 * over a whole program (docs/ARCHITECTURE.md, program masks; `rulesVisited` =
 * candidates looked at).
 */
export type Strategy = 'linear' | 'decision' | 'decision-bitmaps';
/** `decision-bitmaps`: the decision strategy without its linear walk of small (≤ 8 rule) blocks — for tests. */
const STRATEGY_CODE: Record<Strategy, number> = { linear: 0, decision: 1, 'decision-bitmaps': 2 };

interface RawEngine {
  classifyV4(src: Uint32Array, dst: Uint32Array, sport: Uint16Array, dport: Uint16Array, proto: Uint8Array, out: BatchOutputs, strategy?: number): number;
  classifyV6(src: Uint32Array, dst: Uint32Array, sport: Uint16Array, dport: Uint16Array, proto: Uint8Array, out: BatchOutputs, strategy?: number): number;
  classifyOne(
    family: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number,
    proto: number, sport: number, dport: number, out: Uint32Array, strategy?: number, events?: Uint32Array, eventCount?: Uint8Array,
  ): number;
  /** A slot of the shared single-tuple function (RawAddon.fastShared) whose results go to out[0..7]. */
  fastSlot(out: Uint32Array, strategy?: number): number;
  /** maxProgramWork / workCap: the load-time work budget (docs/FORMAT.md §6). */
  info(): EngineInfo;
}

/**
 * maxProgramWork / workCap: the load-time work budget (docs/FORMAT.md §6); traceBound: worst-case trace events per tuple;
 * fastTransit: IPv4 batches of the decision strategy take the fast transit path (pure 5-tuple ACL images, e.g. ClassBench);
 * simd: that path's decision-tree stages run on SIMD, simdForm which: 'avx512' where the CPU has AVX-512 F/BW/VL/DQ,
 * else 'avx2' where it has AVX2 (NV_SIMD=avx2 forces it), else 'scalar' (NV_SIMD=0 forces it: the tested twin);
 * memoryBytes: what the engine holds (the image copy plus every derived index); treeCount / treeBytes: the
 * decision trees derived at load for large IPv4 tier blocks; rfcCount / rfcBytes: the Recursive Flow
 * Classification tables derived for those of them that are 5-tuple ACLs and fit the budget (docs/ARCHITECTURE.md);
 * pmCount / pmBytes: the program masks derived for images with few programs (one node's data path); pmCut:
 * some program's masks cover only its first rules (long tiers, long programs) and walk the rest;
 * nodeLanes: IPv4 decision batches take the node lane path (docs/ARCHITECTURE.md); laneMemoBytes: that path's
 * table of first positions per (remote class, folded mask), 0 where there is none (over 1 MiB).
 */
export interface EngineInfo {
  imageSize: number;
  ruleCount: number;
  backendCount: number;
  maxProgramWork: number;
  workCap: number;
  traceBound: number;
  fastTransit: boolean;
  simd: boolean;
  simdForm: 'avx512' | 'avx2' | 'scalar';
  memoryBytes: number;
  treeCount: number;
  treeBytes: number;
  rfcCount: number;
  rfcBytes: number;
  pmCount: number;
  pmBytes: number;
  pmCut: boolean;
  nodeLanes: boolean;
  laneMemoBytes: number;
}

export interface RawAddon {
  abiVersion(): number;
  formatVersion(): { major: number; minor: number };
  layout(): { struct: string; field: string | null; value: number }[];
  tupleHash(family: number, src: Uint32Array, dst: Uint32Array, proto: number, sport: number, dport: number): number;
  /**
   * The thread's one single-tuple function: reads io[0..5] (src, dst, proto,
   * sport, dport, engine slot), classifies with that slot's engine and writes
   * the slot's out array; undefined for a slot that is not registered.
   */
  fastShared(io: Uint32Array): () => boolean | undefined;
  Engine: new (image: Uint8Array, strategy?: number) => RawEngine;
}

export class NativeUnavailableError extends Error {
  readonly code = 'ERR_NATIVE_UNAVAILABLE';
}

export class ImageLoadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let cached: RawAddon | undefined;

// The single-tuple path shared by every engine of this thread (one function,
// so the call in classifyV4One stays monomorphic however many engines exist:
// a function per engine cost every engine after the first 20-50 ns per call).
// io: [src, dst, proto, sport, dport, slot, ...] over its own ArrayBuffer.
let fastIo: Uint32Array | undefined;
let fastFn: (() => boolean | undefined) | undefined;

/**
 * Loads build/Release/netverdict.node (once) and checks the version handshake.
 * NETVERDICT_ADDON=<path> loads another build instead (same-run before/after benchmarks).
 */
export function loadAddon(): RawAddon {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '../../build/Release/netverdict.node'), join(here, '../../../build/Release/netverdict.node')];
  const path = process.env.NETVERDICT_ADDON || candidates.find((p) => existsSync(p));
  if (!path) throw new NativeUnavailableError(`native addon not built (looked in ${candidates.join(', ')}); run npx node-gyp rebuild`);
  const require = createRequire(import.meta.url);
  const addon = require(path) as RawAddon;
  if (addon.abiVersion() !== ADDON_ABI) throw new NativeUnavailableError(`addon ABI ${addon.abiVersion()}, expected ${ADDON_ABI}; rebuild the addon`);
  if (addon.formatVersion().major !== FORMAT_MAJOR) throw new NativeUnavailableError(`addon reads image format ${addon.formatVersion().major}, compiler writes ${FORMAT_MAJOR}`);
  cached = addon;
  return addon;
}

export interface RuleInfo {
  id: number;
  tier: string;
  name: string;
  action: 'allow' | 'deny' | 'pass' | 'log';
  ruleIndex: number;
  kind: number;
  file: string;
  line: number;
  column: number;
}

export interface BackendInfo {
  addr: IpAddr;
  port: number;
}

const ACTIONS = ['allow', 'deny', 'pass', 'log'] as const;


/** Comparable per-tuple record (deciding entries as `tier|name|action|ruleIndex`). */
export interface NativeFlowRecord {
  action: 'allow' | 'deny';
  reason: (typeof FLOW_REASONS)[number];
  egress?: { reason: string; deciding: string | undefined };
  ingress?: { reason: string; deciding: string | undefined };
  deciding?: { reason: string; deciding: string | undefined };
  natBackend?: BackendInfo;
}

export class NativeEngine {
  readonly rules: RuleInfo[];
  readonly backends: BackendInfo[];
  // Results of the single-tuple calls (classifyV4One via this engine's slot of
  // the shared function, classifyOne), over its own ArrayBuffer (never moved by the GC).
  private readonly scratch = new Uint32Array(new ArrayBuffer(32));
  private readonly slot: number;

  private constructor(
    private readonly raw: RawEngine,
    readonly image: ImageView,
    /** Default strategy of this engine (per-call arguments override it). */
    readonly strategy: Strategy,
  ) {
    this.rules = image.records('RULE_META').map((r, id) => ({
      id,
      tier: image.string(Number(r.tier)),
      name: image.string(Number(r.name)),
      action: ACTIONS[Number(r.action)]!,
      ruleIndex: Number(r.ruleIndex),
      kind: Number(r.kind),
      file: image.string(Number(r.file)),
      line: Number(r.line),
      column: Number(r.column),
    }));
    if (!fastFn) {
      fastIo = new Uint32Array(new ArrayBuffer(64));
      fastFn = loadAddon().fastShared(fastIo);
    }
    this.slot = raw.fastSlot(this.scratch, STRATEGY_CODE[strategy]);
    this.backends = image.records('NAT_BACKENDS').map((b) => ({ addr: wordsToAddr(Number(b.family) as Family, ...(b.addr as [number, number, number, number])), port: Number(b.port) }));
  }

  /** Verifies and loads an image; throws ImageLoadError with the loader's error code. */
  static fromImage(bytes: Uint8Array, options: { strategy?: Strategy } = {}): NativeEngine {
    const addon = loadAddon();
    const strategy = options.strategy ?? 'decision';
    if (!(strategy in STRATEGY_CODE)) throw new RangeError(`unknown strategy ${String(strategy)}`);
    let raw: RawEngine;
    try {
      raw = new addon.Engine(bytes, STRATEGY_CODE[strategy]);
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new ImageLoadError(err.code ?? 'UNKNOWN', err.message);
    }
    void SECTIONS;
    // The addon has verified the image, CRC included: no second CRC pass here.
    return new NativeEngine(raw, readImage(bytes, { crcChecked: true }), strategy);
  }

  info(): EngineInfo {
    return this.raw.info();
  }

  /**
   * Classifies n tuples of one family. v4: src/dst one word per tuple; v6:
   * four words per tuple, most significant first. For ICMP protocols sport
   * and dport carry the ICMP type and code.
   */
  classifyBatch(family: Family, src: Uint32Array, dst: Uint32Array, sport: Uint16Array, dport: Uint16Array, proto: Uint8Array, out: BatchOutputs, strategy?: Strategy): number {
    const n = proto.length;
    const w = family === 4 ? 1 : 4;
    if (src.length !== n * w || dst.length !== n * w || sport.length !== n || dport.length !== n) {
      throw new RangeError(`classifyBatch: ${n} tuples but src ${src.length}, dst ${dst.length}, sport ${sport.length}, dport ${dport.length} (IPv${family})`);
    }
    const code = STRATEGY_CODE[strategy ?? this.strategy];
    return family === 4 ? this.raw.classifyV4(src, dst, sport, dport, proto, out, code) : this.raw.classifyV6(src, dst, sport, dport, proto, out, code);
  }

  /**
   * One IPv4 tuple on plain numbers (no array per call): allowed or not returned,
   * details in `scratch` (valid until the next call): [verdict, reason,
   * egressRule, ingressRule, decidingRule, evalReasons, natBackend, rulesVisited].
   */
  classifyV4One(src: number, dst: number, proto: number, sport: number, dport: number): boolean {
    const io = fastIo!;
    io[0] = src;
    io[1] = dst;
    io[2] = proto;
    io[3] = sport;
    io[4] = dport;
    io[5] = this.slot;
    return fastFn!() === true;
  }

  /** Output array of classifyV4One / classifyOne. */
  get result(): Uint32Array {
    return this.scratch;
  }

  /**
   * One tuple on plain numbers; returns the internal scratch array (valid until the next call).
   * With `trace`, up to min(events.length, MAX_EVENT_STRIDE) trace event words go to
   * trace.events and their number (or EVENT_OVERFLOW) to trace.count[0].
   */
  classifyOne(
    family: Family, src: readonly number[], dst: readonly number[], proto: number, sport: number, dport: number, strategy?: Strategy,
    trace?: { events: Uint32Array; count: Uint8Array },
  ): Uint32Array {
    const code = strategy === undefined ? undefined : STRATEGY_CODE[strategy];
    const s = this.scratch;
    if (trace) this.raw.classifyOne(family, src[0] ?? 0, src[1] ?? 0, src[2] ?? 0, src[3] ?? 0, dst[0] ?? 0, dst[1] ?? 0, dst[2] ?? 0, dst[3] ?? 0, proto, sport, dport, s, code, trace.events, trace.count);
    else this.raw.classifyOne(family, src[0] ?? 0, src[1] ?? 0, src[2] ?? 0, src[3] ?? 0, dst[0] ?? 0, dst[1] ?? 0, dst[2] ?? 0, dst[3] ?? 0, proto, sport, dport, s, code);
    return s;
  }

  traceString(ruleId: number): string | undefined {
    if (ruleId === NONE) return undefined;
    const r = this.rules[ruleId];
    if (!r) throw new RangeError(`rule id ${ruleId} out of range`);
    return `${r.tier}|${r.name}|${r.action}|${r.ruleIndex}`;
  }

  /** Turns one tuple's outputs into a record comparable with the reference FlowResult. */
  record(verdict: number, reason: number, egressRule: number, ingressRule: number, decidingRule: number, evalReasons: number, natBackend: number): NativeFlowRecord {
    const rec: NativeFlowRecord = { action: verdict ? 'allow' : 'deny', reason: FLOW_REASONS[reason]! };
    const eg = evalReasons & 0xff;
    const ing = (evalReasons >>> 8) & 0xff;
    const dec = (evalReasons >>> 16) & 0xff;
    if (eg) rec.egress = { reason: EVAL_REASONS[eg]!, deciding: this.traceString(egressRule) };
    if (ing) rec.ingress = { reason: EVAL_REASONS[ing]!, deciding: this.traceString(ingressRule) };
    if (dec) rec.deciding = { reason: EVAL_REASONS[dec]!, deciding: this.traceString(decidingRule) };
    if (natBackend !== NONE) rec.natBackend = this.backends[natBackend];
    return rec;
  }
}
