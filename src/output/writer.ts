/**
 * JSON Lines and CSV records for column batches (src/io/columns.ts), at the
 * speed of the native engine rather than of one object graph per tuple.
 *
 * A record is the concatenation of parts that repeat across tuples, each
 * built once by the same functions the per-tuple path uses (flowRecord's
 * endpointFields, natFields, evaluationFields; JSON.stringify, csvField) and
 * kept as UTF-8 bytes:
 *  - per owner (endpoint, network set, or the pvt/pub name of an unknown
 *    address): its endpoint fields, source and dest forms;
 *  - per address: its owner, in an open-addressing table (bounded; IPv4
 *    addresses are written as digits, IPv6 ones keep their text);
 *  - per service frontend hit (destination, protocol, port, backend): the
 *    service and NAT fields and the post-NAT destination;
 *  - per sequence of trace events: the evaluation fields (egress, ingress,
 *    host_policies, deciding) as a template whose holes are the evaluated
 *    endpoints' names. The events name every evaluation with its slot,
 *    entries, Log hits, reason and action; the endpoints (by slot: source,
 *    destination, their nodes' forward host endpoints, the transit one) are
 *    the only other input of those fields.
 * The tuple's own numbers (ports, protocol, ICMP type/code), the verdict and
 * the flow reason are written per tuple. A tuple whose events overflowed
 * takes the per-tuple path whole. Byte-for-byte equal to
 * JSON.stringify(flowRecord(...)) / csvRow(...) of NativeFlowClassifier's
 * results (test/output/writer.test.ts).
 */
import { addrToWords, formatIp, protocolName, wordsToAddr, type Family, type IpAddr } from '../net/ip.js';
import { NONE, FLOW_REASONS } from '../format/spec.js';
import { EV_EVAL, EVENT_OVERFLOW, MAX_EVENT_STRIDE, type NativeEngine } from '../native/index.js';
import { ReferenceEvaluator, serviceFrontend } from '../reference/evaluate.js';
import type { AddressOwner, Entity, ResolvedCluster } from '../resolve/index.js';
import { ENTRY_ERROR, type TupleBatch } from '../io/columns.js';
import { csvField, csvRow, endpointFields, endpointName, evaluationFields, flowRecord, natFields } from './records.js';
import { NativeFlowClassifier, type ChunkOutputs } from './native.js';

export type RecordFormat = 'jsonl' | 'csv';

/** What an address's owner writes (shared by every address of the endpoint, network set, or of pvt/pub), as UTF-8 bytes. */
interface OwnerPart {
  endpoint: Entity | undefined;
  /** JSON: `"source_type":...,"source_namespace":...,"source_name":...,` and the dest form (no comma). */
  jsonSrc: Uint8Array;
  jsonDst: Uint8Array;
  /** JSON: `,"source_labels":[...]` (or empty) and the dest form. */
  srcLabels: Uint8Array;
  dstLabels: Uint8Array;
  /** CSV: `type,namespace,name,`. */
  csv: Uint8Array;
  /** JSON string of the endpoint as evaluation records name it (`namespace/name`), and of its node's forward host endpoint. */
  endpointJson?: Uint8Array;
  forwardJson?: Uint8Array;
}

/**
 * Addresses to what they write: an open-addressing table from (family, four
 * words) to a value — for IPv4 its owner's index (the address itself is
 * written as digits), for IPv6 the index of its text and owner in `v6`.
 * Emptied (with `v6`) when it holds `limit` addresses.
 */
class AddressTable {
  private fam!: Uint8Array;
  private keys!: Uint32Array;
  private vals!: Int32Array;
  private mask = 0;
  count = 0;

  constructor(private readonly limit: number) {
    this.alloc(1 << 12);
  }

  private alloc(cap: number): void {
    this.fam = new Uint8Array(cap);
    this.keys = new Uint32Array(cap * 4);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    this.count = 0;
  }

