/**
 * Library side of `netverdict inspect FILE.nvt`: header, sections (offset,
 * record size, count, bytes) and the main counts, as data and as text.
 */
import { readImage, type SectionInfo } from './image.js';
import { MAGIC } from './spec.js';

export interface ImageSummary {
  magic: string;
  major: number;
  minor: number;
  flags: number;
  totalLength: number;
  crc32c: number;
  sections: SectionInfo[];
  counts: {
    rules: number;
    matches: number;
    programs: number;
    addressClasses: number;
    identities: number;
    addressSets: number;
    portSets: number;
    v4Intervals: number;
    v6Intervals: number;
    natFrontends: number;
    natBackends: number;
    natNodePorts: number;
    nodes: number;
  };
}

/** Reads and checks an image (throws ImageFormatError with a code) and summarises it. */
export function inspectImage(bytes: Uint8Array): ImageSummary {
  const img = readImage(bytes);
  const count = (name: Parameters<typeof img.section>[0]): number => img.section(name)?.count ?? 0;
  const config = img.records('CONFIG')[0] ?? {};
  return {
    magic: MAGIC,
    major: Number(img.header.major),
    minor: Number(img.header.minor),
    flags: Number(img.header.flags),
    totalLength: Number(img.header.totalLength),
    crc32c: Number(img.header.crc32c),
    sections: img.sections,
    counts: {
      rules: count('RULE_META'),
      matches: count('MATCHES'),
      programs: count('PROGRAMS'),
      addressClasses: count('CLASSES'),
      identities: Number(config.identityCount ?? 0),
      addressSets: Number(config.addrSetCount ?? 0),
      portSets: Number(config.portSetCount ?? 0),
      v4Intervals: count('V4_STARTS'),
      v6Intervals: count('V6_STARTS'),
      natFrontends: count('NAT_FRONTENDS'),
      natBackends: count('NAT_BACKENDS'),
      natNodePorts: count('NAT_NODEPORTS'),
      nodes: count('NODES'),
    },
  };
}

/** What the native engine derives from an image at load (NativeEngine#info), for `inspect`. */
export interface EngineSummary {
  memoryBytes: number;
  treeCount: number;
  treeBytes: number;
  rfcCount: number;
  rfcBytes: number;
  pmCount: number;
  pmBytes: number;
  nodeLanes: boolean;
  laneMemoBytes: number;
  fastTransit: boolean;
  simd: boolean;
  simdForm: 'avx512' | 'avx2' | 'scalar';
  maxProgramWork: number;
  workCap: number;
  traceBound: number;
}

export function formatInspect(s: ImageSummary & { engine?: EngineSummary }): string {
  const lines = [
    `netverdict image ${s.magic} format ${s.major}.${s.minor} flags 0x${s.flags.toString(16)} length ${s.totalLength} crc32c 0x${s.crc32c.toString(16).padStart(8, '0')}`,
    '',
    'section           id     offset  record     count      bytes',
  ];
  for (const sec of s.sections) {
    lines.push(
      `${String(sec.name).padEnd(16)} ${String(sec.id).padStart(3)} ${String(sec.offset).padStart(10)} ${String(sec.recordSize).padStart(7)} ${String(sec.count).padStart(9)} ${String(sec.length).padStart(10)}`,
    );
  }
  lines.push('');
  for (const [k, v] of Object.entries(s.counts)) lines.push(`${k.padEnd(16)} ${v}`);
  if (s.engine) {
    const e = s.engine;
    const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
    lines.push('');
    lines.push(`engine           ${mib(e.memoryBytes)} MiB loaded (image copy and derived indexes)`);
    lines.push(`decision trees   ${e.treeCount} (${mib(e.treeBytes)} MiB)`);
    lines.push(`RFC tables       ${e.rfcCount} (${mib(e.rfcBytes)} MiB)`);
    lines.push(`program masks    ${e.pmCount} (${mib(e.pmBytes)} MiB)`);
    const memo = e.laneMemoBytes > 0 ? `; first-position table ${mib(e.laneMemoBytes)} MiB` : '';
    lines.push(`node lanes       ${e.nodeLanes ? `yes (IPv4 decision batches go stage by stage over 64 tuples${memo})` : 'no'}`);
    lines.push(
      `fast transit     ${e.fastTransit ? `yes (pure 5-tuple ACL: IPv4 decision batches skip the program walk${e.treeCount > e.rfcCount ? `; tree stages ${e.simdForm === 'avx512' ? 'on AVX-512' : e.simdForm === 'avx2' ? 'on AVX2' : 'scalar'}` : ''})` : 'no'}`,
    );
    lines.push(`work per tuple   at most ${e.maxProgramWork} per program (cap ${e.workCap})`);
    lines.push(`trace events     at most ${e.traceBound} per tuple`);
  }
  return lines.join('\n');
}
