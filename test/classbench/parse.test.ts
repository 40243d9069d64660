/** ClassBench filter and trace parsing: good lines, every kind of bad line with its line number. */
import t from 'tap';
import { formatIssues, parseFilters, parseTrace } from '../../src/classbench/parse.js';

t.test('filters: tabs, spaces, flags column, blank lines, numbering', async (t) => {
  const text = [
    '@209.161.198.176/28\t209.161.198.160/28\t88 : 88\t80 : 80\t0x11/0xFF',
    '',
    '@0.0.0.0/0 10.0.0.1/32   0:65535   1024 : 65535 0x00/0x00 0x0000/0x0000',
    '@1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t0 : 65535\t0x06/0xFF\t0x1000/0x1000\r',
  ].join('\n');
  const { filters, issues } = parseFilters(text, 'f');
  t.same(issues, []);
  t.equal(filters.length, 3);
  const [a, b, c] = filters;
  t.match(a, { id: 1, line: 1, src: 0xd1a1c6b0, srcLen: 28, dst: 0xd1a1c6a0, dstLen: 28, spLo: 88, spHi: 88, dpLo: 80, dpHi: 80, proto: 0x11, protoMask: 0xff });
  t.equal(a!.flags, undefined);
  t.match(b, { id: 2, line: 3, src: 0, srcLen: 0, dst: 0x0a000001, dstLen: 32, spLo: 0, spHi: 65535, dpLo: 1024, dpHi: 65535, proto: 0, protoMask: 0 });
  t.same(b!.flags, { value: 0, mask: 0 });
  t.match(c, { id: 3, line: 4, proto: 6, protoMask: 0xff, flags: { value: 0x1000, mask: 0x1000 } });
});

t.test('filters: malformed lines are reported with their line numbers, good lines kept', async (t) => {
  const lines = [
    '@1.2.3.4/32 5.6.7.8/32 0 : 65535 0 : 65535 0x06/0xFF', // 1 ok
    '1.2.3.4/32 5.6.7.8/32 0 : 65535 0 : 65535 0x06/0xFF', // 2 no @
    '@1.2.3.256/32 5.6.7.8/32 0 : 65535 0 : 65535 0x06/0xFF', // 3 octet
    '@1.2.3.4/33 5.6.7.8/32 0 : 65535 0 : 65535 0x06/0xFF', // 4 prefix
    '@1.2.3.4/32 5.6.7.8/32 0 : 65536 0 : 65535 0x06/0xFF', // 5 port
    '@1.2.3.4/32 5.6.7.8/32 80 : 79 0 : 65535 0x06/0xFF', // 6 empty range
    '@1.2.3.4/32 5.6.7.8/32 0 : 65535 0 : 65535 0x106/0xFF', // 7 proto
    '@1.2.3.4/32 5.6.7.8/32 0 : 65535 0 : 65535', // 8 missing proto
    '@1.2.3.4/32 5.6.7.8/32 0 : 65535 0 : 65535 0x06/0xFF junk', // 9 trailing
    '@1.2.3.4/32 5.6.7.8/32 0 : 65535 0 : 65535 0x06/0xFF 0x10000/0x0', // 10 flags
  ];
  const { filters, issues } = parseFilters(lines.join('\n'), 'bad.rules');
  t.equal(filters.length, 1);
  t.same(
    issues.map((i) => i.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  t.match(issues[0]!.message, /must start with "@"/);
  t.match(issues[1]!.message, /octet out of range/);
  t.match(issues[2]!.message, /prefix length out of range/);
  t.match(issues[3]!.message, /port out of range/);
  t.match(issues[4]!.message, /empty port range/);
  t.match(issues[5]!.message, /protocol\/mask out of range/);
  t.match(issues[6]!.message, /malformed filter/);
  t.match(issues[8]!.message, /flags\/mask out of range/);
  t.match(formatIssues(issues), /^bad\.rules:2: /);
  t.match(formatIssues(issues, 3), /\.\.\. and 6 more$/);
});

t.test('trace: 6 and 7 columns, ranges, line numbers', async (t) => {
  const good = parseTrace('1600753409\t3271393328\t65535\t21\t6\t413\n\n4294967295 0 0 0 255 1\n', 'tr');
  t.same(good.issues, []);
  const tr = good.trace;
  t.equal(tr.length, 2);
  t.same([...tr.src], [1600753409, 4294967295]);
  t.same([...tr.dst], [3271393328, 0]);
  t.same([...tr.sport], [65535, 0]);
  t.same([...tr.dport], [21, 0]);
  t.same([...tr.proto], [6, 255]);
  t.same([...tr.ruleId], [413, 1]);
  t.same([...tr.line], [1, 3]);
  t.equal(tr.hasFlags, false);
  const flags = parseTrace('1 2 3 4 6 0 7\n', 'tr');
  t.same(flags.issues, []);
  t.equal(flags.trace.hasFlags, true);
  t.same([...flags.trace.ruleId], [7]);

  const bad = parseTrace(
    ['1 2 3 4 6 9', '1 2 3 4 6', '1 2 x 4 6 9', '4294967296 2 3 4 6 9', '1 2 65536 4 6 9', '1 2 3 4 256 9', '1 2 3 4 6 0 9', '5 6 7 8 17 2'].join('\n'),
    'bad.trace',
  );
  t.equal(bad.trace.length, 2);
  t.same([...bad.trace.line], [1, 8]);
  t.same(
    bad.issues.map((i) => [i.line, i.message.replace(/[:(].*$/, '').trim()]),
    [
      [2, 'expected 6 or 7 columns'],
      [3, 'every column must be a decimal number'],
      [4, 'source address 4294967296 out of range 0-4294967295'],
      [5, 'source port 65536 out of range 0-65535'],
      [6, 'protocol 256 out of range 0-255'],
      [7, '7 columns, but earlier headers have 6'],
    ],
  );
});
