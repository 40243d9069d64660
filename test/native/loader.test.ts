/**
 * The loader never trusts the image: truncated, bit-flipped and
 * structurally corrupted (CRC recomputed) images are rejected with a specific
 * error code, never a crash; anything it accepts can be classified safely.
 */
import t from 'tap';
import { compileImage } from '../../src/compile/index.js';
import { crc32c } from '../../src/format/crc32c.js';
import { readImage } from '../../src/format/image.js';
import { NONE, SECTIONS } from '../../src/format/spec.js';
import { loadClusterFromTexts } from '../../src/model/load.js';
import { ImageLoadError, NativeEngine } from '../../src/native/index.js';
import { ResolvedCluster } from '../../src/resolve/index.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TupleRng, generateTuples } from '../oracle/tuples.js';
import { toArrays } from '../oracle/compare.js';
import { listResourceFiles } from '../../src/parse/files.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const exampleDir = join(root, 'examples/egress-allowlist');
const texts = readdirSync(exampleDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(join(exampleDir, f), 'utf8') }));
const model = new ResolvedCluster(loadClusterFromTexts(texts).cluster);
const image = compileImage(model).image;
const tuples = generateTuples(3, model, 200);
const v4 = toArrays(4, tuples.filter((x) => x.src.family === 4));

function loadCode(bytes: Uint8Array): string {
  try {
    const e = NativeEngine.fromImage(bytes);
    // Accepted: it must classify without crashing.
    const n = v4.proto.length;
    for (const strategy of ['linear', 'decision', 'decision-bitmaps'] as const) {
      e.classifyBatch(4, v4.src, v4.dst, v4.sport, v4.dport, v4.proto, { verdict: new Uint8Array(n), decidingRule: new Uint32Array(n), natBackend: new Uint32Array(n) }, strategy);
    }
    return 'OK';
  } catch (err) {
    if (err instanceof ImageLoadError) return err.code;
    // readImage (TypeScript side) may also reject: report its code.
    const e = err as { code?: string };
    return `TS:${e.code ?? String(err)}`;
  }
}

function fixCrc(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  v.setUint32(24, 0, true);
  v.setUint32(24, crc32c(b), true);
  return b;
}

t.test('the compiled image loads', (tt) => {
  tt.equal(loadCode(image), 'OK');
  tt.end();
});

t.test('truncated images: TOO_SHORT or BAD_LENGTH', (tt) => {
  const codes = new Set<string>();
  for (let len = 0; len < image.length; len += len < 128 ? 1 : 61) codes.add(loadCode(image.subarray(0, len)));
  tt.same([...codes].sort(), ['BAD_LENGTH', 'TOO_SHORT']);
  tt.end();
});

t.test('any single bit flip is rejected', (tt) => {
  const rng = new TupleRng(11);
  const codes = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const b = image.slice();
    const bit = rng.int(b.length * 8);
    b[bit >> 3]! ^= 1 << (bit & 7);
    const c = loadCode(b);
    codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  tt.notOk(codes.has('OK'), `codes: ${JSON.stringify([...codes])}`);
  tt.end();
});

t.test('compiled images stay far below the work budget (FORMAT.md §6)', async (tt) => {
  for (const [name, img] of [['egress-allowlist', image], ...(await caseImages())] as const) {
    const info = NativeEngine.fromImage(img).info();
    tt.ok(info.maxProgramWork > 0 && info.maxProgramWork * 2 <= info.workCap, `${name}: worst program work ${info.maxProgramWork} <= cap ${info.workCap} / 2`);
    // The engine's own count of its bytes: the image copy plus the derived indexes (the /16
    // index alone is 256 KiB), and not absurdly more for these small images.
    tt.ok(info.memoryBytes >= img.length + 65537 * 4 && info.memoryBytes < img.length * 64 + (4 << 20), `${name}: engine holds ${info.memoryBytes} bytes for a ${img.length}-byte image`);
  }
});

async function caseImages(): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for (const f of await listResourceFiles(join(root, 'test/cases'))) {
    try {
      const m = new ResolvedCluster(loadClusterFromTexts([{ name: f, text: readFileSync(f, 'utf8') }]).cluster);
      out.push([f.slice(root.length + 1), compileImage(m).image]);
    } catch {
      // cases that are meant not to load
    }
  }
  return out;
}

