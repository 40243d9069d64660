// Image loader: copy into engine-owned memory, then verify every header
// field, section bound, count and index before any lookup may use them.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "engine.h"

namespace nv {

using namespace fmt;

const char* loadErrorName(LoadError e) {
  switch (e) {
    case LoadError::Ok: return "OK";
    case LoadError::TooShort: return "TOO_SHORT";
    case LoadError::BadMagic: return "BAD_MAGIC";
    case LoadError::BadVersion: return "BAD_VERSION";
    case LoadError::BadHeader: return "BAD_HEADER";
    case LoadError::BadLength: return "BAD_LENGTH";
    case LoadError::BadCrc: return "BAD_CRC";
    case LoadError::BadDirectory: return "BAD_DIRECTORY";
    case LoadError::BadSection: return "BAD_SECTION";
    case LoadError::DuplicateSection: return "DUPLICATE_SECTION";
    case LoadError::MissingSection: return "MISSING_SECTION";
    case LoadError::BadRecordSize: return "BAD_RECORD_SIZE";
    case LoadError::BadCount: return "BAD_COUNT";
    case LoadError::BadIndex: return "BAD_INDEX";
    case LoadError::BadOrder: return "BAD_ORDER";
    case LoadError::BadValue: return "BAD_VALUE";
    case LoadError::BadString: return "BAD_STRING";
    case LoadError::OutOfMemory: return "OUT_OF_MEMORY";
    case LoadError::WorkBudget: return "WORK_BUDGET";
  }
  return "UNKNOWN";
}

std::unique_ptr<Engine> Engine::load(const uint8_t* data, size_t len, LoadError* err, std::string* detail) {
  std::unique_ptr<Engine> e(new (std::nothrow) Engine());
  if (!e) {
    *err = LoadError::OutOfMemory;
    return nullptr;
  }
  if (data == nullptr || len < kHeaderSize) {
    *err = LoadError::TooShort;
    if (detail) *detail = "image shorter than the 64-byte header";
    return nullptr;
  }
  // Engine-owned, 8-byte aligned copy (sections are 64-aligned relative to it).
  // Allocation failures are load errors, never an abort (no exceptions).
  const size_t words = len / 8 + 1;
  e->mem_ = bigArray<uint64_t>(words);
  if (!e->mem_) {
    *err = LoadError::OutOfMemory;
    if (detail) *detail = "cannot allocate " + std::to_string(len) + " bytes for the image";
    return nullptr;
  }
  e->mem_[words - 1] = 0;
  std::memcpy(e->mem_.get(), data, len);
  e->base_ = reinterpret_cast<const uint8_t*>(e->mem_.get());
  e->size_ = len;
  *err = e->verify(detail);
  if (*err != LoadError::Ok) return nullptr;
  // Derived lookup index (not in the image): for every /16, the first
  // V4_STARTS interval that can hold its addresses.
  e->v4Index_.reset(new (std::nothrow) uint32_t[65537]);
  if (!e->v4Index_) {
    *err = LoadError::OutOfMemory;
    if (detail) *detail = "cannot allocate the /16 index";
    return nullptr;
  }
  for (uint32_t hi = 0, i = 0; hi <= 65536; hi++) {
    const uint64_t top = uint64_t(hi) << 16;
    while (i + 1 < e->nV4_ && e->v4Starts_[i + 1] <= top) i++;
    e->v4Index_[hi] = i;
  }
  e->buildV4Dir();
  e->mrec_ = bigArray<MatchRec>(size_t(e->nMatches_) + 1);
  e->refRules_ = bigArray<MatchRec>(size_t(e->nRuleRefs_) + 1);
  if (!e->mrec_ || !e->refRules_) {
    *err = LoadError::OutOfMemory;
    if (detail) *detail = "cannot allocate the rule copies";
    return nullptr;
  }
  // The inline test of a rule with several address tests is the one fewest
  // identities pass (a set's identities, or the others when negated): the
  // walk's front then rejects most rules without the tail's call. members[s]:
  // identities whose row holds set s (a proxy for the share of traffic).
  // (Counted only when the set count is in proportion to the image's set
  // references, so a hostile CONFIG cannot make loading allocate gigabytes.)
  std::unique_ptr<uint32_t[]> members;  // nullptr: first tests inline, as written
  bool multi = false;
  for (uint32_t i = 0; i < e->nMatches_ && !multi; i++) multi = e->matches_[i].addrTestCount > 1;
  if (multi && e->config_->addrSetCount <= 8 * (uint64_t(e->nIdentSets_) + e->nAddrTests_) + 4096) {
    members.reset(new (std::nothrow) uint32_t[size_t(e->config_->addrSetCount) + 1]());
    if (members)
      for (uint32_t k = 0; k < e->nIdentSets_; k++)
        if (e->identSets_[k] < e->config_->addrSetCount) members[e->identSets_[k]]++;
  }
  for (uint32_t i = 0; i < e->nMatches_; i++) {
    MatchRec m = e->matches_[i];
    m.reserved[0] = m.reserved[1] = 0;
    if (m.addrTestCount > 0) {
      uint32_t pick = 0;
      if (members && m.addrTestCount > 1) {
        uint64_t best = ~uint64_t(0);
        for (uint32_t k = 0; k < m.addrTestCount && k <= kInlineIndexMax; k++) {
          const AddrTest& t = e->addrTests_[m.addrTestStart + k];
          const uint64_t c = t.setId < e->config_->addrSetCount ? members[t.setId] : 0;
          const uint64_t pass = t.negate ? uint64_t(e->nIdentRows_) - c : c;
          if (pass < best) best = pass, pick = k;
        }
      }
      const AddrTest& t = e->addrTests_[m.addrTestStart + pick];
      m.reserved[0] = t.setId;
      m.reserved[1] = kInlineTest | uint32_t(t.side) | (uint32_t(t.negate ? 1 : 0) << 8) | pick << kInlineIndexShift;
    }
    if (m.addrTestCount > 1 || m.dstSvcSet != kNone || m.srcPorts != kNone || m.srcNotPorts != kNone || m.dstPorts != kNone ||
        m.dstNotPorts != kNone || (m.flags & (M_ICMP_TYPE | M_NOT_ICMP_TYPE)))
      m.reserved[1] |= kNeedTail;
    if (m.flags & (M_PROTO | M_NOT_PROTO)) m.reserved[1] |= kProtoTest;
    e->mrec_[i] = m;
  }
  for (uint32_t i = 0; i < e->nRuleRefs_; i++) e->refRules_[i] = e->mrec_[e->ruleRefs_[i]];
  // Derived dense identity bitmaps (see engine.h); skipped when too large or unallocatable.
  {
    const uint64_t W = (uint64_t(e->config_->addrSetCount) + 63) / 64;
    const uint64_t bytes = W * 8 * e->nIdentRows_;
    if (W > 0 && bytes <= 4 * uint64_t(e->nIdentSets_) && bytes <= (uint64_t(1) << 30)) {
      e->identDense_ = bigArray<uint64_t>(W * e->nIdentRows_);
      if (e->identDense_) {
        e->identDenseWords_ = W;
        std::memset(e->identDense_.get(), 0, bytes);
        for (uint32_t i = 0; i < e->nIdentRows_; i++) {
          uint64_t* row = e->identDense_.get() + W * i;
          const IdentityRow& r = e->identRows_[i];
          for (uint32_t k = 0; k < r.setCount; k++) {
            const uint32_t id = e->identSets_[r.setStart + k];
            row[id >> 6] |= uint64_t(1) << (id & 63);
          }
        }
      }
    }
  }
  // Derived decision trees for large IPv4 decision blocks (see engine.h); best effort.
  e->buildTrees();
  e->buildRfcs();
  e->buildFirstTrees();
  e->buildTransitPath();
  e->buildFlatPrograms();
  if (!e->buildDecisionIndex()) {
    *err = LoadError::OutOfMemory;
    if (detail) *detail = "cannot allocate the decision block index";
    return nullptr;
  }
  e->buildFastTransit();  // its stages point at decision records
  e->buildNatClasses();
  e->buildProgMasks();    // reads the decision records' tree and bitmap flags
  e->buildNodeLanes();    // reads pmOf_, natClass_ and the first-tree hints
  e->simd_ = simdSupported();
  if (!e->computeTraceBound()) {
    *err = LoadError::OutOfMemory;
    if (detail) *detail = "cannot allocate the trace tables";
    return nullptr;
  }
  // Derived NAT frontend hash (see engine.h).
  if (e->nFrontends_ > 0) {
    if (e->nFrontends_ > (1u << 30)) {
      *err = LoadError::OutOfMemory;
      if (detail) *detail = "too many NAT frontends for the index";
      return nullptr;
    }
    uint64_t size = 2;
    while (size < 2 * uint64_t(e->nFrontends_)) size *= 2;
    e->natHash_ = bigArray<uint64_t>(size);
    if (!e->natHash_) {
      *err = LoadError::OutOfMemory;
      if (detail) *detail = "cannot allocate the NAT frontend index";
      return nullptr;
    }
    e->natMask_ = uint32_t(size - 1);
    for (uint64_t i = 0; i < size; i++) e->natHash_[i] = ~uint64_t(0);
    for (uint32_t i = 0; i < e->nFrontends_; i++) {
      const NatFrontend& f = e->frontends_[i];
      const uint64_t h = natKeyHash(f.family, f.addr, f.proto, f.port);
      uint32_t slot = uint32_t(h) & e->natMask_;
      while (uint32_t(e->natHash_[slot]) != kNone) slot = (slot + 1) & e->natMask_;
      e->natHash_[slot] = (h >> 32 << 32) | i;
    }
  }
  // Derived NodePort hash (see engine.h).
  if (e->nNodePorts_ > 0) {
    uint64_t size = 2;
    while (size < 2 * uint64_t(e->nNodePorts_)) size *= 2;
    e->npHash_.reset(new (std::nothrow) uint32_t[size]);
    if (!e->npHash_) {
      *err = LoadError::OutOfMemory;
      if (detail) *detail = "cannot allocate the NodePort index";
      return nullptr;
    }
    e->npMask_ = uint32_t(size - 1);
    for (uint64_t i = 0; i < size; i++) e->npHash_[i] = kNone;
    for (uint32_t i = 0; i < e->nNodePorts_; i++) {
      const NatNodePort& f = e->nodePorts_[i];
      uint32_t slot = nodePortHash(f.family, f.proto, f.port) & e->npMask_;
      while (e->npHash_[slot] != kNone) slot = (slot + 1) & e->npMask_;
      e->npHash_[slot] = i;
    }
  }
  return e;
}

namespace {

struct Sec {
  bool present = false;
  uint64_t offset = 0, length = 0, count = 0;
};

// Record sizes per section id (index = id).
constexpr uint32_t kRecordSize[S_COUNT_PLUS_ONE] = {
    0, sizeof(Config), 1, 4, 4, sizeof(V6Addr), 4, sizeof(AddrClass), sizeof(IdentityRow), sizeof(PortMember), sizeof(NodeRec),
    sizeof(Program), sizeof(Op), sizeof(TierBlock), sizeof(ProfileBlock), 4, 4, 4, sizeof(MatchRec), sizeof(AddrTest),
    sizeof(PortList), sizeof(PortRange), 4, sizeof(Failsafe), sizeof(NatFrontend), sizeof(NatBackend), sizeof(RuleMeta),
    1, 4, sizeof(DBlock), sizeof(DRule), sizeof(DSet), 4, sizeof(DPort), 8, sizeof(NatNodePort)};

// start + count <= limit, without overflow.
inline bool rangeOk(uint64_t start, uint64_t count, uint64_t limit) { return start <= limit && count <= limit - start; }
inline bool idxOk(uint32_t i, uint32_t n) { return i < n; }
inline bool idxOrNone(uint32_t i, uint32_t n) { return i == kNone || i < n; }

int cmpWords(const uint32_t* a, const uint32_t* b, int n) {
  for (int i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

}  // namespace

#define FAIL(code, msg)           \
  do {                            \
    if (detail) *detail = (msg);  \
    return LoadError::code;       \
  } while (0)

LoadError Engine::verify(std::string* detail) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the image is little-endian; big-endian hosts need byte swapping");
  ImageHeader h;
  std::memcpy(&h, base_, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) FAIL(BadMagic, "not a netverdict image (bad magic)");
  if (h.major != kMajor) FAIL(BadVersion, "unsupported format major " + std::to_string(h.major));
  if (h.headerSize != kHeaderSize || h.sectionEntrySize != sizeof(SectionEntry) || h.directoryOffset != kHeaderSize)
    FAIL(BadHeader, "unexpected header size, section entry size or directory offset");
  if (h.totalLength != size_) FAIL(BadLength, "header length " + std::to_string(h.totalLength) + " != image length " + std::to_string(size_));
  {
    uint32_t want = h.crc32c;
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t c = crc32c(base_, 24);
    c = crc32c(zero, 4, c);
    c = crc32c(base_ + 28, size_ - 28, c);
    if (c != want) FAIL(BadCrc, "CRC32C mismatch");
  }
  if (h.sectionCount > 1024 || !rangeOk(h.directoryOffset, uint64_t(h.sectionCount) * sizeof(SectionEntry), size_))
    FAIL(BadDirectory, "section directory out of bounds");
  const uint64_t dirEnd = h.directoryOffset + uint64_t(h.sectionCount) * sizeof(SectionEntry);
  Sec secs[S_COUNT_PLUS_ONE];
  for (uint32_t i = 0; i < h.sectionCount; i++) {
    SectionEntry se;
    std::memcpy(&se, base_ + h.directoryOffset + i * sizeof(SectionEntry), sizeof se);
    const std::string where = "section id " + std::to_string(se.id);
    if (se.offset % kSectionAlign != 0 || se.offset < dirEnd || !rangeOk(se.offset, se.length, size_))
      FAIL(BadSection, where + " out of bounds, misaligned or overlapping the directory");
    if (se.id == 0 || se.id >= S_COUNT_PLUS_ONE) continue;  // unknown sections (newer minor) are skipped
    if (secs[se.id].present) FAIL(DuplicateSection, where + " appears twice");
    if (se.recordSize != kRecordSize[se.id]) FAIL(BadRecordSize, where + ": record size " + std::to_string(se.recordSize));
    if (se.count > 0xfffffff0ull || se.count * se.recordSize != se.length) FAIL(BadSection, where + ": length != count * recordSize");
    secs[se.id] = Sec{true, se.offset, se.length, se.count};
  }
  for (uint32_t id = 1; id < S_COUNT_PLUS_ONE; id++)
    if (!secs[id].present) FAIL(MissingSection, "section id " + std::to_string(id) + " missing");
#define BIND(ptr, n, id) \
  ptr = reinterpret_cast<decltype(ptr)>(base_ + secs[id].offset); \
  n = static_cast<uint32_t>(secs[id].count)
  uint32_t nConfig, nProto;
  BIND(config_, nConfig, S_CONFIG);
  BIND(protoFlags_, nProto, S_PROTO_FLAGS);
  BIND(v4Starts_, nV4_, S_V4_STARTS);
  uint32_t nV4c, nV6c;
  BIND(v4Class_, nV4c, S_V4_CLASS);
  BIND(v6Starts_, nV6_, S_V6_STARTS);
  BIND(v6Class_, nV6c, S_V6_CLASS);
  BIND(classes_, nClasses_, S_CLASSES);
  BIND(identRows_, nIdentRows_, S_IDENTITY_ROWS);
  BIND(identSets_, nIdentSets_, S_IDENTITY_SETS);
  BIND(dblocks_, nDBlocks_, S_DBLOCKS);
  BIND(drules_, nDRules_, S_DRULES);
  BIND(dsets_, nDSets_, S_DSETS);
  BIND(dlists_, nDLists_, S_DLISTS);
  BIND(dports_, nDPorts_, S_DPORTS);
  BIND(dbits_, nDBits_, S_DBITS);
  BIND(portMembers_, nPortMembers_, S_PORT_MEMBERS);
  BIND(nodes_, nNodes_, S_NODES);
  BIND(programs_, nPrograms_, S_PROGRAMS);
  BIND(ops_, nOps_, S_OPS);
  BIND(tierBlocks_, nTierBlocks_, S_TIER_BLOCKS);
  BIND(profileBlocks_, nProfileBlocks_, S_PROFILE_BLOCKS);
  BIND(tierRefs_, nTierRefs_, S_TIER_REFS);
  BIND(profileRefs_, nProfileRefs_, S_PROFILE_REFS);
  BIND(ruleRefs_, nRuleRefs_, S_RULE_REFS);
  BIND(matches_, nMatches_, S_MATCHES);
  BIND(addrTests_, nAddrTests_, S_ADDR_TESTS);
  BIND(portLists_, nPortLists_, S_PORT_LISTS);
  BIND(portRanges_, nPortRanges_, S_PORT_RANGES);
  BIND(namedRefs_, nNamedRefs_, S_NAMED_REFS);
  BIND(failsafe_, nFailsafe_, S_FAILSAFE);
  BIND(frontends_, nFrontends_, S_NAT_FRONTENDS);
  BIND(backends_, nBackends_, S_NAT_BACKENDS);
  BIND(nodePorts_, nNodePorts_, S_NAT_NODEPORTS);
  BIND(ruleMeta_, ruleCount_, S_RULE_META);
  BIND(strings_, nStrings_, S_STRINGS);
#undef BIND

  // ---- config and counts ----
  if (nConfig != 1) FAIL(BadCount, "CONFIG must hold one record");
  if (nProto != 256) FAIL(BadCount, "PROTO_FLAGS must hold 256 entries");
  const Config& c = *config_;
  if (c.identitySetCount != nIdentSets_) FAIL(BadCount, "identitySetCount != IDENTITY_SETS count");
  if (c.identityCount != nIdentRows_) FAIL(BadCount, "IDENTITY_ROWS count != identityCount");
  for (uint32_t i = 0; i < nIdentRows_; i++) {
    const IdentityRow& r = identRows_[i];
    if (!rangeOk(r.setStart, r.setCount, nIdentSets_)) FAIL(BadIndex, "IDENTITY_ROWS[" + std::to_string(i) + "] out of range");
    for (uint32_t k = 0; k < r.setCount; k++) {
      const uint32_t v = identSets_[r.setStart + k];
      if (!idxOk(v, c.addrSetCount)) FAIL(BadIndex, "IDENTITY_SETS set id out of range");
      if (k > 0 && v <= identSets_[r.setStart + k - 1]) FAIL(BadOrder, "IDENTITY_ROWS[" + std::to_string(i) + "] set ids not strictly increasing");
    }
  }
  if (c.nodeCount != nNodes_) FAIL(BadCount, "NODES count != config.nodeCount");
  if (!idxOrNone(c.transitIngressProg, nPrograms_) || !idxOrNone(c.transitEgressProg, nPrograms_))
    FAIL(BadIndex, "transit program out of range");
  if ((c.transitIngressProg == kNone) != (c.transitEgressProg == kNone)) FAIL(BadValue, "transit programs must both be present or absent");
  if (!idxOk(c.noProfileMatchRule, ruleCount_)) FAIL(BadIndex, "noProfileMatchRule out of range");
  if (c.endpointToHostAction > E2H_RETURN) FAIL(BadValue, "endpointToHostAction out of range");
  for (uint32_t i = 0; i < 256; i++)
    if (protoFlags_[i] > (PROTO_HAS_PORTS | PROTO_IS_ICMP)) FAIL(BadValue, "PROTO_FLAGS value out of range");

  // ---- address lookup tables ----
  if (nV4_ == 0 || nV4_ != nV4c) FAIL(BadCount, "V4_STARTS/V4_CLASS counts differ or are zero");
  if (nV6_ == 0 || nV6_ != nV6c) FAIL(BadCount, "V6_STARTS/V6_CLASS counts differ or are zero");
  if (v4Starts_[0] != 0) FAIL(BadOrder, "V4_STARTS must begin at 0.0.0.0");
  for (uint32_t i = 0; i < nV4_; i++) {
    if (i > 0 && v4Starts_[i] <= v4Starts_[i - 1]) FAIL(BadOrder, "V4_STARTS not strictly increasing at " + std::to_string(i));
    if (!idxOk(v4Class_[i], nClasses_)) FAIL(BadIndex, "V4_CLASS[" + std::to_string(i) + "] out of range");
  }
  static const uint32_t zero4[4] = {0, 0, 0, 0};
  if (cmpWords(v6Starts_[0].w, zero4, 4) != 0) FAIL(BadOrder, "V6_STARTS must begin at ::");
  for (uint32_t i = 0; i < nV6_; i++) {
    if (i > 0 && cmpWords(v6Starts_[i - 1].w, v6Starts_[i].w, 4) >= 0) FAIL(BadOrder, "V6_STARTS not strictly increasing at " + std::to_string(i));
    if (!idxOk(v6Class_[i], nClasses_)) FAIL(BadIndex, "V6_CLASS[" + std::to_string(i) + "] out of range");
  }
  for (uint32_t i = 0; i < nClasses_; i++) {
    const AddrClass& a = classes_[i];
    const std::string where = "CLASSES[" + std::to_string(i) + "]";
    if (!idxOk(a.identity, c.identityCount)) FAIL(BadIndex, where + ".identity out of range");
    if (!rangeOk(a.portStart, a.portCount, nPortMembers_)) FAIL(BadIndex, where + " port members out of range");
    if (!idxOrNone(a.epNode, nNodes_) || !idxOrNone(a.hostNode, nNodes_)) FAIL(BadIndex, where + " node out of range");
    if (!idxOrNone(a.egressProg, nPrograms_) || !idxOrNone(a.ingressProg, nPrograms_)) FAIL(BadIndex, where + " program out of range");
    if (a.epKind > EP_HEP || a.flags > CLASS_POLICED) FAIL(BadValue, where + " kind/flags out of range");
    const bool policed = a.flags & CLASS_POLICED;
    if (policed && (a.epKind == EP_NONE || a.egressProg == kNone || a.ingressProg == kNone))
      FAIL(BadValue, where + " policed without endpoint programs");
    if (a.epKind != EP_NONE && a.epNode == kNone) FAIL(BadValue, where + " endpoint without node");
    for (uint32_t k = 1; k < a.portCount; k++) {
      const PortMember& p = portMembers_[a.portStart + k - 1];
      const PortMember& q = portMembers_[a.portStart + k];
      const uint64_t pk = (uint64_t(p.setId) << 24) | (uint64_t(p.proto) << 16) | p.port;
      const uint64_t qk = (uint64_t(q.setId) << 24) | (uint64_t(q.proto) << 16) | q.port;
      if (pk >= qk) FAIL(BadOrder, where + " port members not sorted");
    }
  }
  for (uint32_t i = 0; i < nPortMembers_; i++)
    if (!idxOk(portMembers_[i].setId, c.portSetCount)) FAIL(BadIndex, "PORT_MEMBERS setId out of range");
  for (uint32_t i = 0; i < nNodes_; i++) {
    if (!idxOrNone(nodes_[i].fwdEgressProg, nPrograms_) || !idxOrNone(nodes_[i].fwdIngressProg, nPrograms_))
      FAIL(BadIndex, "NODES program out of range");
    if ((nodes_[i].fwdEgressProg == kNone) != (nodes_[i].fwdIngressProg == kNone))
      FAIL(BadValue, "NODES forward programs must both be present or absent");
  }

  // ---- programs ----
  for (uint32_t i = 0; i < nPrograms_; i++) {
    const Program& p = programs_[i];
    const std::string where = "PROGRAMS[" + std::to_string(i) + "]";
    if (!rangeOk(p.opStart, p.opCount, nOps_) || p.opCount == 0) FAIL(BadIndex, where + " ops out of range");
    const uint32_t last = ops_[p.opStart + p.opCount - 1].opcode;
    if (last != OP_PROFILES && last != OP_FORWARD_TIERS) FAIL(BadValue, where + " does not end in a terminal op");
  }
  for (uint32_t i = 0; i < nOps_; i++) {
    const Op& o = ops_[i];
    const std::string where = "OPS[" + std::to_string(i) + "]";
    switch (o.opcode) {
      case OP_FAILSAFE:
        if (o.arg > DIR_EGRESS) FAIL(BadValue, where + " direction");
        break;
      case OP_TIERS:
        if (o.arg > TIERS_PREDNAT) FAIL(BadValue, where + " tier mode");
        [[fallthrough]];
      case OP_FORWARD_TIERS:
        if (!rangeOk(o.start, o.count, nTierRefs_)) FAIL(BadIndex, where + " tier refs out of range");
        break;
      case OP_PROFILES:
        if (!rangeOk(o.start, o.count, nProfileRefs_)) FAIL(BadIndex, where + " profile refs out of range");
        break;
      default:
        FAIL(BadValue, where + " unknown opcode " + std::to_string(o.opcode));
    }
  }
  for (uint32_t i = 0; i < nTierRefs_; i++)
    if (!idxOk(tierRefs_[i], nTierBlocks_)) FAIL(BadIndex, "TIER_REFS out of range");
  for (uint32_t i = 0; i < nProfileRefs_; i++)
    if (!idxOk(profileRefs_[i], nProfileBlocks_)) FAIL(BadIndex, "PROFILE_REFS out of range");
  for (uint32_t i = 0; i < nTierBlocks_; i++) {
    const TierBlock& t = tierBlocks_[i];
    if (!rangeOk(t.v4Start, t.v4Count, nRuleRefs_) || !rangeOk(t.v6Start, t.v6Count, nRuleRefs_))
      FAIL(BadIndex, "TIER_BLOCKS rule range out of range");
    if (!idxOk(t.endRule, ruleCount_)) FAIL(BadIndex, "TIER_BLOCKS endRule out of range");
    if (t.endAction != ACTION_DENY && t.endAction != ACTION_PASS) FAIL(BadValue, "TIER_BLOCKS endAction");
  }
  for (uint32_t i = 0; i < nProfileBlocks_; i++) {
    const ProfileBlock& p = profileBlocks_[i];
    if (!rangeOk(p.v4Start, p.v4Count, nRuleRefs_) || !rangeOk(p.v6Start, p.v6Count, nRuleRefs_))
      FAIL(BadIndex, "PROFILE_BLOCKS rule range out of range");
    if (!idxOrNone(p.missingRule, ruleCount_)) FAIL(BadIndex, "PROFILE_BLOCKS missingRule out of range");
  }
  for (uint32_t i = 0; i < nRuleRefs_; i++)
    if (!idxOk(ruleRefs_[i], nMatches_)) FAIL(BadIndex, "RULE_REFS out of range");

  // ---- rules ----
  for (uint32_t i = 0; i < nMatches_; i++) {
    const MatchRec& m = matches_[i];
    const std::string where = "MATCHES[" + std::to_string(i) + "]";
    if (!idxOk(m.ruleId, ruleCount_)) FAIL(BadIndex, where + ".ruleId out of range");
    if (m.action > ACTION_LOG || m.flags > 63) FAIL(BadValue, where + " action/flags");
    if (!rangeOk(m.addrTestStart, m.addrTestCount, nAddrTests_)) FAIL(BadIndex, where + " address tests out of range");
    if (!idxOrNone(m.dstSvcSet, c.portSetCount)) FAIL(BadIndex, where + ".dstSvcSet out of range");
    if (!idxOrNone(m.srcPorts, nPortLists_) || !idxOrNone(m.srcNotPorts, nPortLists_) ||
        !idxOrNone(m.dstPorts, nPortLists_) || !idxOrNone(m.dstNotPorts, nPortLists_))
      FAIL(BadIndex, where + " port list out of range");
  }
  for (uint32_t i = 0; i < nAddrTests_; i++) {
    const AddrTest& t = addrTests_[i];
    if (!idxOk(t.setId, c.addrSetCount)) FAIL(BadIndex, "ADDR_TESTS setId out of range");
    if (t.side > SIDE_DST || t.negate > 1) FAIL(BadValue, "ADDR_TESTS side/negate");
  }
  for (uint32_t i = 0; i < nPortLists_; i++) {
    const PortList& l = portLists_[i];
    if (!rangeOk(l.rangeStart, l.rangeCount, nPortRanges_) || !rangeOk(l.namedStart, l.namedCount, nNamedRefs_))
      FAIL(BadIndex, "PORT_LISTS out of range");
  }
  for (uint32_t i = 0; i < nPortRanges_; i++)
    if (portRanges_[i].first > portRanges_[i].last) FAIL(BadValue, "PORT_RANGES first > last");
  for (uint32_t i = 0; i < nNamedRefs_; i++)
    if (!idxOk(namedRefs_[i], c.portSetCount)) FAIL(BadIndex, "NAMED_REFS out of range");
  for (uint32_t i = 0; i < nFailsafe_; i++)
    if (failsafe_[i].dir > DIR_EGRESS) FAIL(BadValue, "FAILSAFE direction");

  // ---- NAT ----
  for (uint32_t i = 0; i < nFrontends_; i++) {
    const NatFrontend& f = frontends_[i];
    if (f.family != 4 && f.family != 6) FAIL(BadValue, "NAT_FRONTENDS family");
    if (!rangeOk(f.backendStart, f.backendCount, nBackends_)) FAIL(BadIndex, "NAT_FRONTENDS backends out of range");
    if (i > 0) {
      const NatFrontend& p = frontends_[i - 1];
      int d = p.family != f.family ? (p.family < f.family ? -1 : 1) : cmpWords(p.addr, f.addr, 4);
      if (d == 0) d = p.proto != f.proto ? (p.proto < f.proto ? -1 : 1) : (p.port < f.port ? -1 : p.port > f.port ? 1 : 0);
      if (d >= 0) FAIL(BadOrder, "NAT_FRONTENDS not strictly sorted");
    }
  }
  for (uint32_t i = 0; i < nBackends_; i++)
    if (backends_[i].family != 4 && backends_[i].family != 6) FAIL(BadValue, "NAT_BACKENDS family");
  for (uint32_t i = 0; i < nNodePorts_; i++) {
    const NatNodePort& f = nodePorts_[i];
    const std::string where = "NAT_NODEPORTS[" + std::to_string(i) + "]";
    if (f.family != 4 && f.family != 6) FAIL(BadValue, where + " family");
    if (!rangeOk(f.backendStart, f.backendCount, nBackends_)) FAIL(BadIndex, where + " backends out of range");
    if (i > 0) {
      const NatNodePort& p = nodePorts_[i - 1];
      const uint32_t pk = (uint32_t(p.family) << 24) | (uint32_t(p.proto) << 16) | p.port;
      const uint32_t fk = (uint32_t(f.family) << 24) | (uint32_t(f.proto) << 16) | f.port;
      if (pk >= fk) FAIL(BadOrder, where + " not strictly sorted by (family, proto, port)");
    }
  }

  // ---- decision blocks ----
  if (uint64_t(nDBlocks_) != 2ull * nTierBlocks_) FAIL(BadCount, "DBLOCKS count != 2 * TIER_BLOCKS count");
  for (uint32_t i = 0; i < nDBlocks_; i++) {
    const DBlock& b = dblocks_[i];
    const std::string where = "DBLOCKS[" + std::to_string(i) + "]";
    if (!rangeOk(b.ruleStart, b.ruleCount, nDRules_)) FAIL(BadIndex, where + " rules out of range");
    if (b.words != (uint64_t(b.ruleCount) + 63) / 64) FAIL(BadCount, where + " words != ceil(ruleCount / 64)");
    if (!rangeOk(b.srcBase, b.words, nDBits_) || !rangeOk(b.dstBase, b.words, nDBits_)) FAIL(BadIndex, where + " base rows out of range");
    const TierBlock& tb = tierBlocks_[i / 2];
    if (b.ruleCount > ((i & 1) ? tb.v6Count : tb.v4Count)) FAIL(BadCount, where + " more rules than its tier block");
    for (int side = 0; side < 2; side++) {
      const uint32_t ss = side ? b.dstSetStart : b.srcSetStart, sc = side ? b.dstSetCount : b.srcSetCount;
      if (!rangeOk(ss, sc, nDSets_)) FAIL(BadIndex, where + " sets out of range");
      for (uint32_t k = 0; k < sc; k++) {
        const DSet& d = dsets_[ss + k];
        if (!idxOk(d.setId, c.addrSetCount)) FAIL(BadIndex, where + " set id out of range");
        if (k > 0 && d.setId <= dsets_[ss + k - 1].setId) FAIL(BadOrder, where + " sets not strictly increasing");
        if (!rangeOk(d.listStart, uint64_t(d.posCount) + d.negCount, nDLists_)) FAIL(BadIndex, where + " set rule list out of range");
        for (uint64_t q = 0; q < uint64_t(d.posCount) + d.negCount; q++)
          if (!idxOk(dlists_[d.listStart + q], b.ruleCount)) FAIL(BadIndex, where + " set rule index out of range");
      }
    }
    for (int side = 0; side < 2; side++) {
      const uint32_t ps = side ? b.dportStart : b.sportStart, pc = side ? b.dportCount : b.sportCount;
      if (!rangeOk(ps, pc, nDPorts_) || pc == 0) FAIL(BadIndex, where + " port table out of range");
      if (dports_[ps].key != 0) FAIL(BadOrder, where + " port table must start at key 0");
      for (uint32_t k = 0; k < pc; k++) {
        if (k > 0 && dports_[ps + k].key <= dports_[ps + k - 1].key) FAIL(BadOrder, where + " port keys not strictly increasing");
        if (dports_[ps + k].key > 0xffffffu) FAIL(BadValue, where + " port key above proto 255");
        if (!rangeOk(dports_[ps + k].row, b.words, nDBits_)) FAIL(BadIndex, where + " port row out of range");
      }
    }
  }
  for (uint32_t i = 0; i < nDRules_; i++) {
    const DRule& r = drules_[i];
    if (!idxOk(r.matchIdx, nMatches_)) FAIL(BadIndex, "DRULES[" + std::to_string(i) + "].matchIdx out of range");
    const MatchRec& m = matches_[r.matchIdx];
    if (r.ruleId != m.ruleId || r.action != m.action || r.action == ACTION_LOG || r.verify > 1)
      FAIL(BadValue, "DRULES[" + std::to_string(i) + "] disagrees with its match record");
  }
  // Each decision block lists its tier block's rules for that family, in
  // order, without the Log rules: the strategies must read the same policy.
  for (uint32_t i = 0; i < nDBlocks_; i++) {
    const DBlock& b = dblocks_[i];
    const TierBlock& tb = tierBlocks_[i / 2];
    const uint32_t rs = (i & 1) ? tb.v6Start : tb.v4Start, rc = (i & 1) ? tb.v6Count : tb.v4Count;
    uint32_t k = 0;
    for (uint32_t q = 0; q < rc; q++) {
      const uint32_t mi = ruleRefs_[rs + q];
      if (!idxOk(mi, nMatches_)) FAIL(BadIndex, "RULE_REFS out of range");
      if (matches_[mi].action == ACTION_LOG) continue;
      if (k >= b.ruleCount || drules_[b.ruleStart + k].matchIdx != mi)
        FAIL(BadValue, "DBLOCKS[" + std::to_string(i) + "] does not list its tier block's rules in order");
      k++;
    }
    if (k != b.ruleCount) FAIL(BadValue, "DBLOCKS[" + std::to_string(i) + "] lists more rules than its tier block");
  }

  // ---- rule map and strings ----
  auto strOk = [this](uint32_t off) {
    if (off % 4 != 0 || !rangeOk(off, 4, nStrings_)) return false;
    uint32_t len;
    std::memcpy(&len, strings_ + off, 4);
    return rangeOk(uint64_t(off) + 4, len, nStrings_);
  };
  for (uint32_t i = 0; i < ruleCount_; i++) {
    const RuleMeta& r = ruleMeta_[i];
    if (!strOk(r.tier) || !strOk(r.name) || !strOk(r.file)) FAIL(BadString, "RULE_META[" + std::to_string(i) + "] string out of range");
    if (r.action > ACTION_LOG || r.kind > 4) FAIL(BadValue, "RULE_META[" + std::to_string(i) + "] action/kind");
  }
  return checkWork(detail);
}

// ---- work budget (FORMAT.md §6) ----------------------------------------------
//
// Ranges are bounds-checked above but may overlap arbitrarily, so a small image
// could make one tuple visit a billion rules. Work is counted in records
// touched: a match record costs 1 + its address tests + its port ranges and
// named refs (+1 for a service set); a tier block (per family) costs 1 + the
// larger of its linear walk (its rules) and its decision block (4 per bitmap
// word, 2 port searches, 1 + list entries per set, its rules' match costs); a
// profile block 1 + its rules; an op 1 + its blocks (FAILSAFE: + FAILSAFE
// count). A program's work per family must not exceed
//   cap = 2 * (OPS + TIER_REFS + PROFILE_REFS + RULE_REFS + 2 * MATCHES + ADDR_TESTS + PORT_RANGES
//              + NAMED_REFS + DRULES + DSETS + DLISTS + 4 * DBLOCKS + FAILSAFE) + 1024,
// at most 2^31. Every sum is 64-bit; every element is clamped to cap + 1 and
// overlapping ranges are summed through prefix sums, so checking costs
// O(records) whatever the overlaps.
namespace {
template <typename T>
std::unique_ptr<T[]> allocArray(uint64_t n) {
  if (n > (uint64_t(1) << 40) / sizeof(T)) return nullptr;
  return std::unique_ptr<T[]>(new (std::nothrow) T[size_t(n) + 1]);
}
}  // namespace

template <typename OpCost, typename Visit>
bool Engine::programSums(const uint64_t* tierCost, const uint64_t* profCost, uint64_t clampTo, OpCost opCost, Visit visit) const {
  auto tierPre = allocArray<uint64_t>(uint64_t(nTierRefs_) + 1);
  auto profPre = allocArray<uint64_t>(uint64_t(nProfileRefs_) + 1);
  auto opPre = allocArray<uint64_t>(uint64_t(nOps_) + 1);
  if (!tierPre || !profPre || !opPre) return false;
  auto clamp = [clampTo](uint64_t v) { return v < clampTo ? v : clampTo; };
  // Sum of a range's elements (each <= clampTo <= 2^31 + 1, at most 2^32 of them: < 2^64), clamped.
  auto span = [&clamp](const uint64_t* pre, uint32_t start, uint32_t count) { return clamp(pre[uint64_t(start) + count] - pre[start]); };
  for (int f = 0; f < 2; f++) {
    tierPre[0] = 0;
    for (uint32_t i = 0; i < nTierRefs_; i++) tierPre[i + 1] = tierPre[i] + clamp(tierCost[2 * uint64_t(tierRefs_[i]) + f]);
    profPre[0] = 0;
    for (uint32_t i = 0; i < nProfileRefs_; i++) profPre[i + 1] = profPre[i] + clamp(profCost[2 * uint64_t(profileRefs_[i]) + f]);
    opPre[0] = 0;
    for (uint32_t i = 0; i < nOps_; i++) {
      const Op& o = ops_[i];
      const bool prof = o.opcode == OP_PROFILES, tiers = o.opcode == OP_TIERS || o.opcode == OP_FORWARD_TIERS;
      opPre[i + 1] = opPre[i] + clamp(opCost(o, tiers ? span(tierPre.get(), o.start, o.count) : 0, prof ? span(profPre.get(), o.start, o.count) : 0));
    }
    for (uint32_t p = 0; p < nPrograms_; p++)
      if (!visit(p, f, span(opPre.get(), programs_[p].opStart, programs_[p].opCount))) return true;
  }
  return true;
}

// Trace events (engine.h traceBound, tierLog_): per program and family, one
// entry per tier walked plus its Log rules, one profile entry plus the
// profiles' Log rules, one EV_EVAL word; a tuple runs at most 4 programs.
bool Engine::computeTraceBound() {
  tierLog_.reset(new (std::nothrow) uint8_t[size_t(nTierBlocks_) + 1]);
  auto tierEv = allocArray<uint64_t>(2 * uint64_t(nTierBlocks_));
  auto profEv = allocArray<uint64_t>(2 * uint64_t(nProfileBlocks_));
  if (!tierLog_ || !tierEv || !profEv) return false;
  traceIds_ = ruleCount_ <= kEventPayload + uint64_t(1);
  // Every term clamped to 2^31 so the prefix sums (<= 2^32 terms) fit 64 bits.
  constexpr uint64_t kClamp = uint64_t(1) << 31;
  auto logs = [this](uint32_t start, uint32_t count) {
    uint64_t k = 0;
    for (uint32_t i = 0; i < count; i++) k += refRules_[start + i].action == ACTION_LOG;
    return k < kClamp ? k : kClamp;
  };
  for (uint32_t t = 0; t < nTierBlocks_; t++) {
    const TierBlock& tb = tierBlocks_[t];
    const uint64_t l4 = logs(tb.v4Start, tb.v4Count), l6 = logs(tb.v6Start, tb.v6Count);
    tierLog_[t] = uint8_t((l4 ? 1 : 0) | (l6 ? 2 : 0));
    tierEv[2 * uint64_t(t)] = 1 + l4;
    tierEv[2 * uint64_t(t) + 1] = 1 + l6;
  }
  for (uint32_t p = 0; p < nProfileBlocks_; p++) {
    const ProfileBlock& pb = profileBlocks_[p];
    profEv[2 * uint64_t(p)] = logs(pb.v4Start, pb.v4Count);
    profEv[2 * uint64_t(p) + 1] = logs(pb.v6Start, pb.v6Count);
  }
  // Per program: its ops' events (a tier walk: its blocks' entries; profiles:
  // one entry plus Log hits), plus the closing word.
  uint64_t worst = 0;
  const bool ok = programSums(
      tierEv.get(), profEv.get(), kClamp,
      [](const Op& o, uint64_t tiers, uint64_t profiles) -> uint64_t { return o.opcode == OP_PROFILES ? 1 + profiles : tiers; },
      [&worst](uint32_t, int, uint64_t w) {
        if (1 + w > worst) worst = 1 + w;
        return true;
      });
  if (!ok) return false;
  if (worst > 0xffffffffull) worst = 0xffffffffull;
  worst *= 4;
  traceBound_ = worst < 0xffffffffull ? uint32_t(worst) : 0xffffffffu;
  return true;
}

LoadError Engine::checkWork(std::string* detail) {
  uint64_t cap = 2 * (uint64_t(nOps_) + nTierRefs_ + nProfileRefs_ + nRuleRefs_ + 2 * uint64_t(nMatches_) + nAddrTests_ +
                      nPortRanges_ + nNamedRefs_ + nDRules_ + nDSets_ + nDLists_ + 4 * uint64_t(nDBlocks_) + nFailsafe_) +
                 1024;
  if (cap > (uint64_t(1) << 31)) cap = uint64_t(1) << 31;
  workCap_ = cap;
  const uint64_t clampTo = cap + 1;  // every summed element is <= 2^31 + 1; prefix sums of <= 2^32 of them fit
  auto clamp = [clampTo](uint64_t v) { return v < clampTo ? v : clampTo; };

  auto matchWork = allocArray<uint64_t>(nMatches_);
  auto refPrefix = allocArray<uint64_t>(uint64_t(nRuleRefs_) + 1);
  auto drulePrefix = allocArray<uint64_t>(uint64_t(nDRules_) + 1);
  auto dsetPrefix = allocArray<uint64_t>(uint64_t(nDSets_) + 1);
  auto tierWork = allocArray<uint64_t>(2 * uint64_t(nTierBlocks_));
  auto profWork = allocArray<uint64_t>(2 * uint64_t(nProfileBlocks_));
  if (!matchWork || !refPrefix || !drulePrefix || !dsetPrefix || !tierWork || !profWork)
    FAIL(OutOfMemory, "cannot allocate the work-budget tables");

  auto listWork = [this](uint32_t l) -> uint64_t {
    return l == kNone ? 0 : uint64_t(portLists_[l].rangeCount) + portLists_[l].namedCount;
  };
  for (uint32_t i = 0; i < nMatches_; i++) {
    const MatchRec& m = matches_[i];
    matchWork[i] = clamp(1 + uint64_t(m.addrTestCount) + (m.dstSvcSet != kNone ? 1 : 0) + listWork(m.srcPorts) +
                         listWork(m.srcNotPorts) + listWork(m.dstPorts) + listWork(m.dstNotPorts));
  }
  refPrefix[0] = 0;
  for (uint32_t i = 0; i < nRuleRefs_; i++) refPrefix[i + 1] = refPrefix[i] + matchWork[ruleRefs_[i]];
  drulePrefix[0] = 0;
  for (uint32_t i = 0; i < nDRules_; i++) drulePrefix[i + 1] = drulePrefix[i] + matchWork[drules_[i].matchIdx];
  dsetPrefix[0] = 0;
  for (uint32_t i = 0; i < nDSets_; i++)
    dsetPrefix[i + 1] = dsetPrefix[i] + clamp(1 + uint64_t(dsets_[i].posCount) + dsets_[i].negCount);
  // Sum of a range's elements (each <= cap + 1, at most 2^32 of them: < 2^64), clamped.
  auto span = [&clamp](const uint64_t* pre, uint32_t start, uint32_t count) { return clamp(pre[uint64_t(start) + count] - pre[start]); };

  for (uint32_t t = 0; t < nTierBlocks_; t++) {
    const TierBlock& tb = tierBlocks_[t];
    for (int f = 0; f < 2; f++) {
      const uint64_t lin = f ? span(refPrefix.get(), tb.v6Start, tb.v6Count) : span(refPrefix.get(), tb.v4Start, tb.v4Count);
      const DBlock& b = dblocks_[2 * uint64_t(t) + f];
      const uint64_t dec = 4 * uint64_t(b.words) + 2 + span(dsetPrefix.get(), b.srcSetStart, b.srcSetCount) +
                           span(dsetPrefix.get(), b.dstSetStart, b.dstSetCount) + span(drulePrefix.get(), b.ruleStart, b.ruleCount);
      tierWork[2 * uint64_t(t) + f] = clamp(1 + (lin > dec ? lin : dec));
    }
  }
  for (uint32_t p = 0; p < nProfileBlocks_; p++) {
    const ProfileBlock& pb = profileBlocks_[p];
    profWork[2 * uint64_t(p)] = clamp(1 + span(refPrefix.get(), pb.v4Start, pb.v4Count));
    profWork[2 * uint64_t(p) + 1] = clamp(1 + span(refPrefix.get(), pb.v6Start, pb.v6Count));
  }
  // Per program: each op costs 1, a failsafe op its entries, a tier walk or
  // profile walk the work of its blocks.
  uint64_t worst = 0;
  int64_t overProgram = -1;
  int overFamily = 0;
  uint64_t overWork = 0;
  const uint32_t nFailsafe = nFailsafe_;
  const bool ok = programSums(
      tierWork.get(), profWork.get(), clampTo,
      [nFailsafe](const Op& o, uint64_t tiers, uint64_t profiles) -> uint64_t {
        return 1 + (o.opcode == OP_FAILSAFE ? nFailsafe : o.opcode == OP_PROFILES ? profiles : tiers);
      },
      [&](uint32_t p, int f, uint64_t w) {
        if (w > worst) worst = w;
        if (w > cap) {
          overProgram = p;
          overFamily = f;
          overWork = w;
          return false;
        }
        return true;
      });
  if (!ok) FAIL(OutOfMemory, "cannot allocate the work-budget tables");
  if (overProgram >= 0)
    FAIL(WorkBudget, "PROGRAMS[" + std::to_string(overProgram) + "] IPv" + (overFamily ? "6" : "4") + ": worst-case work per tuple " +
                         (overWork >= clampTo ? "> " + std::to_string(cap) : std::to_string(overWork)) + " exceeds the budget " +
                         std::to_string(cap));
  maxWork_ = worst;
  return LoadError::Ok;
}

}  // namespace nv

// ---- derived decision trees (engine.h, trees_) -------------------------------
namespace nv {
namespace {

struct TRange {
  uint32_t lo, hi;  // inclusive
};
struct TSpan {
  const TRange* r;
  uint32_t n;
};
constexpr uint32_t kTreeDims = 5;
constexpr uint32_t kLeafMax = 8;
constexpr int kMaxDepth = 48;
constexpr uint32_t kMaxSetRanges = 256;  // a set scattered over more intervals is a wildcard
const TRange kWild[kTreeDims] = {{0, 0xffffffffu}, {0, 0xffffffffu}, {0, 255}, {0, 65535}, {0, 65535}};

// The ports a not-ports list of ranges leaves, when that is one range (no
// named ports, at most 64 ranges); false otherwise.
bool portComplement(const PortList& l, const PortRange* ranges, TRange* out) {
  if (l.namedCount != 0 || l.rangeCount == 0 || l.rangeCount > 64) return false;
  PortRange r[64];
  for (uint32_t k = 0; k < l.rangeCount; k++) r[k] = ranges[l.rangeStart + k];
  std::sort(r, r + l.rangeCount, [](const PortRange& a, const PortRange& b) { return a.first < b.first; });
  uint32_t gaps = 0, next = 0;  // next: the lowest port not covered so far
  for (uint32_t k = 0; k < l.rangeCount && next <= 65535; k++) {
    if (r[k].first > next) {
      if (gaps++ == 0) *out = TRange{next, uint32_t(r[k].first) - 1};
    }
    if (uint32_t(r[k].last) + 1 > next) next = uint32_t(r[k].last) + 1;
  }
  if (next <= 65535 && gaps++ == 0) *out = TRange{next, 65535};
  return gaps == 1;
}


struct TreeBuilder {
  const TSpan* spans;  // ruleCount * kTreeDims
  const Engine::Box* boxes = nullptr;  // per block rule
  const uint16_t* portless = nullptr;  // portless[p]: protocols below p without ports (257 entries)
  BigArray<Engine::TreeNode> nodes;
  uint32_t nNodes = 0, capNodes = 0;
  BigArray<uint32_t> leaves;
  uint32_t nLeaves = 0, capLeaves = 0;
  uint64_t maxNodes = 0, maxLeaves = 0;
  BigArray<uint32_t> pts;
  uint32_t capPts = 0;
  bool fail = false;
  // Engine-wide work budget shared by every tree (range visits, roughly); a
  // build that would exceed it fails like one over its node caps, so loading
  // stays bounded whatever the image holds.
  uint64_t* work = nullptr;
  uint64_t workCap = 0;