  private slot(family: number, w0: number, w1: number, w2: number, w3: number): number {
    const h = family === 4 ? mix(4, w0) : mix(mix(mix(mix(6, w0), w1), w2), w3);
    const fam = this.fam;
    const keys = this.keys;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const f = fam[i]!;
      if (f === 0 || (f === family && keys[4 * i] === w0 && keys[4 * i + 1] === w1 && keys[4 * i + 2] === w2 && keys[4 * i + 3] === w3)) return i;
    }
  }

  /** The value of an address (IPv4: w1..w3 zero), or -1. */
  get(family: number, w0: number, w1: number, w2: number, w3: number): number {
    const i = this.slot(family, w0, w1, w2, w3);
    return this.fam[i] !== 0 ? this.vals[i]! : -1;
  }

  /** Adds an address not in the table; false when the table was emptied first (the caller's indexes with it). */
  add(family: number, w0: number, w1: number, w2: number, w3: number, value: number): boolean {
    let kept = true;
    if (this.count >= this.limit) {
      this.alloc(this.fam.length);
      kept = false;
    } else if (2 * (this.count + 1) > this.fam.length) {
      const { fam, keys, vals } = this;
      this.alloc(fam.length * 2);
      for (let i = 0; i < fam.length; i++) {
        if (fam[i] === 0) continue;
        const j = this.slot(fam[i]!, keys[4 * i]!, keys[4 * i + 1]!, keys[4 * i + 2]!, keys[4 * i + 3]!);
        this.fam[j] = fam[i]!;
        this.keys.set(keys.subarray(4 * i, 4 * i + 4), 4 * j);
        this.vals[j] = vals[i]!;
        this.count++;
      }
    }
    if (!kept) return false;
    const i = this.slot(family, w0, w1, w2, w3);
    this.fam[i] = family;
    this.keys[4 * i] = w0;
    this.keys[4 * i + 1] = w1;
    this.keys[4 * i + 2] = w2;
    this.keys[4 * i + 3] = w3;
    this.vals[i] = value;
    this.count++;
    return true;
  }
}

/** An IPv6 address's text (as formatIp writes it) and owner. */
interface V6Part {
  text: Uint8Array;
  owner: number;
}

interface NatPart {
  family: number;
  /** Key: the pre-NAT destination, protocol, port and backend. */
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  proto: number;
  dport: number;
  backend: number;
  next: NatPart | undefined;
  /** The post-NAT destination (the backend), when there is one: family and words (IPv4: w[1..3] zero). */
  post?: { family: Family; w: Uint32Array };
  /** `dest_port` after NAT (the backend's port), or -1 for the tuple's own. */
  postDport: number;
  /** JSON: `,"dest_service_namespace":...,"nat":{...}`. */
  json: Uint8Array;
  /** CSV: `service namespace,name,`. */
  csv: Uint8Array;
}

/**
 * Evaluation fields per trace events (chained on hash collisions). The
 * events give every evaluation, entry, Log hit, reason and action; the
 * evaluated endpoints' names are the holes of the JSON template, filled per
 * record: `json[0]`, name of `holes[0]`'s endpoint, `json[1]`, ...
 */
interface EvalPart {
  events: Uint32Array;
  next: EvalPart | undefined;
  /** JSON: `,"egress":...,"deciding":{...}}` and a newline (the record's end), split at the endpoint names. */
  json: Uint8Array[];
  /** Per hole, its evaluation slot (engine.h EvalSlot). */
  holes: number[];
  /** CSV: `egress_action,ingress_action,deciding_direction,deciding_tier,deciding_policy,rule_index` and a newline. */
  csv: Uint8Array;
}

/** Evaluation slots (engine.h EvalSlot) and where their endpoint comes from. */
const SLOT_SRC = 0;
const SLOT_DST = 1;
const SLOT_FWD_EGRESS = 2;
const SLOT_FWD_INGRESS = 3;

/** A hash step (murmur3's mix of one word). */
function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** A hash as a map key V8 keeps unboxed (a small integer). */
const smi = (h: number): number => h & 0x3fffffff;

/**
 * Cache sizes before a cache is emptied, bounding memory on captures of
 * millions of addresses: addresses (21 bytes each in typed arrays, plus the
 * text of IPv6 ones) and the NAT and evaluation parts (an evaluation part is a
 * record's policy fields, up to a few KB).
 */
const ADDRESS_LIMIT = 1 << 20;
const PART_LIMIT = 1 << 16;

