/**
 * The format is specified once (docs/FORMAT.md) and mirrored twice: the
 * TypeScript field table (src/format/spec.ts) and the C++ structs
 * (native/include/format.h, layout table generated with offsetof). Both must
 * agree on every size and offset; CRC32C and the NAT tuple hash must agree
 * between TypeScript and C++.
 */
import t from 'tap';
import { crc32c } from '../../src/format/crc32c.js';
import { STRUCTS, FORMAT_MAJOR, FORMAT_MINOR } from '../../src/format/spec.js';
import { loadAddon } from '../../src/native/index.js';
import { tupleHash } from '../../src/net/hash.js';
import { addrWords } from '../../src/compile/index.js';
import { TupleRng } from '../oracle/tuples.js';

const addon = loadAddon();

t.test('TypeScript and C++ agree on every struct size and field offset', (tt) => {
  const native = new Map<string, { size?: number; fields: Map<string, number> }>();
  for (const row of addon.layout()) {
    let s = native.get(row.struct);
    if (!s) native.set(row.struct, (s = { fields: new Map() }));
    if (row.field === null) s.size = row.value;
    else s.fields.set(row.field, row.value);
  }
  for (const spec of STRUCTS) {
    const n = native.get(spec.name);
    tt.ok(n, `${spec.name} exists in C++`);
    if (!n) continue;
    tt.equal(n.size, spec.size, `${spec.name} size`);
    for (const f of spec.fields) tt.equal(n.fields.get(f.name), f.offset, `${spec.name}.${f.name} offset`);
    // Every C++ field must be in the TypeScript table too (padding fields are not exported).
    tt.same([...n.fields.keys()].sort(), spec.fields.map((f) => f.name).sort(), `${spec.name} field set`);
  }
  tt.same([...native.keys()].sort(), STRUCTS.map((s) => s.name).sort(), 'same struct set');
  tt.end();
});

t.test('format version handshake', (tt) => {
  tt.same(addon.formatVersion(), { major: FORMAT_MAJOR, minor: FORMAT_MINOR });
  tt.end();
});

t.test('CRC32C check value', (tt) => {
  tt.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  tt.equal(crc32c(new Uint8Array(0)), 0);
  tt.end();
});

t.test('NAT tuple hash: C++ == src/net/hash.ts', (tt) => {
  const rng = new TupleRng(7);
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const family = rng.chance(0.5) ? 4 : 6;
    const rand = (): bigint => {
      let v = 0n;
      for (let k = 0; k < (family === 4 ? 2 : 8); k++) v = (v << 16n) | BigInt(rng.int(65536));
      return v;
    };
    const src = { family, value: rand() } as const;
    const dst = { family, value: rand() } as const;
    const proto = rng.int(256);
    const sport = rng.int(65536);
    const dport = rng.int(65536);
    const want = tupleHash({ src, dst, proto, sport, dport });
    const got = addon.tupleHash(family, Uint32Array.from(addrWords(family, src.value)), Uint32Array.from(addrWords(family, dst.value)), proto, sport, dport);
    if (got !== want) bad++;
  }
  tt.equal(bad, 0, '2000 random tuples hash identically');
  tt.end();
});
