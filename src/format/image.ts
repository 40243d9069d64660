/**
 * Image writer and reader (docs/FORMAT.md). The writer takes plain records
 * per section and lays them out with the field tables of spec.ts; the reader
 * is the TypeScript twin of the native loader's structural checks (used by
 * `inspect` and to decode the rule map), not a trust boundary for the engine.
 */
import { crc32c } from './crc32c.js';
import {
  FORMAT_MAJOR,
  FORMAT_MINOR,
  HEADER,
  HEADER_SIZE,
  MAGIC,
  SECTION_ALIGN,
  SECTION_ENTRY,
  SECTIONS,
  SECTION_NAMES,
  type SectionName,
  type StructSpec,
} from './spec.js';

export type FieldValue = number | bigint | number[] | Uint8Array;
export type Rec = Record<string, FieldValue>;

/**
 * Records already laid out: `words` holds `count` records as little-endian
 * u32 words back to back (for sections whose record is all u32 fields, e.g.
 * DPORTS); the writer copies them as they are.
 */
export class U32Records {
  constructor(
    readonly count: number,
    readonly words: Uint32Array,
  ) {}
}

/** Like U32Records, the words split into consecutive parts (written one after the other). */
export class U32Parts {
  constructor(
    readonly count: number,
    readonly parts: readonly Uint32Array[],
  ) {}
}

/**
 * Records per section; U8/U32/U64 sections take plain number arrays or typed
 * arrays (Uint8Array, Uint32Array, BigUint64Array); record sections take
 * `Rec`s or `U32Records`.
 */
export type SectionData = Partial<Record<SectionName, Rec[] | number[] | Uint8Array | Uint32Array | bigint[] | BigUint64Array | U32Records | U32Parts>>;

type SectionItems = NonNullable<SectionData[SectionName]>;

/** Typed arrays are copied as bytes on little-endian hosts (the image's byte order). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function writeField(view: DataView, base: number, type: string, value: FieldValue | undefined): void {
  const v = value ?? 0;
  switch (type) {
    case 'u8':
      view.setUint8(base, Number(v));
      break;
    case 'u16':
      view.setUint16(base, Number(v), true);
      break;
    case 'u32':
      view.setUint32(base, Number(v) >>> 0, true);
      break;
    case 'i32':
      view.setInt32(base, Number(v), true);
      break;
    case 'u64':
      view.setBigUint64(base, BigInt(v as number | bigint), true);
      break;
    case 'u32x4': {
      const w = (v as number[]) ?? [0, 0, 0, 0];
      for (let i = 0; i < 4; i++) view.setUint32(base + 4 * i, (w[i] ?? 0) >>> 0, true);
      break;
    }
    case 'bytes8':
    case 'bytes16': {
      const n = type === 'bytes8' ? 8 : 16;
      const b = v instanceof Uint8Array ? v : new Uint8Array(n);
      for (let i = 0; i < n; i++) view.setUint8(base + i, b[i] ?? 0);
      break;
    }
    default:
      throw new Error(`unknown field type ${type}`);
  }
}

function readField(view: DataView, base: number, type: string): FieldValue {
  switch (type) {
    case 'u8':
      return view.getUint8(base);
    case 'u16':
      return view.getUint16(base, true);
    case 'u32':
      return view.getUint32(base, true);
    case 'i32':
      return view.getInt32(base, true);
    case 'u64':
      return view.getBigUint64(base, true);
    case 'u32x4':
      return [0, 1, 2, 3].map((i) => view.getUint32(base + 4 * i, true));
    case 'bytes8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + base, view.byteOffset + base + 8));
    case 'bytes16':
      return new Uint8Array(view.buffer.slice(view.byteOffset + base, view.byteOffset + base + 16));
    default:
      throw new Error(`unknown field type ${type}`);
  }
}

export function writeRecord(view: DataView, base: number, spec: StructSpec, rec: Rec): void {
  for (const f of spec.fields) writeField(view, base + f.offset, f.type, rec[f.name]);
}

export function readRecord(view: DataView, base: number, spec: StructSpec): Rec {
  const out: Rec = {};
  for (const f of spec.fields) out[f.name] = readField(view, base + f.offset, f.type);
  return out;
}

function recordCount(data: SectionItems): number {
  return data instanceof U32Records || data instanceof U32Parts ? data.count : data.length;
}

/** Any u32 words, for writing U32Parts piece by piece. */
const SCALAR_U32: StructSpec = { name: 'u32', size: 4, fields: [{ name: 'v', type: 'u32', offset: 0 }] } as StructSpec;

const FIELD_CODES: Record<string, number> = { u8: 1, u16: 2, u32: 3, i32: 4, u64: 5 };

/**
 * Writes `items` (records of `spec`) at byte `offset` of `bytes` (64-aligned).
 * u8/u16/u32/i32/u64 fields take the same values as `writeField`; u32 fields go
 * through a Uint32Array view on little-endian hosts (same ToUint32 conversion).
 */
