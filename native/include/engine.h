// The netverdict engine: loads and verifies an image, classifies tuples.
// No N-API types here (native/addon is the only Node-facing code), no global
// mutable state: an Engine is immutable after load and safe to share between
// threads for classification.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bigarray.h"
#include "format.h"

namespace nv {

enum class LoadError : int {
  Ok = 0,
  TooShort = 1,        // shorter than the header
  BadMagic = 2,
  BadVersion = 3,      // unsupported major
  BadHeader = 4,       // header/entry sizes, directory offset
  BadLength = 5,       // totalLength != buffer length
  BadCrc = 6,
  BadDirectory = 7,    // directory out of bounds
  BadSection = 8,      // section out of bounds, misaligned, overlapping the directory, or length != count*recordSize
  DuplicateSection = 9,
  MissingSection = 10,
  BadRecordSize = 11,
  BadCount = 12,       // a count that contradicts another (e.g. V4_STARTS vs V4_CLASS)
  BadIndex = 13,       // an index or range out of bounds
  BadOrder = 14,       // a table that must be sorted is not
  BadValue = 15,       // an enumeration or flag value out of range
  BadString = 16,
  OutOfMemory = 17,
  WorkBudget = 18,     // some program's worst-case work per tuple exceeds the budget (FORMAT.md §6)
};

const char* loadErrorName(LoadError e);

// Hash of a NAT frontend key (family, 4 address words, proto, port) for the derived index.
inline uint64_t natKeyHash(uint8_t family, const uint32_t* a, uint8_t proto, uint16_t port) {
  uint64_t h = ((uint64_t(family) << 24) | (uint64_t(proto) << 16) | port) * 0x9E3779B97F4A7C15ull;
  h ^= (uint64_t(a[0]) << 32) | a[1];
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  h ^= (uint64_t(a[2]) << 32) | a[3];
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  return h;
}
// Hash of a NodePort key (family, proto, port) for the derived NodePort index.
inline uint32_t nodePortHash(uint8_t family, uint8_t proto, uint16_t port) {
  uint32_t k = ((uint32_t(family) << 24) | (uint32_t(proto) << 16) | port) * 0x9E3779B1u;
  return k ^ (k >> 15);
}
uint32_t crc32c(const uint8_t* data, size_t len, uint32_t crc = 0);  // hardware CRC32C where the CPU has it
uint32_t crc32cPortable(const uint8_t* data, size_t len, uint32_t crc = 0);  // the table form (tests)
uint32_t tupleHash(int family, const uint32_t* src, const uint32_t* dst, uint8_t proto, uint16_t sport, uint16_t dport);

// Per-tuple outputs. Rule ids index RULE_META; kNone = no such evaluation / empty trace.
enum FlowReason : uint8_t {
  FLOW_POLICY = 0, FLOW_NO_BACKEND, FLOW_HOST_TO_LOCAL_WORKLOAD, FLOW_ENDPOINT_TO_HOST_DROP,
  FLOW_ENDPOINT_TO_HOST_ACCEPT, FLOW_NOT_POLICED
};
enum EvalReason : uint8_t {
  EVAL_NONE = 0, EVAL_RULE, EVAL_END_OF_TIER, EVAL_PROFILE, EVAL_NO_PROFILE_MATCH, EVAL_MISSING_PROFILE,
  EVAL_FAILSAFE, EVAL_NO_FORWARD_POLICY, EVAL_ALL_TIERS_PASSED
};

struct Result {
  uint8_t verdict;  // 1 allow, 0 deny
  uint8_t reason;   // FlowReason
  uint32_t egressRule, ingressRule, decidingRule;
  uint32_t evalReasons;  // byte0 egress, byte1 ingress, byte2 deciding (EvalReason)
  uint32_t natBackend;   // NAT_BACKENDS index or kNone
  uint32_t rulesVisited; // linear-strategy work: match records tested
};

// Struct-of-arrays batch. Addresses: v4 one word per tuple, v6 four words
// (most significant first). For ICMP protocols sport/dport carry type/code.
struct Batch {
  size_t n;
  const uint32_t* src;
  const uint32_t* dst;
  const uint16_t* sport;
  const uint16_t* dport;
  const uint8_t* proto;
};

// Trace events (optional output): per tuple, everything the reference's
// FlowResult holds beyond the fields above, as a sequence of 32-bit words
// (kind in the top two bits, payload below):
//   EV_ENTRY rule id  one trace entry of the evaluation under way, in trace
//                     order: Pass entries, the deciding rule, end-of-tier,
//                     profile, missing-profile and no-profile-match pseudo rules
//   EV_LOG   rule id  a matching Log rule (the evaluation's `logged`), in order
//   EV_EVAL  slot | reason << 8 | allow << 16   closes an evaluation: the
//                     EV_ENTRY/EV_LOG words since the previous EV_EVAL are its
//                     trace and logged lists; evaluations come in path order
// Rule ids index RULE_META (< 2^30; an image with more rules reports every
// tuple as overflowed). With events off (nullptr) nothing is written and the
// no-event path is compiled apart (Engine::evaluate<false>): no event branches.
enum TraceEventKind : uint32_t { EV_ENTRY = 0, EV_LOG = 1, EV_EVAL = 2 };
constexpr uint32_t kEventKindShift = 30;
constexpr uint32_t kEventPayload = (1u << kEventKindShift) - 1;
// The evaluation an EV_EVAL closes (which program of evaluate()'s path):
//   SLOT_SRC            the source endpoint's egress (workload or host endpoint)
//   SLOT_DST            the destination endpoint's ingress (workload or host endpoint)
//   SLOT_FWD_EGRESS     the source workload's node's wildcard HEP, forward egress
//   SLOT_FWD_INGRESS    the destination workload's node's wildcard HEP, forward ingress
//   SLOT_TRANSIT_INGRESS, SLOT_TRANSIT_EGRESS  the transit wildcard HEP
enum EvalSlot : uint8_t {
  SLOT_SRC = 0, SLOT_DST, SLOT_FWD_EGRESS, SLOT_FWD_INGRESS, SLOT_TRANSIT_INGRESS, SLOT_TRANSIT_EGRESS
};
// Per-tuple event capacity (stride) is the caller's, 1..kMaxEventStride; a
// tuple whose events do not fit gets count kEventOverflow (the words written
// are then incomplete: never read them) — never a write past its stride.
// Engine::traceBound() is the image's worst case, so a stride of
// min(traceBound(), kMaxEventStride) overflows only when the bound exceeds 254.
constexpr uint32_t kMaxEventStride = 254;
constexpr uint8_t kEventOverflow = 0xff;

struct BatchOut {
  uint8_t* verdict;        // required
  uint8_t* reason;         // optional (nullptr)
  uint32_t* egressRule;    // optional
  uint32_t* ingressRule;   // optional
  uint32_t* decidingRule;  // optional
  uint32_t* evalReasons;   // optional
  uint32_t* natBackend;    // optional
  uint32_t* rulesVisited;  // optional
  // Trace events, optional: tuple i's words at events[i * eventStride ...],
  // their number (or kEventOverflow) in eventCount[i]. Both or neither;
  // eventStride in 1..kMaxEventStride.
  uint32_t* events;
  uint8_t* eventCount;
  uint32_t eventStride;
};

// STRATEGY_DECISION_BITMAPS: the decision strategy with the bitmap path forced
// on every block (no linear walk of small blocks) — for tests.
enum Strategy : int { STRATEGY_LINEAR = 0, STRATEGY_DECISION = 1, STRATEGY_DECISION_BITMAPS = 2 };

class Engine {
 public:
  // Copies the image into engine-owned aligned memory and verifies all of it.
  static std::unique_ptr<Engine> load(const uint8_t* data, size_t len, LoadError* err, std::string* detail);