const json = (v: unknown): string => JSON.stringify(v);
/** `{"a":1,"b":2}` as `,"a":1,"b":2` (empty for `{}`). */
const fields = (o: object): string => {
  const s = JSON.stringify(o);
  return s.length > 2 ? ',' + s.slice(1, -1) : '';
};

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const PROTO_JSON = Array.from({ length: 256 }, (_, p) => bytes(`,"proto":${json(protocolName(p))},`));
const PROTO_CSV = Array.from({ length: 256 }, (_, p) => bytes(csvField(protocolName(p)) + ','));
const ACTION_JSON = [bytes(',"action":"deny","reason":'), bytes(',"action":"allow","reason":')];
const ACTION_CSV = [bytes('deny,'), bytes('allow,')];
const REASON_JSON = FLOW_REASONS.map((r) => bytes(json(r)));
const REASON_CSV = FLOW_REASONS.map((r) => bytes(csvField(r) + ','));
const NO_NAT_CSV = bytes(',,');
const SOURCE_IP = bytes('{"source_ip":"');
const SOURCE_PORT = bytes('","source_port":');
const DEST_IP = bytes(',"dest_ip":"');
const DEST_PORT = bytes('","dest_port":');
const NULL = bytes('null');
const ICMP_TYPE = bytes(',"icmp_type":');
const ICMP_CODE = bytes(',"icmp_code":');

/** A batch's output bytes: fragments copied in, numbers written as digits. */
class ByteSink {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + need));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  put(f: Uint8Array): void {
    const n = f.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const b = this.buf;
    let p = this.pos;
    if (n <= 24) for (let k = 0; k < n; k++) b[p++] = f[k]!;
    else {
      b.set(f, p);
      p += n;
    }
    this.pos = p;
  }

  /** A number 0..2^31 in decimal, then `comma` when true. */
  num(v: number, comma: boolean): void {
    if (this.pos + 12 > this.buf.length) this.grow(12);
    const b = this.buf;
    let p = this.pos;
    if (v >= 10) {
      let digits = 1;
      for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
      p += digits;
      for (let q = p - 1, x = v; digits > 0; digits--, x = (x / 10) | 0) b[q--] = 48 + (x % 10);
    } else b[p++] = 48 + v;
    if (comma) b[p++] = 44;
    this.pos = p;
  }

  /** An IPv4 address (a 32-bit number) as a dotted quad. */
  ipv4(v: number): void {
    if (this.pos + 16 > this.buf.length) this.grow(16);
    this.octet(v >>> 24);
    this.buf[this.pos++] = 46;
    this.octet((v >>> 16) & 255);
    this.buf[this.pos++] = 46;
    this.octet((v >>> 8) & 255);
    this.buf[this.pos++] = 46;
    this.octet(v & 255);
  }

  private octet(x: number): void {
    const b = this.buf;
    if (x >= 100) {
      b[this.pos++] = 48 + ((x / 100) | 0);
      b[this.pos++] = 48 + (((x / 10) | 0) % 10);
    } else if (x >= 10) b[this.pos++] = 48 + ((x / 10) | 0);
    b[this.pos++] = 48 + (x % 10);
  }

  comma(): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = 44;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
const NO_BACKEND = FLOW_REASONS.indexOf('no_backend');

export class FlowRecordWriter {
  readonly classifier: NativeFlowClassifier;
  private readonly stride: number;
  private readonly addrs: AddressTable;
  private v6: V6Part[] = [];
  private readonly ownerList: OwnerPart[] = [];
  private readonly nats = new Map<number, NatPart>();
  private readonly evals = new Map<number, EvalPart>();
  private readonly owners = new Map<Entity | string, number>();
  /** Entries per NAT and evaluation cache before it is emptied (PART_LIMIT; smaller in tests). */
  private readonly mapLimit: number;
  private readonly reference: ReferenceEvaluator;
  private transitJson?: Uint8Array;
  /** Per family: the engine's input columns and outputs, sized for a batch. */
  private cols?: { cap: number; fam: Record<Family, FamilyColumns>; at: Uint32Array };
  /** Records written; tuples whose events overflowed (per-tuple path). */
  readonly stats = { records: 0, overflowed: 0 };

