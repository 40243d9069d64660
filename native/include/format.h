// netverdict image format, mirror of docs/FORMAT.md (normative) and
// src/format/spec.ts. Every struct is a little-endian on-disk record; the
// static_asserts pin sizes and offsets, and test/format/spec.test.ts compares
// them with the TypeScript table through the addon's layout() export.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nv {
namespace fmt {

constexpr char kMagic[8] = {'N', 'V', 'T', 'I', 'M', 'A', 'G', 'E'};
constexpr uint16_t kMajor = 3;
constexpr uint16_t kMinor = 0;
constexpr uint32_t kHeaderSize = 64;
constexpr uint32_t kSectionAlign = 64;
constexpr uint32_t kNone = 0xffffffffu;

struct ImageHeader {
  uint8_t magic[8];
  uint16_t major;
  uint16_t minor;
  uint32_t flags;
  uint64_t totalLength;
  uint32_t crc32c;  // of the whole image with this field zero
  uint32_t headerSize;
  uint32_t sectionCount;
  uint32_t sectionEntrySize;
  uint64_t directoryOffset;
  uint8_t reserved[16];
};

struct SectionEntry {
  uint32_t id;
  uint32_t recordSize;
  uint64_t offset;
  uint64_t length;
  uint64_t count;
};

struct Config {
  uint32_t identitySetCount;  // = IDENTITY_SETS count
  uint32_t addrSetCount;
  uint32_t portSetCount;
  uint32_t transitIngressProg;  // wildcard HEP for transit traffic, or kNone
  uint32_t transitEgressProg;
  uint32_t noProfileMatchRule;  // pseudo rule id: no profile rule matched
  uint8_t endpointToHostAction;  // E2H_*
  uint8_t pad0[3];
  uint32_t identityCount;
  uint32_t nodeCount;
  uint8_t reserved[28];
};

struct V6Addr {
  uint32_t w[4];  // most significant word first
};

// One address class: what the data path knows about an address range.
struct AddrClass {
  uint32_t identity;     // row in IDENTITY_WORDS: which address sets contain it
  uint32_t portStart;    // PORT_MEMBERS range, sorted by (setId, proto, port)
  uint32_t portCount;
  uint32_t epNode;       // node of the owning endpoint, or kNone
  uint32_t hostNode;     // node whose host address this is, or kNone
  uint32_t egressProg;   // program of the owning endpoint when policed, or kNone
  uint32_t ingressProg;
  uint8_t epKind;        // EP_*
  uint8_t flags;         // CLASS_POLICED
  uint16_t pad;
};

struct PortMember {
  uint16_t port;
  uint8_t proto;
  uint8_t pad;
  uint32_t setId;
};

struct NodeRec {
  uint32_t fwdEgressProg;  // wildcard-HEP forward programs of a policed node, or kNone
  uint32_t fwdIngressProg;
};

struct Program {
  uint32_t opStart;
  uint32_t opCount;
};

struct Op {
  uint32_t opcode;  // OP_*
  uint32_t arg;     // FAILSAFE: DIR_*; TIERS: TIERS_*
  uint32_t start;   // TIER_REFS or PROFILE_REFS range
  uint32_t count;
};

struct TierBlock {
  uint32_t v4Start, v4Count;  // RULE_REFS ranges per family
  uint32_t v6Start, v6Count;
  uint32_t endRule;    // pseudo rule id of the end of tier
  uint32_t endAction;  // ACTION_DENY or ACTION_PASS
};

struct ProfileBlock {
  uint32_t v4Start, v4Count;
  uint32_t v6Start, v6Count;
  uint32_t missingRule;  // kNone, or pseudo rule id: the profile does not exist
  uint32_t pad;
};

struct MatchRec {
  uint32_t ruleId;
  uint8_t action;  // ACTION_*
  uint8_t flags;   // M_*
  uint8_t proto, notProto;
  uint8_t icmpType, icmpCode, notIcmpType, notIcmpCode;
  uint32_t addrTestStart, addrTestCount;  // ADDR_TESTS range, all must pass
  uint32_t dstSvcSet;  // port set (dst addr, proto, dport), or kNone
  uint32_t srcPorts, srcNotPorts, dstPorts, dstNotPorts;  // PORT_LISTS or kNone
  uint32_t reserved[2];
};

struct AddrTest {
  uint32_t setId;
  uint8_t side;    // SIDE_*
  uint8_t negate;  // 1: address must not be in the set
  uint16_t pad;
};

struct PortList {
  uint32_t rangeStart, rangeCount;  // PORT_RANGES
  uint32_t namedStart, namedCount;  // NAMED_REFS (port set ids)
};

struct PortRange {
  uint16_t first, last;
};

struct Failsafe {
  uint8_t dir;
  uint8_t proto;
  uint16_t port;
};

struct NatFrontend {
  uint32_t addr[4];  // v4: {addr, 0, 0, 0}
  uint8_t family;
  uint8_t proto;
  uint16_t port;
  uint32_t backendStart, backendCount;
  uint32_t pad;
};

struct NatBackend {
  uint32_t addr[4];
  uint16_t port;
  uint8_t family;
  uint8_t pad0;
  uint32_t pad1;
};

// NodePort: (family, proto, port) on any address whose class has hostNode != kNone,
// when no NAT_FRONTENDS entry matches. Strictly sorted by (family, proto, port).
struct NatNodePort {
  uint8_t family;
  uint8_t proto;
  uint16_t port;
  uint32_t backendStart, backendCount;
  uint32_t reserved;
};

struct RuleMeta {
  uint32_t tier, name, file;  // STRINGS offsets
  uint32_t line;
  int32_t ruleIndex;
  uint8_t action;
  uint8_t kind;
  uint16_t pad0;
  uint32_t column;
  uint32_t pad1;
};

// Sparse identity row: IDENTITY_SETS[setStart, setStart + setCount), strictly increasing set ids.
struct IdentityRow {
  uint32_t setStart, setCount;
};

// Decision block (one per tier block and family: index 2*tierBlock + (family == 6)).
// Rules are the family's rule list without Log rules, in order; every row is
// `words` u64 words at a DBITS word offset, bit i = rule i of the block.
struct DBlock {
  uint32_t ruleStart, ruleCount;  // DRULES
  uint32_t words;                 // ceil(ruleCount / 64)
  uint32_t srcBase, dstBase;      // DBITS rows: rules an address passes when it is in none of the listed sets
  uint32_t srcSetStart, srcSetCount;  // DSETS, strictly increasing setId
  uint32_t dstSetStart, dstSetCount;
  uint32_t sportStart, sportCount;    // DPORTS: key = proto << 16 | sport (0 without ports)
  uint32_t dportStart, dportCount;    // DPORTS: key = proto << 16 | dport (0 without ports)
  uint32_t reserved[3];
};

struct DRule {
  uint32_t ruleId;    // = MATCHES[matchIdx].ruleId
  uint32_t matchIdx;  // MATCHES: full check when verify
  uint8_t action;     // = MATCHES[matchIdx].action (never Log)
  uint8_t verify;     // 1: some criterion is not captured by the fields, check the match record
  uint16_t pad;
  uint32_t reserved;
};

// A set tested by single-test rules of one side: when the address's identity
// contains setId, DLISTS[listStart, +posCount) get their bit set and the next
// negCount entries get it cleared (block-relative rule indices).
struct DSet {
  uint32_t setId;
  uint32_t listStart, posCount, negCount;
};

struct DPort {
  uint32_t key;  // interval start; first key of a table is 0, keys strictly increasing
  uint32_t row;  // DBITS word offset
};

enum SectionId : uint32_t {
  S_CONFIG = 1, S_PROTO_FLAGS, S_V4_STARTS, S_V4_CLASS, S_V6_STARTS, S_V6_CLASS, S_CLASSES,
  S_IDENTITY_ROWS, S_PORT_MEMBERS, S_NODES, S_PROGRAMS, S_OPS, S_TIER_BLOCKS, S_PROFILE_BLOCKS,
  S_TIER_REFS, S_PROFILE_REFS, S_RULE_REFS, S_MATCHES, S_ADDR_TESTS, S_PORT_LISTS, S_PORT_RANGES,
  S_NAMED_REFS, S_FAILSAFE, S_NAT_FRONTENDS, S_NAT_BACKENDS, S_RULE_META, S_STRINGS,
  S_IDENTITY_SETS, S_DBLOCKS, S_DRULES, S_DSETS, S_DLISTS, S_DPORTS, S_DBITS, S_NAT_NODEPORTS,
  S_COUNT_PLUS_ONE
};

enum : uint8_t { PROTO_HAS_PORTS = 1, PROTO_IS_ICMP = 2 };
enum : uint8_t { EP_NONE = 0, EP_WEP = 1, EP_HEP = 2 };
enum : uint8_t { CLASS_POLICED = 1 };
enum : uint32_t { OP_FAILSAFE = 1, OP_TIERS = 2, OP_FORWARD_TIERS = 3, OP_PROFILES = 4 };
enum : uint32_t { TIERS_NORMAL = 0, TIERS_UNTRACKED = 1, TIERS_PREDNAT = 2 };
enum : uint8_t { DIR_INGRESS = 0, DIR_EGRESS = 1 };
enum : uint8_t { ACTION_ALLOW = 0, ACTION_DENY = 1, ACTION_PASS = 2, ACTION_LOG = 3 };
enum : uint8_t { M_PROTO = 1, M_NOT_PROTO = 2, M_ICMP_TYPE = 4, M_ICMP_CODE = 8, M_NOT_ICMP_TYPE = 16, M_NOT_ICMP_CODE = 32 };
enum : uint8_t { SIDE_SRC = 0, SIDE_DST = 1 };
enum : uint8_t { E2H_DROP = 0, E2H_ACCEPT = 1, E2H_RETURN = 2 };

#define NV_CHECK_SIZE(T, n) static_assert(sizeof(T) == (n), #T " size")
#define NV_CHECK_OFF(T, f, n) static_assert(offsetof(T, f) == (n), #T "." #f " offset")
NV_CHECK_SIZE(ImageHeader, 64);
NV_CHECK_OFF(ImageHeader, major, 8);
NV_CHECK_OFF(ImageHeader, totalLength, 16);
NV_CHECK_OFF(ImageHeader, crc32c, 24);
NV_CHECK_OFF(ImageHeader, directoryOffset, 40);
NV_CHECK_SIZE(SectionEntry, 32);
NV_CHECK_OFF(SectionEntry, count, 24);
NV_CHECK_SIZE(Config, 64);
NV_CHECK_OFF(Config, endpointToHostAction, 24);
NV_CHECK_OFF(Config, nodeCount, 32);
NV_CHECK_SIZE(V6Addr, 16);
NV_CHECK_SIZE(AddrClass, 32);
NV_CHECK_OFF(AddrClass, epKind, 28);
NV_CHECK_SIZE(PortMember, 8);
NV_CHECK_SIZE(NodeRec, 8);
NV_CHECK_SIZE(Program, 8);
NV_CHECK_SIZE(Op, 16);
NV_CHECK_SIZE(TierBlock, 24);
NV_CHECK_SIZE(ProfileBlock, 24);
NV_CHECK_SIZE(MatchRec, 48);
NV_CHECK_OFF(MatchRec, addrTestStart, 12);
NV_CHECK_OFF(MatchRec, dstNotPorts, 36);
NV_CHECK_SIZE(AddrTest, 8);
NV_CHECK_SIZE(PortList, 16);
NV_CHECK_SIZE(PortRange, 4);
NV_CHECK_SIZE(Failsafe, 4);
NV_CHECK_SIZE(NatFrontend, 32);
NV_CHECK_OFF(NatFrontend, backendStart, 20);
NV_CHECK_SIZE(NatBackend, 24);
NV_CHECK_SIZE(NatNodePort, 16);
NV_CHECK_OFF(NatNodePort, port, 2);
NV_CHECK_OFF(NatNodePort, backendStart, 4);
NV_CHECK_OFF(NatNodePort, backendCount, 8);
NV_CHECK_SIZE(RuleMeta, 32);
NV_CHECK_OFF(RuleMeta, column, 24);
NV_CHECK_SIZE(IdentityRow, 8);
NV_CHECK_SIZE(DBlock, 64);
NV_CHECK_OFF(DBlock, dportCount, 48);
NV_CHECK_SIZE(DRule, 16);
NV_CHECK_OFF(DRule, verify, 9);
NV_CHECK_SIZE(DSet, 16);
NV_CHECK_SIZE(DPort, 8);

// Field table for the layout cross-check (generated from offsetof, not typed by hand).
struct FieldLayout {
  const char* structName;
  const char* field;  // nullptr: the struct's size row
  size_t value;
};
const FieldLayout* layoutTable(size_t* count);

}  // namespace fmt
}  // namespace nv