  // strategy: STRATEGY_LINEAR (rule by rule; rulesVisited = match records
  // tested, the Calico cost model) or STRATEGY_DECISION (decision blocks;
  // rulesVisited = candidates given a full check). Same outputs otherwise.
  // Optional trace events (see BatchOut): up to eventCap (<= kMaxEventStride)
  // words into events, their number or kEventOverflow into *eventCount.
  void classify(int family, const uint32_t* src, const uint32_t* dst, uint8_t proto, uint16_t sport, uint16_t dport,
                Result* out, int strategy = STRATEGY_LINEAR, uint32_t* events = nullptr, uint32_t eventCap = 0,
                uint8_t* eventCount = nullptr) const;
  void classifyBatch(int family, const Batch& in, const BatchOut& out, int strategy = STRATEGY_LINEAR) const;

  uint32_t ruleCount() const { return ruleCount_; }
  uint32_t backendCount() const { return nBackends_; }
  size_t imageSize() const { return size_; }
  // Load-time work budget (FORMAT.md §6): the largest worst-case work of any
  // program and family, and the cap it was checked against.
  uint64_t maxProgramWork() const { return maxWork_; }
  uint64_t workCap() const { return workCap_; }
  // Worst-case trace events per tuple (load-time): 4 evaluations x the largest
  // program's (one entry per tier walked, one profile entry, every Log rule
  // of its tiers and profiles, the EV_EVAL word), clamped to 2^32 - 1.
  uint32_t traceBound() const { return traceBound_; }
  // Derived decision trees (see trees_): how many blocks got one, their bytes.
  // Bytes the engine holds: the image copy plus every derived index (trie,
  // rule copies and protocol lists, dense identity rows, NAT hashes, trees).
  uint64_t memoryBytes() const;
  uint32_t treeCount() const { return treeCount_; }
  // Whether IPv4 decision batches take the fast transit path (see FastStage).
  bool fastTransit() const { return fastTransit_; }
  // Whether those batches take its RFC form (see FastOutcome).
  bool fastRfc() const { return fastRfc_; }
  // The fast path's tree stages run on SIMD (simd.cc): "avx512", "avx2", or
  // "scalar"; simd() says whether on either.
  bool simd() const { return simd_ != kSimdNone; }
  const char* simdForm() const { return simd_ == kSimdAvx512 ? "avx512" : simd_ == kSimdAvx2 ? "avx2" : "scalar"; }
  uint64_t treeBytes() const { return treeBytes_; }
  // Derived RFC tables (see Rfc): how many tree blocks got them, their bytes.
  uint32_t rfcCount() const { return rfcCount_; }
  uint64_t rfcBytes() const { return rfcBytes_; }
  // Derived program masks (see PmProg): how many programs got them, their bytes.
  uint32_t pmCount() const { return pmCount_; }
  bool pmCut() const { return pmCount_ > 0 && pmCut_; }  // some program's masks end in a walk (PM_WALK)
  uint64_t pmBytes() const { return pmBytes_; }
  // Whether IPv4 decision batches take the node lane path (see nodeLanes_).
  bool nodeLanes() const { return nodeLanes_; }
  // The node lanes walk some program (no masks, or an L4 index space over NV_LANE_L4_MAX).
  bool laneWalks() const { return nodeLanes_ && laneWalks_; }
  uint32_t laneSpecCount() const { return nodeLanes_ ? pmSpecCount_ : 0; }  // lane programs (PmSpec)
  uint64_t laneMemoBytes() const { return nodeLanes_ && pmMemo_ ? pmMemoSize_ : 0; }  // pmMemo_'s size (0: none)
  // A tree slot, 8 bytes: an inner node or a leaf. An inner node's two
  // children are adjacent slots (key < thr: the first, else the second), so
  // a descent step is one load, siblings share a cache line, and a leaf is
  // found by the load that reaches it (half the bytes of a node with two
  // child words and leaf flags; measured faster on the 10K ClassBench traces).
  struct TreeNode {
    uint32_t w0;  // inner: thr; leaf: start in the tree's leaves
    uint32_t w1;  // low 3 bits: dim (0 src, 1 dst, 2 proto, 3 sport, 4 dport) or kTreeLeaf; above: inner: first child's slot, leaf: count
    uint32_t dim() const { return w1 & 7; }
    uint32_t count() const { return w1 >> 3; }  // leaf: its rules
    // Inner: the slot for key >= thr (ge 1) or not (ge 0).
    uint32_t step(uint32_t ge) const { return (w1 >> 3) + ge; }
  };
  static constexpr uint32_t kTreeLeaf = 7;
  // A rule's box, per block rule (Tree::boxes). kBoxExact: the box *is* the
  // rule (one positive contiguous address range per side, protocol, single
  // port ranges, nothing else), so the leaf check is five range compares
  // instead of matchRule; kBoxPorts: the rule has port criteria, which a packet
  // without ports never meets.
  struct Box {
    uint32_t sLo, sHi, dLo, dHi;
    uint16_t spLo, spHi, dpLo, dpHi;
    uint8_t pLo, pHi, flags, pad;
    uint32_t pad2;
  };
  static constexpr uint8_t kBoxExact = 1, kBoxPorts = 2;

 private:
  Engine() = default;
  LoadError verify(std::string* detail);
  LoadError checkWork(std::string* detail);
  // For each family (0 IPv4, 1 IPv6) and program: the sum over its ops of
  // opCost(op, tiers, profiles), where tiers / profiles are the summed
  // per-block costs (tierCost / profCost, 2 per block: IPv4, IPv6) over the
  // op's reference range — by prefix sums, so linear in the tables however
  // programs share ranges. Every term is clamped to `clampTo`. visit(program,
  // family, sum) returns false to stop. False when out of memory.
  template <typename OpCost, typename Visit>
  bool programSums(const uint64_t* tierCost, const uint64_t* profCost, uint64_t clampTo, OpCost opCost, Visit visit) const;