  constructor(
    readonly model: ResolvedCluster,
    readonly engine: NativeEngine,
    readonly format: RecordFormat,
    /** mapLimit: every cache's size (tests of their emptying). */
    options: { eventStride?: number; mapLimit?: number } = {},
  ) {
    this.mapLimit = options.mapLimit ?? PART_LIMIT;
    this.addrs = new AddressTable(options.mapLimit ?? ADDRESS_LIMIT);
    this.classifier = new NativeFlowClassifier(model, engine, options);
    this.reference = new ReferenceEvaluator(model);
    this.stride = Math.max(1, Math.min(options.eventStride ?? engine.info().traceBound, MAX_EVENT_STRIDE));
  }

  /** Output bytes per record so far (sizes the first batch's buffer). */
  private perRecord = 256;
  private sink?: ByteSink;

  /**
   * The records of a batch (its error entries too, in JSON Lines), each line
   * ending in a newline, as UTF-8 bytes (a new buffer per call).
   */
  write(batch: TupleBatch): Buffer {
    this.classifyOnly(batch);
    const { 4: c4, 6: c6 } = this.cols!.fam;
    const at = this.cols!.at;
    const n = batch.n;
    // One sink reused (its memory stays in cache), the batch's bytes copied out at the end.
    const out = (this.sink ??= new ByteSink(Math.max(4096, Math.ceil(this.perRecord * n * 1.1))));
    out.pos = 0;
    const jsonl = this.format === 'jsonl';
    for (let i = 0; i < n; i++) {
      const k = batch.kind[i]!;
      if (k === ENTRY_ERROR) {
        if (jsonl) out.put(bytes(batch.errors[i]! + '\n'));
        continue;
      }
      this.record(out, batch, i, k === 4 ? c4 : c6, at[i]!);
      this.stats.records++;
    }
    if (n > 0) this.perRecord = Math.max(this.perRecord, out.pos / n);
    return Buffer.from(out.bytes());
  }

  /** The engine's step of `write` alone (benchmarks): classifies the batch's tuples; returns how many. */
  classifyOnly(batch: TupleBatch): number {
    const n = batch.n;
    if (!this.cols || this.cols.cap < n) {
      const cap = batch.capacity;
      this.cols = { cap, fam: { 4: new FamilyColumns(4, cap, this.stride), 6: new FamilyColumns(6, cap, this.stride) }, at: new Uint32Array(cap) };
    }
    const { 4: c4, 6: c6 } = this.cols.fam;
    c4.n = c6.n = 0;
    // Position of each entry in its family's columns.
    const at = this.cols.at;
    for (let i = 0; i < n; i++) {
      const k = batch.kind[i]!;
      if (k === 4) at[i] = c4.add(batch, i);
      else if (k === 6) at[i] = c6.add(batch, i);
    }
    c4.classify(this.engine);
    c6.classify(this.engine);
    return c4.n + c6.n;
  }