t.test('header checks have their own codes', (tt) => {
  const set = (off: number, v: number, size: 1 | 2 | 4 = 4): Uint8Array => {
    const b = image.slice();
    const dv = new DataView(b.buffer);
    if (size === 1) dv.setUint8(off, v);
    else if (size === 2) dv.setUint16(off, v, true);
    else dv.setUint32(off, v, true);
    return fixCrc(b);
  };
  tt.equal(loadCode(set(0, 0x58, 1)), 'BAD_MAGIC');
  tt.equal(loadCode(set(8, 9, 2)), 'BAD_VERSION');
  tt.equal(loadCode(set(28, 65)), 'BAD_HEADER');
  tt.equal(loadCode(set(32, 100000)), 'BAD_DIRECTORY');
  const longer = new Uint8Array(image.length + 64);
  longer.set(image);
  tt.equal(loadCode(longer), 'BAD_LENGTH');
  const b = image.slice();
  b[b.length - 1]! ^= 0xff;
  tt.equal(loadCode(b), 'BAD_CRC');
  tt.end();
});

t.test('structural corruption with a valid CRC gives specific codes', (tt) => {
  const img = readImage(image);
  const sec = (name: keyof typeof SECTIONS) => img.section(name)!;
  const patch = (off: number, v: number): string => {
    const b = image.slice();
    new DataView(b.buffer).setUint32(off, v, true);
    return loadCode(fixCrc(b));
  };
  const dirEntry = (name: keyof typeof SECTIONS): number => 64 + img.sections.findIndex((s) => s.name === name) * 32;
  tt.equal(patch(dirEntry('MATCHES') + 4, 47), 'BAD_RECORD_SIZE', 'record size');
  tt.equal(patch(dirEntry('MATCHES') + 8, sec('MATCHES').offset + 8), 'BAD_SECTION', 'misaligned section');
  tt.equal(patch(dirEntry('MATCHES') + 8, image.length), 'BAD_SECTION', 'section past the end');
  tt.equal(patch(dirEntry('MATCHES'), SECTIONS.CLASSES.id), 'DUPLICATE_SECTION', 'duplicate id');
  tt.equal(patch(sec('V4_CLASS').offset, 9999), 'BAD_INDEX', 'class index');
  tt.equal(patch(sec('RULE_REFS').offset, 9999), 'BAD_INDEX', 'rule ref');
  tt.equal(patch(sec('MATCHES').offset, 9999), 'BAD_INDEX', 'rule id');
  tt.equal(patch(sec('MATCHES').offset + 12, NONE), 'BAD_INDEX', 'address test range');
  tt.equal(patch(sec('ADDR_TESTS').offset, 9999), 'BAD_INDEX', 'address set id');
  tt.equal(patch(sec('CLASSES').offset, 9999), 'BAD_INDEX', 'identity');
  tt.equal(patch(sec('PROGRAMS').offset + 4, 9999), 'BAD_INDEX', 'op range');
  tt.equal(patch(sec('OPS').offset, 77), 'BAD_VALUE', 'opcode');
  tt.equal(patch(sec('V4_STARTS').offset, 5), 'BAD_ORDER', 'first interval not at 0');
  tt.equal(patch(sec('CONFIG').offset, 7), 'BAD_COUNT', 'identity words');
  tt.equal(patch(sec('RULE_META').offset, 1 << 30), 'BAD_STRING', 'string ref');
  tt.equal(patch(sec('NAT_FRONTENDS').offset + 20, 9999), 'BAD_INDEX', 'backend range');
  // Sparse identity rows and decision blocks (format 2).
  tt.equal(patch(sec('IDENTITY_ROWS').offset + 8, 1 << 30), 'BAD_INDEX', 'identity row range');
  const rows = img.records('IDENTITY_ROWS');
  const wide = rows.findIndex((r) => Number(r.setCount) >= 2);
  if (wide >= 0) tt.equal(patch(sec('IDENTITY_SETS').offset + 4 * Number(rows[wide]!.setStart), 1 << 30), 'BAD_INDEX', 'identity set id');
  if (wide >= 0) tt.equal(patch(sec('IDENTITY_SETS').offset + 4 * Number(rows[wide]!.setStart), NONE - 1), 'BAD_INDEX', 'identity set id (order)');
  tt.equal(patch(sec('DBLOCKS').offset, 1 << 30), 'BAD_INDEX', 'decision rule range');
  tt.equal(patch(sec('DBLOCKS').offset + 8, 77), 'BAD_COUNT', 'decision words');
  tt.equal(patch(sec('DBLOCKS').offset + 12, 1 << 30), 'BAD_INDEX', 'decision base row');
  tt.equal(patch(sec('DBLOCKS').offset + 36, 1 << 30), 'BAD_INDEX', 'decision port table');
  tt.equal(patch(sec('DPORTS').offset, 5), 'BAD_ORDER', 'port table not at key 0');
  tt.equal(patch(sec('DPORTS').offset + 4, 1 << 30), 'BAD_INDEX', 'port row');
  if (sec('DRULES').count > 0) {
    tt.equal(patch(sec('DRULES').offset + 4, 1 << 30), 'BAD_INDEX', 'decision match index');
    tt.equal(patch(sec('DRULES').offset, 1 << 30), 'BAD_VALUE', 'decision rule id disagrees');
  }
  if (sec('DSETS').count > 0) {
    tt.equal(patch(sec('DSETS').offset, 1 << 30), 'BAD_INDEX', 'decision set id');
    tt.equal(patch(sec('DSETS').offset + 4, 1 << 30), 'BAD_INDEX', 'decision set list');
  }
  if (sec('DLISTS').count > 0) tt.equal(patch(sec('DLISTS').offset, 1 << 30), 'BAD_INDEX', 'decision list rule index');
  tt.equal(patch(dirEntry('DBLOCKS') + 24, 0), 'BAD_SECTION', 'decision block count vs length');
  tt.end();
});

