/**
 * The image format, as data (docs/FORMAT.md is normative; native/include/format.h
 * mirrors it with static_asserts; test/format/spec.test.ts checks that this
 * table and the addon's layout table agree on every size and offset).
 *
 * Everything is little-endian. Sections start on 64-byte boundaries. No
 * pointers: every reference is an index into another section, and the
 * native loader checks every one before use.
 */

export const MAGIC = 'NVTIMAGE';
export const FORMAT_MAJOR = 3;
export const FORMAT_MINOR = 0;
export const HEADER_SIZE = 64;
export const SECTION_ALIGN = 64;
/** "No entry" for every u32 index. */
export const NONE = 0xffffffff;

export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'u32x4' | 'bytes8' | 'bytes16';

export interface FieldSpec {
  name: string;
  type: FieldType;
  offset: number;
}

export interface StructSpec {
  name: string;
  size: number;
  fields: FieldSpec[];
}

const struct = (name: string, size: number, fields: [string, FieldType, number][]): StructSpec => ({
  name,
  size,
  fields: fields.map(([n, type, offset]) => ({ name: n, type, offset })),
});

export const HEADER = struct('ImageHeader', 64, [
  ['magic', 'bytes8', 0],
  ['major', 'u16', 8],
  ['minor', 'u16', 10],
  ['flags', 'u32', 12],
  ['totalLength', 'u64', 16],
  ['crc32c', 'u32', 24],
  ['headerSize', 'u32', 28],
  ['sectionCount', 'u32', 32],
  ['sectionEntrySize', 'u32', 36],
  ['directoryOffset', 'u64', 40],
  ['reserved', 'bytes16', 48],
]);

export const SECTION_ENTRY = struct('SectionEntry', 32, [
  ['id', 'u32', 0],
  ['recordSize', 'u32', 4],
  ['offset', 'u64', 8],
  ['length', 'u64', 16],
  ['count', 'u64', 24],
]);

export const CONFIG = struct('Config', 64, [
  ['identitySetCount', 'u32', 0],
  ['addrSetCount', 'u32', 4],
  ['portSetCount', 'u32', 8],
  ['transitIngressProg', 'u32', 12],
  ['transitEgressProg', 'u32', 16],
  ['noProfileMatchRule', 'u32', 20],
  ['endpointToHostAction', 'u8', 24],
  ['identityCount', 'u32', 28],
  ['nodeCount', 'u32', 32],
]);

export const V6_ADDR = struct('V6Addr', 16, [['w', 'u32x4', 0]]);

export const ADDR_CLASS = struct('AddrClass', 32, [
  ['identity', 'u32', 0],
  ['portStart', 'u32', 4],
  ['portCount', 'u32', 8],
  ['epNode', 'u32', 12],
  ['hostNode', 'u32', 16],
  ['egressProg', 'u32', 20],
  ['ingressProg', 'u32', 24],
  ['epKind', 'u8', 28],
  ['flags', 'u8', 29],
]);

export const PORT_MEMBER = struct('PortMember', 8, [
  ['port', 'u16', 0],
  ['proto', 'u8', 2],
  ['setId', 'u32', 4],
]);

export const NODE = struct('NodeRec', 8, [
  ['fwdEgressProg', 'u32', 0],
  ['fwdIngressProg', 'u32', 4],
]);

export const PROGRAM = struct('Program', 8, [
  ['opStart', 'u32', 0],
  ['opCount', 'u32', 4],
]);

export const OP = struct('Op', 16, [
  ['opcode', 'u32', 0],
  ['arg', 'u32', 4],
  ['start', 'u32', 8],
  ['count', 'u32', 12],
]);

export const TIER_BLOCK = struct('TierBlock', 24, [
  ['v4Start', 'u32', 0],
  ['v4Count', 'u32', 4],
  ['v6Start', 'u32', 8],
  ['v6Count', 'u32', 12],
  ['endRule', 'u32', 16],
  ['endAction', 'u32', 20],
]);

export const PROFILE_BLOCK = struct('ProfileBlock', 24, [
  ['v4Start', 'u32', 0],
  ['v4Count', 'u32', 4],
  ['v6Start', 'u32', 8],
  ['v6Count', 'u32', 12],
  ['missingRule', 'u32', 16],
]);