  bool overlaps(uint32_t rule, uint32_t d, uint32_t lo, uint32_t hi) const {
    const TSpan& s = spans[uint64_t(rule) * kTreeDims + d];
    for (uint32_t k = 0; k < s.n; k++)
      if (s.r[k].lo <= hi && s.r[k].hi >= lo) return true;
    return false;
  }
  // k new slots (k = 2: an inner node's children), their first index.
  uint32_t newSlots(uint32_t k) {
    if (!growArray(nodes, capNodes, uint64_t(nNodes) + k, maxNodes)) { fail = true; return fmt::kNone; }
    const uint32_t id = nNodes;
    nNodes += k;
    return id;
  }
  void leaf(uint32_t slot, const uint32_t* rules, uint32_t n) {
    if (!growArray(leaves, capLeaves, uint64_t(nLeaves) + n, maxLeaves)) { fail = true; return; }
    if (n > 0) std::memcpy(leaves.get() + nLeaves, rules, sizeof(uint32_t) * n);
    nodes[slot] = Engine::TreeNode{nLeaves, n << 3 | Engine::kTreeLeaf};
    nLeaves += n;
  }
  // Whether the rule is an exact box that every packet of the region lo..hi
  // matches (a box with port criteria: only where every protocol has ports).
  bool covers(uint32_t rule, const uint32_t* lo, const uint32_t* hi) const {
    const Engine::Box& x = boxes[rule];
    if (!(x.flags & Engine::kBoxExact)) return false;
    if ((x.flags & Engine::kBoxPorts) && portless[hi[2] + 1] != portless[lo[2]]) return false;
    return x.sLo <= lo[0] && x.sHi >= hi[0] && x.dLo <= lo[1] && x.dHi >= hi[1] && x.pLo <= lo[2] && x.pHi >= hi[2] &&
           x.spLo <= lo[3] && x.spHi >= hi[3] && x.dpLo <= lo[4] && x.dpHi >= hi[4];
  }
  // Fills `slot` with the tree over the rules (block-relative, increasing)
  // whose boxes meet the region lo..hi.
  void build(uint32_t slot, const uint32_t* rules, uint32_t n, const uint32_t* lo, const uint32_t* hi, int depth) {
    if (fail) return;
    // The rules after one that covers the region never decide in it: a leaf
    // (or subtree) keeps the list up to that rule.
    for (uint32_t i = 0; i < n; i++) {
      if (covers(rules[i], lo, hi)) {
        n = i + 1;
        break;
      }
    }
    *work += n;
    if (n <= kLeafMax || depth >= kMaxDepth) return leaf(slot, rules, n);
    uint32_t bestDim = kTreeDims, bestThr = 0;
    uint64_t bestMax = n, bestSum = 2 * uint64_t(n);
    for (uint32_t d = 0; d < kTreeDims && !fail; d++) {
      // Candidate split points: range starts and ends + 1 strictly inside the region.
      uint32_t m = 0;
      for (uint32_t i = 0; i < n && !fail; i++) {
        const TSpan& s = spans[uint64_t(rules[i]) * kTreeDims + d];
        *work += 7 * uint64_t(s.n) + 1;  // this scan, then 3 candidates x 2 sides of overlaps()
        if (*work > workCap) { fail = true; break; }
        if (!growArray(pts, capPts, uint64_t(m) + 2 * uint64_t(s.n), uint64_t(1) << 24)) { fail = true; break; }
        for (uint32_t k = 0; k < s.n; k++) {
          const TRange& r = s.r[k];
          if (r.lo > hi[d] || r.hi < lo[d]) continue;
          if (r.lo > lo[d]) pts[m++] = r.lo;
          if (r.hi < hi[d]) pts[m++] = r.hi + 1;
        }
      }
      if (fail || m == 0) continue;
      std::sort(pts.get(), pts.get() + m);
      m = uint32_t(std::unique(pts.get(), pts.get() + m) - pts.get());
      const uint32_t cand[3] = {pts[m / 2], pts[m / 4], pts[(3 * uint64_t(m)) / 4]};
      for (int c = 0; c < 3; c++) {
        if (c > 0 && (cand[c] == cand[0] || (c == 2 && cand[2] == cand[1]))) continue;
        const uint32_t t = cand[c];  // lo[d] < t <= hi[d]
        uint64_t nl = 0, nr = 0;
        for (uint32_t i = 0; i < n; i++) {
          nl += overlaps(rules[i], d, lo[d], t - 1);
          nr += overlaps(rules[i], d, t, hi[d]);
        }
        const uint64_t mx = nl > nr ? nl : nr;
        if (mx < bestMax || (mx == bestMax && nl + nr < bestSum)) {
          bestMax = mx;
          bestSum = nl + nr;
          bestDim = d;
          bestThr = t;
        }
      }
    }
    if (fail) return;
    if (bestDim == kTreeDims || bestMax >= n) return leaf(slot, rules, n);
    // A split that mostly copies a small list costs more memory than the few extra full checks.
    if (n <= 2 * kLeafMax && 4 * bestSum >= 7 * uint64_t(n)) return leaf(slot, rules, n);
    const uint32_t pair = newSlots(2);
    if (fail) return;
    nodes[slot] = Engine::TreeNode{bestThr, pair << 3 | bestDim};
    std::unique_ptr<uint32_t[]> sub(new (std::nothrow) uint32_t[n]);
    if (!sub) { fail = true; return; }
    uint32_t clo[kTreeDims], chi[kTreeDims];
    std::memcpy(clo, lo, sizeof clo);
    std::memcpy(chi, hi, sizeof chi);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
      if (overlaps(rules[i], bestDim, lo[bestDim], bestThr - 1)) sub[k++] = rules[i];
    chi[bestDim] = bestThr - 1;
    build(pair, sub.get(), k, clo, chi, depth + 1);
    if (fail) return;
    k = 0;
    for (uint32_t i = 0; i < n; i++)
      if (overlaps(rules[i], bestDim, bestThr, hi[bestDim])) sub[k++] = rules[i];
    chi[bestDim] = hi[bestDim];
    clo[bestDim] = bestThr;
    build(pair + 1, sub.get(), k, clo, chi, depth + 1);
  }
};

struct CutChoice {
  uint32_t bitsS = 0, bitsD = 0;
};
constexpr uint32_t kCutMaxBits = 16;  // 65,536 cells, 256 KB of roots
// A root's cut (Tree::cut) for the rules `rules[0..n)`: the most address bits
// (source + destination, at most kCutMaxBits, at most 4n cells) whose cells
// hold, summed, at most kCutFactor x n rules (a rule is copied into every cell
// its box meets; a wildcard into all), ties to the fewest copies. Env
// NV_DTREE_CUT=F sets the factor, 0 turns cuts off.
CutChoice chooseCut(const TSpan* spans, const uint32_t* rules, uint32_t n, uint64_t* work) {
  CutChoice best;
  uint64_t factor = 16;
  if (const char* env = std::getenv("NV_DTREE_CUT")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && v <= 1024) factor = v;
  }
  if (factor == 0 || n == 0) return best;
  constexpr uint32_t B = kCutMaxBits + 1;
  // cells[i][d][b]: cells of b bits the rule's side-d ranges meet (an upper bound when ranges share a cell).
  std::unique_ptr<uint32_t[]> cells(new (std::nothrow) uint32_t[size_t(n) * 2 * B]);
  if (!cells) return best;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t d = 0; d < 2; d++) {
      const TSpan& s = spans[uint64_t(rules[i]) * kTreeDims + d];
      *work += uint64_t(s.n) * B;
      for (uint32_t b = 0; b < B; b++) {
        uint64_t c = 0;
        for (uint32_t k = 0; k < s.n; k++) c += (uint64_t(s.r[k].hi) >> (32 - b)) - (uint64_t(s.r[k].lo) >> (32 - b)) + 1;
        if (c > (uint64_t(1) << b)) c = uint64_t(1) << b;
        cells[(uint64_t(i) * 2 + d) * B + b] = uint32_t(c);
      }
    }
  uint64_t bestTotal = 0;
  for (uint32_t bs = 0; bs <= kCutMaxBits; bs++)
    for (uint32_t bd = 0; bs + bd <= kCutMaxBits; bd++) {
      if ((uint64_t(1) << (bs + bd)) > 4 * uint64_t(n)) continue;
      uint64_t total = 0;
      for (uint32_t i = 0; i < n; i++) total += uint64_t(cells[(uint64_t(i) * 2) * B + bs]) * cells[(uint64_t(i) * 2 + 1) * B + bd];
      *work += n;
      if (total > factor * n) continue;
      const uint32_t bits = bs + bd, bestBits = best.bitsS + best.bitsD;
      if (bits > bestBits || (bits == bestBits && total < bestTotal)) {
        best.bitsS = bs;
        best.bitsD = bd;
        bestTotal = total;
      }
    }
  if (std::getenv("NV_DTREE_DEBUG"))
    std::fprintf(stderr, "cut: %u rules, %u src + %u dst bits, %llu copies\n", n, best.bitsS, best.bitsD, (unsigned long long)bestTotal);
  return best;
}

}  // namespace