  private record(out: ByteSink, batch: TupleBatch, i: number, c: FamilyColumns, j: number): void {
    const o = c.out;
    const count = o.eventCount[j]!;
    if (count === EVENT_OVERFLOW) {
      this.stats.overflowed++;
      const rec = flowRecord(this.classifier.resultOf(batch.tuple(i), o, j));
      out.put(bytes((this.format === 'jsonl' ? JSON.stringify(rec) : csvRow(rec)) + '\n'));
      return;
    }
    const fam = c.family;
    const w = 4 * i;
    // Addresses as four words each (IPv4: then zeros); the source, and the destination after NAT.
    const bs = batch.src;
    const srcV6 = fam === 6 ? this.v6Part(bs, w) : undefined;
    const so = this.ownerList[srcV6 ? srcV6.owner : this.owner4(bs[w]!)]!;
    const proto = batch.proto[i]!;
    const sport = batch.sport[i]!;
    const dportIn = batch.dport[i]!;
    const reason = o.reason[j]!;
    const backend = o.natBackend[j]!;
    // A frontend was hit when the engine chose a backend or found none (the engine and the resolver agree: tested).
    const nat = backend !== NONE || reason === NO_BACKEND ? this.natPart(batch, i, backend) : undefined;
    const dfam = nat?.post ? nat.post.family : fam;
    const dw = nat?.post ? nat.post.w : batch.dst;
    const dat = nat?.post ? 0 : w;
    const dstV6 = dfam === 6 ? this.v6Part(dw, dat) : undefined;
    const dso = this.ownerList[dstV6 ? dstV6.owner : this.owner4(dw[dat]!)]!;
    const d0 = dw[dat]!;
    const dport = nat && nat.postDport >= 0 ? nat.postDport : dportIn;
    const ev = this.evalPart(batch, i, o, j, count);
    const allow = o.verdict[j] !== 0 ? 1 : 0;
    if (this.format === 'csv') {
      if (srcV6) out.put(srcV6.text);
      else out.ipv4(bs[w]!);
      out.comma();
      if (sport >= 0) out.num(sport, true);
      else out.comma();
      if (dstV6) out.put(dstV6.text);
      else out.ipv4(d0);
      out.comma();
      if (dport >= 0) out.num(dport, true);
      else out.comma();
      out.put(PROTO_CSV[proto]!);
      out.put(so.csv);
      out.put(dso.csv);
      out.put(nat ? nat.csv : NO_NAT_CSV);
      out.put(ACTION_CSV[allow]!);
      out.put(REASON_CSV[reason]!);
      out.put(ev.csv);
      return;
    }
    out.put(SOURCE_IP);
    if (srcV6) out.put(srcV6.text);
    else out.ipv4(bs[w]!);
    out.put(SOURCE_PORT);
    if (sport >= 0) out.num(sport, false);
    else out.put(NULL);
    out.put(DEST_IP);
    if (dstV6) out.put(dstV6.text);
    else out.ipv4(d0);
    out.put(DEST_PORT);
    if (dport >= 0) out.num(dport, false);
    else out.put(NULL);
    out.put(PROTO_JSON[proto]!);
    out.put(so.jsonSrc);
    out.put(dso.jsonDst);
    out.put(ACTION_JSON[allow]!);
    out.put(REASON_JSON[reason]!);
    const type = batch.icmpType[i]!;
    const code = batch.icmpCode[i]!;
    if (type >= 0) {
      out.put(ICMP_TYPE);
      out.num(type, false);
    }
    if (code >= 0) {
      out.put(ICMP_CODE);
      out.num(code, false);
    }
    out.put(so.srcLabels);
    out.put(dso.dstLabels);
    if (nat) out.put(nat.json);
    const parts = ev.json;
    out.put(parts[0]!);
    for (let h = 0; h < ev.holes.length; h++) {
      out.put(this.slotJson(ev.holes[h]!, so, dso));
      out.put(parts[h + 1]!);
    }
  }

  /** The JSON name of an evaluation slot's endpoint (as NativeFlowClassifier.slotEndpoint picks it). */
  private slotJson(slot: number, src: OwnerPart, dst: OwnerPart): Uint8Array {
    let name: Uint8Array | undefined;
    if (slot === SLOT_SRC) name = src.endpointJson;
    else if (slot === SLOT_DST) name = dst.endpointJson;
    else if (slot === SLOT_FWD_EGRESS || slot === SLOT_FWD_INGRESS) {
      const o = slot === SLOT_FWD_EGRESS ? src : dst;
      if (o.forwardJson === undefined) {
        const hep = this.reference.forwardHep(o.endpoint?.node);
        o.forwardJson = hep ? bytes(json(endpointName(hep))) : EMPTY;
      }
      name = o.forwardJson.length ? o.forwardJson : undefined;
    } else {
      if (this.transitJson === undefined) {
        const hep = this.reference.transitHep();
        this.transitJson = hep ? bytes(json(endpointName(hep))) : EMPTY;
      }
      name = this.transitJson.length ? this.transitJson : undefined;
    }
    if (!name) throw new Error(`engine reported evaluation slot ${slot} without its endpoint`);
    return name;
  }

  /** The owner index of an IPv4 address. */
  private owner4(w0: number): number {
    const v = this.addrs.get(4, w0, 0, 0, 0);
    if (v >= 0) return v;
    const a = wordsToAddr(4, w0);
    const owner = this.ownerPart(a, this.model.owner(a));
    if (!this.addrs.add(4, w0, 0, 0, 0, owner)) {
      this.v6 = []; // the table was emptied, and with it the IPv6 parts its values pointed to
      this.addrs.add(4, w0, 0, 0, 0, owner);
    }
    return owner;
  }