export const MATCH = struct('MatchRec', 48, [
  ['ruleId', 'u32', 0],
  ['action', 'u8', 4],
  ['flags', 'u8', 5],
  ['proto', 'u8', 6],
  ['notProto', 'u8', 7],
  ['icmpType', 'u8', 8],
  ['icmpCode', 'u8', 9],
  ['notIcmpType', 'u8', 10],
  ['notIcmpCode', 'u8', 11],
  ['addrTestStart', 'u32', 12],
  ['addrTestCount', 'u32', 16],
  ['dstSvcSet', 'u32', 20],
  ['srcPorts', 'u32', 24],
  ['srcNotPorts', 'u32', 28],
  ['dstPorts', 'u32', 32],
  ['dstNotPorts', 'u32', 36],
]);

export const ADDR_TEST = struct('AddrTest', 8, [
  ['setId', 'u32', 0],
  ['side', 'u8', 4],
  ['negate', 'u8', 5],
]);

export const PORT_LIST = struct('PortList', 16, [
  ['rangeStart', 'u32', 0],
  ['rangeCount', 'u32', 4],
  ['namedStart', 'u32', 8],
  ['namedCount', 'u32', 12],
]);

export const PORT_RANGE = struct('PortRange', 4, [
  ['first', 'u16', 0],
  ['last', 'u16', 2],
]);

export const FAILSAFE = struct('Failsafe', 4, [
  ['dir', 'u8', 0],
  ['proto', 'u8', 1],
  ['port', 'u16', 2],
]);

export const NAT_FRONTEND = struct('NatFrontend', 32, [
  ['addr', 'u32x4', 0],
  ['family', 'u8', 16],
  ['proto', 'u8', 17],
  ['port', 'u16', 18],
  ['backendStart', 'u32', 20],
  ['backendCount', 'u32', 24],
]);

export const NAT_BACKEND = struct('NatBackend', 24, [
  ['addr', 'u32x4', 0],
  ['port', 'u16', 16],
  ['family', 'u8', 18],
]);

export const NAT_NODEPORT = struct('NatNodePort', 16, [
  ['family', 'u8', 0],
  ['proto', 'u8', 1],
  ['port', 'u16', 2],
  ['backendStart', 'u32', 4],
  ['backendCount', 'u32', 8],
]);

export const RULE_META = struct('RuleMeta', 32, [
  ['tier', 'u32', 0],
  ['name', 'u32', 4],
  ['file', 'u32', 8],
  ['line', 'u32', 12],
  ['ruleIndex', 'i32', 16],
  ['action', 'u8', 20],
  ['kind', 'u8', 21],
  ['column', 'u32', 24],
]);

export const IDENTITY_ROW = struct('IdentityRow', 8, [
  ['setStart', 'u32', 0],
  ['setCount', 'u32', 4],
]);

export const DBLOCK = struct('DBlock', 64, [
  ['ruleStart', 'u32', 0],
  ['ruleCount', 'u32', 4],
  ['words', 'u32', 8],
  ['srcBase', 'u32', 12],
  ['dstBase', 'u32', 16],
  ['srcSetStart', 'u32', 20],
  ['srcSetCount', 'u32', 24],
  ['dstSetStart', 'u32', 28],
  ['dstSetCount', 'u32', 32],
  ['sportStart', 'u32', 36],
  ['sportCount', 'u32', 40],
  ['dportStart', 'u32', 44],
  ['dportCount', 'u32', 48],
]);

export const DRULE = struct('DRule', 16, [
  ['ruleId', 'u32', 0],
  ['matchIdx', 'u32', 4],
  ['action', 'u8', 8],
  ['verify', 'u8', 9],
]);

export const DSET = struct('DSet', 16, [
  ['setId', 'u32', 0],
  ['listStart', 'u32', 4],
  ['posCount', 'u32', 8],
  ['negCount', 'u32', 12],
]);

export const DPORT = struct('DPort', 8, [
  ['key', 'u32', 0],
  ['row', 'u32', 4],
]);

const U8 = struct('u8', 1, [['v', 'u8', 0]]);
const U32 = struct('u32', 4, [['v', 'u32', 0]]);
const U64 = struct('u64', 8, [['v', 'u64', 0]]);