  // A packet as matched: the classes of its addresses and its header fields.
  struct Pkt {
    const fmt::AddrClass* src;
    const fmt::AddrClass* dst;
    uint8_t family;
    uint8_t proto;
    uint8_t protoFlags;
    uint16_t sport;  // ICMP: type
    uint16_t dport;  // ICMP: code
    mutable uint32_t rulesVisited;
    int strategy;
    uint32_t srcA, dstA;  // IPv4 addresses (the decision trees' keys); 0 for IPv6
    // The classes' dense identity rows (identDense_), or nullptr without them:
    // a set test is then one load from the row (rowOf sets them), indexed by
    // side (SIDE_SRC, SIDE_DST).
    const uint64_t* rows[2];
    uint32_t hintBlock;   // Prep::hintLeaf's block (post-NAT packet only), or kNone
    const TreeNode* const* hintLeaf;  // one leaf per root, or nullptr
  };
  struct EvalOut;
  struct EventSink;
  // A tuple after the memory-bound first stage (service NAT, address classes);
  // the batch loop runs this stage some tuples ahead of evaluation and
  // prefetches what evaluation reads first.
  struct Prep {
    // The packet as evaluated (after NAT), built here so evaluate() need not
    // copy it (evaluate sets strategy, rulesVisited and hintLeaf).
    Pkt p;
    const uint32_t* src;
    const uint32_t* dst;    // after NAT
    const uint32_t* dstIn;  // as sent
    const fmt::AddrClass* preD;  // class of dstIn (== p.dst without NAT)
    uint32_t natBackend;
    uint16_t dportIn;
    uint8_t natted, noBackend;
    // Decision strategy, IPv4: the tier block with a tree this tuple will most
    // likely consult first (p.hintBlock) and the leaf its key reaches there,
    // found by the batch loop's lockstep descent (kNone / nullptr: none). Only a
    // hint: firstDecided uses it when asked for that very block with that key.
    const TreeNode* hintLeaf[4];  // per root of that block's tree
  };
  // Load-time only (buildTrees -> buildDecisionIndex's kFastBitmaps, then
  // released): 1 for an IPv4 decision block whose rules are mostly exact boxes
  // but that got no tree, while identity rows are short — the bitmaps serve it.
  // Every other block walks its protocol list (the bitmaps' set-up grows with
  // the sets an address is in, which on Calico-shaped clusters costs more than
  // the walk).
  std::unique_ptr<uint8_t[]> bitmapOk_;
  uint32_t predictTreeBlock(const Prep& pp) const;
  // Derived at load for the decision strategy (buildDecisionIndex): per decision
  // block and protocol class (TCP, UDP, ICMP, ICMPv6, SCTP, any other) the
  // block's rules that can match that protocol, in block order, as copies of
  // mrec_ read in sequence (a rule with a protocol criterion is listed under
  // its class only). Blocks are walked through the packet's list — about half
  // of a Calico-shaped block's rules are skipped without a look — unless a tree
  // or, for long lists, the bitmaps serve the block. One 64-byte record per
  // decision block (2 * tier block + family) holds what firstDecided reads first.
  static constexpr uint32_t kProtoClasses = 6;
  static constexpr uint32_t kFastTree = 1, kFastBitmaps = 2;
  struct alignas(64) DFast {
    uint32_t listStart[kProtoClasses];  // plistRules_ ranges
    uint32_t listCount[kProtoClasses];
    uint32_t ruleStart, words;
    uint8_t flags;
    uint8_t listOnly;   // bit c: STRATEGY_DECISION walks list c, nothing else to decide (listOnlyClasses)
    uint8_t endAction;  // the tier block's end of tier (TIER_BLOCKS), here so a decision walk
    uint8_t pad;        // reads no tier block record
    uint32_t endRule;
  };
  static_assert(sizeof(DFast) == 64, "one line per decision block");
  uint32_t listOnlyClasses(const DFast& f) const;
  uint8_t protoClass_[256] = {};
  BigArray<DFast> dfast_;
  BigArray<fmt::MatchRec> plistRules_;
  uint64_t plistCount_ = 0;  // plistRules_ entries
  bool buildDecisionIndex();
  static constexpr uint32_t kTryNext = 0xfffffffeu;
  std::unique_ptr<uint32_t[]> firstTree_;  // see buildFirstTrees
  bool anyFirstTree_ = false;  // some program's first tier walk starts with a tree (the batch loop's lockstep descent pays)
  void buildFirstTrees();
  void descendLockstep(Prep* pps, size_t m) const;
  // See buildTransitPath (classify.cc): every tuple takes the transit path.
  bool transitOnly_ = false;
  fmt::Op transitOps_[2] = {};  // the transit ingress and egress programs' FORWARD_TIERS ops
  uint32_t transitHint_ = fmt::kNone;  // predictTreeBlock's answer for every tuple
  void buildTransitPath();
  template <bool kEv>
  void forwardTiers(uint32_t count, const uint32_t* refs, const Pkt& p, EvalOut* ev) const;
  uint64_t natHashOf(int family, const uint32_t* dstIn, uint8_t proto, uint16_t dportIn) const;
  void prepare(int family, const uint32_t* src, const uint32_t* dstIn, uint8_t proto, uint16_t sport, uint16_t dportIn,
               uint64_t natHash, Prep* pp) const;
  void prefetchFor(const Prep& pp) const;
  // kEv: trace events on (sink non-null); a template so the no-event path has
  // no event branches. Always inlined (into the batch loop and classify).
  template <bool kEv>
  __attribute__((always_inline)) inline void evaluate(int family, Prep& pp, Result* out, int strategy,
                                                      EventSink* sink) const;
  const fmt::AddrClass* lookup(int family, const uint32_t* addr) const;
  const fmt::AddrClass* lookupSearch(int family, const uint32_t* addr) const;  // without the trie
  bool matchRule(const fmt::MatchRec& m, const Pkt& p) const;  // inline, classify.cc; counts the rule in p.rulesVisited
  bool matchUncounted(const fmt::MatchRec& m, const Pkt& p) const;  // the same test; the caller counts
  bool matchTail(const fmt::MatchRec& m, const Pkt& p) const;
  bool portListHit(uint32_t listIdx, const fmt::AddrClass* c, const Pkt& p, uint16_t port) const;
  bool portMember(const fmt::AddrClass* c, uint32_t setId, uint8_t proto, uint16_t port) const;
  bool inSet(const fmt::AddrClass* c, uint32_t setId) const;
  // Set test of the packet's source (SIDE_SRC) or destination class, through
  // its dense identity row when there are rows.
  bool inSide(const Pkt& p, uint32_t side, uint32_t setId) const;
  const uint64_t* rowOf(const fmt::AddrClass* c) const {
    return identDense_ ? identDense_.get() + identDenseWords_ * c->identity : nullptr;
  }
  template <bool kEv>
  const fmt::MatchRec* firstMatch(uint32_t start, uint32_t count, const Pkt& p, EvalOut* ev) const;  // inline, classify.cc
  template <bool kEv>
  int walkTiers(const uint32_t* refs, uint32_t refCount, const Pkt& p, EvalOut* ev) const;
  template <bool kEv>
  static int tierOutcome(uint32_t ruleId, uint8_t action, uint32_t endRule, uint32_t endAction, EvalOut* ev);
  const fmt::MatchRec* firstDecided(uint32_t tierBlock, const Pkt& p) const;
  void applySets(uint64_t* bits, uint32_t setStart, uint32_t setCount, const fmt::AddrClass* c) const;
  const uint64_t* portRow(uint32_t start, uint32_t count, uint32_t key) const;
  template <bool kEv>
  void walkProfiles(uint32_t refStart, uint32_t refCount, const Pkt& p, EvalOut* ev) const;
  void logHits(uint32_t tierBlock, uint32_t decided, const Pkt& p, EvalOut* ev) const;
  // Derived at load (computeTraceBound): per tier block, bit f (0 IPv4, 1 IPv6)
  // set when that family's rule list holds a Log rule; the decision strategy
  // (whose blocks omit Log rules) rescans only those blocks, only with events on.
  std::unique_ptr<uint8_t[]> tierLog_;
  uint32_t traceBound_ = 0;
  bool traceIds_ = true;  // every rule id fits an event payload
  bool computeTraceBound();
  template <bool kEv>
  void runProgram(uint32_t prog, const Pkt& p, const Pkt& pre, EvalOut* ev) const;
  template <bool kEv>
  void walkOps(uint32_t prog, uint32_t op, uint32_t tier, const Pkt& p, const Pkt& pre, EvalOut* ev) const;
  // One op of a program; true when it ends the program (ev decided). refs:
  // the op's tier references (TIERS, FORWARD_TIERS), inline or in TIER_REFS.
  template <bool kEv>
  bool runOp(uint32_t opcode, uint32_t arg, uint32_t start, uint32_t count, const uint32_t* refs, const Pkt& p, const Pkt& pre,
             EvalOut* ev) const;
  // Derived at load (buildFlatPrograms): per program one 64-byte line with its
  // ops and, as far as they fit, their tier references, so evaluation reads
  // the program, its ops and its tier list in one (prefetched) line instead
  // of three dependent loads (PROGRAMS -> OPS -> TIER_REFS). A program that
  // does not fit keeps the image's tables (nOps == kNotFlat). Env
  // NV_FLAT_PROGRAMS=0: none (the twin, for tests and comparison).
  struct FlatOp {
    uint8_t opcode, arg;
    uint16_t count;
    uint32_t start;
  };
  static constexpr uint32_t kFlatOps = 3, kFlatRefs = 9;
  static constexpr uint8_t kNotFlat = 0xff, kRefsOut = 0xff;
  struct alignas(64) FlatProg {
    uint8_t nOps;               // kNotFlat: use PROGRAMS / OPS
    uint8_t refsAt[kFlatOps];   // per op: its tier references at refs[refsAt], or kRefsOut (TIER_REFS)
    FlatOp ops[kFlatOps];
    uint32_t refs[kFlatRefs];
  };
  BigArray<FlatProg> flat_;
  const uint32_t* tierRefsOf(uint32_t opcode, uint32_t start) const {
    return opcode == fmt::OP_TIERS || opcode == fmt::OP_FORWARD_TIERS ? tierRefs_ + start : nullptr;
  }
  void buildFlatPrograms();
  // Derived at load (buildProgMasks, pmask.cc), IPv4 decision strategy, for
  // images with few programs (one node's data path): a program's rules in
  // walk order as positions of a bit vector (<= kPmWords words), with a mask
  // per field class: per side, the class of the address's identity in the
  // sets that side's tests name; the protocol; the destination and the source
  // port's interval among the node's port breakpoints. The AND of the five
  // masks is the rules that match (exactly: a rule whose test the masks
  // cannot decide — named ports, service sets, ICMP type — is a candidate
  // everywhere and flagged for its full test), in walk order, with always-set
  // positions for each tier's end and the profiles' outcomes; the first one
  // decides or (Pass, an end of tier that passes) moves on to the next tier.
  // Same outputs as the walk except rulesVisited (candidates looked at). Only
  // for programs without pre-DNAT or forward tiers, tree or bitmap blocks;
  // trace events (kEv) keep the walk. Env NV_PMASK=0: none; NV_PMASK_MB: the
  // memory budget (default 256).
  // Longer programs and tiers are cut: a tier keeps at most kPmTierRules
  // rules (NV_PMASK_TIER), a program kPmWords * 64 positions
  // (NV_PMASK_POSITIONS; tests: fewer), and a PM_WALK position, always set,
  // stands for the rest: where the search reaches it, the packet is walked
  // from that tier on (walkFrom; its ruleId: op << 16 | tier), as runProgram
  // would walk it from there.
  static constexpr uint32_t kPmWords = 4, kPmMaxPrograms = 1024, kPmMinRules = 40, kPmTierRules = 64;
  enum : uint8_t { PM_DECIDE = 0, PM_PASS = 1, PM_FALL = 2, PM_WALK = 3 };
  // pmFirst's result at a PM_WALK position: kPmWalkFlag | its ruleId.
  static constexpr uint32_t kPmWalkFlag = 0x80000000u, kPmWalkOpMax = 0x7fff;
  bool pmCut_ = false;  // some program has a PM_WALK position
  // The walk of program prog from pmFirst's PM_WALK result `at` on (ev as
  // the masks left it).
  void walkFrom(uint32_t prog, uint32_t at, const Pkt& p, EvalOut* ev) const;
  struct PmPos {
    uint32_t ruleId;   // the trace entry (PM_FALL: none; PM_WALK: op << 16 | tier)
    uint16_t next;     // PM_PASS: the position to go on from
    uint8_t kind, allow, reason, counted;  // counted: a rule (rulesVisited)
    uint8_t decides;   // PM_DECIDE without a full test: the outcome as it stands
    uint8_t verify;    // a full test to pass first (pmVerify_)
  };
  struct PmProg {
    uint32_t words;          // 1..kPmWords
    uint32_t failsafe;       // the leading FAILSAFE op's direction, or kNone
    uint32_t map[2];         // per side (SIDE_SRC, SIDE_DST): offset in pmMaps_ (a class per identity row), or kNone (one class)
    uint32_t sideBits[2];    // per side: offset in pmBits_ of its classes' masks
    uint32_t protoIdx;       // offset in pmIdx8_: a mask per protocol number
    uint32_t dportIdx, sportIdx;  // offsets in pmIdx_: a mask per node port class (+1: no ports)
    uint32_t protoBits, dportBits, sportBits;  // offsets in pmBits_
    uint32_t pos;            // offset in pmPos_
    uint32_t prog;           // the program (walkFrom)
    uint32_t classes[2];     // per side: its class count (1 without a map)
  };
  std::unique_ptr<uint32_t[]> pmOf_;  // per program: index in pmProgs_, or kNone
  std::unique_ptr<PmProg[]> pmProgs_;
  BigArray<uint16_t> pmMaps_;
  BigArray<uint64_t> pmBits_;
  std::unique_ptr<uint16_t[]> pmIdx_;
  std::unique_ptr<uint8_t[]> pmIdx8_;
  std::unique_ptr<PmPos[]> pmPos_;
  std::unique_ptr<const fmt::MatchRec*[]> pmVerify_;  // per position (as pmPos_): its full test, or nullptr
  // A port's class among the node's port bounds, per field (0: destination,
  // 1: source), in two levels: pmPortHi_[256 f + port / 256] is the class of
  // the port's whole block of 256, or kPortFine | b: the block's classes are
  // pmPortFine_[256 b + port % 256] (block 0 unused). The bounds are few, so
  // most blocks are whole and a lookup reads one of 1 KB of lines, not one of
  // 256 KB (source ports are random).
  static constexpr uint16_t kPortFine = 0x8000;
  uint16_t pmPortHi_[512] = {};
  std::unique_ptr<uint16_t[]> pmPortFine_;
  uint32_t pmNoPort_[2] = {0, 0};   // the class of a packet without ports (dst, src)
  uint32_t pmPortClass(int f, uint32_t port) const {
    const uint32_t h = pmPortHi_[256 * f + (port >> 8)];
    const uint32_t fine = pmPortFine_[(h & kPortFine ? (h & ~uint32_t(kPortFine)) << 8 : 0) | (port & 0xff)];
    return h & kPortFine ? fine : h;
  }
  uint32_t pmCount_ = 0;
  uint64_t pmBytes_ = 0;
  void buildProgMasks();
  void pmRun(const PmProg& t, const Pkt& p, EvalOut* ev) const;
  // pmRun's first step: the packet's five masks (pmFirst then finds the
  // positions they select).
  struct PmCur {
    const PmProg* t;
    const uint64_t* m[5];
  };
  void pmSetup(const PmProg& t, uint32_t srcIdentity, uint32_t dstIdentity, uint8_t proto, uint8_t protoFlags, uint16_t sport,
               uint16_t dport, PmCur* c) const;
  // verify(rule): the full test of a candidate the masks cannot decide.
  // The first position set in the AND of N masks of W words, from P:
  // returns the positions looked at that are rules (rulesVisited), or
  // kPmWalkFlag | its ruleId at a PM_WALK position.
  template <size_t N, typename Verify>
  uint32_t pmFirst(const uint64_t* const* m, uint32_t W, const PmPos* P, const fmt::MatchRec* const* V, Verify verify,
                   EvalOut* ev) const;
  // Lane programs (buildNodeLanes): a PmProg as one local class sees it — the
  // class of the program's own end (the source for egress, the destination
  // for ingress) in that side's sets is fixed, so its mask is folded with the
  // protocol's and both ports' into one mask per (protocol, destination port,
  // source port) index triple; a lane ANDs two masks, the remote end's class's
  // and that one. A program whose (protocol, dport, sport) index space exceeds
  // 65,536 (NV_LANE_L4_MAX, tests: less) is walked by the lanes instead.
  struct PmSpec {
    uint32_t words, pos;   // as the PmProg's
    uint32_t remoteMap;    // offset in pmMaps_ of the remote side's class map, or kNone (one class)
    uint32_t remoteBits;   // offset in pmBits_ of the remote side's masks
    uint32_t idx[3];       // offsets in pmLaneIdx_: per protocol, destination and source port class, its part of the L4 index
    uint32_t l4;           // offset in pmLaneJ_ (with pmMemo_: L4 index -> its folded mask j, from 0), else in pmLaneL4_ (-> j's offset in pmLaneBits_)
    uint32_t lanes;        // offset in pmLaneBits_ of folded mask 0 (mask j: lanes + j * words)
    uint32_t folded;       // its folded masks' count
    uint32_t memo;         // offset in pmMemo_ (remote class rc, folded mask j: rc * folded + j)
  };
  // Per PmSpec: its program (read only where a cut program's walk resumes).
  std::unique_ptr<uint32_t[]> pmSpecProg_;
  struct PmLaneCur {
    const PmSpec* t;
    const uint64_t* m[2];  // the remote end's class's mask, the folded mask
    uint32_t first;        // pmMemo_'s position
  };
  // Per lane program, per (remote class, folded mask): the first position
  // set in the AND of the two masks (what pmFirst finds first: positions
  // are < 256), so that a lane whose position decides reads one byte and
  // its position record instead of two masks (10k@node-1: 417 KB, ~5 %).
  // Built where all lane programs' tables fit kLaneMemoMax bytes
  // (NV_LANE_MEMO_MAX; NV_LANE_MEMO=0: none): beyond the 1 MB L2 the byte
  // is a miss like the masks' (100k@node-1: 3.3 MB, measured slower).
  static constexpr uint64_t kLaneMemoMax = uint64_t(1) << 20;
  BigArray<uint8_t> pmMemo_;
  uint64_t pmMemoSize_ = 0;
  std::unique_ptr<PmSpec[]> pmSpecs_;
  uint32_t pmSpecCount_ = 0;
  std::unique_ptr<uint16_t[]> pmLaneIdx_;
  std::unique_ptr<uint32_t[]> pmLaneL4_;
  std::unique_ptr<uint16_t[]> pmLaneJ_;
  BigArray<uint64_t> pmLaneBits_;
  // The lane programs of lane_'s PmProg entries; false without memory.
  bool buildLaneSpecs(std::vector<uint32_t>* entries);
  // The node lane path (classifyNodeLanes, on per buildNodeLanes: one node's
  // image — every policed workload on one node — or one with program masks,
  // without decision-tree hints): IPv4 decision batches without trace events
  // in chunks of kNodeLanes tuples, stage by stage over the chunk (address
  // classes, NAT, path, evaluations, output columns) so the lanes' loads overlap.
  // A lane whose path is not workload to workload (host endpoints, forward or
  // transit programs, no backend) takes prepare + evaluate, as classify() does;
  // programs with masks run as lane programs (PmSpec: two masks per lane, in
  // two passes over the chunk so the lanes' loads overlap), the others by
  // their walk; output columns are written per chunk. Same outputs
  // as that (tested both ways: NV_NODE_LANES=0 keeps the batch loop).
  static constexpr size_t kNodeLanes = 64;
  bool nodeLanes_ = false;
  // Per address class (buildNodeLanes), one 16-byte record so that a lane's
  // reads of its two ends' classes take two lines: prog[0] its program as
  // the source (egress), prog[1] as the destination (ingress): a PmSpec index,
  // kLaneWalk | program (walked: no masks), kNone (that end is not
  // policed), kLaneHost (a host address without a policed host
  // endpoint), or kLaneSlow (a policed host endpoint, a forward program on
  // its node, a program with pre-DNAT tiers or a failsafe op); its identity
  // (the AddrClass's); nat: 1 its address holds an IPv4 frontend, 2 a host
  // address while the image has NodePorts (the lanes' NAT candidates).
  static constexpr uint32_t kLaneSlow = 0xfffffffeu, kLaneHost = 0xfffffffdu, kLaneWalk = 0x40000000u;
  struct LaneClass {
    uint32_t prog[2];
    uint32_t identity;
    uint32_t nat;
  };
  std::unique_ptr<LaneClass[]> lane_;
  uint64_t laneBytes_ = 0;
  bool laneTransit_ = false;  // the transit programs are walkable by the lanes
  bool laneWalks_ = false;    // some class's lane entry is kLaneWalk | program, or laneTransit_
  void buildNodeLanes();
  void laneWalk(uint32_t prog, const Pkt& q, EvalOut* ev) const;
  // The lanes' path marks (classifyNodeLanes' AVX-512 form; its scalar twin
  // is the loop there), a bit per lane from its egress and ingress entries
  // (e, i): mk[0] either is kLaneHost; mk[1], mk[2] e, i is kNone; mk[3],
  // mk[4] kLaneSlow; mk[5], mk[6] >= kLaneWalk. laneMarksAvx512 (simd.cc)
  // adds those of m <= kNodeLanes lanes; markLane sets lane k's marks 1-6
  // anew (its entries changed).
  static void markLane(uint64_t* mk, size_t k, uint32_t e, uint32_t i) {
    const bool v[6] = {e == fmt::kNone, i == fmt::kNone, e == kLaneSlow, i == kLaneSlow, e >= kLaneWalk, i >= kLaneWalk};
    for (int j = 0; j < 6; j++) mk[j + 1] = (mk[j + 1] & ~(uint64_t(1) << k)) | uint64_t(v[j]) << k;
  }
  static void laneMarksAvx512(size_t m, const uint32_t* eg, const uint32_t* ing, uint64_t* mk);
  // Per address class (derived at load when there are NAT frontends): 1 when
  // an IPv4 frontend's address is in it. IPv4 tuples whose destination's
  // class has none skip the NAT probe (prepare, the node lanes).
  std::unique_ptr<uint8_t[]> natClass_;
  void buildNatClasses();
  uint64_t prepHash(int family, const uint32_t* dstIn, uint8_t proto, uint16_t dportIn) const;
  template <bool kWalk>
  void classifyNodeLanes(const Batch& in, const BatchOut& out, int strategy) const;