  /** The text and owner of the IPv6 address at words[at..at+4). */
  private v6Part(words: Uint32Array, at: number): V6Part {
    const w0 = words[at]!;
    const w1 = words[at + 1]!;
    const w2 = words[at + 2]!;
    const w3 = words[at + 3]!;
    const v = this.addrs.get(6, w0, w1, w2, w3);
    if (v >= 0) return this.v6[v]!;
    const a = wordsToAddr(6, w0, w1, w2, w3);
    const part: V6Part = { text: bytes(formatIp(a)), owner: this.ownerPart(a, this.model.owner(a)) };
    if (!this.addrs.add(6, w0, w1, w2, w3, this.v6.length)) {
      this.v6 = [];
      this.addrs.add(6, w0, w1, w2, w3, 0);
    }
    this.v6.push(part);
    return part;
  }

  /** The owner's part: per endpoint, per network set, or per pvt/pub name of an unknown address. */
  private ownerPart(a: IpAddr, owner: AddressOwner): number {
    const f = endpointFields(a, owner);
    const key = owner.endpoint ?? owner.networkSet ?? f.name;
    const hit = this.owners.get(key);
    if (hit !== undefined) return hit;
    const labels = f.labels ? json(f.labels) : undefined;
    const part: OwnerPart = {
      endpoint: owner.endpoint,
      jsonSrc: bytes(`"source_type":${json(f.type)},"source_namespace":${json(f.namespace)},"source_name":${json(f.name)},`),
      jsonDst: bytes(`"dest_type":${json(f.type)},"dest_namespace":${json(f.namespace)},"dest_name":${json(f.name)}`),
      srcLabels: bytes(labels ? `,"source_labels":${labels}` : ''),
      dstLabels: bytes(labels ? `,"dest_labels":${labels}` : ''),
      csv: bytes(`${csvField(f.type)},${csvField(f.namespace)},${csvField(f.name)},`),
    };
    if (owner.endpoint) part.endpointJson = bytes(json(endpointName(owner.endpoint)));
    this.owners.set(key, this.ownerList.length);
    this.ownerList.push(part);
    return this.ownerList.length - 1;
  }

  private natPart(batch: TupleBatch, i: number, backend: number): NatPart {
    const w = 4 * i;
    const family = batch.kind[i]!;
    const d = batch.dst;
    const w0 = d[w]!;
    const w1 = d[w + 1]!;
    const w2 = d[w + 2]!;
    const w3 = d[w + 3]!;
    const proto = batch.proto[i]!;
    const dport = batch.dport[i]!;
    const h = smi(mix(mix(mix(mix(mix(mix(mix(family, w0), w1), w2), w3), proto), dport), backend));
    for (let e = this.nats.get(h); e; e = e.next) {
      if (e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3 && e.family === family && e.proto === proto && e.dport === dport && e.backend === backend) return e;
    }
    const t = batch.tuple(i);
    const found = serviceFrontend(this.model, t);
    if (!found) throw new Error(`engine reported a NAT backend for ${formatIp(t.dst)}:${t.dport} that has no service frontend`);
    const r = found.result;
    let post: NatPart['post'];
    if (backend !== NONE) {
      const b = this.engine.backends[backend]!;
      r.postDst = b.addr;
      r.postDport = b.port;
      post = { family: b.addr.family, w: new Uint32Array(4) };
      addrToWords(b.addr, post.w);
    }
    const nf = natFields(r);
    if (this.nats.size >= this.mapLimit) this.nats.clear();
    const part: NatPart = {
      family,
      w0,
      w1,
      w2,
      w3,
      proto,
      dport,
      backend,
      next: this.nats.get(h),
      postDport: r.postDport ?? -1,
      json: bytes(fields(nf)),
      csv: bytes(`${csvField(nf.dest_service_namespace)},${csvField(nf.dest_service_name)},`),
    };
    if (post) part.post = post;
    this.nats.set(h, part);
    return part;
  }

