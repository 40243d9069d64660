import t from 'tap';
import { parseTuplesCsv, TupleParseError, parseProtocol } from '../../src/io/tuples.js';

t.test('header in any order, protocols by name or number, IPv6', async (t) => {
  const tuples = parseTuplesCsv('dport,proto,dst,src,sport\n443,tcp,203.0.113.10,10.0.1.10,40000\n53,17,fd00::53,fd00::1,\n,ICMP,10.0.0.2,10.0.0.1,\n');
  t.equal(tuples.length, 3);
  t.equal(tuples[0]!.proto, 6);
  t.equal(tuples[0]!.sport, 40000);
  t.equal(tuples[1]!.src.family, 6);
  t.equal(tuples[1]!.sport, undefined);
  t.equal(tuples[2]!.proto, 1);
  for (const [name, n] of [['TCP', 6], ['udp', 17], ['Sctp', 132], ['ICMPv6', 58], ['udplite', 136], ['255', 255]] as const) {
    t.equal(parseProtocol(name), n, name);
  }
  t.equal(parseProtocol('256'), undefined);
  t.equal(parseProtocol('tcpx'), undefined);
});

t.test('bad lines are reported with their line number', async (t) => {
  try {
    parseTuplesCsv('src,dst,proto,dport\n10.0.0.1,10.0.0.2,tcp,80\n10.0.0.1,10.0.0.999,tcp,80\n10.0.0.1,fd00::1,tcp,80\n10.0.0.1,10.0.0.2,xyz,80\n10.0.0.1,10.0.0.2,tcp,70000\n', 'in.csv');
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof TupleParseError);
    const lines = (e as TupleParseError).diagnostics.errors.map((d) => d.line);
    t.same(lines, [3, 4, 5, 6]);
  }
  t.throws(() => parseTuplesCsv('src,dst\n1.1.1.1,2.2.2.2\n'), { message: /missing required column "proto"/ }, 'proto column required');
  t.throws(() => parseTuplesCsv('src,dst,proto,colour\n'), { message: /unknown column "colour"/ }, 'unknown column');
});
