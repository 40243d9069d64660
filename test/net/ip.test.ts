import t from 'tap';
import { IPv4, IPv6, IPv4CidrRange, IPv6CidrRange } from 'ip-num';
import { cidrContains, formatIp, parseCidr, parseIp } from '../../src/net/ip.js';
import { tupleHash } from '../../src/net/hash.js';

t.test('parseIp agrees with ip-num on valid and invalid addresses', async (t) => {
  const v4 = ['0.0.0.0', '10.0.1.10', '255.255.255.255', '1.2.3.4', '192.168.000.1', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '', 'a.b.c.d'];
  for (const s of v4) {
    const ours = parseIp(s);
    let theirs: bigint | undefined;
    try {
      theirs = IPv4.fromDecimalDottedString(s).getValue();
    } catch {
      theirs = undefined;
    }
    // ip-num accepts leading zeros ("192.168.000.1"); Calico (Go net.ParseIP) rejects them, and so do we.
    if (/(^|\.)0[0-9]/.test(s)) t.equal(ours, undefined, `${s} rejected (leading zero)`);
    else t.equal(ours?.value, theirs, `v4 ${s}`);
  }
  const v6 = ['::', '::1', 'fd00::1', '2001:db8::', '2001:db8:0:0:1:0:0:1', 'fe80::1:2:3:4', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1'];
  for (const s of v6) {
    const ours = parseIp(s);
    let theirs: bigint | undefined;
    try {
      theirs = s.includes('.') ? undefined : IPv6.fromString(s).getValue();
    } catch {
      theirs = undefined;
    }
    if (s.includes('.')) t.equal(ours?.value, 0xffff01020304n, `v6 ${s}`);
    else t.equal(ours?.value, theirs, `v6 ${s}`);
  }
});

t.test('round trip and RFC 5952 formatting', async (t) => {
  for (const s of ['10.0.1.10', '::', '::1', 'fd00::1', '2001:db8::1:0:0:1', '1:2:3:4:5:6:7:8', 'fe80::']) {
    t.equal(formatIp(parseIp(s)!), s);
  }
  t.equal(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')!), '2001:db8::1');
});

t.test('CIDR parsing and containment agree with ip-num', async (t) => {
  const cases: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.1.1', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['203.0.113.0/24', '203.0.113.255', true],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/16', 'fd01::1', false],
  ];
  for (const [c, a, want] of cases) {
    const pc = parseCidr(c)!;
    t.equal(cidrContains(pc.cidr, parseIp(a)!), want, `${a} in ${c}`);
    const range = c.includes(':') ? IPv6CidrRange.fromCidr(c) : IPv4CidrRange.fromCidr(c);
    const addr = a.includes(':') ? IPv6.fromString(a) : IPv4.fromDecimalDottedString(a);
    const inside = range.getFirst().getValue() <= addr.getValue() && addr.getValue() <= range.getLast().getValue();
    t.equal(inside, want, `ip-num agrees: ${a} in ${c}`);
  }
  t.ok(parseCidr('10.0.0.1/8')!.hostBitsSet);
  t.equal(parseCidr('10.0.0.0/33'), undefined);
  t.equal(parseCidr('10.0.0.0/08'), undefined);
});

t.test('tuple hash is FNV-1a over the documented bytes (pinned vectors)', async (t) => {
  const h = tupleHash({ src: parseIp('10.0.1.10')!, dst: parseIp('10.96.0.20')!, proto: 6, sport: 40001, dport: 80 });
  // Independent computation of the same byte string.
  const bytes = [10, 0, 1, 10, 10, 96, 0, 20, 6, 40001 >> 8, 40001 & 255, 0, 80];
  let x = 0x811c9dc5;
  for (const b of bytes) x = Math.imul(x ^ b, 0x01000193) >>> 0;
  t.equal(h, x);
});

t.test('IPv4 parsing equals the strict dotted-quad grammar on random strings', async (t) => {
  // The grammar: four decimal octets 0-255 without leading zeros, separated by dots, nothing else.
  const OCTET = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
  const grammar = (s: string): bigint | undefined => {
    const parts = s.split('.');
    if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
    return parts.reduce((v, p) => (v << 8n) | BigInt(Number(p)), 0n);
  };
  const edges = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '01.2.3.4', '1.2.3.04', '1.2.3.256', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1..2.3', ' 1.2.3.4', '1.2.3.4 ', '+1.2.3.4', '1.2.3.-4', '1.2.3.٤', '1.2.3.4e0', '1000.2.3.4', '0x1.2.3.4'];
  let rng = 7;
  const next = (n: number): number => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const alphabet = '0123456789.0123456789.25 x';
  const cases = [...edges];
  for (let i = 0; i < 20000; i++) {
    let s = '';
    for (let k = 1 + next(16); k > 0; k--) s += alphabet[next(alphabet.length)];
    cases.push(s);
  }
  // And near-valid ones: random octets with random defects.
  for (let i = 0; i < 5000; i++) cases.push([0, 1, 2, 3].map(() => String(next(300))).join('.') + (next(10) === 0 ? '.' : ''));
  let valid = 0;
  for (const s of cases) {
    const want = grammar(s);
    const got = parseIp(s);
    if (want !== undefined) valid++;
    if ((got?.value ?? undefined) !== want) t.fail(`"${s}": ${got?.value} vs ${want}`);
  }
  t.ok(valid > 1000, `${valid} of ${cases.length} strings valid`);
});