  BigArray<uint64_t> mem_;  // nothrow-allocated image copy
  uint64_t maxWork_ = 0, workCap_ = 0;
  size_t size_ = 0;
  const uint8_t* base_ = nullptr;

  const fmt::Config* config_ = nullptr;
  const uint8_t* protoFlags_ = nullptr;
  const uint32_t* v4Starts_ = nullptr; const uint32_t* v4Class_ = nullptr; uint32_t nV4_ = 0;
  const fmt::V6Addr* v6Starts_ = nullptr; const uint32_t* v6Class_ = nullptr; uint32_t nV6_ = 0;
  const fmt::AddrClass* classes_ = nullptr; uint32_t nClasses_ = 0;
  const fmt::IdentityRow* identRows_ = nullptr; uint32_t nIdentRows_ = 0;
  const uint32_t* identSets_ = nullptr; uint32_t nIdentSets_ = 0;
  const fmt::DBlock* dblocks_ = nullptr; uint32_t nDBlocks_ = 0;
  const fmt::DRule* drules_ = nullptr; uint32_t nDRules_ = 0;
  const fmt::DSet* dsets_ = nullptr; uint32_t nDSets_ = 0;
  const uint32_t* dlists_ = nullptr; uint32_t nDLists_ = 0;
  const fmt::DPort* dports_ = nullptr; uint32_t nDPorts_ = 0;
  const uint64_t* dbits_ = nullptr; uint32_t nDBits_ = 0;
  // Derived at load: open-addressing hash of NAT_FRONTENDS (entry = tag << 32 | index, index
  // kNone = empty; load factor <= 1/2), replacing a binary search over ~10^5-10^6 frontends.
  BigArray<uint64_t> natHash_;
  uint32_t natMask_ = 0;
  // h: natKeyHash of the key (natHashOf), computed once per tuple by the caller.
  const fmt::NatFrontend* natLookup(uint64_t h, int family, const uint32_t* key4, uint8_t proto, uint16_t port) const;
  // Derived at load: open-addressing hash of NAT_NODEPORTS (entry = index, kNone = empty;
  // load factor <= 1/2). Consulted only when the exact lookup misses and the
  // destination's class is a node address (hostNode != kNone).
  std::unique_ptr<uint32_t[]> npHash_;
  uint32_t npMask_ = 0;
  const fmt::NatNodePort* nodePortLookup(int family, uint8_t proto, uint16_t port) const;
  // Derived at load when it costs at most the sparse rows' bytes (and <= 1 GiB): one
  // ceil(addrSetCount / 64)-word bitmap per identity, so a set test is one load
  // instead of a binary search over a ~400-entry row. nullptr: use the rows.
  BigArray<uint64_t> identDense_;
  uint64_t identDenseWords_ = 0;
  std::unique_ptr<uint32_t[]> v4Index_;  // derived at load: /16 -> first candidate interval
  // Derived at load: IPv4 multibit trie (16-8-8). dir[a >> 16] is a class index,
  // or kDirChild | o: the chunk of 256 entries at offset o (65536 + 256 k for
  // the k-th chunk) indexed by the next 8 bits, whose entries are again a class or a chunk for the last 8 bits. At
  // most three dependent loads per lookup instead of a binary search. nullptr:
  // over budget (64 MiB) or disabled with NV_LPM=search.
  static constexpr uint32_t kDirChild = 0x80000000u;
  static uint32_t dirClass(const uint32_t* d, uint32_t x);  // the trie's class index for x (lookup's IPv4 path)
  BigArray<uint32_t> v4Dir_;
  uint64_t v4DirBytes_ = 0;
  void buildV4Dir();
  // Derived at load: RULE_REFS resolved, MATCHES copied in reference order, so a
  // tier or profile walk reads its rules sequentially without an indirection.
  BigArray<fmt::MatchRec> refRules_;
  // Derived at load: MATCHES with the reserved words reused to hold one
  // address test inline (reserved[0] = set id, reserved[1] = kInlineTest | side |
  // negate << 8, plus kNeedTail when more criteria follow and kProtoTest when there is a protocol
  // test), saving a dependent load per rule. All matching reads these
  // copies (and refRules_, copied from them), never MATCHES' reserved words.
  static constexpr uint32_t kInlineTest = 0x10000u;
  static constexpr uint32_t kNeedTail = 0x20000u;  // reserved[1]: criteria beyond protocol + the inline address test
  static constexpr uint32_t kProtoTest = 0x40000u;  // reserved[1]: flags hold M_PROTO or M_NOT_PROTO
  // reserved[1] bits 24..31: which address test is inline (the one fewest
  // identities pass; matchTail tests the others).
  static constexpr uint32_t kInlineIndexShift = 24, kInlineIndexMax = 255;
  BigArray<fmt::MatchRec> mrec_;
  // Derived at load (buildRfcs, after buildTrees; env NV_RFC=0 off): Recursive
  // Flow Classification tables (native/src/rfc.cc) for a tree block whose
  // rules are exact boxes (up to kMaxInexact that are not are checked apart
  // with matchRule), when they fit the engine-wide budgets (table
  // bytes, default 64 MiB or NV_RFC_MB; build work). Phase 0 maps the halves of
  // each address, each port and the protocol to 16-bit classes; s = (src hi,
  // src lo), d = (dst hi, dst lo), pp = (sport, dport), q = (pp, proto); then
  // x = two of u = {s, d, q} (u[x1], u[x2]) and the last table maps (x, u[y])
  // to the block's first matching exact box (none: the block's rule count).
  // Thirteen loads per lookup, no branch (rfcLanes, for one tuple or a
  // batch); used instead of the tree's descent and leaf scan, and the tree is
  // then released.
  struct Rfc {
    BigArray<uint16_t> chunk[7];  // src hi, src lo, dst hi, dst lo, sport, dport (65,536 entries), proto (256)
    BigArray<uint16_t> s, d, pp, q, x, f;
    uint32_t nSl = 0, nDl = 0, nDp = 0, nPr = 0, nX2 = 0, nY = 0;  // the right operands' class counts
    uint32_t none = 0;  // the last table's "no exact box matches": the block's rule count
    uint8_t x1 = 0, x2 = 0, y = 0;
    uint64_t bytes = 0;
    // Rules checked apart (not exact boxes, or NV_RFC_APART's; not in the
    // tables), block-relative, in rule order: each one below the tables'
    // answer is checked with matchRule.
    static constexpr uint32_t kMaxInexact = 32;
    uint32_t nInexact = 0;
    uint16_t inexact[kMaxInexact];
    // The block's first matching rule given the tables' answer r (none:
    // fmt::kNone): the first rule checked apart below it that match(rule)
    // accepts, else r.
    template <typename Match>
    uint32_t withApart(uint32_t r, Match&& match) const {
      if (r == none) r = fmt::kNone;
      for (uint32_t i = 0; i < nInexact && inexact[i] < r; i++)
        if (match(inexact[i])) return inexact[i];
      return r;
    }
  };
  // Derived at load (not in the image): a HyperSplit-style decision tree per IPv4
  // decision block of at least treeMinRules_ rules (env NV_DTREE_MIN_RULES,
  // default 64) of which at least half are exact boxes (ACL-like; selector
  // blocks split poorly), over (src addr, dst addr, proto, sport, dport). Every
  // rule is a box: the address intervals of its first positive set test per
  // side (recovered from V4_STARTS/V4_CLASS and the identity rows), its
  // protocol, its port ranges; any other criterion is a wildcard. A leaf lists,
  // in rule order, every block rule whose box meets the leaf's region, so it
  // holds a superset of the matching rules; a candidate is checked against its
  // box when the box is exact (Box::kBoxExact), else with matchRule. Used by
  // STRATEGY_DECISION only. Over the node/entry caps a block gets grouped
  // trees; over theirs, or over the engine-wide build budget, none (protocol
  // lists or bitmaps, see dfast_).
  struct Tree {
    std::unique_ptr<Rfc> rfc;  // or nullptr; then the tree itself (nodes, leaves, boxes, cut) is released
    BigArray<Box> boxes;  // block rule count entries
    BigArray<TreeNode> nodes;
    // Block-relative rule indices: 16-bit (leaves16) for blocks of at most
    // 65,536 rules, whose leaves then take half the bytes, else 32-bit.
    BigArray<uint32_t> leaves;
    BigArray<uint16_t> leaves16;
    uint32_t nNodes = 0, nLeaves = 0;
    uint64_t bytes = 0;  // nodes, leaves, boxes and cut tables (released when RFC tables replace them)
    // With NV_DTREE_GROUPS=1 the rules are split into up to 4 groups by address
    // width (wide src / wide dst), one root per group; the block's first match
    // is the smallest first match over the groups. Otherwise one root.
    uint32_t nRoots = 0;
    // Root cut tables, one per root: the top bits of the source address and
    // of the destination address select one of the root's 2^(bitsS + bitsD)
    // cells, each the root of a subtree built over the rules whose boxes meet
    // the cell, so descents start that many levels down (0 + 0 bits: one
    // cell, the plain root). Cell entries are slot indices.
    BigArray<uint32_t> cut;  // the roots' tables, concatenated
    uint32_t cutBase[4] = {0, 0, 0, 0};
    uint8_t cutShS[4] = {32, 32, 32, 32}, cutShD[4] = {32, 32, 32, 32}, cutD[4] = {0, 0, 0, 0};  // 32 - bits; dst bits
    // The smallest block-relative rule index under each root (kNone: none): a
    // lane whose first match so far is below it finds nothing better there
    // (the SIMD stages skip that root's descent and scan for it).
    uint32_t minRule[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    uint32_t rootOf(uint32_t g, uint32_t srcA, uint32_t dstA) const {
      return cut[cutBase[g] + (((uint64_t(srcA) >> cutShS[g]) << cutD[g]) | (uint64_t(dstA) >> cutShD[g]))];
    }
  };
  std::unique_ptr<Tree[]> trees_;  // nDBlocks_ entries (only v4 ones used), or nullptr
  uint32_t treeMinRules_ = 64;
  uint32_t treeCount_ = 0;
  uint64_t treeBytes_ = 0;
  uint32_t rfcCount_ = 0;
  uint64_t rfcBytes_ = 0;
  void buildTrees();
  bool buildRfc(uint32_t tierBlock, uint64_t* budgetBytes, uint64_t* budgetWork);
  void buildRfcs();
  template <typename L, typename Inexact>
  static uint32_t leafFirst(const L* leaves, const Box* boxes, const TreeNode& leaf, uint32_t best, uint32_t s, uint32_t d, uint8_t proto,
                            uint16_t sp, uint16_t dp, uint8_t pf, uint32_t* visited, Inexact&& inexact);
  // Derived at load (buildFastTransit, after buildTransitPath and the decision records): on a
  // transit-only image without NAT whose two transit programs each forward
  // through no tier or one tier block with a tree (pure 5-tuple ACLs such as
  // ClassBench conversions), IPv4 batches of the decision strategy without
  // trace events take classifyFastTransit: per stage a lockstep descent and a
  // leaf scan, no program walk, address classes only for a candidate that is
  // not an exact box.
  // Same outputs as evaluate() (tested both ways: NV_FAST_TRANSIT=0 keeps the
  // general path).
  struct FastStage {
    const Tree* tree = nullptr;    // nullptr: the program has no tier (allows, EVAL_NO_FORWARD_POLICY)
    const DFast* block = nullptr;  // its decision record: DRULES start (leaves are block-relative), end of tier
    uint32_t rules = 0;            // the block's rule count (FastOutcome index of "no rule matches")
  };
  bool fastTransit_ = false;
  FastStage fastStage_[2];
  // Tuples per chunk of classifyFastTransit's tree form on SIMD (half of it
  // for the scalar form).
  static constexpr size_t kFastLanes = 64;
  // The SIMD twins of its tree stages (simd.cc: descent and leaf scans),
  // decided at load: AVX-512 when the CPU has it (F, BW, VL, DQ), else AVX2
  // when it has that (NV_SIMD=avx2 forces it, NV_SIMD=0 the scalar form).
  static constexpr uint8_t kSimdNone = 0, kSimdAvx2 = 1, kSimdAvx512 = 2;
  uint8_t simd_ = kSimdNone;
  static uint8_t simdSupported();
  // One tree stage for m <= kFastLanes lanes (live, noPorts: a bit per lane):
  // each live lane's first matching block rule (kNone: none) into best[k] and
  // the exact boxes it checked added to visited[k]; a candidate that is not an
  // exact box goes to inexact(ctx, lane, rule), which counts its own work.
  using InexactFn = bool (*)(void* ctx, size_t lane, uint32_t rule);
  static void treeStageAvx512(const Tree& t, size_t m, uint64_t live, uint64_t noPorts, const uint32_t* src, const uint32_t* dst,
                              const uint8_t* proto, const uint16_t* sport, const uint16_t* dport, uint32_t* best,
                              uint32_t* visited, InexactFn inexact, void* ctx);
  // Both forms' scans end a round with few lanes left one lane at a time:
  // lanes base + j for the bits j of `bits`, from their leaf positions
  // (ats, lefts) and bests so far (bs, updated).
  static void scanTail(const Tree& t, uint32_t bits, size_t base, const uint32_t* ats, const uint32_t* lefts, uint32_t* bs,
                       uint64_t noPorts, const uint32_t* src, const uint32_t* dst, const uint8_t* proto, const uint16_t* sport,
                       const uint16_t* dport, uint32_t* visited, InexactFn inexact, void* ctx);
  // Its AVX2 form (8 lanes per vector), for CPUs without AVX-512 (and
  // NV_SIMD=avx2): the same arguments and results.
  static void treeStageAvx2(const Tree& t, size_t m, uint64_t live, uint64_t noPorts, const uint32_t* src, const uint32_t* dst,
                            const uint8_t* proto, const uint16_t* sport, const uint16_t* dport, uint32_t* best,
                            uint32_t* visited, InexactFn inexact, void* ctx);
  void buildFastTransit();
  void classifyFastTransit(const Batch& in, const BatchOut& out) const;
  // A stage's outcome for a live lane depends on its block's first matching
  // rule alone and is tabulated at load (buildFastTransit), per block rule and
  // for "none": the trace's last rule, allow, the evaluation's reason, and
  // the rules visited when that rule came from RFC tables. The fast transit
  // path's RFC form: when each stage is no tier or a block with RFC tables and
  // no rule outside them, a batch is the lookups and two outcome reads per
  // tuple (classifyFastRfc; same outputs).
  struct FastOutcome {
    uint32_t last;
    uint8_t allow, reason, visited, pad;
  };
  bool fastRfc_ = false;
  BigArray<FastOutcome> fastOut_[2];  // per stage, rule count + 1 entries; nullptr: no tier
  void classifyFastRfc(const Batch& in, const BatchOut& out) const;
  // The fast path's output columns for tuples from .. from + m from its lanes'
  // verdicts, deciding rules, evaluation reasons (evalReasons words) and work.
  static void writeFastColumns(const BatchOut& out, size_t from, size_t m, const uint8_t* allow, const uint32_t* last,
                               const uint32_t* evalReasons, const uint32_t* visited);
  static void rfcLanes(const Rfc& rf, size_t m, const uint32_t* src, const uint32_t* dst, const uint8_t* proto, const uint16_t* sport,
                       const uint16_t* dport, uint32_t* out);
  const fmt::PortMember* portMembers_ = nullptr; uint32_t nPortMembers_ = 0;
  const fmt::NodeRec* nodes_ = nullptr; uint32_t nNodes_ = 0;
  const fmt::Program* programs_ = nullptr; uint32_t nPrograms_ = 0;
  const fmt::Op* ops_ = nullptr; uint32_t nOps_ = 0;
  const fmt::TierBlock* tierBlocks_ = nullptr; uint32_t nTierBlocks_ = 0;
  const fmt::ProfileBlock* profileBlocks_ = nullptr; uint32_t nProfileBlocks_ = 0;
  const uint32_t* tierRefs_ = nullptr; uint32_t nTierRefs_ = 0;
  const uint32_t* profileRefs_ = nullptr; uint32_t nProfileRefs_ = 0;
  const uint32_t* ruleRefs_ = nullptr; uint32_t nRuleRefs_ = 0;
  const fmt::MatchRec* matches_ = nullptr; uint32_t nMatches_ = 0;
  const fmt::AddrTest* addrTests_ = nullptr; uint32_t nAddrTests_ = 0;
  const fmt::PortList* portLists_ = nullptr; uint32_t nPortLists_ = 0;
  const fmt::PortRange* portRanges_ = nullptr; uint32_t nPortRanges_ = 0;
  const uint32_t* namedRefs_ = nullptr; uint32_t nNamedRefs_ = 0;
  const fmt::Failsafe* failsafe_ = nullptr; uint32_t nFailsafe_ = 0;
  const fmt::NatFrontend* frontends_ = nullptr; uint32_t nFrontends_ = 0;
  const fmt::NatBackend* backends_ = nullptr; uint32_t nBackends_ = 0;
  const fmt::NatNodePort* nodePorts_ = nullptr; uint32_t nNodePorts_ = 0;
  const fmt::RuleMeta* ruleMeta_ = nullptr; uint32_t ruleCount_ = 0;
  const uint8_t* strings_ = nullptr; uint32_t nStrings_ = 0;
};

// Whether the packet's fields fall in an exact box (engine.h, Engine::Box).
inline bool boxHit(const Engine::Box& x, uint32_t s, uint32_t d, uint8_t proto, uint16_t sp, uint16_t dp, uint8_t pf) {
  if ((x.flags & Engine::kBoxPorts) && !(pf & fmt::PROTO_HAS_PORTS)) return false;
  return s - x.sLo <= x.sHi - x.sLo && d - x.dLo <= x.dHi - x.dLo && uint8_t(proto - x.pLo) <= uint8_t(x.pHi - x.pLo) &&
         uint16_t(sp - x.spLo) <= uint16_t(x.spHi - x.spLo) && uint16_t(dp - x.dpLo) <= uint16_t(x.dpHi - x.dpLo);
}

// The first rule (block-relative) among one leaf's candidates, in rule order
// and below `best`, that the packet matches, else `best`: an exact box is
// tested by its box (counted in *visited), any other rule by inexact(rule),
// which counts its own work. The leaf scan of firstDecided and of the fast
// transit path.
template <typename L, typename Inexact>
__attribute__((always_inline)) inline uint32_t Engine::leafFirst(const L* leaves, const Box* boxes, const TreeNode& leaf,
                                                                uint32_t best, uint32_t s,
                                                                uint32_t d, uint8_t proto, uint16_t sp, uint16_t dp, uint8_t pf,
                                                                uint32_t* visited, Inexact&& inexact) {
  const L* l = leaves + leaf.w0;
  for (uint32_t k = 0, n = leaf.count(); k < n && l[k] < best; k++) {
    const Box& x = boxes[l[k]];
    bool hit;
    if (x.flags & kBoxExact) {
      ++*visited;
      hit = boxHit(x, s, d, proto, sp, dp, pf);
    } else {
      hit = inexact(l[k]);
    }
    if (hit) return l[k];
  }
  return best;
}

}  // namespace nv