// Builds trees_ (engine.h). Every failure (too large, no memory) only leaves a
// block without a tree: the bitmap path stays correct.
// Derived multibit trie over the IPv4 intervals (see engine.h): /16, then /24,
// then /32 chunks of 256 entries, built only where an interval boundary falls
// inside the prefix. Best effort: over its budget (or NV_LPM=search) lookups
// keep the /16 index + binary search.
void Engine::buildV4Dir() {
  if (const char* env = std::getenv("NV_LPM")) {
    if (std::strcmp(env, "search") == 0) return;
  }
  if (nV4_ == 0 || nClasses_ >= kDirChild) return;
  // Interval index holding x (last start <= x).
  auto idxOf = [&](uint32_t x) {
    uint32_t lo = v4Index_[x >> 16], hi = v4Index_[(x >> 16) + 1] + 1;
    if (hi > nV4_) hi = nV4_;
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (v4Starts_[mid] <= x) lo = mid; else hi = mid;
    }
    return lo;
  };
  constexpr uint64_t kMaxEntries = uint64_t(1) << 24;  // 64 MiB
  uint64_t chunks = 0;
  for (uint32_t b = 0; b < 65536; b++) {
    const uint32_t base = b << 16;
    if (idxOf(base) == idxOf(base | 0xffffu)) continue;
    chunks++;
    for (uint32_t c = 0; c < 256; c++) {
      const uint32_t a = base | (c << 8);
      if (idxOf(a) != idxOf(a | 0xffu)) chunks++;
    }
    if (65536 + chunks * 256 > kMaxEntries) return;
  }
  const uint64_t entries = 65536 + chunks * 256;
  BigArray<uint32_t> dir = bigArray<uint32_t>(entries);
  if (!dir) return;
  uint32_t next = 0;
  auto fillLeaf = [&](uint32_t* out, uint32_t base) {
    uint32_t i = idxOf(base);
    for (uint32_t k = 0; k < 256; k++) {
      while (i + 1 < nV4_ && v4Starts_[i + 1] <= base + k) i++;
      out[k] = v4Class_[i];
    }
  };
  for (uint32_t b = 0; b < 65536; b++) {
    const uint32_t base = b << 16;
    const uint32_t i0 = idxOf(base);
    if (i0 == idxOf(base | 0xffffu)) {
      dir[b] = v4Class_[i0];
      continue;
    }
    const uint32_t l2 = next++;
    dir[b] = kDirChild | uint32_t(65536 + uint64_t(l2) * 256);
    uint32_t* row = dir.get() + 65536 + uint64_t(l2) * 256;
    for (uint32_t c = 0; c < 256; c++) {
      const uint32_t a = base | (c << 8);
      const uint32_t j = idxOf(a);
      if (j == idxOf(a | 0xffu)) {
        row[c] = v4Class_[j];
        continue;
      }
      const uint32_t l3 = next++;
      row[c] = kDirChild | uint32_t(65536 + uint64_t(l3) * 256);
      fillLeaf(dir.get() + 65536 + uint64_t(l3) * 256, a);
    }
  }
  v4Dir_ = std::move(dir);
  v4DirBytes_ = entries * 4;
}