  private evalPart(batch: TupleBatch, i: number, o: ChunkOutputs, j: number, count: number): EvalPart {
    const ev = o.events;
    const base = j * o.eventStride;
    let h = count;
    for (let k = 0; k < count; k++) h = mix(h, ev[base + k]!);
    h = smi(h);
    find: for (let e = this.evals.get(h); e; e = e.next) {
      if (e.events.length !== count) continue;
      for (let k = 0; k < count; k++) if (e.events[k] !== ev[base + k]) continue find;
      return e;
    }
    // The tuple's evaluations with placeholder endpoints named by their
    // order ("\u0000" + k: no Kubernetes or Calico name has a NUL), the JSON
    // split at each placeholder's string.
    const r = this.classifier.resultOf(batch.tuple(i), o, j);
    const holes: number[] = [];
    for (let k = 0; k < count; k++) {
      const w = ev[base + k]!;
      if (w >>> 30 === EV_EVAL) holes.push(w & 0xff);
    }
    if (holes.length !== r.evaluations.length || holes.length > 9) throw new Error(`engine reported ${holes.length} evaluations for ${r.evaluations.length}`);
    r.evaluations.forEach((e, k) => {
      e.endpoint = { name: `\u0000${k}` } as Entity;
    });
    const f = evaluationFields(r);
    const dec = f.deciding;
    const text = fields(f) + '}\n';
    const pieces: string[] = [];
    const order: number[] = [];
    let from = 0;
    for (const m of text.matchAll(/"\\u0000(\d)"/g)) {
      pieces.push(text.slice(from, m.index));
      order.push(holes[Number(m[1])]!);
      from = m.index! + m[0].length;
    }
    pieces.push(text.slice(from));
    if (this.evals.size >= this.mapLimit) this.evals.clear();
    const part: EvalPart = {
      events: ev.slice(base, base + count),
      next: this.evals.get(h),
      json: pieces.map(bytes),
      holes: order,
      csv: bytes([f.egress?.action, f.ingress?.action, dec?.direction, dec?.tier, dec?.policy, dec?.rule_index].map(csvField).join(',') + '\n'),
    };
    this.evals.set(h, part);
    return part;
  }
}

const EMPTY = new Uint8Array(0);

/** One family's engine inputs and outputs for a batch. */
class FamilyColumns {
  n = 0;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly sport: Uint16Array;
  private readonly dport: Uint16Array;
  private readonly proto: Uint8Array;
  readonly out: ChunkOutputs;

  constructor(
    readonly family: Family,
    cap: number,
    stride: number,
  ) {
    const w = family === 4 ? 1 : 4;
    this.src = new Uint32Array(cap * w);
    this.dst = new Uint32Array(cap * w);
    this.sport = new Uint16Array(cap);
    this.dport = new Uint16Array(cap);
    this.proto = new Uint8Array(cap);
    this.out = {
      verdict: new Uint8Array(cap),
      reason: new Uint8Array(cap),
      natBackend: new Uint32Array(cap),
      events: new Uint32Array(cap * stride),
      eventCount: new Uint8Array(cap),
      eventStride: stride,
    };
  }

  /** Appends batch entry i; returns its index here. ICMP type/code travel in the port columns. */
  add(b: TupleBatch, i: number): number {
    const j = this.n++;
    if (this.family === 4) {
      this.src[j] = b.src[4 * i]!;
      this.dst[j] = b.dst[4 * i]!;
    } else {
      for (let k = 0; k < 4; k++) {
        this.src[4 * j + k] = b.src[4 * i + k]!;
        this.dst[4 * j + k] = b.dst[4 * i + k]!;
      }
    }
    const p = b.proto[i]!;
    this.proto[j] = p;
    const icmp = p === 1 || p === 58;
    const sp = icmp ? b.icmpType[i]! : b.sport[i]!;
    const dp = icmp ? b.icmpCode[i]! : b.dport[i]!;
    this.sport[j] = sp >= 0 ? sp : 0;
    this.dport[j] = dp >= 0 ? dp : 0;
    return j;
  }

  classify(engine: NativeEngine): void {
    const n = this.n;
    if (n === 0) return;
    const w = this.family === 4 ? 1 : 4;
    const o = this.out;
    const view: ChunkOutputs = {
      verdict: o.verdict.subarray(0, n),
      reason: o.reason.subarray(0, n),
      natBackend: o.natBackend.subarray(0, n),
      events: o.events.subarray(0, n * o.eventStride),
      eventCount: o.eventCount.subarray(0, n),
      eventStride: o.eventStride,
    };
    engine.classifyBatch(this.family, this.src.subarray(0, n * w), this.dst.subarray(0, n * w), this.sport.subarray(0, n), this.dport.subarray(0, n), this.proto.subarray(0, n), view);
  }
}