t.test('random corruption with a valid CRC: rejected with a code or safely usable', (tt) => {
  const rng = new TupleRng(5);
  const codes = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const b = image.slice();
    const flips = 1 + rng.int(4);
    for (let k = 0; k < flips; k++) {
      const off = 64 + rng.int(b.length - 64);
      b[off] = rng.chance(0.5) ? rng.int(256) : b[off]! ^ (1 << rng.int(8));
    }
    const c = loadCode(fixCrc(b));
    codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  tt.comment(JSON.stringify([...codes].sort()));
  tt.ok([...codes.keys()].every((c) => !c.startsWith('TS:') || c.includes('BAD')), 'only loader error codes');
  tt.end();
});

t.test('NAT_NODEPORTS: unsorted, duplicate, out-of-range and bad-family records are rejected', (tt) => {
  const f = join(root, 'test/cases/nat/nodeport-precedence.yaml');
  const np = compileImage(new ResolvedCluster(loadClusterFromTexts([{ name: f, text: readFileSync(f, 'utf8') }]).cluster)).image;
  const img = readImage(np);
  const sec = img.section('NAT_NODEPORTS')!;
  tt.ok(sec.count >= 3, `${sec.count} NodePort records`);
  tt.equal(loadCode(np), 'OK', 'the compiled image loads');
  const rec = (i: number): number => sec.offset + 16 * i;
  const dv = new DataView(np.buffer, np.byteOffset, np.byteLength);
  const patched = (edits: [off: number, size: 1 | 2 | 4, v: number][]): string => {
    const b = np.slice();
    const v = new DataView(b.buffer);
    for (const [off, size, val] of edits) {
      if (size === 1) v.setUint8(off, val);
      else if (size === 2) v.setUint16(off, val, true);
      else v.setUint32(off, val, true);
    }
    return loadCode(fixCrc(b));
  };
  const port0 = dv.getUint16(rec(0) + 2, true);
  const port1 = dv.getUint16(rec(1) + 2, true);
  tt.equal(patched([[rec(1) + 2, 2, port0]]), 'BAD_ORDER', 'duplicate key');
  tt.equal(patched([[rec(0) + 2, 2, port1], [rec(1) + 2, 2, port0]]), 'BAD_ORDER', 'two records swapped');
  tt.equal(patched([[rec(0) + 2, 2, 65535]]), 'BAD_ORDER', 'a record out of order');
  tt.equal(patched([[rec(0) + 4, 4, 9999]]), 'BAD_INDEX', 'backendStart past the backends');
  tt.equal(patched([[rec(0) + 8, 4, 0xfffffff0]]), 'BAD_INDEX', 'backendCount past the backends (no 32-bit wrap)');
  const nBackends = img.section('NAT_BACKENDS')!.count;
  tt.equal(patched([[rec(0) + 4, 4, nBackends], [rec(0) + 8, 4, 1]]), 'BAD_INDEX', 'range ending one past the backends');
  tt.equal(patched([[rec(0) + 4, 4, nBackends], [rec(0) + 8, 4, 0]]), 'OK', 'an empty range at the end is in bounds');
  tt.equal(patched([[rec(0), 1, 5]]), 'BAD_VALUE', 'family');
  tt.end();
});