// The decision blocks' index (dfast_, engine.h): protocol lists of rule
// copies, rule range, tree and bitmap flags. After buildTrees.
bool Engine::buildDecisionIndex() {
  for (uint32_t p = 0; p < 256; p++) protoClass_[p] = 5;
  protoClass_[6] = 0;
  protoClass_[17] = 1;
  protoClass_[1] = 2;
  protoClass_[58] = 3;
  protoClass_[132] = 4;
  uint64_t total = 0;
  for (uint32_t k = 0; k < nDBlocks_; k++) {
    const DBlock& b = dblocks_[k];
    for (uint32_t i = 0; i < b.ruleCount; i++) {
      const MatchRec& m = matches_[drules_[b.ruleStart + i].matchIdx];
      total += (m.flags & M_PROTO) ? 1 : kProtoClasses;
    }
  }
  if (total > 0xffffffffull) return false;
  dfast_ = bigArray<DFast>(size_t(nDBlocks_) + 1);
  plistRules_ = bigArray<MatchRec>(size_t(total) + 1);
  plistCount_ = total + 1;
  if (!dfast_ || !plistRules_) return false;
  uint32_t used = 0;
  for (uint32_t k = 0; k < nDBlocks_; k++) {
    const DBlock& b = dblocks_[k];
    DFast& f = dfast_[k];
    std::memset(&f, 0, sizeof f);
    for (uint32_t c = 0; c < kProtoClasses; c++) {
      f.listStart[c] = used;
      for (uint32_t i = 0; i < b.ruleCount; i++) {
        const uint32_t mi = drules_[b.ruleStart + i].matchIdx;
        const MatchRec& m = matches_[mi];
        if ((m.flags & M_PROTO) && protoClass_[m.proto] != c) continue;
        plistRules_[used] = mrec_[mi];
        // Classes 0-4 hold one protocol each, so a rule listed there passes its
        // protocol test for every packet that walks the list: drop the test
        // from the copy (a data-dependent branch less per rule).
        if (c < kProtoClasses - 1) {
          MatchRec& l = plistRules_[used];
          l.flags &= uint8_t(~M_PROTO);
          if (!(l.flags & M_NOT_PROTO)) l.reserved[1] &= ~kProtoTest;
        }
        used++;
      }
      f.listCount[c] = used - f.listStart[c];
    }
    f.ruleStart = b.ruleStart;
    f.words = b.words;
    if (trees_ && (trees_[k].nodes || trees_[k].rfc)) f.flags |= kFastTree;
    if (bitmapOk_ && bitmapOk_[k]) f.flags |= kFastBitmaps;
    f.listOnly = uint8_t(listOnlyClasses(f));
    f.endRule = tierBlocks_[k / 2].endRule;
    f.endAction = uint8_t(tierBlocks_[k / 2].endAction);
  }
  bitmapOk_.reset();  // folded into dfast_ flags
  return true;
}