function writeSection(bytes: Uint8Array, view: DataView, offset: number, spec: StructSpec, items: SectionItems): void {
  if (items instanceof U32Parts) {
    let words = 0;
    for (const part of items.parts) {
      writeSection(bytes, view, offset + 4 * words, SCALAR_U32, part);
      words += part.length;
    }
    if (words * 4 !== items.count * spec.size) throw new Error(`${spec.name}: ${words} words for ${items.count} records`);
    return;
  }
  if (items instanceof U32Records) {
    if (items.words.length * 4 !== items.count * spec.size) throw new Error(`${spec.name}: ${items.words.length} words for ${items.count} records`);
    items = items.words;
  }
  if (ArrayBuffer.isView(items)) {
    if (LITTLE_ENDIAN || items instanceof Uint8Array) {
      bytes.set(new Uint8Array(items.buffer, items.byteOffset, items.byteLength), offset);
    } else if (items instanceof Uint32Array) {
      for (let i = 0; i < items.length; i++) view.setUint32(offset + 4 * i, items[i]!, true);
    } else {
      for (let i = 0; i < items.length; i++) view.setBigUint64(offset + 8 * i, items[i]!, true);
    }
    return;
  }
  const u32 = LITTLE_ENDIAN ? new Uint32Array(bytes.buffer, bytes.byteOffset + offset, (spec.size * items.length) >>> 2) : undefined;
  if (spec.fields.length === 1 && spec.fields[0]!.name === 'v') {
    // Scalar sections: plain numbers (or BigInts for u64), or `{ v }` records.
    const type = spec.fields[0]!.type;
    const valueAt = (i: number): FieldValue | undefined => {
      const item = items[i]!;
      return typeof item === 'number' || typeof item === 'bigint' ? item : (item as Rec).v;
    };
    if (type === 'u32' && u32) {
      for (let i = 0; i < items.length; i++) {
        const v = valueAt(i);
        u32[i] = v === undefined ? 0 : typeof v === 'number' ? v : Number(v);
      }
      return;
    }
    for (let i = 0; i < items.length; i++) writeField(view, offset + i * spec.size, type, valueAt(i));
    return;
  }
  const fields = spec.fields.map((f) => ({ name: f.name, type: f.type, offset: f.offset, code: FIELD_CODES[f.type] ?? 0 }));
  const aligned = u32 !== undefined && spec.size % 4 === 0;
  for (let i = 0; i < items.length; i++) {
    const rec = items[i] as Rec;
    const base = offset + i * spec.size;
    for (let fi = 0; fi < fields.length; fi++) {
      const f = fields[fi]!;
      const v = rec[f.name];
      const at = base + f.offset;
      switch (f.code) {
        case 1:
          view.setUint8(at, v === undefined ? 0 : Number(v));
          break;
        case 2:
          view.setUint16(at, v === undefined ? 0 : Number(v), true);
          break;
        case 3: {
          const n = v === undefined ? 0 : typeof v === 'number' ? v : Number(v);
          if (aligned && (f.offset & 3) === 0) u32![(at - offset) >>> 2] = n;
          else view.setUint32(at, n >>> 0, true);
          break;
        }
        default:
          writeField(view, at, f.type, v);
      }
    }
  }
}

/** Lays out every section in id order, fills the header and the CRC. */
export function writeImage(data: SectionData, flags = 0): Uint8Array {
  const names = SECTION_NAMES.filter((n) => data[n] !== undefined).sort((a, b) => SECTIONS[a].id - SECTIONS[b].id);
  const dirOffset = HEADER_SIZE;
  let offset = align(dirOffset + names.length * SECTION_ENTRY.size, SECTION_ALIGN);
  const placed: { name: SectionName; offset: number; length: number; count: number }[] = [];
  for (const name of names) {
    const count = recordCount(data[name]!);
    const length = count * SECTIONS[name].rec.size;
    placed.push({ name, offset, length, count });
    offset = align(offset + length, SECTION_ALIGN);
  }
  const total = offset;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  for (const p of placed) writeSection(bytes, view, p.offset, SECTIONS[p.name].rec, data[p.name]!);
  placed.forEach((p, i) =>
    writeRecord(view, dirOffset + i * SECTION_ENTRY.size, SECTION_ENTRY, {
      id: SECTIONS[p.name].id,
      recordSize: SECTIONS[p.name].rec.size,
      offset: BigInt(p.offset),
      length: BigInt(p.length),
      count: BigInt(p.count),
    }),
  );
  writeRecord(view, 0, HEADER, {
    magic: new TextEncoder().encode(MAGIC),
    major: FORMAT_MAJOR,
    minor: FORMAT_MINOR,
    flags,
    totalLength: BigInt(total),
    crc32c: 0,
    headerSize: HEADER_SIZE,
    sectionCount: placed.length,
    sectionEntrySize: SECTION_ENTRY.size,
    directoryOffset: BigInt(dirOffset),
  });
  view.setUint32(24, crc32c(bytes), true);
  return bytes;
}