/** Section ids, their record layout, and whether the section must be present. */
export const SECTIONS = {
  CONFIG: { id: 1, rec: CONFIG },
  PROTO_FLAGS: { id: 2, rec: U8 },
  V4_STARTS: { id: 3, rec: U32 },
  V4_CLASS: { id: 4, rec: U32 },
  V6_STARTS: { id: 5, rec: V6_ADDR },
  V6_CLASS: { id: 6, rec: U32 },
  CLASSES: { id: 7, rec: ADDR_CLASS },
  IDENTITY_ROWS: { id: 8, rec: IDENTITY_ROW },
  PORT_MEMBERS: { id: 9, rec: PORT_MEMBER },
  NODES: { id: 10, rec: NODE },
  PROGRAMS: { id: 11, rec: PROGRAM },
  OPS: { id: 12, rec: OP },
  TIER_BLOCKS: { id: 13, rec: TIER_BLOCK },
  PROFILE_BLOCKS: { id: 14, rec: PROFILE_BLOCK },
  TIER_REFS: { id: 15, rec: U32 },
  PROFILE_REFS: { id: 16, rec: U32 },
  RULE_REFS: { id: 17, rec: U32 },
  MATCHES: { id: 18, rec: MATCH },
  ADDR_TESTS: { id: 19, rec: ADDR_TEST },
  PORT_LISTS: { id: 20, rec: PORT_LIST },
  PORT_RANGES: { id: 21, rec: PORT_RANGE },
  NAMED_REFS: { id: 22, rec: U32 },
  FAILSAFE: { id: 23, rec: FAILSAFE },
  NAT_FRONTENDS: { id: 24, rec: NAT_FRONTEND },
  NAT_BACKENDS: { id: 25, rec: NAT_BACKEND },
  RULE_META: { id: 26, rec: RULE_META },
  STRINGS: { id: 27, rec: U8 },
  IDENTITY_SETS: { id: 28, rec: U32 },
  DBLOCKS: { id: 29, rec: DBLOCK },
  DRULES: { id: 30, rec: DRULE },
  DSETS: { id: 31, rec: DSET },
  DLISTS: { id: 32, rec: U32 },
  DPORTS: { id: 33, rec: DPORT },
  DBITS: { id: 34, rec: U64 },
  NAT_NODEPORTS: { id: 35, rec: NAT_NODEPORT },
} as const;

export type SectionName = keyof typeof SECTIONS;
export const SECTION_NAMES = Object.keys(SECTIONS) as SectionName[];

/** Every struct with a C++ twin (the layout test compares these). */
export const STRUCTS: StructSpec[] = [
  HEADER, SECTION_ENTRY, CONFIG, V6_ADDR, ADDR_CLASS, PORT_MEMBER, NODE, PROGRAM, OP, TIER_BLOCK,
  PROFILE_BLOCK, MATCH, ADDR_TEST, PORT_LIST, PORT_RANGE, FAILSAFE, NAT_FRONTEND, NAT_BACKEND, RULE_META,
  IDENTITY_ROW, DBLOCK, DRULE, DSET, DPORT, NAT_NODEPORT,
];

/** Classification strategies (engine option / per call). */
export const STRATEGY_LINEAR = 0;
export const STRATEGY_DECISION = 1;

// ---- enumerations shared with C++ (format.h) --------------------------------

export const PROTO_HAS_PORTS = 1;
export const PROTO_IS_ICMP = 2;

export const EP_NONE = 0;
export const EP_WEP = 1;
export const EP_HEP = 2;
export const CLASS_POLICED = 1;

export const OP_FAILSAFE = 1;
export const OP_TIERS = 2;
export const OP_FORWARD_TIERS = 3;
export const OP_PROFILES = 4;
export const TIERS_NORMAL = 0;
export const TIERS_UNTRACKED = 1;
export const TIERS_PREDNAT = 2;

export const DIR_INGRESS = 0;
export const DIR_EGRESS = 1;

export const ACTION_ALLOW = 0;
export const ACTION_DENY = 1;
export const ACTION_PASS = 2;
export const ACTION_LOG = 3;

export const M_PROTO = 1;
export const M_NOT_PROTO = 2;
export const M_ICMP_TYPE = 4;
export const M_ICMP_CODE = 8;
export const M_NOT_ICMP_TYPE = 16;
export const M_NOT_ICMP_CODE = 32;

export const SIDE_SRC = 0;
export const SIDE_DST = 1;

export const E2H_DROP = 0;
export const E2H_ACCEPT = 1;
export const E2H_RETURN = 2;

export const RULE_KIND_POLICY = 0;
export const RULE_KIND_END_OF_TIER = 1;
export const RULE_KIND_PROFILE = 2;
export const RULE_KIND_MISSING_PROFILE = 3;
export const RULE_KIND_NO_PROFILE_MATCH = 4;

/** Flow reasons (output `reason`), same order as the reference's FlowReason. */
export const FLOW_REASONS = [
  'policy',
  'no_backend',
  'host_to_local_workload',
  'endpoint_to_host_drop',
  'endpoint_to_host_accept',
  'not_policed',
] as const;

/** Evaluation reasons (output `evalReasons` bytes); 0 = not evaluated. */
export const EVAL_REASONS = [
  '',
  'rule',
  'end_of_tier',
  'profile',
  'no_profile_match',
  'missing_profile',
  'failsafe',
  'no_forward_policy',
  'all_tiers_passed',
] as const;