void Engine::buildTrees() {
  // Protocols without ports below each protocol (TreeBuilder::covers).
  uint16_t portless[257];
  portless[0] = 0;
  for (uint32_t p = 0; p < 256; p++) portless[p + 1] = uint16_t(portless[p] + ((protoFlags_[p] & PROTO_HAS_PORTS) ? 0 : 1));
  if (const char* env = std::getenv("NV_DTREE_MIN_RULES")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && v <= 0xffffffffu) treeMinRules_ = uint32_t(v);
  }
  if (treeMinRules_ == 0) treeMinRules_ = 1;
  const char* genv = std::getenv("NV_DTREE_GROUPS");
  const bool groups = genv && genv[0] == '1';
  const char* lenv = std::getenv("NV_DTREE_LEAVES32");  // 32-bit leaves whatever the block's size (tests)
  const bool leaves32 = lenv && lenv[0] == '1';
  // NV_DTREE_INEXACT=N (tests): every Nth rule of a block is checked with the
  // full rule test (matchRule) even when its box is exact — the leaf scans'
  // path for rules that are not boxes, on sets where all are.
  uint32_t inexactEvery = 0;
  if (const char* env = std::getenv("NV_DTREE_INEXACT")) inexactEvery = uint32_t(std::strtoul(env, nullptr, 10));
  // A rule can be an exact box (below) only if, besides its address sets
  // being single ranges (known after the interval sweep), it has at most one
  // positive address test per side, no other criteria than a protocol, and
  // single port ranges (a not-ports list only as the complement of one).
  auto maybeExact = [&](const MatchRec& m) {
    if ((m.flags & ~M_PROTO) != 0 || m.dstSvcSet != kNone || m.addrTestCount > 2) return false;
    uint32_t perSide[2] = {0, 0};
    for (uint32_t k = 0; k < m.addrTestCount; k++) {
      const AddrTest& a = addrTests_[m.addrTestStart + k];
      if (a.negate || a.side > 1 || ++perSide[a.side] > 1) return false;
    }
    const bool protoPorts = (m.flags & M_PROTO) && (protoFlags_[m.proto] & PROTO_HAS_PORTS);
    for (int side = 0; side < 2; side++) {
      const uint32_t l = side ? m.dstPorts : m.srcPorts, nl = side ? m.dstNotPorts : m.srcNotPorts;
      if (l != kNone && (portLists_[l].namedCount != 0 || portLists_[l].rangeCount != 1)) return false;
      TRange left;
      if (nl != kNone && !(protoPorts && l == kNone && portComplement(portLists_[nl], portRanges_, &left))) return false;
    }
    return true;
  };
  // Candidate blocks: enough rules, and at least half of them possibly exact
  // boxes (the test below that decides a tree, before the costly sweep of
  // every address interval's sets, which Calico-shaped images would pay for
  // no tree: their rules name selector sets, not address ranges).
  std::unique_ptr<uint8_t[]> cand(new (std::nothrow) uint8_t[size_t(nTierBlocks_) + 1]);
  if (!cand) return;
  bool any = false;
  for (uint32_t t = 0; t < nTierBlocks_; t++) {
    const DBlock& b = dblocks_[2 * uint64_t(t)];
    cand[t] = 0;
    if (b.ruleCount < treeMinRules_ || b.ruleCount == 0) continue;
    uint32_t maybe = 0;
    for (uint32_t i = 0; i < b.ruleCount; i++) maybe += maybeExact(matches_[drules_[b.ruleStart + i].matchIdx]);
    cand[t] = 2 * uint64_t(maybe) >= b.ruleCount;
    any |= cand[t] != 0;
  }
  if (!any) return;
  // Address sets tested positively by rules of candidate blocks: ids < nSets.
  auto forEachPositiveTest = [&](auto&& visit) {
    for (uint32_t t = 0; t < nTierBlocks_; t++) {
      const DBlock& b = dblocks_[2 * uint64_t(t)];
      if (!cand[t]) continue;
      for (uint32_t i = 0; i < b.ruleCount; i++) {
        const MatchRec& m = matches_[drules_[b.ruleStart + i].matchIdx];
        for (uint32_t k = 0; k < m.addrTestCount; k++) {
          const AddrTest& a = addrTests_[m.addrTestStart + k];
          if (!a.negate) visit(a.setId);
        }
      }
    }
  };
  uint32_t nSets = 0;
  forEachPositiveTest([&](uint32_t setId) { if (setId >= nSets) nSets = setId + 1; });
  std::unique_ptr<uint8_t[]> relevant(new (std::nothrow) uint8_t[size_t(nSets) + 1]);
  if (!relevant) return;
  std::memset(relevant.get(), 0, size_t(nSets) + 1);
  forEachPositiveTest([&](uint32_t setId) { relevant[setId] = 1; });
  // Bound the interval scan: sum of identity row lengths over the IPv4 intervals.
  uint64_t scan = 0;
  for (uint32_t i = 0; i < nV4_; i++) scan += identRows_[classes_[v4Class_[i]].identity].setCount;
  if (scan > (uint64_t(1) << 28)) return;
  // Per relevant set: its IPv4 address intervals (consecutive intervals merged).
  std::unique_ptr<uint32_t[]> lastIdx(new (std::nothrow) uint32_t[size_t(nSets) + 1]);
  std::unique_ptr<uint32_t[]> setOff(new (std::nothrow) uint32_t[size_t(nSets) + 2]);
  if (!lastIdx || !setOff) return;
  for (uint32_t s = 0; s <= nSets; s++) lastIdx[s] = kNone;
  std::memset(setOff.get(), 0, sizeof(uint32_t) * (size_t(nSets) + 2));
  for (uint32_t i = 0; i < nV4_; i++) {
    const IdentityRow& r = identRows_[classes_[v4Class_[i]].identity];
    for (uint32_t k = 0; k < r.setCount; k++) {
      const uint32_t id = identSets_[r.setStart + k];
      if (id >= nSets || !relevant[id]) continue;
      if (lastIdx[id] == kNone || lastIdx[id] + 1 != i) setOff[id + 1]++;
      lastIdx[id] = i;
    }
  }
  for (uint32_t s = 0; s < nSets; s++) setOff[s + 1] += setOff[s];
  const uint32_t nIv = setOff[nSets];
  std::unique_ptr<TRange[]> iv(new (std::nothrow) TRange[size_t(nIv) + 1]);
  std::unique_ptr<uint32_t[]> fill(new (std::nothrow) uint32_t[size_t(nSets) + 1]);
  if (!iv || !fill) return;
  for (uint32_t s = 0; s <= nSets; s++) lastIdx[s] = kNone;
  for (uint32_t s = 0; s < nSets; s++) fill[s] = setOff[s];
  for (uint32_t i = 0; i < nV4_; i++) {
    const uint32_t lo = v4Starts_[i], hi = i + 1 < nV4_ ? v4Starts_[i + 1] - 1 : 0xffffffffu;
    const IdentityRow& r = identRows_[classes_[v4Class_[i]].identity];
    for (uint32_t k = 0; k < r.setCount; k++) {
      const uint32_t id = identSets_[r.setStart + k];
      if (id >= nSets || !relevant[id]) continue;
      if (lastIdx[id] == kNone || lastIdx[id] + 1 != i) iv[fill[id]++] = TRange{lo, hi};
      else iv[fill[id] - 1].hi = hi;
      lastIdx[id] = i;
    }
  }
  trees_.reset(new (std::nothrow) Tree[nDBlocks_]);
  if (!trees_) return;
  // The bitmaps' set-up intersects an address's identity row with the block's
  // sets: only worth it while identity rows are short (ClassBench-like nesting
  // depth, not Calico-shaped clusters where an address is in hundreds of sets).
  if (nIdentRows_ > 0 && nIdentSets_ <= 64ull * nIdentRows_) {
    bitmapOk_.reset(new (std::nothrow) uint8_t[nDBlocks_]);
    if (bitmapOk_) std::memset(bitmapOk_.get(), 0, nDBlocks_);
  }
  uint64_t budgetLeaves = uint64_t(1) << 26, budgetNodes = uint64_t(1) << 24;  // per engine
  uint64_t work = 0;
  const uint64_t workCap = uint64_t(1) << 30;  // about a second of building, whatever the image
  for (uint32_t t = 0; t < nTierBlocks_; t++) {
    const DBlock& b = dblocks_[2 * uint64_t(t)];
    if (!cand[t]) continue;
    const uint32_t n = b.ruleCount;
    uint64_t poolSize = 3 * uint64_t(n);  // protocols, complements of not-ports lists
    for (uint32_t i = 0; i < n; i++) {
      const MatchRec& m = matches_[drules_[b.ruleStart + i].matchIdx];
      if (m.srcPorts != kNone) poolSize += portLists_[m.srcPorts].rangeCount;
      if (m.dstPorts != kNone) poolSize += portLists_[m.dstPorts].rangeCount;
    }
    if (poolSize > (uint64_t(1) << 28)) continue;
    std::unique_ptr<TRange[]> pool(new (std::nothrow) TRange[size_t(poolSize) + 1]);
    std::unique_ptr<TSpan[]> spans(new (std::nothrow) TSpan[size_t(n) * kTreeDims]);
    std::unique_ptr<uint32_t[]> all(new (std::nothrow) uint32_t[n]);
    if (!pool || !spans || !all) continue;
    BigArray<Box> boxes = bigArray<Box>(n);
    if (!boxes) continue;
    uint64_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
      all[i] = i;
      const MatchRec& m = matches_[drules_[b.ruleStart + i].matchIdx];
      TSpan* sp = &spans[uint64_t(i) * kTreeDims];
      for (uint32_t d = 0; d < kTreeDims; d++) sp[d] = TSpan{&kWild[d], 1};
      bool exact = maybeExact(m);
      for (uint32_t k = 0; k < m.addrTestCount && exact; k++) {
        const AddrTest& a = addrTests_[m.addrTestStart + k];
        if (a.setId >= nSets || setOff[a.setId + 1] - setOff[a.setId] != 1) exact = false;
      }
      for (int side = 0; side < 2; side++) {
        for (uint32_t k = 0; k < m.addrTestCount; k++) {
          const AddrTest& a = addrTests_[m.addrTestStart + k];
          if (a.negate || a.side != side) continue;
          const uint32_t cnt = setOff[a.setId + 1] - setOff[a.setId];
          if (cnt <= kMaxSetRanges) sp[side] = TSpan{iv.get() + setOff[a.setId], cnt};  // else: wildcard
          break;  // the first positive test: a superset of the rule's addresses
        }
      }
      // A not-ports list is a box side when the rule's protocol has ports (a
      // packet then always has them) and the list leaves one range: the
      // converter writes ports [0, b] as not-ports [b + 1, 65535].
      const bool protoPorts = (m.flags & M_PROTO) && (protoFlags_[m.proto] & PROTO_HAS_PORTS);
      for (int side = 0; side < 2; side++) {
        const uint32_t l = side ? m.dstNotPorts : m.srcNotPorts;
        if (l == kNone) continue;
        TRange left;
        if (protoPorts && (side ? m.dstPorts : m.srcPorts) == kNone && portComplement(portLists_[l], portRanges_, &left)) {
          pool[used] = left;
          sp[3 + side] = TSpan{&pool[used], 1};
          used++;
        } else {
          exact = false;
        }
      }
      if (m.flags & M_PROTO) {
        pool[used] = TRange{m.proto, m.proto};
        sp[2] = TSpan{&pool[used], 1};
        used++;
      }
      // Port ranges only (named ports: wildcard); an empty list never matches, any box will do.
      for (int side = 0; side < 2; side++) {
        const uint32_t l = side ? m.dstPorts : m.srcPorts;
        if (l == kNone) continue;
        if ((side ? m.dstNotPorts : m.srcNotPorts) != kNone) continue;  // not both (the not-ports side is not exact)
        const PortList& pl = portLists_[l];
        if (pl.namedCount != 0 || pl.rangeCount == 0) continue;
        const uint64_t start = used;
        for (uint32_t k = 0; k < pl.rangeCount; k++) {
          const PortRange& r = portRanges_[pl.rangeStart + k];
          pool[used++] = TRange{r.first, r.last};
        }
        sp[3 + side] = TSpan{&pool[start], pl.rangeCount};
      }
      Box& x = boxes[i];
      std::memset(&x, 0, sizeof x);
      if (exact) {
        x.sLo = sp[0].r[0].lo; x.sHi = sp[0].r[0].hi;
        x.dLo = sp[1].r[0].lo; x.dHi = sp[1].r[0].hi;
        x.pLo = uint8_t(sp[2].r[0].lo); x.pHi = uint8_t(sp[2].r[0].hi);
        x.spLo = uint16_t(sp[3].r[0].lo); x.spHi = uint16_t(sp[3].r[0].hi);
        x.dpLo = uint16_t(sp[4].r[0].lo); x.dpHi = uint16_t(sp[4].r[0].hi);
        x.flags = kBoxExact | (m.srcPorts != kNone || m.dstPorts != kNone ? kBoxPorts : 0);
        if (inexactEvery && i % inexactEvery == 0) x.flags = 0;  // tests: the full rule test instead
      }
    }
    // A tree pays where rules are boxes over contiguous address ranges (ACLs,
    // ClassBench); rules over selector sets scattered across pods make poor
    // splits and leaves that still need full checks (measured: no fewer
    // candidates than the protocol lists on calico 100k/1k, and seconds of
    // building). Trees only where at least half of the rules are exact boxes.
    uint32_t addressed = 0;
    for (uint32_t i = 0; i < n; i++)
      if (boxes[i].flags & kBoxExact) addressed++;
    if (2 * uint64_t(addressed) < n) continue;
    // Address-discriminating: if no tree gets built below, the bitmaps serve it.
    if (bitmapOk_) bitmapOk_[2 * uint64_t(t)] = 1;
    // One tree over all rules (leaf entries capped at 256 per rule + 16,384: a
    // tree that replicates rules more than that is big and slow); over its caps,
    // one tree per address-width group (wildcard-heavy sets such as fw1/ipc1 10K,
    // where a single tree blows up); over those caps the block keeps the bitmap
    // path. NV_DTREE_GROUPS=1 goes straight to the grouped trees.
    const int firstAttempt = groups ? 1 : 0, lastAttempt = 1;
    for (int attempt = firstAttempt; attempt <= lastAttempt; attempt++) {
      TreeBuilder tb;
      tb.spans = spans.get();
      tb.boxes = boxes.get();
      tb.portless = portless;
      tb.work = &work;
      tb.workCap = workCap;
      const uint64_t wantNodes = attempt == 0 ? 64ull * n + 4096 : (64ull * n > (1u << 22) ? 64ull * n : (1u << 22));
      const uint64_t wantLeaves = attempt == 0 ? 256ull * n + 16384 : (256ull * n > (1u << 24) ? 256ull * n : (1u << 24));
      tb.maxNodes = budgetNodes < wantNodes ? budgetNodes : wantNodes;
      tb.maxLeaves = budgetLeaves < wantLeaves ? budgetLeaves : wantLeaves;
      uint32_t lo[kTreeDims], hi[kTreeDims];
      for (uint32_t d = 0; d < kTreeDims; d++) { lo[d] = kWild[d].lo; hi[d] = kWild[d].hi; }
      Tree tr;
      // Per root: its cut table (cells built as subtrees), appended to cutAll.
      BigArray<uint32_t> cutAll;
      uint32_t nCut = 0, capCut = 0;
      std::unique_ptr<uint32_t[]> sub(new (std::nothrow) uint32_t[n]);
      if (!sub) break;
      auto addRoot = [&](const uint32_t* rules, uint32_t k) {
        const uint32_t g = tr.nRoots++;
        for (uint32_t i = 0; i < k; i++) tr.minRule[g] = rules[i] < tr.minRule[g] ? rules[i] : tr.minRule[g];
        const CutChoice cc = chooseCut(spans.get(), rules, k, &work);
        const uint32_t cells = 1u << (cc.bitsS + cc.bitsD);
        if (!growArray(cutAll, capCut, uint64_t(nCut) + cells, uint64_t(1) << 20)) { tb.fail = true; return; }
        tr.cutBase[g] = nCut;
        tr.cutShS[g] = uint8_t(32 - cc.bitsS);
        tr.cutShD[g] = uint8_t(32 - cc.bitsD);
        tr.cutD[g] = uint8_t(cc.bitsD);
        // The rules of every cell, bucketed in one pass over the rules (in
        // order, so each bucket stays in rule order): counts, then fill.
        std::unique_ptr<uint32_t[]> off(new (std::nothrow) uint32_t[size_t(cells) + 1]);
        std::unique_ptr<uint32_t[]> last(new (std::nothrow) uint32_t[cells]);
        if (!off || !last) { tb.fail = true; return; }
        auto forCells = [&](uint32_t rule, auto&& visit) {
          const TSpan& ss = spans[uint64_t(rule) * kTreeDims + 0];
          const TSpan& sd = spans[uint64_t(rule) * kTreeDims + 1];
          for (uint32_t a = 0; a < ss.n; a++)
            for (uint64_t cs = uint64_t(ss.r[a].lo) >> tr.cutShS[g]; cs <= (uint64_t(ss.r[a].hi) >> tr.cutShS[g]); cs++)
              for (uint32_t b = 0; b < sd.n; b++)
                for (uint64_t cd = uint64_t(sd.r[b].lo) >> tr.cutShD[g]; cd <= (uint64_t(sd.r[b].hi) >> tr.cutShD[g]); cd++)
                  visit(uint32_t((cs << cc.bitsD) | cd));
        };
        std::memset(off.get(), 0, sizeof(uint32_t) * (size_t(cells) + 1));
        for (uint32_t c = 0; c < cells; c++) last[c] = kNone;
        uint64_t visits = 0;
        for (uint32_t i = 0; i < k; i++)
          forCells(rules[i], [&](uint32_t c) {
            visits++;
            if (last[c] != i) { last[c] = i; off[c + 1]++; }
          });
        work += visits + k + cells;
        if (work > workCap) { tb.fail = true; return; }
        for (uint32_t c = 0; c < cells; c++) off[c + 1] += off[c];
        std::unique_ptr<uint32_t[]> cellRules(new (std::nothrow) uint32_t[size_t(off[cells]) + 1]);
        if (!cellRules) { tb.fail = true; return; }
        for (uint32_t c = 0; c < cells; c++) last[c] = kNone;
        for (uint32_t i = 0; i < k; i++)
          forCells(rules[i], [&](uint32_t c) {
            if (last[c] != i) { last[c] = i; cellRules[off[c]++] = rules[i]; }
          });
        // off[c] is now the end of cell c's bucket (its start: off[c - 1], or 0).
        for (uint32_t c = 0; c < cells && !tb.fail; c++) {
          const uint64_t cs = c >> cc.bitsD, cd = c & ((1u << cc.bitsD) - 1);
          uint32_t clo[kTreeDims], chi[kTreeDims];
          std::memcpy(clo, lo, sizeof clo);
          std::memcpy(chi, hi, sizeof chi);
          clo[0] = uint32_t(cs << tr.cutShS[g]);
          chi[0] = uint32_t(((cs + 1) << tr.cutShS[g]) - 1);
          clo[1] = uint32_t(cd << tr.cutShD[g]);
          chi[1] = uint32_t(((cd + 1) << tr.cutShD[g]) - 1);
          const uint32_t start = c ? off[c - 1] : 0;
          const uint32_t root = tb.newSlots(1);
          if (tb.fail) break;
          tb.build(root, cellRules.get() + start, off[c] - start, clo, chi, 0);
          cutAll[nCut++] = root;
        }
      };
      if (attempt == 0) {
        addRoot(all.get(), n);
      } else {
        // Group 0..3: bit 0 = the src side covers >= 2^24 addresses, bit 1 = the dst side.
        auto wide = [&](uint32_t i, uint32_t d) {
          const TSpan& sp = spans[uint64_t(i) * kTreeDims + d];
          uint64_t w = 0;
          for (uint32_t k = 0; k < sp.n; k++) w += uint64_t(sp.r[k].hi) - sp.r[k].lo + 1;
          return w >= (uint64_t(1) << 24);
        };
        std::unique_ptr<uint8_t[]> grp(new (std::nothrow) uint8_t[n]);
        if (!grp) break;
        for (uint32_t i = 0; i < n; i++) grp[i] = uint8_t((wide(i, 0) ? 1 : 0) | (wide(i, 1) ? 2 : 0));
        for (uint8_t g = 0; g < 4 && !tb.fail; g++) {
          uint32_t k = 0;
          for (uint32_t i = 0; i < n; i++)
            if (grp[i] == g) sub[k++] = i;
          if (k > 0) addRoot(sub.get(), k);
        }
      }
      tr.cut = std::move(cutAll);
      if (std::getenv("NV_DTREE_DEBUG")) {
        // Depth statistics: deepest leaf and the mean leaf depth (unweighted).
        uint64_t leaves = 0, depthSum = 0, maxDepth = 0;
        if (!tb.fail) {
          std::vector<std::pair<uint32_t, uint32_t>> stack;
          for (uint32_t c = 0; c < nCut; c++) stack.push_back({tr.cut[c], 0});
          while (!stack.empty()) {
            const auto [id, d] = stack.back();
            stack.pop_back();
            const TreeNode& nd = tb.nodes[id];
            if (nd.dim() == kTreeLeaf) {
              leaves++;
              depthSum += d;
              if (d > maxDepth) maxDepth = d;
            } else {
              stack.push_back({nd.step(0), d + 1});
              stack.push_back({nd.step(1), d + 1});
            }
          }
        }
        std::fprintf(stderr, "tree block %u attempt %d: %u rules, %s %u nodes, %u leaf entries, %u roots, %u cut cells, depth below the cut max %llu mean %.1f\n", t,
                     attempt, n, tb.fail ? "gave up at" : "built", tb.nNodes, tb.nLeaves, tr.nRoots, nCut, (unsigned long long)maxDepth,
                     leaves ? double(depthSum) / double(leaves) : 0.0);
      }
      if (tb.fail) continue;
      tr.nodes = std::move(tb.nodes);
      uint64_t leafBytes = uint64_t(tb.capLeaves) * 4;
      if (n <= 65536 && !leaves32) {
        tr.leaves16 = bigArray<uint16_t>(size_t(tb.nLeaves) + 1);
        if (!tr.leaves16) break;  // no memory: no tree
        for (uint32_t i = 0; i < tb.nLeaves; i++) tr.leaves16[i] = uint16_t(tb.leaves[i]);
        tr.leaves16[tb.nLeaves] = 0;  // the AVX-512 leaf scan's 32-bit gathers read 2 bytes past an entry
        leafBytes = (uint64_t(tb.nLeaves) + 1) * 2;
      } else {
        tr.leaves = std::move(tb.leaves);
      }
      tr.boxes = std::move(boxes);
      tr.nNodes = tb.nNodes;
      tr.nLeaves = tb.nLeaves;
      tr.bytes = uint64_t(tb.capNodes) * sizeof(TreeNode) + leafBytes + uint64_t(n) * sizeof(Box) + uint64_t(capCut) * 4;
      trees_[2 * uint64_t(t)] = std::move(tr);
      if (bitmapOk_) bitmapOk_[2 * uint64_t(t)] = 0;
      budgetNodes -= tb.nNodes;
      budgetLeaves -= tb.nLeaves;
      treeCount_++;
      treeBytes_ += trees_[2 * uint64_t(t)].bytes;
      break;
    }
  }
}

