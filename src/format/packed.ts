/**
 * Section data built straight into typed arrays (no object per record):
 * a growable u32 buffer, and records of all-integer structs packed into
 * little-endian u32 words (written by `writeImage` as `U32Records`), and a
 * chunked u32 list for the largest tables (written as `U32Parts`).
 */
import { U32Parts, U32Records } from './image.js';
import type { StructSpec } from './spec.js';

/** Growable u32 buffer (amortised doubling); `view()` is the filled prefix. */
export class U32Buf {
  private buf: Uint32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint32Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  /** Room for `n` more values. */
  reserve(n: number): void {
    if (this.length + n > this.buf.length) this.grow(this.length + n);
  }

  /** Appends every value of `values`. */
  append(values: ArrayLike<number>): void {
    this.reserve(values.length);
    const buf = this.buf;
    for (let i = 0; i < values.length; i++) buf[this.length + i] = values[i]!;
    this.length += values.length;
  }

  at(i: number): number {
    return this.buf[i]!;
  }

  /** The underlying array (indices below `length` are the values; valid until the next push). */
  raw(): Uint32Array {
    return this.buf;
  }

  private grow(min: number): void {
    let size = this.buf.length * 2;
    while (size < min) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** The filled values (a view: valid until the next push). */
  view(): Uint32Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Records of `spec` (u8/u16/u32 fields only, size a multiple of 4) packed into
 * u32 words: `push` takes up to four field values in the order given to the
 * constructor; other fields and padding are 0.
 */
export class RecordPacker {
  private readonly words: U32Buf;
  private readonly perRecord: number;
  private readonly slots: { word: number; shift: number; mask: number }[];
  count = 0;

  /** `capacity`: records to make room for at once (a known count saves regrowing). */
  constructor(spec: StructSpec, fields: readonly string[], capacity = 0) {
    if (spec.size % 4 !== 0 || fields.length > 4) throw new Error(`${spec.name}: cannot pack`);
    this.perRecord = spec.size / 4;
    this.words = new U32Buf(capacity * this.perRecord);
    this.slots = fields.map((name) => {
      const f = spec.fields.find((x) => x.name === name);
      const bits = f?.type === 'u8' ? 8 : f?.type === 'u16' ? 16 : f?.type === 'u32' ? 32 : 0;
      if (!f || bits === 0 || (f.offset % 4) + bits / 8 > 4) throw new Error(`${spec.name}.${name}: cannot pack`);
      return { word: f.offset >> 2, shift: (f.offset & 3) * 8, mask: bits === 32 ? 0xffffffff : (1 << bits) - 1 };
    });
  }

  /** Appends a record; returns its index. */
  push(v0: number, v1 = 0, v2 = 0, v3 = 0): number {
    const base = this.words.length;
    this.words.reserve(this.perRecord);
    for (let k = 0; k < this.perRecord; k++) this.words.push(0);
    const raw = this.words.raw();
    const s = this.slots;
    const n = s.length;
    if (n > 0) raw[base + s[0]!.word]! |= (v0 & s[0]!.mask) << s[0]!.shift;
    if (n > 1) raw[base + s[1]!.word]! |= (v1 & s[1]!.mask) << s[1]!.shift;
    if (n > 2) raw[base + s[2]!.word]! |= (v2 & s[2]!.mask) << s[2]!.shift;
    if (n > 3) raw[base + s[3]!.word]! |= (v3 & s[3]!.mask) << s[3]!.shift;
    return this.count++;
  }

  records(): U32Records {
    return new U32Records(this.count, this.words.view());
  }
}

const CHUNK_SHIFT = 20;
const CHUNK = 1 << CHUNK_SHIFT;

/**
 * Growable u32 list for large tables: the first 2^20 values grow by doubling,
 * then fixed chunks of 2^20 are added (no copy of what is filled);
 * `parts()` hands the chunks to `writeImage` as they are.
 */
export class U32Chunks {
  private readonly chunks: Uint32Array[] = [new Uint32Array(1024)];
  length = 0;

  push(v: number): void {
    const c = this.length >>> CHUNK_SHIFT;
    let chunk = this.chunks[c];
    const at = this.length & (CHUNK - 1);
    if (!chunk) this.chunks.push((chunk = new Uint32Array(CHUNK)));
    else if (at === chunk.length) {
      const next = new Uint32Array(Math.min(CHUNK, chunk.length * 2));
      next.set(chunk);
      this.chunks[c] = chunk = next;
    }
    chunk[at] = v;
    this.length++;
  }

  /** Appends `values[0, n)`. */
  append(values: Uint32Array, n: number): void {
    let k = 0;
    while (k < n) {
      const c = this.length >>> CHUNK_SHIFT;
      const at = this.length & (CHUNK - 1);
      const room = Math.min(n - k, CHUNK - at);
      let chunk = this.chunks[c];
      if (!chunk) this.chunks.push((chunk = new Uint32Array(CHUNK)));
      else if (at + room > chunk.length) {
        let size = chunk.length * 2;
        while (size < at + room) size *= 2;
        const next = new Uint32Array(Math.min(CHUNK, size));
        next.set(chunk.subarray(0, at));
        this.chunks[c] = chunk = next;
      }
      chunk.set(values.subarray(k, k + room), at);
      this.length += room;
      k += room;
    }
  }

  at(i: number): number {
    return this.chunks[i >>> CHUNK_SHIFT]![i & (CHUNK - 1)]!;
  }

  /** The values as `count` records of `wordsPerRecord` u32 words. */
  parts(wordsPerRecord = 1): U32Parts {
    const parts: Uint32Array[] = [];
    for (let c = 0; c * CHUNK < this.length; c++) parts.push(this.chunks[c]!.subarray(0, Math.min(CHUNK, this.length - c * CHUNK)));
    return new U32Parts(this.length / wordsPerRecord, parts);
  }
}