export interface SectionInfo {
  name: SectionName | `unknown(${number})`;
  id: number;
  recordSize: number;
  offset: number;
  length: number;
  count: number;
}

export interface ImageView {
  header: Rec;
  sections: SectionInfo[];
  view: DataView;
  bytes: Uint8Array;
  /** All records of a section (empty when absent). */
  records(name: SectionName): Rec[];
  /** Plain values of a U8/U32/U64 section. */
  values(name: SectionName): number[];
  section(name: SectionName): SectionInfo | undefined;
  string(offset: number): string;
}

export class ImageFormatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses and structurally checks an image (header, CRC, directory bounds).
 * crcChecked: the caller has verified the CRC already (the native loader does,
 * before anything else), so the copy and second CRC pass are skipped.
 */
export function readImage(bytes: Uint8Array, opts: { crcChecked?: boolean } = {}): ImageView {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER_SIZE) throw new ImageFormatError('TRUNCATED', `image is ${bytes.length} bytes, shorter than the header`);
  const header = readRecord(view, 0, HEADER);
  if (new TextDecoder().decode(header.magic as Uint8Array) !== MAGIC) throw new ImageFormatError('BAD_MAGIC', 'not a netverdict image');
  if (header.major !== FORMAT_MAJOR) throw new ImageFormatError('BAD_VERSION', `format major ${String(header.major)}, expected ${FORMAT_MAJOR}`);
  if (Number(header.totalLength) !== bytes.length) throw new ImageFormatError('BAD_LENGTH', `header says ${String(header.totalLength)} bytes, have ${bytes.length}`);
  if (!opts.crcChecked) {
    // A real copy: Buffer#slice would share (and corrupt) the caller's memory.
    const copy = new Uint8Array(bytes);
    new DataView(copy.buffer).setUint32(24, 0, true);
    if (crc32c(copy) !== header.crc32c) throw new ImageFormatError('BAD_CRC', 'CRC32C mismatch');
  }
  const sections: SectionInfo[] = [];
  const count = Number(header.sectionCount);
  const dir = Number(header.directoryOffset);
  if (dir + count * SECTION_ENTRY.size > bytes.length) throw new ImageFormatError('BAD_DIRECTORY', 'section directory out of bounds');
  for (let i = 0; i < count; i++) {
    const e = readRecord(view, dir + i * SECTION_ENTRY.size, SECTION_ENTRY);
    const id = Number(e.id);
    const name = SECTION_NAMES.find((n) => SECTIONS[n].id === id) ?? (`unknown(${id})` as const);
    const s: SectionInfo = { name, id, recordSize: Number(e.recordSize), offset: Number(e.offset), length: Number(e.length), count: Number(e.count) };
    if (s.offset + s.length > bytes.length || s.offset % SECTION_ALIGN !== 0) throw new ImageFormatError('BAD_SECTION_BOUNDS', `section ${name} out of bounds or misaligned`);
    sections.push(s);
  }
  const section = (name: SectionName): SectionInfo | undefined => sections.find((s) => s.name === name);
  const records = (name: SectionName): Rec[] => {
    const s = section(name);
    if (!s) return [];
    const spec = SECTIONS[name].rec;
    const out: Rec[] = [];
    for (let i = 0; i < s.count; i++) out.push(readRecord(view, s.offset + i * spec.size, spec));
    return out;
  };
  const values = (name: SectionName): number[] => records(name).map((r) => Number(r.v));
  const decoder = new TextDecoder();
  const string = (offset: number): string => {
    const s = section('STRINGS');
    if (!s || offset + 4 > s.length) throw new ImageFormatError('BAD_STRING', `string offset ${offset} out of bounds`);
    const len = view.getUint32(s.offset + offset, true);
    if (offset + 4 + len > s.length) throw new ImageFormatError('BAD_STRING', `string at ${offset} overruns the string table`);
    return decoder.decode(bytes.subarray(s.offset + offset + 4, s.offset + offset + 4 + len));
  };
  return { header, sections, view, bytes, records, values, section, string };
}

/** Builds the STRINGS section: each string as u32 length + UTF-8 bytes, 4-aligned; dedup. */
export class StringTable {
  private readonly offsets = new Map<string, number>();
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  ref(s: string): number {
    const have = this.offsets.get(s);
    if (have !== undefined) return have;
    const utf8 = new TextEncoder().encode(s);
    const len = align(4 + utf8.length, 4);
    const chunk = new Uint8Array(len);
    new DataView(chunk.buffer).setUint32(0, utf8.length, true);
    chunk.set(utf8, 4);
    const off = this.size;
    this.chunks.push(chunk);
    this.size += len;
    this.offsets.set(s, off);
    return off;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