uint64_t Engine::memoryBytes() const {
  uint64_t b = (size_ / 8 + 1) * 8;  // the image copy
  if (v4Index_) b += 65537 * 4;
  b += v4DirBytes_;
  b += (uint64_t(nMatches_) + 1 + uint64_t(nRuleRefs_) + 1 + plistCount_) * sizeof(MatchRec);
  if (identDense_) b += identDenseWords_ * nIdentRows_ * 8;
  if (flat_) b += uint64_t(nPrograms_) * sizeof(FlatProg);
  if (natHash_) b += (uint64_t(natMask_) + 1) * 8;
  if (npHash_) b += (uint64_t(npMask_) + 1) * 4;
  if (dfast_) b += (uint64_t(nDBlocks_) + 1) * sizeof(DFast);
  if (tierLog_) b += uint64_t(nTierBlocks_) + 1;
  if (firstTree_) b += (uint64_t(nPrograms_) + 1) * 4;
  if (trees_) b += uint64_t(nDBlocks_) * sizeof(Tree) + treeBytes_ + rfcCount_ * sizeof(Rfc) + rfcBytes_;
  b += pmBytes_ + laneBytes_;
  if (natClass_) b += uint64_t(nClasses_) + 1;
  for (int i = 0; i < 2; i++)
    if (fastOut_[i] && fastStage_[i].tree && fastStage_[i].tree->rfc) b += (uint64_t(fastStage_[i].tree->rfc->none) + 1) * sizeof(FastOutcome);
  return b;
}

}  // namespace nv
