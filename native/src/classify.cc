// Linear classification: the evaluation flow of the reference evaluator
// (src/reference/evaluate.ts) expressed over the image's tables. Nothing here
// knows about selectors, names or policy kinds: every decision is table data.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "engine.h"

namespace nv {

using namespace fmt;

namespace {

// The rounds of a lockstep tree descent, shared by the batch loop's
// (Engine::descendLockstep) and the fast transit path's: n units, unit k at
// slot idx[k] of its tree nodesOf(k); each round moves every live unit one
// level (key(k, dim) is its key in that dimension), so the units' node loads
// are independent and their cache misses overlap. A unit that reaches a leaf
// goes to done(k) (idx[k] is the leaf's slot) and is replaced by the last live
// unit (move(k, last) moves the caller's per-unit data, idx is moved here).
template <typename NodesOf, typename Key, typename Done, typename Move>
__attribute__((always_inline)) inline void lockstepRounds(size_t n, uint32_t* idx, NodesOf nodesOf, Key key, Done done, Move move) {
  for (size_t live = n; live > 0;) {
    for (size_t k = 0; k < live;) {
      const Engine::TreeNode nd = nodesOf(k)[idx[k]];
      const uint32_t dim = nd.dim();
      if (dim == Engine::kTreeLeaf) {
        done(k, nd);
        live--;
        idx[k] = idx[live];
        move(k, live);
        continue;
      }
      idx[k] = nd.step(key(k, dim) >= nd.w0);
      k++;
    }
  }
}
}  // namespace

// Trace events of one tuple (engine.h, BatchOut::events): words past the
// capacity are counted, never written.
struct Engine::EventSink {
  uint32_t* ev;
  uint32_t cap, n;
  void put(uint32_t w) {
    if (n < cap) ev[n] = w;
    n++;
  }
  uint8_t count() const { return n <= cap ? uint8_t(n) : kEventOverflow; }
};

struct Engine::EvalOut {
  uint8_t allow;
  uint8_t reason;
  uint32_t last;  // last trace entry's rule id, kNone when the trace is empty
  EventSink* sink;  // trace events (used only when kEv), or nullptr
  // A trace entry: the last one so far, and an event when asked for (kEv: a
  // compile-time choice, so the no-event walks have no event branches).
  template <bool kEv>
  void entry(uint32_t ruleId) {
    last = ruleId;
    if (kEv) sink->put((EV_ENTRY << kEventKindShift) | ruleId);
  }
  void logged(uint32_t ruleId) const { sink->put((EV_LOG << kEventKindShift) | ruleId); }
};

// The IPv4 trie path inline (prepare makes two or three lookups per tuple);
// the searches out of line.
inline uint32_t Engine::dirClass(const uint32_t* d, uint32_t x) {
  uint32_t e = d[x >> 16];
  if (e & kDirChild) {
    e = d[(e & ~kDirChild) + ((x >> 8) & 0xffu)];
    if (e & kDirChild) e = d[(e & ~kDirChild) + (x & 0xffu)];
  }
  return e;
}

inline const AddrClass* Engine::lookup(int family, const uint32_t* a) const {
  if (family == 4 && v4Dir_) return &classes_[dirClass(v4Dir_.get(), a[0])];
  return lookupSearch(family, a);
}

const AddrClass* Engine::lookupSearch(int family, const uint32_t* a) const {
  if (family == 4) {
    // Last start <= a (starts[0] == 0 is verified), searched between the
    // first candidate intervals of a's /16 and of the next /16.
    const uint32_t x = a[0];
    uint32_t lo = v4Index_[x >> 16], hi = v4Index_[(x >> 16) + 1] + 1;
    if (hi > nV4_) hi = nV4_;
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (v4Starts_[mid] <= x) lo = mid; else hi = mid;
    }
    return &classes_[v4Class_[lo]];
  }
  uint32_t lo = 0, hi = nV6_;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const uint32_t* s = v6Starts_[mid].w;
    bool le = true;
    for (int i = 0; i < 4; i++) {
      if (s[i] != a[i]) { le = s[i] < a[i]; break; }
    }
    if (le) lo = mid; else hi = mid;
  }
  return &classes_[v6Class_[lo]];
}

// Inlined into prepare, its one caller: most probes end at the first slot.
__attribute__((always_inline)) inline const NatFrontend* Engine::natLookup(uint64_t h, int family, const uint32_t* key,
                                                                          uint8_t proto, uint16_t port) const {
  const uint32_t tag = uint32_t(h >> 32);
  for (uint32_t slot = uint32_t(h) & natMask_;; slot = (slot + 1) & natMask_) {
    const uint64_t e = natHash_[slot];
    const uint32_t idx = uint32_t(e);
    if (idx == kNone) return nullptr;
    if (uint32_t(e >> 32) != tag) continue;
    const NatFrontend& f = frontends_[idx];
    if (f.family == family && f.proto == proto && f.port == port && f.addr[0] == key[0] && f.addr[1] == key[1] &&
        f.addr[2] == key[2] && f.addr[3] == key[3])
      return &f;
  }
}

const NatNodePort* Engine::nodePortLookup(int family, uint8_t proto, uint16_t port) const {
  for (uint32_t slot = nodePortHash(uint8_t(family), proto, port) & npMask_;; slot = (slot + 1) & npMask_) {
    const uint32_t idx = npHash_[slot];
    if (idx == kNone) return nullptr;
    const NatNodePort& f = nodePorts_[idx];
    if (f.family == family && f.proto == proto && f.port == port) return &f;
  }
}

inline bool Engine::inSet(const AddrClass* c, uint32_t setId) const {
  if (identDense_) return (identDense_[identDenseWords_ * c->identity + (setId >> 6)] >> (setId & 63)) & 1;
  const IdentityRow& r = identRows_[c->identity];
  const uint32_t* v = identSets_ + r.setStart;
  uint32_t lo = 0, hi = r.setCount;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (v[mid] < setId) lo = mid + 1; else hi = mid;
  }
  return lo < r.setCount && v[lo] == setId;
}

inline bool Engine::inSide(const Pkt& p, uint32_t side, uint32_t setId) const {
  if (identDense_) {
    const uint64_t* row = p.rows[side & 1];
    return (row[setId >> 6] >> (setId & 63)) & 1;
  }
  return inSet(side == SIDE_SRC ? p.src : p.dst, setId);
}

// ---- decision strategy ------------------------------------------------------

namespace {
constexpr uint32_t kMaxDecisionWords = 1024;  // blocks with more rules (65,536+) are walked linearly
constexpr uint32_t kLinearBelow = 32;         // protocol lists of at most this many rules are walked

// Index of the first entry of v[0..n) that is >= x.
inline uint32_t lowerBound(const uint32_t* v, uint32_t n, uint32_t x) {
  uint32_t lo = 0;
  while (n > 0) {
    const uint32_t half = n / 2;
    if (v[lo + half] < x) { lo += half + 1; n -= half + 1; } else { n = half; }
  }
  return lo;
}
}  // namespace

// bits |= / &= ~ the rule lists of the block's sets that contain the class's
// addresses: intersect the identity's sorted set ids with the block's sorted
// sets, searching in the longer list.
void Engine::applySets(uint64_t* bits, uint32_t setStart, uint32_t setCount, const AddrClass* c) const {
  if (setCount == 0) return;
  const IdentityRow& r = identRows_[c->identity];
  const uint32_t* ids = identSets_ + r.setStart;
  const DSet* ds = dsets_ + setStart;
  auto apply = [&](const DSet& d) {
    const uint32_t* l = dlists_ + d.listStart;
    for (uint32_t k = 0; k < d.posCount; k++) bits[l[k] >> 6] |= uint64_t(1) << (l[k] & 63);
    l += d.posCount;
    for (uint32_t k = 0; k < d.negCount; k++) bits[l[k] >> 6] &= ~(uint64_t(1) << (l[k] & 63));
  };
  if (r.setCount <= setCount) {
    uint32_t from = 0;
    for (uint32_t i = 0; i < r.setCount && from < setCount; i++) {
      uint32_t lo = from, n = setCount - from;
      while (n > 0) {
        const uint32_t half = n / 2;
        if (ds[lo + half].setId < ids[i]) { lo += half + 1; n -= half + 1; } else { n = half; }
      }
      from = lo;
      if (lo < setCount && ds[lo].setId == ids[i]) apply(ds[lo]);
    }
  } else {
    uint32_t from = 0;
    for (uint32_t k = 0; k < setCount && from < r.setCount; k++) {
      from += lowerBound(ids + from, r.setCount - from, ds[k].setId);
      if (from < r.setCount && ids[from] == ds[k].setId) apply(ds[k]);
    }
  }
}

// Row of the interval holding key (last key <= key; the first key is 0).
const uint64_t* Engine::portRow(uint32_t start, uint32_t count, uint32_t key) const {
  const DPort* t = dports_ + start;
  uint32_t lo = 0, hi = count;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (t[mid].key <= key) lo = mid; else hi = mid;
  }
  return dbits_ + t[lo].row;
}

// Load time (buildDecisionIndex): the protocol classes whose list
// STRATEGY_DECISION walks in this block (no tree; no bitmaps for that list),
// so firstDecided goes straight to the walk (its checks below, made once).
uint32_t Engine::listOnlyClasses(const DFast& f) const {
  if (f.words == 0 || (f.flags & kFastTree)) return 0;
  uint32_t r = 0;
  for (uint32_t c = 0; c < kProtoClasses; c++) {
    const bool bitmaps = (f.flags & kFastBitmaps) && f.listCount[c] > kLinearBelow;
    if (!bitmaps || f.words > kMaxDecisionWords) r |= 1u << c;
  }
  return r;
}


// Block-relative index of the first rule of the tier block (packet family)
// that matches, or -1: the AND of the four field rows gives the candidates in
// rule order; a candidate flagged verify gets the full check.
__attribute__((always_inline)) inline const MatchRec* Engine::firstDecided(uint32_t tierBlock, const Pkt& p) const {
  const uint64_t bi = 2 * uint64_t(tierBlock) + (p.family == 6 ? 1 : 0);
  const DFast& f = dfast_[bi];  // one record: lists, tree and bitmap flags
  const uint32_t c = protoClass_[p.proto];
  if (p.strategy == STRATEGY_DECISION && ((f.listOnly >> c) & 1)) {
    // The rules tested are counted once, at the walk's end (not one
    // read-modify-write of p.rulesVisited per rule).
    const MatchRec* m = plistRules_.get() + f.listStart[c];
    const uint32_t n = f.listCount[c];
    for (uint32_t i = 0; i < n; i++) {
      if (matchUncounted(m[i], p)) {
        p.rulesVisited += i + 1;
        return &m[i];
      }
    }
    p.rulesVisited += n;
    return nullptr;
  }
  if (f.words == 0) return nullptr;
  if ((f.flags & kFastTree) && p.strategy == STRATEGY_DECISION) {
    const Tree& t = trees_[bi];
    if (const Rfc* rf = t.rfc.get()) {
      // One RFC lookup (counted as one rule visited when it finds one: the
      // exact box check a leaf scan would end with), then the rules checked
      // apart below its answer.
      uint32_t ans;
      rfcLanes(*rf, 1, &p.srcA, &p.dstA, &p.proto, &p.sport, &p.dport, &ans);
      p.rulesVisited += ans != rf->none;
      const uint32_t r = rf->withApart(ans, [&](uint32_t rule) { return matchRule(mrec_[drules_[f.ruleStart + rule].matchIdx], p); });
      return r != kNone ? &mrec_[drules_[f.ruleStart + r].matchIdx] : nullptr;
    }
    uint32_t best = kNone;
    for (uint32_t g = 0; g < t.nRoots; g++) {
      if (best < t.minRule[g]) continue;  // nothing better under this root
      const TreeNode* nd;
      if (p.hintLeaf && p.hintBlock == tierBlock) {
        nd = p.hintLeaf[g];  // descended already, in lockstep with other tuples
      } else {
        // Branch-free child choice (the descent's branches were its cost). The
        // key is built here only: hinted tuples (most, in batches) never need it.
        const uint32_t key[5] = {p.srcA, p.dstA, p.proto, p.sport, p.dport};
        nd = &t.nodes[t.rootOf(g, p.srcA, p.dstA)];
        for (uint32_t dim; (dim = nd->dim()) != kTreeLeaf;) nd = &t.nodes[nd->step(key[dim] >= nd->w0)];
      }
      auto inexact = [&](uint32_t rule) { return matchRule(mrec_[drules_[f.ruleStart + rule].matchIdx], p); };
      best = t.leaves16 ? leafFirst(t.leaves16.get(), t.boxes.get(), *nd, best, p.srcA, p.dstA, p.proto, p.sport, p.dport, p.protoFlags,
                                    &p.rulesVisited, inexact)
                        : leafFirst(t.leaves.get(), t.boxes.get(), *nd, best, p.srcA, p.dstA, p.proto, p.sport, p.dport, p.protoFlags,
                                    &p.rulesVisited, inexact);
    }
    return best != kNone ? &mrec_[drules_[f.ruleStart + best].matchIdx] : nullptr;
  }
  // The packet's protocol list, walked to its first match — unless the block
  // is one where the bitmaps pay (kFastBitmaps: address-range blocks without a
  // tree) and the list is long; elsewhere their set-up (the rule lists of
  // every set the addresses are in) costs more than the walk.
  const bool bitmaps = p.strategy == STRATEGY_DECISION_BITMAPS || ((f.flags & kFastBitmaps) && f.listCount[c] > kLinearBelow);
  if (!bitmaps || f.words > kMaxDecisionWords) {
    const MatchRec* m = plistRules_.get() + f.listStart[c];
    for (uint32_t i = 0, n = f.listCount[c]; i < n; i++)
      if (matchRule(m[i], p)) return &m[i];
    return nullptr;
  }
  const DBlock& b = dblocks_[bi];
  const uint32_t W = b.words;
  uint64_t srcBits[kMaxDecisionWords], dstBits[kMaxDecisionWords];
  std::memcpy(srcBits, dbits_ + b.srcBase, W * 8);
  std::memcpy(dstBits, dbits_ + b.dstBase, W * 8);
  applySets(srcBits, b.srcSetStart, b.srcSetCount, p.src);
  applySets(dstBits, b.dstSetStart, b.dstSetCount, p.dst);
  const bool ports = p.protoFlags & PROTO_HAS_PORTS;
  const uint32_t pk = uint32_t(p.proto) << 16;
  const uint64_t* sp = portRow(b.sportStart, b.sportCount, pk | (ports ? p.sport : 0));
  const uint64_t* dp = portRow(b.dportStart, b.dportCount, pk | (ports ? p.dport : 0));
  for (uint32_t w = 0; w < W; w++) {
    uint64_t cand = srcBits[w] & dstBits[w] & sp[w] & dp[w];
    while (cand) {
      const uint32_t i = w * 64 + uint32_t(__builtin_ctzll(cand));
      const DRule& r = drules_[b.ruleStart + i];
      if (!r.verify || matchRule(mrec_[r.matchIdx], p)) return &mrec_[r.matchIdx];
      cand &= cand - 1;
    }
  }
  return nullptr;
}

bool Engine::portMember(const AddrClass* c, uint32_t setId, uint8_t proto, uint16_t port) const {
  const uint64_t key = (uint64_t(setId) << 24) | (uint64_t(proto) << 16) | port;
  uint32_t lo = c->portStart, hi = c->portStart + c->portCount;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const PortMember& m = portMembers_[mid];
    const uint64_t k = (uint64_t(m.setId) << 24) | (uint64_t(m.proto) << 16) | m.port;
    if (k == key) return true;
    if (k < key) lo = mid + 1; else hi = mid;
  }
  return false;
}

bool Engine::portListHit(uint32_t listIdx, const AddrClass* c, const Pkt& p, uint16_t port) const {
  if (!(p.protoFlags & PROTO_HAS_PORTS)) return false;  // no port in the packet
  const PortList& l = portLists_[listIdx];
  for (uint32_t i = 0; i < l.rangeCount; i++) {
    const PortRange& r = portRanges_[l.rangeStart + i];
    if (port >= r.first && port <= r.last) return true;
  }
  for (uint32_t i = 0; i < l.namedCount; i++)
    if (portMember(c, namedRefs_[l.namedStart + i], p.proto, port)) return true;
  return false;
}

// The rule test, in two parts: the front (protocol, one address test: of
// several, the one fewest identities pass) is inlined into the walks, and most
// rules are decided there; the tail (the other address tests, service set,
// ports, ICMP) is a call, made only for rules whose
// load-time copy is flagged kNeedTail. The front reads the copy's last 8 bytes
// (reserved words) first, and the protocol fields at its start only when
// kProtoTest says there is a protocol test (never in the single-protocol
// lists), so most front tests touch one line of a 48-byte record, not two.
inline bool Engine::matchRule(const MatchRec& m, const Pkt& p) const {
  p.rulesVisited++;
  return matchUncounted(m, p);
}

__attribute__((always_inline)) inline bool Engine::matchUncounted(const MatchRec& m, const Pkt& p) const {
  const uint32_t x = m.reserved[1];
  if (x & kProtoTest) {
    const uint8_t f = m.flags;
    if ((f & M_PROTO) && p.proto != m.proto) return false;
    if ((f & M_NOT_PROTO) && p.proto == m.notProto) return false;
  }
  if (x & kInlineTest) {  // the first test, copied in at load
    const bool in = inSide(p, x & 0xff, m.reserved[0]);
    if (in == bool((x >> 8) & 1)) return false;
  }
  return !(x & kNeedTail) || matchTail(m, p);
}

bool Engine::matchTail(const MatchRec& m, const Pkt& p) const {
  const uint8_t f = m.flags;
  const uint32_t inl = m.reserved[1] >> kInlineIndexShift;  // tested by the front
  for (uint32_t i = 0; i < m.addrTestCount; i++) {
    if (i == inl) continue;
    const AddrTest& t = addrTests_[m.addrTestStart + i];
    const bool in = inSide(p, t.side, t.setId);
    if (in == bool(t.negate)) return false;
  }
  if (m.dstSvcSet != kNone) {
    if (!(p.protoFlags & PROTO_HAS_PORTS) || !portMember(p.dst, m.dstSvcSet, p.proto, p.dport)) return false;
  }
  if (m.srcPorts != kNone && !portListHit(m.srcPorts, p.src, p, p.sport)) return false;
  if (m.srcNotPorts != kNone && portListHit(m.srcNotPorts, p.src, p, p.sport)) return false;
  if (m.dstPorts != kNone && !portListHit(m.dstPorts, p.dst, p, p.dport)) return false;
  if (m.dstNotPorts != kNone && portListHit(m.dstNotPorts, p.dst, p, p.dport)) return false;
  if (f & (M_ICMP_TYPE | M_NOT_ICMP_TYPE)) {
    const bool icmp = p.protoFlags & PROTO_IS_ICMP;
    if (f & M_ICMP_TYPE) {
      const bool hit = icmp && p.sport == m.icmpType && (!(f & M_ICMP_CODE) || p.dport == m.icmpCode);
      if (!hit) return false;
    }
    if (f & M_NOT_ICMP_TYPE) {
      const bool hit = icmp && p.sport == m.notIcmpType && (!(f & M_NOT_ICMP_CODE) || p.dport == m.notIcmpCode);
      if (hit) return false;
    }
  }
  return true;
}

// The linear walk of one rule range (a tier block's or profile's rules for the
// packet's family): the first matching non-Log rule, or nullptr; matching Log
// rules on the way are reported to the trace sink.
template <bool kEv>
inline const MatchRec* Engine::firstMatch(uint32_t start, uint32_t count, const Pkt& p, EvalOut* ev) const {
  for (uint32_t i = 0; i < count; i++) {
    const MatchRec& m = refRules_[start + i];
    if (!matchRule(m, p)) continue;
    if (m.action != ACTION_LOG) return &m;
    if (kEv) ev->logged(m.ruleId);
  }
  return nullptr;
}

// A tier's outcome once its first matching rule is known (ruleId kNone:
// none): the trace entry, then 1 when the tier decides (ev->allow,
// ev->reason), 0 when the packet passes on to the next tier (a Pass rule, or
// an end of tier that passes). Shared by walkTiers and the fast transit path.
template <bool kEv>
__attribute__((always_inline)) inline int Engine::tierOutcome(uint32_t ruleId, uint8_t action, uint32_t endRule,
                                                             uint32_t endAction, EvalOut* ev) {
  if (ruleId != kNone) {
    ev->entry<kEv>(ruleId);
    if (action == ACTION_PASS) return 0;
    ev->allow = action == ACTION_ALLOW;
    ev->reason = EVAL_RULE;
    return 1;
  }
  ev->entry<kEv>(endRule);
  if (endAction != ACTION_DENY) return 0;
  ev->allow = 0;
  ev->reason = EVAL_END_OF_TIER;
  return 1;
}

// Returns 1 when decided (ev filled), 0 when every tier ended in Pass.
template <bool kEv>
int Engine::walkTiers(const uint32_t* refs, uint32_t refCount, const Pkt& p, EvalOut* ev) const {
  for (uint32_t t = 0; t < refCount; t++) {
    const uint32_t tbi = refs[t];
    const MatchRec* r;
    uint32_t endRule, endAction;
    if (p.strategy != STRATEGY_LINEAR) {
      r = firstDecided(tbi, p);
      // Log rules are not in decision blocks: rescanned only with events on.
      if (kEv && (tierLog_[tbi] & (p.family == 6 ? 2 : 1))) logHits(tbi, r ? r->ruleId : kNone, p, ev);
      const DFast& f = dfast_[2 * uint64_t(tbi) + (p.family == 6 ? 1 : 0)];  // read by firstDecided already
      endRule = f.endRule;
      endAction = f.endAction;
    } else {
      const TierBlock& tb = tierBlocks_[tbi];
      r = p.family == 4 ? firstMatch<kEv>(tb.v4Start, tb.v4Count, p, ev) : firstMatch<kEv>(tb.v6Start, tb.v6Count, p, ev);
      endRule = tb.endRule;
      endAction = tb.endAction;
    }
    if (tierOutcome<kEv>(r ? r->ruleId : kNone, r ? r->action : 0, endRule, endAction, ev)) return 1;
  }
  return 0;
}

template <bool kEv>
void Engine::walkProfiles(uint32_t refStart, uint32_t refCount, const Pkt& p, EvalOut* ev) const {
  for (uint32_t k = 0; k < refCount; k++) {
    const ProfileBlock& pb = profileBlocks_[profileRefs_[refStart + k]];
    if (pb.missingRule != kNone) {
      ev->entry<kEv>(pb.missingRule);
      ev->allow = 0;
      ev->reason = EVAL_MISSING_PROFILE;
      return;
    }
    const MatchRec* m = p.family == 4 ? firstMatch<kEv>(pb.v4Start, pb.v4Count, p, ev) : firstMatch<kEv>(pb.v6Start, pb.v6Count, p, ev);
    if (m) {
      ev->entry<kEv>(m->ruleId);
      ev->allow = m->action == ACTION_ALLOW;  // Pass was compiled as Deny
      ev->reason = EVAL_PROFILE;
      return;
    }
  }
  ev->entry<kEv>(config_->noProfileMatchRule);
  ev->allow = 0;
  ev->reason = EVAL_NO_PROFILE_MATCH;
}

// Events on, decision strategy: the matching Log rules of a tier block (which
// its decision block omits) ahead of the decided rule (kNone: all of them), in
// reference order. Work not counted in rulesVisited (same outputs either way).
void Engine::logHits(uint32_t tbi, uint32_t decided, const Pkt& p, EvalOut* ev) const {
  const TierBlock& tb = tierBlocks_[tbi];
  const uint32_t rs = p.family == 4 ? tb.v4Start : tb.v6Start;
  const uint32_t rc = p.family == 4 ? tb.v4Count : tb.v6Count;
  const uint32_t visited = p.rulesVisited;
  for (uint32_t i = 0; i < rc; i++) {
    const MatchRec& m = refRules_[rs + i];
    if (m.ruleId == decided) break;
    if (m.action == ACTION_LOG && matchRule(m, p)) ev->logged(m.ruleId);
  }
  p.rulesVisited = visited;
}

// A FORWARD_TIERS op (terminal): no tier allows, else the tiers decide or all pass.
template <bool kEv>
inline void Engine::forwardTiers(uint32_t count, const uint32_t* refs, const Pkt& p, EvalOut* ev) const {
  if (count == 0) {
    ev->allow = 1;
    ev->reason = EVAL_NO_FORWARD_POLICY;
    return;
  }
  if (walkTiers<kEv>(refs, count, p, ev)) return;
  ev->allow = 1;
  ev->reason = EVAL_ALL_TIERS_PASSED;
}

template <bool kEv>
__attribute__((always_inline)) inline bool Engine::runOp(uint32_t opcode, uint32_t arg, uint32_t start, uint32_t count,
                                                       const uint32_t* refs, const Pkt& p, const Pkt& pre, EvalOut* ev) const {
  switch (opcode) {
    case OP_FAILSAFE:
      if (p.protoFlags & PROTO_HAS_PORTS) {
        for (uint32_t k = 0; k < nFailsafe_; k++) {
          const Failsafe& f = failsafe_[k];
          if (f.dir == arg && f.proto == p.proto && f.port == p.dport) {
            ev->allow = 1;
            ev->reason = EVAL_FAILSAFE;
            return true;
          }
        }
      }
      return false;
    case OP_TIERS: {
      const bool preDnat = arg == TIERS_PREDNAT;
      // A pre-DNAT allow only ends that phase.
      return walkTiers<kEv>(refs, count, preDnat ? pre : p, ev) && !(preDnat && ev->allow);
    }
    case OP_FORWARD_TIERS:
      forwardTiers<kEv>(count, refs, p, ev);
      return true;
    case OP_PROFILES:
      walkProfiles<kEv>(start, count, p, ev);
      return true;
  }
  return false;
}

// Always inlined into evaluate's `run` (a call per evaluation costs more than most programs' ops).
template <bool kEv>
__attribute__((always_inline)) inline void Engine::runProgram(uint32_t prog, const Pkt& p, const Pkt& pre, EvalOut* ev) const {
  ev->last = kNone;
  if (!kEv && pmOf_ && p.family == 4 && p.strategy == STRATEGY_DECISION) {
    const uint32_t pi = pmOf_[prog];
    if (pi != kNone) return pmRun(pmProgs_[pi], p, ev);
  }
  walkOps<kEv>(prog, 0, 0, p, pre, ev);
}

// A program's ops from op `op`'s tier `tier` on (runProgram: from the start;
// walkFrom: where a cut program's masks end).
template <bool kEv>
__attribute__((always_inline)) inline void Engine::walkOps(uint32_t prog, uint32_t op, uint32_t tier, const Pkt& p, const Pkt& pre,
                                                           EvalOut* ev) const {
  const FlatProg* fp = flat_ ? &flat_[prog] : nullptr;
  if (fp && fp->nOps != kNotFlat) {
    for (uint32_t i = op; i < fp->nOps; i++) {
      const FlatOp& o = fp->ops[i];
      const uint32_t* refs = fp->refsAt[i] != kRefsOut ? fp->refs + fp->refsAt[i] : tierRefsOf(o.opcode, o.start);
      const uint32_t skip = i == op ? tier : 0;
      if (runOp<kEv>(o.opcode, o.arg, o.start + skip, o.count - skip, refs + skip, p, pre, ev)) return;
    }
  } else {
    const Program& pr = programs_[prog];
    for (uint32_t i = op; i < pr.opCount; i++) {
      const Op& o = ops_[pr.opStart + i];
      const uint32_t skip = i == op ? tier : 0;
      if (runOp<kEv>(o.opcode, o.arg, o.start + skip, o.count - skip, tierRefsOf(o.opcode, o.start) + skip, p, pre, ev)) return;
    }
  }
  // Unreachable for verified images (every program ends in a terminal op).
  ev->allow = 0;
  ev->reason = EVAL_NONE;
}

__attribute__((always_inline)) inline void Engine::pmSetup(const PmProg& t, uint32_t srcIdentity, uint32_t dstIdentity, uint8_t proto,
                                                          uint8_t protoFlags, uint16_t sport, uint16_t dport, PmCur* c) const {
  const uint32_t W = t.words;
  const uint64_t* B = pmBits_.get();
  const uint32_t cs = t.map[SIDE_SRC] == kNone ? 0 : pmMaps_[t.map[SIDE_SRC] + srcIdentity];
  const uint32_t cd = t.map[SIDE_DST] == kNone ? 0 : pmMaps_[t.map[SIDE_DST] + dstIdentity];
  const bool ports = protoFlags & PROTO_HAS_PORTS;
  const uint32_t dc = ports ? pmPortClass(0, dport) : pmNoPort_[0];
  const uint32_t sc = ports ? pmPortClass(1, sport) : pmNoPort_[1];
  c->t = &t;
  c->m[0] = B + t.sideBits[SIDE_SRC] + uint64_t(cs) * W;
  c->m[1] = B + t.sideBits[SIDE_DST] + uint64_t(cd) * W;
  c->m[2] = B + t.protoBits + uint64_t(pmIdx8_[t.protoIdx + proto]) * W;
  c->m[3] = B + t.dportBits + uint64_t(pmIdx_[t.dportIdx + dc]) * W;
  c->m[4] = B + t.sportBits + uint64_t(pmIdx_[t.sportIdx + sc]) * W;
}

// Program masks (see PmProg, engine.h): the first position set in the AND of
// the packet's masks decides, or (a Pass rule, an end of tier that passes)
// the search goes on from the next tier's first position. The last position
// is always set (a terminal outcome or the fall-through).
template <size_t N, typename Verify>
__attribute__((always_inline)) inline uint32_t Engine::pmFirst(const uint64_t* const* m, uint32_t W, const PmPos* P,
                                                               const MatchRec* const* V, Verify verify, EvalOut* ev) const {
  auto word = [&](uint32_t w) __attribute__((always_inline)) {
    uint64_t x = m[0][w];
    for (size_t j = 1; j < N; j++) x &= m[j][w];
    return x;
  };
  uint32_t visited = 0, from = 0;
  for (;;) {
    uint32_t w = from >> 6;
    if (w >= W) break;  // not reached: the last position is always set
    uint64_t x = word(w) & (~uint64_t(0) << (from & 63));
    while (!x) {
      if (++w >= W) break;
      x = word(w);
    }
    if (!x) break;
    const uint32_t i = w * 64 + uint32_t(__builtin_ctzll(x));
    const PmPos& q = P[i];
    visited += q.counted;
    if (q.decides) {
      ev->last = q.ruleId;
      ev->allow = q.allow;
      ev->reason = q.reason;
      return visited;
    }
    from = i + 1;
    if (q.verify && !verify(*V[i])) continue;
    if (q.kind == PM_PASS) {
      ev->last = q.ruleId;
      from = q.next;
      continue;
    }
    if (q.kind == PM_WALK) return kPmWalkFlag | q.ruleId;
    if (q.kind == PM_DECIDE) ev->last = q.ruleId;
    ev->allow = q.allow;
    ev->reason = q.reason;
    return visited;
  }
  ev->allow = 0;
  ev->reason = EVAL_NONE;
  return visited;
}

// A program by its masks (see PmProg, engine.h): the failsafe op first where
// it has one, then its masks.
void Engine::pmRun(const PmProg& t, const Pkt& p, EvalOut* ev) const {
  if (t.failsafe != kNone && runOp<false>(OP_FAILSAFE, t.failsafe, 0, 0, nullptr, p, p, ev)) return;
  PmCur c;
  pmSetup(t, p.src->identity, p.dst->identity, p.proto, p.protoFlags, p.sport, p.dport, &c);
  const uint32_t n = pmFirst<5>(c.m, t.words, pmPos_.get() + t.pos, pmVerify_.get() + t.pos, [&](const MatchRec& m) { return matchUncounted(m, p); }, ev);
  if (n & kPmWalkFlag) return walkFrom(t.prog, n, p, ev);
  p.rulesVisited += n;
}

// A cut program's walk from where pmFirst stopped (at: kPmWalkFlag | op << 16
// | tier; programs with masks have neither pre-DNAT nor forward tiers, and a
// profiles op is walked whole, tier 0).
__attribute__((noinline)) void Engine::walkFrom(uint32_t prog, uint32_t at, const Pkt& p, EvalOut* ev) const {
  walkOps<false>(prog, (at & ~kPmWalkFlag) >> 16, at & 0xffff, p, p, ev);
}

// The NAT frontend hash of a tuple's destination (natKeyHash over the padded key).
// (Explicit copies: a memcpy of a run-time length was a library-style copy.)
inline uint64_t Engine::natHashOf(int family, const uint32_t* dstIn, uint8_t proto, uint16_t dportIn) const {
  uint32_t key[4] = {dstIn[0], 0, 0, 0};
  if (family != 4) key[1] = dstIn[1], key[2] = dstIn[2], key[3] = dstIn[3];
  return natKeyHash(uint8_t(family), key, proto, dportIn);
}

// prepare's natHash argument: the hash where prepare probes every tuple.
inline uint64_t Engine::prepHash(int family, const uint32_t* dstIn, uint8_t proto, uint16_t dportIn) const {
  return natHash_ && !(family == 4 && natClass_) ? natHashOf(family, dstIn, proto, dportIn) : 0;
}

// natHash: natHashOf(...) when there are NAT frontends (else unused), computed
// once per tuple by the caller (the batch loop needs it early, for a prefetch).
// Inlined into its two callers (the call and its nine arguments cost ~30
// instructions per tuple).
__attribute__((always_inline)) inline void Engine::prepare(int family, const uint32_t* src, const uint32_t* dstIn,
                                                          uint8_t proto, uint16_t sport, uint16_t dportIn, uint64_t natHash,
                                                          Prep* pp) const {
  const uint8_t pf = protoFlags_[proto];
  Pkt& p = pp->p;
  p.family = uint8_t(family);
  p.proto = proto;
  p.protoFlags = pf;
  p.sport = sport;
  p.dport = dportIn;
  p.hintBlock = kNone;
  pp->src = src;
  pp->dst = pp->dstIn = dstIn;
  pp->dportIn = dportIn;
  pp->natted = 0;
  pp->noBackend = 0;
  pp->natBackend = kNone;
  // 1. Service NAT: exact frontend (hash), else on a node address the NodePort
  //    table; backend by tuple hash. preDstClass: the pre-NAT destination's
  //    class when the NodePort step looked it up (reused below).
  const AddrClass* preDstClass = nullptr;
  if ((pf & PROTO_HAS_PORTS) && (nFrontends_ > 0 || nNodePorts_ > 0)) {
    uint32_t key[4] = {dstIn[0], 0, 0, 0};
    if (family != 4) key[1] = dstIn[1], key[2] = dstIn[2], key[3] = dstIn[3];
    const NatFrontend* fe = nullptr;
    if (nFrontends_ > 0) {
      if (family == 4 && natClass_) {
        // Probed only when the destination's class holds a frontend address
        // (natHash is then not computed by the caller: 0).
        preDstClass = lookup(family, dstIn);
        if (natClass_[preDstClass - classes_]) fe = natLookup(natHashOf(family, dstIn, proto, dportIn), family, key, proto, dportIn);
      } else {
        fe = natLookup(natHash, family, key, proto, dportIn);
      }
    }
    uint32_t backendStart = 0, backendCount = 0;
    bool hit = fe != nullptr;
    if (fe) {
      backendStart = fe->backendStart;
      backendCount = fe->backendCount;
    } else if (nNodePorts_ > 0) {
      if (!preDstClass) preDstClass = lookup(family, dstIn);
      const NatNodePort* np = preDstClass->hostNode != kNone ? nodePortLookup(family, proto, dportIn) : nullptr;
      if (np) {
        hit = true;
        backendStart = np->backendStart;
        backendCount = np->backendCount;
      }
    }
    if (hit) {
      if (backendCount == 0) {
        pp->noBackend = 1;
        return;
      }
      const uint32_t b = backendStart + tupleHash(family, src, dstIn, proto, sport, dportIn) % backendCount;
      pp->natBackend = b;
      pp->dst = backends_[b].addr;
      p.dport = backends_[b].port;
      pp->natted = 1;
    }
  }
  // 2. Address classes.
  p.src = lookup(family, src);
  if (pp->natted) {
    p.dst = lookup(family, pp->dst);
    pp->preD = preDstClass ? preDstClass : lookup(family, dstIn);
  } else {
    p.dst = pp->preD = preDstClass ? preDstClass : lookup(family, dstIn);
  }
  p.srcA = family == 4 ? src[0] : 0;
  p.dstA = family == 4 ? pp->dst[0] : 0;
  p.rows[SIDE_SRC] = rowOf(p.src);
  p.rows[SIDE_DST] = rowOf(p.dst);
}

// What evaluation reads first: the start of the classes' identity rows and
// the endpoints' programs. (Prefetching whole rows — up to 16 lines each —
// cost ~60 instructions per tuple and measured no faster at 1k-100k rules:
// the set tests are independent loads that overlap anyway.)
void Engine::prefetchFor(const Prep& pp) const {
  if (pp.noBackend) return;
  if (identDense_) {
    __builtin_prefetch(pp.p.rows[SIDE_SRC]);
    __builtin_prefetch(pp.p.rows[SIDE_DST]);
  }
  if (pmOf_ && pp.p.family == 4) {
    // Program masks: the side classes (identity-indexed: the random loads).
    for (uint32_t prog : {pp.p.src->egressProg, pp.p.dst->ingressProg}) {
      const uint32_t pi = prog != kNone ? pmOf_[prog] : kNone;
      if (pi == kNone) continue;
      const PmProg& t = pmProgs_[pi];
      if (t.map[SIDE_SRC] != kNone) __builtin_prefetch(&pmMaps_[t.map[SIDE_SRC] + pp.p.src->identity]);
      if (t.map[SIDE_DST] != kNone) __builtin_prefetch(&pmMaps_[t.map[SIDE_DST] + pp.p.dst->identity]);
    }
  }
  if (flat_) {
    if (pp.p.src->egressProg != kNone) __builtin_prefetch(&flat_[pp.p.src->egressProg]);
    if (pp.p.dst->ingressProg != kNone) __builtin_prefetch(&flat_[pp.p.dst->ingressProg]);
  } else {
    if (pp.p.src->egressProg != kNone) __builtin_prefetch(&programs_[pp.p.src->egressProg]);
    if (pp.p.dst->ingressProg != kNone) __builtin_prefetch(&programs_[pp.p.dst->ingressProg]);
  }
}

void Engine::classify(int family, const uint32_t* src, const uint32_t* dstIn, uint8_t proto, uint16_t sport,
                      uint16_t dportIn, Result* out, int strategy, uint32_t* events, uint32_t eventCap,
                      uint8_t* eventCount) const {
  if (fastTransit_ && family == 4 && strategy == STRATEGY_DECISION && !events) {
    // The fast transit path as a batch of one (same outputs as below).
    const Batch b{1, src, dstIn, &sport, &dportIn, &proto};
    const BatchOut o{&out->verdict, &out->reason, &out->egressRule, &out->ingressRule, &out->decidingRule,
                     &out->evalReasons, &out->natBackend, &out->rulesVisited, nullptr, nullptr, 0};
    return classifyFastTransit(b, o);
  }
  Prep pp;
  prepare(family, src, dstIn, proto, sport, dportIn, prepHash(family, dstIn, proto, dportIn), &pp);
  if (!events) return evaluate<false>(family, pp, out, strategy, nullptr);
  EventSink sink{events, eventCap < kMaxEventStride ? eventCap : kMaxEventStride, 0};
  evaluate<true>(family, pp, out, strategy, &sink);
  *eventCount = traceIds_ ? sink.count() : kEventOverflow;
}

// Inlined into its callers (the batch loop and classify; a call per tuple
// cost ~25 instructions).
template <bool kEv>
__attribute__((always_inline)) inline void Engine::evaluate(int family, Prep& pp, Result* out, int strategy,
                                                            EventSink* sink) const {
  out->verdict = 1;
  out->reason = FLOW_POLICY;
  out->egressRule = out->ingressRule = out->decidingRule = kNone;
  out->evalReasons = 0;
  out->natBackend = pp.natBackend;
  out->rulesVisited = 0;
  if (pp.noBackend) {
    out->verdict = 0;
    out->reason = FLOW_NO_BACKEND;
    return;
  }
  // The packet as evaluated (after NAT), built by prepare.
  Pkt& p = pp.p;
  p.rulesVisited = 0;
  p.strategy = strategy;
  p.hintLeaf = pp.hintLeaf;
  // The packet as sent (pre-DNAT tiers): a copy only when NAT changed it.
  Pkt preStore;
  const Pkt* prePtr = &p;
  if (pp.natted) {
    preStore = p;
    preStore.hintLeaf = nullptr;
    preStore.dst = pp.preD;
    preStore.rows[SIDE_DST] = rowOf(pp.preD);
    preStore.dport = pp.dportIn;
    preStore.dstA = family == 4 ? pp.dstIn[0] : 0;
    prePtr = &preStore;
  }
  const Pkt& pre = *prePtr;
  if (!kEv && transitOnly_) {
    // Every tuple of this image takes the transit path (buildTransitPath):
    // the two forward programs, each one FORWARD_TIERS op; a deny ends it.
    EvalOut ev{0, EVAL_NONE, kNone, sink};
    forwardTiers<kEv>(transitOps_[0].count, tierRefs_ + transitOps_[0].start, p, &ev);
    if (ev.allow) {
      ev.last = kNone;  // the deciding rule is the last evaluation's own (as runProgram starts each)
      forwardTiers<kEv>(transitOps_[1].count, tierRefs_ + transitOps_[1].start, p, &ev);
    }
    out->verdict = ev.allow;
    out->decidingRule = ev.last;
    out->evalReasons = uint32_t(ev.reason) << 16;
    out->rulesVisited = p.rulesVisited;
    return;
  }
  const AddrClass* s = p.src;
  const AddrClass* d = p.dst;
  // Bitwise, not &&: no branches of their own (only the path's tests below).
  const bool srcPoliced = s->flags & CLASS_POLICED, dstPoliced = d->flags & CLASS_POLICED;
  const bool srcWep = (s->epKind == EP_WEP) & srcPoliced, dstWep = (d->epKind == EP_WEP) & dstPoliced;
  const bool srcHep = (s->epKind == EP_HEP) & srcPoliced, dstHep = (d->epKind == EP_HEP) & dstPoliced;
  const uint32_t srcHost = s->hostNode, dstHost = d->hostNode;

  // 3. Evaluations in path order; the first deny decides, else the last one.
  // Every deny ends the path (each run below that denies is followed by
  // finish), so the deciding evaluation is always the last one run: `last`
  // (the evaluation under way, then the last) is all that is kept besides the
  // egress and ingress rules and reasons, written as they come.
  EvalOut last{0, EVAL_NONE, kNone, sink};
  uint32_t n = 0, reasons = 0;  // evaluations run; evalReasons bytes 0 (egress) and 1 (ingress)
  auto run = [&](uint32_t prog, uint32_t slot) -> bool {
    last.allow = 0;
    last.reason = EVAL_NONE;
    runProgram<kEv>(prog, p, pre, &last);
    if (kEv) sink->put((EV_EVAL << kEventKindShift) | slot | (uint32_t(last.reason) << 8) | (uint32_t(last.allow) << 16));
    n++;
    return last.allow;
  };
  auto egress = [&](uint32_t prog) -> bool {
    const bool allow = run(prog, SLOT_SRC);
    out->egressRule = last.last;
    reasons |= last.reason;
    return allow;
  };
  auto ingress = [&](uint32_t prog) {
    run(prog, SLOT_DST);
    out->ingressRule = last.last;
    reasons |= uint32_t(last.reason) << 8;
  };
  auto finish = [&](int verdictOverride) {
    out->verdict = verdictOverride >= 0 ? uint8_t(verdictOverride) : uint8_t(n > 0 && !last.allow ? 0 : 1);
    if (n > 0) out->decidingRule = last.last;
    out->evalReasons = reasons | (uint32_t(n > 0 ? last.reason : 0) << 16);
    out->rulesVisited = p.rulesVisited;
  };

  // Host -> workload on the same host is never policed.
  if (srcHost != kNone && d->epKind == EP_WEP && d->epNode == srcHost && !srcWep) {
    out->reason = FLOW_HOST_TO_LOCAL_WORKLOAD;
    finish(1);
    return;
  }
  if (srcWep) {
    if (!egress(s->egressProg)) return finish(-1);
    if (dstHost != kNone && dstHost == s->epNode) {
      const uint8_t a = config_->endpointToHostAction;
      if (a == E2H_DROP) {
        out->reason = FLOW_ENDPOINT_TO_HOST_DROP;
        return finish(0);
      }
      if (a == E2H_ACCEPT) {
        out->reason = FLOW_ENDPOINT_TO_HOST_ACCEPT;
        return finish(1);
      }
      if (dstHep) ingress(d->ingressProg);
      return finish(-1);
    }
    const uint32_t fwd = s->epNode != kNone ? nodes_[s->epNode].fwdEgressProg : kNone;
    if (fwd != kNone && !(d->epKind == EP_WEP && d->epNode == s->epNode) && dstHost != s->epNode) {
      if (!run(fwd, SLOT_FWD_EGRESS)) return finish(-1);
    }
  } else if (srcHep && srcHost != kNone) {
    if (!egress(s->egressProg)) return finish(-1);
  }

  if (dstWep) {
    const bool sameNode = (s->epKind == EP_WEP && s->epNode == d->epNode) || (srcHost != kNone && srcHost == d->epNode);
    const uint32_t fwd = d->epNode != kNone ? nodes_[d->epNode].fwdIngressProg : kNone;
    if (fwd != kNone && !sameNode) {
      if (!run(fwd, SLOT_FWD_INGRESS)) return finish(-1);
    }
    ingress(d->ingressProg);
  } else if (dstHep && dstHost != kNone) {
    ingress(d->ingressProg);
  } else if (!srcWep && !srcHep && srcHost == kNone && dstHost == kNone) {
    if (config_->transitIngressProg != kNone) {
      if (run(config_->transitIngressProg, SLOT_TRANSIT_INGRESS)) run(config_->transitEgressProg, SLOT_TRANSIT_EGRESS);
    }
  }
  if (n == 0) out->reason = FLOW_NOT_POLICED;
  finish(-1);
}

// The first tier block with a tree that evaluate() will consult for this
// tuple, following its opening moves (source endpoint's egress, else the
// destination's ingress, else the transit programs); kNone when unsure. Only a
// hint (see Prep): a wrong guess costs one wasted descent, never a result.
uint32_t Engine::predictTreeBlock(const Prep& pp) const {
  if (pp.noBackend) return kNone;
  if (transitOnly_) return transitHint_;
  const AddrClass* s = pp.p.src;
  const AddrClass* d = pp.p.dst;
  const bool srcPoliced = (s->epKind == EP_WEP || s->epKind == EP_HEP) && (s->flags & CLASS_POLICED);
  const bool dstPoliced = (d->epKind == EP_WEP || d->epKind == EP_HEP) && (d->flags & CLASS_POLICED);
  uint32_t progs[2] = {kNone, kNone};
  if (srcPoliced) progs[0] = s->egressProg;
  else if (dstPoliced) progs[0] = d->ingressProg;
  else if (s->hostNode == kNone && d->hostNode == kNone) {
    progs[0] = config_->transitIngressProg;
    progs[1] = config_->transitEgressProg;
  }
  for (uint32_t prog : progs) {
    if (prog == kNone) continue;
    const uint32_t f = firstTree_[prog];
    if (f != kTryNext) return f;
  }
  return kNone;
}

// Per program (derived at load, with the trees): the tier block with a
// tree its first tier walk starts with, kNone, or kTryNext when
// the program decides without any tier (so the next program runs first).
void Engine::buildFirstTrees() {
  if (!trees_) return;
  firstTree_.reset(new (std::nothrow) uint32_t[size_t(nPrograms_) + 1]);
  if (!firstTree_) return;
  for (uint32_t prog = 0; prog < nPrograms_; prog++) {
    const Program& pr = programs_[prog];
    uint32_t f = kNone;
    for (uint32_t i = 0; i < pr.opCount; i++) {
      const Op& o = ops_[pr.opStart + i];
      if ((o.opcode == OP_TIERS && o.arg != TIERS_PREDNAT) || o.opcode == OP_FORWARD_TIERS) {
        if (o.count == 0) {
          f = o.opcode == OP_FORWARD_TIERS ? kTryNext : kNone;
          break;
        }
        const uint32_t tbi = tierRefs_[o.start];
        const Tree& t = trees_[2 * uint64_t(tbi)];
        f = t.nodes && !t.rfc ? tbi : kNone;  // RFC blocks need no descent
        break;
      }
      if (o.opcode == OP_TIERS || o.opcode == OP_PROFILES) break;  // pre-DNAT tiers or profiles first: not predicted
    }
    firstTree_[prog] = f;
    if (f != kNone && f != kTryNext) anyFirstTree_ = true;
  }
}

// Derived at load: whether every address class is neither a policed endpoint
// nor a host address and both transit programs are a single FORWARD_TIERS op
// (ClassBench-shaped images: one wildcard host endpoint, transit traffic
// only). Then every tuple's path is the two transit evaluations, which
// evaluate() runs directly, and the tree hint is the same for every tuple.
void Engine::buildTransitPath() {
  transitOnly_ = false;
  const uint32_t progs[2] = {config_->transitIngressProg, config_->transitEgressProg};
  for (int i = 0; i < 2; i++) {
    if (progs[i] >= nPrograms_) return;
    const Program& pr = programs_[progs[i]];
    if (pr.opCount != 1 || ops_[pr.opStart].opcode != OP_FORWARD_TIERS) return;
    transitOps_[i] = ops_[pr.opStart];
  }
  for (uint32_t c = 0; c < nClasses_; c++) {
    const AddrClass& a = classes_[c];
    if (a.hostNode != kNone || ((a.epKind == EP_WEP || a.epKind == EP_HEP) && (a.flags & CLASS_POLICED))) return;
  }
  transitHint_ = kNone;
  if (firstTree_) {
    for (uint32_t prog : progs) {
      const uint32_t f = firstTree_[prog];
      if (f != kTryNext) {
        transitHint_ = f;
        break;
      }
    }
  }
  transitOnly_ = true;
}

// See FlatProg (engine.h). Best effort: without memory, no flat programs.
void Engine::buildFlatPrograms() {
  if (const char* env = std::getenv("NV_FLAT_PROGRAMS")) {
    if (env[0] == '0' && env[1] == 0) return;
  }
  // NV_FLAT_REFS=N: at most N inline tier references per program (tests: the
  // mixed case of inline ops with their references left in TIER_REFS).
  uint32_t maxRefs = kFlatRefs;
  if (const char* env = std::getenv("NV_FLAT_REFS")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && v < kFlatRefs) maxRefs = uint32_t(v);
  }
  if (nPrograms_ == 0) return;
  flat_ = bigArray<FlatProg>(nPrograms_);
  if (!flat_) return;
  for (uint32_t prog = 0; prog < nPrograms_; prog++) {
    FlatProg& fp = flat_[prog];
    std::memset(&fp, 0, sizeof fp);
    const Program& pr = programs_[prog];
    bool fits = pr.opCount <= kFlatOps;
    uint32_t used = 0;
    for (uint32_t i = 0; fits && i < pr.opCount; i++) {
      const Op& o = ops_[pr.opStart + i];
      if (o.opcode > 0xff || o.arg > 0xff || o.count > 0xffff) {
        fits = false;
        break;
      }
      fp.ops[i] = FlatOp{uint8_t(o.opcode), uint8_t(o.arg), uint16_t(o.count), o.start};
      fp.refsAt[i] = kRefsOut;
      if ((o.opcode == OP_TIERS || o.opcode == OP_FORWARD_TIERS) && used + o.count <= maxRefs) {
        fp.refsAt[i] = uint8_t(used);
        for (uint32_t k = 0; k < o.count; k++) fp.refs[used++] = tierRefs_[o.start + k];
      }
    }
    fp.nOps = fits ? uint8_t(pr.opCount) : kNotFlat;
  }
}

// See FastStage (engine.h). Conditions checked once here; anything else
// keeps the general path.
void Engine::buildFastTransit() {
  fastTransit_ = false;
  if (!transitOnly_ || !trees_ || nFrontends_ > 0 || nNodePorts_ > 0) return;
  if (const char* env = std::getenv("NV_FAST_TRANSIT")) {
    if (env[0] == '0' && env[1] == 0) return;
  }
  for (int i = 0; i < 2; i++) {
    const Op& o = transitOps_[i];
    FastStage st;
    if (o.count > 1) return;
    if (o.count == 1) {
      const uint32_t tbi = tierRefs_[o.start];
      const uint64_t bi = 2 * uint64_t(tbi);
      const Tree& t = trees_[bi];
      if (!t.rfc && (!t.nodes || t.nRoots == 0 || t.nRoots > 4)) return;
      st.tree = &t;
      st.block = &dfast_[bi];
      st.rules = dblocks_[bi].ruleCount;
    }
    fastStage_[i] = st;
  }
  // Per stage with a tier, its outcome per first matching rule (engine.h,
  // FastOutcome); without the memory, no fast path.
  bool anyTier = false, allRfc = true;
  for (int i = 0; i < 2; i++) {
    const FastStage& st = fastStage_[i];
    if (!st.tree) continue;
    anyTier = true;
    const Rfc* rf = st.tree->rfc.get();
    if (!rf || rf->nInexact > 0) allRfc = false;
    const uint32_t n = st.rules;
    fastOut_[i] = bigArray<FastOutcome>(size_t(n) + 1);
    if (!fastOut_[i]) return;
    for (uint32_t r = 0; r <= n; r++) {
      // What a stage makes of first matching rule r (n: none) for a live lane.
      EvalOut ev{1, EVAL_NONE, kNone, nullptr};
      const DRule* dr = r < n ? &drules_[st.block->ruleStart + r] : nullptr;
      if (!tierOutcome<false>(dr ? dr->ruleId : kNone, dr ? dr->action : 0, st.block->endRule, st.block->endAction, &ev)) {
        ev.allow = 1;
        ev.reason = EVAL_ALL_TIERS_PASSED;
      }
      fastOut_[i][r] = FastOutcome{ev.last, ev.allow, ev.reason, uint8_t(r < n ? 1 : 0), 0};
    }
  }
  fastTransit_ = true;
  // The RFC form: every stage no tier or RFC tables with no rule apart.
  fastRfc_ = anyTier && allRfc;
}

// One stage's RFC answers for m <= 128 lanes (classifyFastRfc's chunk; 128 measured
// 5-10 % faster than 32): each phase over every lane before the next, so the
// lanes' loads are independent and their misses overlap.
__attribute__((always_inline)) inline void Engine::rfcLanes(const Rfc& rf, size_t m, const uint32_t* src, const uint32_t* dst,
                                                    const uint8_t* proto, const uint16_t* sport, const uint16_t* dport,
                                                    uint32_t* out) {
  constexpr size_t kMax = 128;
  const uint16_t *c0 = rf.chunk[0].get(), *c1 = rf.chunk[1].get(), *c2 = rf.chunk[2].get(), *c3 = rf.chunk[3].get();
  const uint16_t *c4 = rf.chunk[4].get(), *c5 = rf.chunk[5].get(), *c6 = rf.chunk[6].get();
  const uint16_t *S = rf.s.get(), *D = rf.d.get(), *PP = rf.pp.get(), *Q = rf.q.get(), *X = rf.x.get(), *F = rf.f.get();
  const uint32_t nSl = rf.nSl, nDl = rf.nDl, nDp = rf.nDp, nPr = rf.nPr, nX2 = rf.nX2, nY = rf.nY;
  uint32_t u[3][kMax];
  for (size_t k = 0; k < m; k++) {
    u[0][k] = S[uint32_t(c0[src[k] >> 16]) * nSl + c1[src[k] & 0xffff]];
    u[1][k] = D[uint32_t(c2[dst[k] >> 16]) * nDl + c3[dst[k] & 0xffff]];
    u[2][k] = PP[uint32_t(c4[sport[k]]) * nDp + c5[dport[k]]];
  }
  for (size_t k = 0; k < m; k++) u[2][k] = Q[u[2][k] * nPr + c6[proto[k]]];
  const uint32_t *a = u[rf.x1], *b = u[rf.x2], *c = u[rf.y];
  for (size_t k = 0; k < m; k++) out[k] = F[uint32_t(X[a[k] * nX2 + b[k]]) * nY + c[k]];
}

void Engine::classifyFastRfc(const Batch& in, const BatchOut& out) const {
  constexpr size_t kLanes = 128;
  const FastOutcome noTier{kNone, 1, EVAL_NO_FORWARD_POLICY, 0, 0};
  const FastOutcome* o0 = fastOut_[0].get();
  const FastOutcome* o1 = fastOut_[1].get();
  uint32_t r[2][kLanes];
  for (size_t from = 0; from < in.n; from += kLanes) {
    const size_t m = in.n - from < kLanes ? in.n - from : kLanes;
    for (int s = 0; s < 2; s++) {
      if (fastStage_[s].tree)
        rfcLanes(*fastStage_[s].tree->rfc, m, in.src + from, in.dst + from, in.proto + from, in.sport + from, in.dport + from, r[s]);
    }
    // Per lane the result (the second stage runs for tuples the first
    // allowed; its outcome is then the result), then the output columns one
    // by one (constant columns are fills).
    uint32_t last[kLanes], er[kLanes], vis[kLanes];
    uint8_t allow[kLanes];
    for (size_t k = 0; k < m; k++) {
      const FastOutcome a = o0 ? o0[r[0][k]] : noTier;
      const FastOutcome b = o1 ? o1[r[1][k]] : noTier;
      const FastOutcome& o = a.allow ? b : a;
      allow[k] = o.allow;
      last[k] = o.last;
      er[k] = uint32_t(o.reason) << 16;
      vis[k] = a.visited + (a.allow ? b.visited : 0u);
    }
    writeFastColumns(out, from, m, allow, last, er, vis);
  }
}

void Engine::writeFastColumns(const BatchOut& out, size_t from, size_t m, const uint8_t* allow, const uint32_t* last,
                              const uint32_t* evalReasons, const uint32_t* visited) {
  std::memcpy(out.verdict + from, allow, m);
  if (out.reason) std::memset(out.reason + from, FLOW_POLICY, m);
  if (out.decidingRule) std::memcpy(out.decidingRule + from, last, 4 * m);
  if (out.evalReasons) std::memcpy(out.evalReasons + from, evalReasons, 4 * m);
  if (out.rulesVisited) std::memcpy(out.rulesVisited + from, visited, 4 * m);
  for (uint32_t* col : {out.egressRule, out.ingressRule, out.natBackend})
    if (col) std::fill(col + from, col + from + m, kNone);
}

// The transit evaluations of evaluate()'s transitOnly_ branch, for chunks of
// kLanes tuples: per stage (forward tiers of the transit ingress, then egress
// program, the second only for tuples the first allowed) a lockstep descent of
// every live lane (one tree level per round, so the lanes' node loads overlap),
// then each lane's leaf scanned in rule order to its first box hit — what
// firstDecided and walkTiers decide for a one-block tier walk.
void Engine::classifyFastTransit(const Batch& in, const BatchOut& out) const {
  if (fastRfc_) return classifyFastRfc(in, out);
  constexpr size_t kLanes = kFastLanes;
  // Chunks of 64 lanes for the SIMD stages, 32 for the scalar ones
  // (measured: ipc1 10K 5 % faster scalar at 32, the AVX-512 stages 5 % at 64).
  const size_t lanes = simd_ ? kLanes : kLanes / 2;
  for (size_t from = 0; from < in.n; from += lanes) {
    const size_t m = in.n - from < lanes ? in.n - from : lanes;
    const uint32_t* src = in.src + from;
    const uint32_t* dst = in.dst + from;
    const uint16_t* sport = in.sport + from;
    const uint16_t* dport = in.dport + from;
    const uint8_t* proto = in.proto + from;
    // Per lane, the evaluation under way (allow: still evaluating, as stage 0
    // runs for every tuple and stage 1 for those stage 0 allowed).
    uint8_t allow[kLanes], reason[kLanes];
    uint32_t last[kLanes], visited[kLanes], best[kLanes];
    std::memset(allow, 1, m);
    std::memset(reason, EVAL_NONE, m);
    std::fill(last, last + m, kNone);
    std::memset(visited, 0, 4 * m);
    uint64_t noPorts = 0;  // lanes whose protocol has no ports
    for (size_t k = 0; k < m; k++) noPorts |= uint64_t(!(protoFlags_[proto[k]] & PROTO_HAS_PORTS)) << k;
    for (int s = 0; s < 2; s++) {
      const FastStage& st = fastStage_[s];
      uint64_t live = 0;  // lanes still evaluating
      for (size_t k = 0; k < m; k++) live |= uint64_t(allow[k]) << k;
      // A live lane's evaluation starts its own trace (as runProgram does).
      if (!st.tree) {
        for (size_t k = 0; k < m; k++) {
          if (!((live >> k) & 1)) continue;
          last[k] = kNone;
          reason[k] = EVAL_NO_FORWARD_POLICY;  // forwardTiers without tiers
        }
        continue;
      }
      const Tree& t = *st.tree;
      // Lane k's packet with its address classes, for the rules that are not
      // exact boxes (matchRule), built on their first check.
      Pkt pk[kLanes];
      uint64_t classes = 0;  // lanes whose pk is built
      auto inexact = [&](size_t k, uint32_t rule) {
        Pkt& q = pk[k];
        if (!((classes >> k) & 1)) {
          q.src = lookup(4, &src[k]);
          q.dst = lookup(4, &dst[k]);
          q.rows[SIDE_SRC] = rowOf(q.src);
          q.rows[SIDE_DST] = rowOf(q.dst);
          q.family = 4;
          q.proto = proto[k];
          q.protoFlags = protoFlags_[proto[k]];
          q.sport = sport[k];
          q.dport = dport[k];
          q.strategy = STRATEGY_DECISION;
          q.srcA = src[k];
          q.dstA = dst[k];
          q.hintBlock = kNone;
          q.hintLeaf = nullptr;
          classes |= uint64_t(1) << k;
        }
        q.rulesVisited = 0;
        const bool hit = matchRule(mrec_[drules_[st.block->ruleStart + rule].matchIdx], q);
        visited[k] += q.rulesVisited;
        return hit;
      };
      // Per live lane (allowed so far), the block's first matching rule
      // (kNone: none).
      if (const Rfc* rf = t.rfc.get()) {
        // RFC tables (rules checked apart; the RFC form takes the others):
        // every lane's answer, phase by phase, then per live lane the rules
        // checked apart below it, as firstDecided.
        uint32_t ans[kLanes];
        rfcLanes(*rf, m, src, dst, proto, sport, dport, ans);
        for (size_t k = 0; k < m; k++) {
          if (!((live >> k) & 1)) continue;
          visited[k] += ans[k] != rf->none;
          best[k] = rf->withApart(ans[k], [&](uint32_t rule) { return inexact(k, rule); });
        }
      } else if (simd_ && __builtin_popcountll(live) >= 8 && st.rules < (1u << 26)) {
        // AVX-512 (else AVX2) for chunks of at least 8 live lanes: a gather
        // costs the same however many of its lanes are live (single tuples
        // measured 540 ns per call on AVX-512 against 140 scalar, on fw1 10K).
        // (Their box gathers take byte offsets rule * 32 as signed 32-bit
        // indexes: blocks of fewer than 2^26 rules.)
        auto call = [](void* ctx, size_t k, uint32_t rule) { return (*static_cast<decltype(inexact)*>(ctx))(k, rule); };
        if (simd_ == kSimdAvx512) treeStageAvx512(t, m, live, noPorts, src, dst, proto, sport, dport, best, visited, call, &inexact);
        else treeStageAvx2(t, m, live, noPorts, src, dst, proto, sport, dport, best, visited, call, &inexact);
      } else {
        // Root by root (as the SIMD stages): lockstep descents, one unit per
        // live lane whose first match so far does not precede every rule of
        // the root (leafAt[k]: lane k's leaf); keys as rows so the node's
        // dimension indexes them (no branch). Then those lanes' leaves (a rule
        // that is not an exact box gets matchRule).
        const TreeNode* nodes = t.nodes.get();
        const uint16_t* l16 = t.leaves16.get();
        const uint32_t* l32 = t.leaves.get();
        const uint32_t roots = t.nRoots;
        uint32_t leafAt[kLanes], unit[kLanes], idx[kLanes], laneOf[kLanes], key[kLanes][8];
        for (size_t k = 0; k < m; k++) {
          best[k] = kNone;
          if (!((live >> k) & 1)) continue;
          key[k][0] = src[k];
          key[k][1] = dst[k];
          key[k][2] = proto[k];
          key[k][3] = sport[k];
          key[k][4] = dport[k];
        }
        const Box* boxes = t.boxes.get();
        for (uint32_t g = 0; g < roots; g++) {
          size_t nu = 0;
          for (size_t k = 0; k < m; k++) {
            if (!((live >> k) & 1) || best[k] < t.minRule[g]) continue;
            laneOf[nu] = unit[nu] = uint32_t(k);
            idx[nu] = t.rootOf(g, src[k], dst[k]);
            nu++;
          }
          const size_t nl = nu;
          lockstepRounds(
              nu, idx, [&](size_t) { return nodes; }, [&](size_t j, uint32_t dim) { return key[unit[j]][dim]; },
              [&](size_t j, const TreeNode& nd) {
                // The leaf's list is read next.
                __builtin_prefetch(l16 ? static_cast<const void*>(l16 + nd.w0) : static_cast<const void*>(l32 + nd.w0));
                leafAt[unit[j]] = idx[j];
              },
              [&](size_t j, size_t last) { unit[j] = unit[last]; });
          auto scanLanes = [&](const auto* lv) {
            for (size_t j = 0; j < nl; j++) {
              const uint32_t k = laneOf[j];
              const uint8_t pf = protoFlags_[proto[k]];
              auto inexactK = [&](uint32_t rule) { return inexact(k, rule); };
              best[k] = leafFirst(lv, boxes, nodes[leafAt[k]], best[k], src[k], dst[k], proto[k], sport[k], dport[k], pf, &visited[k], inexactK);
            }
          };
          if (l16) scanLanes(l16);
          else scanLanes(l32);
        }
      }
      // What walkTiers and forwardTiers make of this one-block tier walk
      // (tabulated at load per first matching rule; st.rules: none).
      const FastOutcome* oc = fastOut_[s].get();
      for (size_t k = 0; k < m; k++) {
        if (!((live >> k) & 1)) continue;
        const FastOutcome& o = oc[best[k] != kNone ? best[k] : st.rules];
        allow[k] = o.allow;
        reason[k] = o.reason;
        last[k] = o.last;
      }
    }
    uint32_t er[kLanes];
    for (size_t k = 0; k < m; k++) er[k] = uint32_t(reason[k]) << 16;
    writeFastColumns(out, from, m, allow, last, er, visited);
  }
}

// Tree descent for up to kGroup tuples at once (every root of a grouped tree
// is a lane of its own), one level per round: the lanes' node loads are
// independent, so their cache misses overlap instead of forming one dependent
// chain per tuple.
void Engine::descendLockstep(Prep* pps, size_t m) const {
  constexpr size_t kGroup = 16, kLanes = kGroup * 4;
  const TreeNode* base[kLanes];
  const uint32_t* keyOf[kLanes];
  const TreeNode** outOf[kLanes];  // the lane's Prep::hintLeaf slot
  uint32_t idx[kLanes], key[kGroup][5];
  size_t nl = 0;
  bool uniform = true;
  for (size_t k = 0; k < m && k < kGroup; k++) {
    Prep& pp = pps[k];
    pp.p.hintBlock = transitOnly_ ? (pp.noBackend ? kNone : transitHint_) : predictTreeBlock(pp);
    if (pp.p.hintBlock == kNone) continue;
    const Tree& t = trees_[2 * uint64_t(pp.p.hintBlock)];
    key[k][0] = pp.p.srcA;
    key[k][1] = pp.p.dstA;
    key[k][2] = pp.p.proto;
    key[k][3] = pp.p.sport;
    key[k][4] = pp.p.dport;
    for (uint32_t g = 0; g < t.nRoots && g < 4; g++) {
      base[nl] = t.nodes.get();
      uniform &= base[nl] == base[0];
      idx[nl] = t.rootOf(g, pp.p.srcA, pp.p.dstA);
      keyOf[nl] = key[k];
      outOf[nl] = &pp.hintLeaf[g];
      nl++;
    }
  }
  // Rounds over the live lanes (lockstepRounds); a lane that reaches a leaf
  // hands it over and is replaced by the last live lane, so each lane costs
  // its own depth only. Uniform: every lane
  // descends the same tree (always so on transit-only images), whose node
  // array stays in a register.
  auto rounds = [&](auto uniformTag) {
    constexpr bool kUniform = decltype(uniformTag)::value;
    const TreeNode* const b0 = base[0];
    auto nodesOf = [&](size_t k) { return kUniform ? b0 : base[k]; };
    lockstepRounds(
        nl, idx, nodesOf, [&](size_t k, uint32_t dim) { return keyOf[k][dim]; },
        [&](size_t k, const TreeNode&) { *outOf[k] = &nodesOf(k)[idx[k]]; },
        [&](size_t k, size_t last) {
          if (!kUniform) base[k] = base[last];
          keyOf[k] = keyOf[last];
          outOf[k] = outOf[last];
        });
  };
  if (nl == 0) return;
  if (uniform) rounds(std::true_type{});
  else rounds(std::false_type{});
}

namespace {
// A chunk's results into the output columns, column by column: one test per
// optional output and chunk instead of per tuple.
inline void writeResults(const BatchOut& out, size_t from, const Result* rs, size_t m) {
  for (size_t k = 0; k < m; k++) out.verdict[from + k] = rs[k].verdict;
  if (out.reason) for (size_t k = 0; k < m; k++) out.reason[from + k] = rs[k].reason;
  if (out.egressRule) for (size_t k = 0; k < m; k++) out.egressRule[from + k] = rs[k].egressRule;
  if (out.ingressRule) for (size_t k = 0; k < m; k++) out.ingressRule[from + k] = rs[k].ingressRule;
  if (out.decidingRule) for (size_t k = 0; k < m; k++) out.decidingRule[from + k] = rs[k].decidingRule;
  if (out.evalReasons) for (size_t k = 0; k < m; k++) out.evalReasons[from + k] = rs[k].evalReasons;
  if (out.natBackend) for (size_t k = 0; k < m; k++) out.natBackend[from + k] = rs[k].natBackend;
  if (out.rulesVisited) for (size_t k = 0; k < m; k++) out.rulesVisited[from + k] = rs[k].rulesVisited;
}
}  // namespace

// See natClass_ (engine.h): the classes of the IPv4 frontends' addresses.
// Best effort: without memory, every tuple is probed.
void Engine::buildNatClasses() {
  if (nFrontends_ == 0 || nClasses_ == 0) return;
  if (const char* env = std::getenv("NV_NAT_CLASSES")) {
    if (env[0] == '0' && env[1] == 0) return;
  }
  natClass_.reset(new (std::nothrow) uint8_t[size_t(nClasses_) + 1]);
  if (!natClass_) return;
  std::memset(natClass_.get(), 0, size_t(nClasses_) + 1);
  for (uint32_t i = 0; i < nFrontends_; i++)
    if (frontends_[i].family == 4) natClass_[lookup(4, frontends_[i].addr) - classes_] = 1;
}

// A lane's program without masks, walked (out of line: the lanes' loops stay small).
__attribute__((noinline)) void Engine::laneWalk(uint32_t prog, const Pkt& q, EvalOut* ev) const { runProgram<false>(prog, q, q, ev); }

// See nodeLanes_ (engine.h).
// kWalk: some lane programs are walked (laneWalks_); without it the walk and
// transit branches are compiled out (their lanes cannot occur, or go slow).
template <bool kWalk>
void Engine::classifyNodeLanes(const Batch& in, const BatchOut& out, int strategy) const {
  constexpr size_t kL = kNodeLanes;
  const NatBackend* const backends = backends_;
  const uint64_t* const B = pmBits_.get();
  const uint64_t* const LB = pmLaneBits_.get();
  const uint8_t* const memo = pmMemo_.get();
  const uint32_t* const dir = v4Dir_.get();
  const bool transit = config_->transitIngressProg != kNone;
  auto bitsOf = [](uint64_t b, auto&& f) __attribute__((always_inline)) {
    for (; b; b &= b - 1) f(size_t(__builtin_ctzll(b)));
  };
  for (size_t from = 0; from < in.n; from += kL) {
    const size_t m = in.n - from < kL ? in.n - from : kL;
    const uint64_t all = m == 64 ? ~uint64_t(0) : (uint64_t(1) << m) - 1;
    const uint32_t* src = in.src + from;
    const uint32_t* dstIn = in.dst + from;
    const uint16_t* sport = in.sport + from;
    const uint16_t* dportIn = in.dport + from;
    const uint8_t* proto = in.proto + from;
    uint32_t dst[kL], sci[kL], dci[kL], pd[kL], ps[kL];
    uint16_t dport[kL];
    uint64_t nat = 0, slow = 0;  // NAT candidates; lanes for prepare + evaluate
    // 1. Address classes; the node's port classes; NAT candidates (an IPv4
    //    frontend address, or a host address while the image has NodePorts,
    //    and a protocol with ports).
    //    (Loops of one job each: fewer live values, no spilled array bases.)
    if (dir) {
      for (size_t k = 0; k < m; k++) {
        sci[k] = dirClass(dir, src[k]);
        dci[k] = dirClass(dir, dstIn[k]);
      }
    } else {
      for (size_t k = 0; k < m; k++) {
        sci[k] = uint32_t(lookup(4, src + k) - classes_);
        dci[k] = uint32_t(lookup(4, dstIn + k) - classes_);
      }
    }
    if (m == kL) {
      std::memcpy(dst, dstIn, sizeof dst);
      std::memcpy(dport, dportIn, sizeof dport);
    } else {
      std::memcpy(dst, dstIn, 4 * m);
      std::memcpy(dport, dportIn, 2 * m);
    }
    for (size_t k = 0; k < m; k++) nat |= uint64_t(lane_[dci[k]].nat != 0 && (protoFlags_[proto[k]] & PROTO_HAS_PORTS)) << k;
    //    Service NAT (prepare's step 1): a frontend probe, else a NodePort for
    //    a host destination; the backend's class then. A hit without
    //    backends is slow.
    uint32_t backend[kL];
    std::memset(backend, 0xff, sizeof backend);
    bitsOf(nat, [&](size_t k) {
      uint32_t start = 0, count = 0;
      bool hit = false;
      const uint32_t f = lane_[dci[k]].nat;
      if (f & 1) {
        const uint32_t key[4] = {dstIn[k], 0, 0, 0};
        if (const NatFrontend* fe = natLookup(natHashOf(4, dstIn + k, proto[k], dportIn[k]), 4, key, proto[k], dportIn[k])) {
          hit = true;
          start = fe->backendStart;
          count = fe->backendCount;
        }
      }
      if (!hit && (f & 2)) {
        if (const NatNodePort* np = nodePortLookup(4, proto[k], dportIn[k])) {
          hit = true;
          start = np->backendStart;
          count = np->backendCount;
        }
      }
      if (!hit) return;
      if (count == 0) {
        slow |= uint64_t(1) << k;
        return;
      }
      const uint32_t b = start + tupleHash(4, src + k, dstIn + k, proto[k], sport[k], dportIn[k]) % count;
      backend[k] = b;
      dst[k] = backends[b].addr[0];
      dport[k] = backends[b].port;
      dci[k] = uint32_t(lookup(4, dst + k) - classes_);
    });
    if (pmSpecs_) {  // the node's port classes (lane programs)
      for (size_t k = 0; k < m; k++) {
        const bool ports = protoFlags_[proto[k]] & PROTO_HAS_PORTS;
        pd[k] = ports ? pmPortClass(0, dport[k]) : pmNoPort_[0];
        ps[k] = ports ? pmPortClass(1, sport[k]) : pmNoPort_[1];
      }
    }
    // 2. The path (evaluate's tests, by lane_): an end that is a host
    //    address is not evaluated; a host to a workload on its own node is not
    //    policed; a workload to its own node's address gets the egress and
    //    then the endpoint-to-host action (e2h). Neither end policed and no
    //    host address: not policed, or the transit programs (tr).
    uint32_t eg[kL], ing[kL];
    uint64_t e2h = 0, htlw = 0, tr = 0, egM = 0, ingM = 0, egW = 0, ingW = 0;
    auto hostEnd = [&](size_t k, uint32_t& e, uint32_t& i) __attribute__((always_inline)) {
      const AddrClass& s = classes_[sci[k]];
      const AddrClass& d = classes_[dci[k]];
      if (e == kLaneHost) {
        htlw |= uint64_t(d.epKind == EP_WEP && d.epNode == s.hostNode) << k;
        e = kNone;
      }
      if (i == kLaneHost) {
        e2h |= uint64_t(e != kNone && e != kLaneSlow && d.hostNode == s.epNode) << k;
        i = kNone;
      }
    };
    if (simd_ == kSimdAvx512) {
      // The entries, then their marks sixteen lanes at a time (laneMark).
      for (size_t k = 0; k < m; k++) {
        eg[k] = lane_[sci[k]].prog[0];
        ing[k] = lane_[dci[k]].prog[1];
      }
      uint64_t mk[7] = {0, 0, 0, 0, 0, 0, 0};
      laneMarksAvx512(m, eg, ing, mk);
      bitsOf(mk[0], [&](size_t k) {
        hostEnd(k, eg[k], ing[k]);
        markLane(mk, k, eg[k], ing[k]);
      });
      tr = transit ? ~mk[0] & mk[1] & mk[2] & all : 0;
      slow |= mk[3] | mk[4] | (kWalk && laneTransit_ ? 0 : tr);
      egM = ~mk[1] & all;
      ingM = ~mk[2] & all;
      if (kWalk) egW = mk[5], ingW = mk[6];  // walked programs (kNone and the other marks are not in egM, ingM)
    } else {
      // Its scalar twin.
      for (size_t k = 0; k < m; k++) {
        uint32_t e = lane_[sci[k]].prog[0];
        uint32_t i = lane_[dci[k]].prog[1];
        const bool host = e == kLaneHost || i == kLaneHost;
        if (__builtin_expect(host, 0)) hostEnd(k, e, i);
        eg[k] = e;
        ing[k] = i;
        const bool viaTransit = transit && !host && e == kNone && i == kNone;
        const bool fast = e != kLaneSlow && i != kLaneSlow && (!viaTransit || (kWalk && laneTransit_));
        slow |= uint64_t(!fast) << k;
        tr |= uint64_t(viaTransit) << k;
        egM |= uint64_t(e != kNone) << k;
        ingM |= uint64_t(i != kNone) << k;
        if (kWalk) {
          egW |= uint64_t(e >= kLaneWalk) << k;
          ingW |= uint64_t(i >= kLaneWalk) << k;
        }
      }
    }
    htlw &= ~slow;
    tr &= ~slow;
    egM &= ~(slow | htlw | tr);
    ingM &= ~(slow | htlw | tr);
    // 3. Evaluations (evaluate's for these paths) into the output columns'
    //    chunk: the egress program, then the ingress program where the
    //    egress allowed. A lane program runs in two passes over the chunk
    //    (masks, then positions), a candidate the masks cannot decide getting
    //    the full rule test on the lane's packet; a program without masks is
    //    walked on that packet.
    uint8_t verdict[kL], flow[kL];
    uint32_t egR[kL], inR[kL], decR[kL], evr[kL], vis[kL];
    // (Whole arrays: constant sizes are inline stores, a run-time size a
    // library call with its start-up cost, seven times per chunk.)
    std::memset(verdict, 1, sizeof verdict);
    std::memset(flow, FLOW_POLICY, sizeof flow);
    std::memset(egR, 0xff, sizeof egR);
    std::memset(inR, 0xff, sizeof inR);
    std::memset(decR, 0xff, sizeof decR);
    std::memset(evr, 0, sizeof evr);
    std::memset(vis, 0, sizeof vis);
    auto pktOf = [&](size_t k, Pkt* q) {
      std::memset(q, 0, sizeof *q);
      q->src = &classes_[sci[k]];
      q->dst = &classes_[dci[k]];
      q->family = 4;
      q->proto = proto[k];
      q->protoFlags = protoFlags_[proto[k]];
      q->sport = sport[k];
      q->dport = dport[k];
      q->strategy = strategy;
      q->srcA = src[k];
      q->dstA = dst[k];
      q->rows[SIDE_SRC] = rowOf(q->src);
      q->rows[SIDE_DST] = rowOf(q->dst);
      q->hintBlock = kNone;
    };
    PmLaneCur cur[kL];
    // One pass over the lanes in M (lane k: program v[k] with the remote end
    // r[k]'s class): lane programs by the first-position table or their two
    // masks, walks by the program; done(k, outcome, rules looked at).
    auto pass = [&](uint64_t M, uint64_t walks, const uint32_t* v, const uint32_t* r, auto&& done) __attribute__((always_inline)) {
      const uint64_t walk = kWalk ? M & walks : 0, spec = M & ~walk;
      // Set-up in two loops (the loads of each depend on one earlier load
      // only, so more lanes' misses overlap): the remote map's entry (at) and
      // the L4 index's (l4), then the loads through them: the remote end's
      // class rc and the folded mask j, and from them the table's first
      // position or the two masks.
      uint32_t at[kL], l4[kL];
      bitsOf(spec, [&](size_t k) {
        const PmSpec& t = pmSpecs_[v[k]];
        cur[k].t = &t;
        at[k] = t.remoteMap == kNone ? kNone : t.remoteMap + lane_[r[k]].identity;
        l4[k] = t.l4 + pmLaneIdx_[t.idx[0] + proto[k]] + pmLaneIdx_[t.idx[1] + pd[k]] + pmLaneIdx_[t.idx[2] + ps[k]];
      });
      auto rcOf = [&](size_t k) __attribute__((always_inline)) { return at[k] == kNone ? 0u : uint32_t(pmMaps_[at[k]]); };
      auto masks = [&](const PmSpec& t, size_t k) __attribute__((always_inline)) {
        cur[k].m[0] = B + t.remoteBits + uint64_t(rcOf(k)) * t.words;
        cur[k].m[1] = LB + (memo ? t.lanes + uint64_t(pmLaneJ_[l4[k]]) * t.words : pmLaneL4_[l4[k]]);  // (see PmSpec::l4)
      };
      uint64_t rest = spec;  // lanes for pmFirst
      if (memo) {
        bitsOf(spec, [&](size_t k) {
          const PmSpec& t = *cur[k].t;
          cur[k].first = memo[t.memo + rcOf(k) * t.folded + pmLaneJ_[l4[k]]];
        });
        // The first position where it decides (pmFirst's first step); the
        // others go on by their masks.
        rest = 0;
        bitsOf(spec, [&](size_t k) {
          const PmSpec& t = *cur[k].t;
          const PmPos& q = pmPos_[t.pos + cur[k].first];
          if (__builtin_expect(!q.decides, 0)) {
            rest |= uint64_t(1) << k;
            masks(t, k);
            return;
          }
          done(k, EvalOut{q.allow, q.reason, q.ruleId, nullptr}, q.counted);
        });
      } else {
        bitsOf(spec, [&](size_t k) { masks(*cur[k].t, k); });
      }
      bitsOf(rest, [&](size_t k) {
        EvalOut ev{0, EVAL_NONE, kNone, nullptr};
        const PmSpec& t = *cur[k].t;
        uint32_t n = pmFirst<2>(cur[k].m, t.words, pmPos_.get() + t.pos, pmVerify_.get() + t.pos, [&](const MatchRec& rule) {
          Pkt q;
          pktOf(k, &q);
          return matchUncounted(rule, q);
        }, &ev);
        if (kWalk && (n & kPmWalkFlag)) {  // a cut program's walk (as pmRun's)
          Pkt q;
          pktOf(k, &q);
          walkFrom(pmSpecProg_[v[k]], n, q, &ev);
          n = q.rulesVisited;
        }
        done(k, ev, n);
      });
      if (kWalk) {
        bitsOf(walk, [&](size_t k) {
          EvalOut ev{0, EVAL_NONE, kNone, nullptr};
          Pkt q;
          pktOf(k, &q);
          laneWalk(v[k] & ~kLaneWalk, q, &ev);
          done(k, ev, q.rulesVisited);
        });
      }
    };
    // The egress programs, then the ingress programs where the egress allowed.
    uint64_t allowM = all;
    pass(egM, egW, eg, dci, [&](size_t k, const EvalOut& ev, uint32_t n) __attribute__((always_inline)) {
      vis[k] = n;
      egR[k] = decR[k] = ev.last;
      evr[k] = uint32_t(ev.reason) | uint32_t(ev.reason) << 16;
      verdict[k] = ev.allow;
      allowM &= ~(uint64_t(!ev.allow) << k);
    });
    pass(ingM & allowM, ingW, ing, sci, [&](size_t k, const EvalOut& ev, uint32_t n) __attribute__((always_inline)) {
      vis[k] += n;
      inR[k] = decR[k] = ev.last;
      evr[k] = (evr[k] & 0xff) | uint32_t(ev.reason) << 8 | uint32_t(ev.reason) << 16;
      verdict[k] = ev.allow;
      allowM &= ~(uint64_t(!ev.allow) << k);
    });
    if (e2h && config_->endpointToHostAction != E2H_RETURN) {
      const bool accept = config_->endpointToHostAction == E2H_ACCEPT;
      bitsOf(e2h & egM & allowM, [&](size_t k) {
        flow[k] = accept ? FLOW_ENDPOINT_TO_HOST_ACCEPT : FLOW_ENDPOINT_TO_HOST_DROP;
        verdict[k] = accept;
      });
    }
    bitsOf(all & ~(egM | ingM | slow | htlw | tr), [&](size_t k) { flow[k] = FLOW_NOT_POLICED; });
    bitsOf(htlw, [&](size_t k) { flow[k] = FLOW_HOST_TO_LOCAL_WORKLOAD; });
    if (kWalk) {
      bitsOf(tr, [&](size_t k) {
        // The transit ingress program, then (allowed) the transit egress.
        Pkt q;
        pktOf(k, &q);
        EvalOut ev{0, EVAL_NONE, kNone, nullptr};
        laneWalk(config_->transitIngressProg, q, &ev);
        if (ev.allow) {
          ev.allow = 0;
          ev.reason = EVAL_NONE;
          laneWalk(config_->transitEgressProg, q, &ev);
        }
        verdict[k] = ev.allow;
        decR[k] = ev.last;
        evr[k] = uint32_t(ev.reason) << 16;
        vis[k] = q.rulesVisited;
      });
    }
    bitsOf(slow, [&](size_t k) {
      Prep pp;
      Result r;
      prepare(4, src + k, dstIn + k, proto[k], sport[k], dportIn[k], prepHash(4, dstIn + k, proto[k], dportIn[k]), &pp);
      evaluate<false>(4, pp, &r, strategy, nullptr);
      verdict[k] = r.verdict;
      flow[k] = r.reason;
      egR[k] = r.egressRule;
      inR[k] = r.ingressRule;
      decR[k] = r.decidingRule;
      evr[k] = r.evalReasons;
      backend[k] = r.natBackend;
      vis[k] = r.rulesVisited;
    });
    std::memcpy(out.verdict + from, verdict, m);
    if (out.reason) std::memcpy(out.reason + from, flow, m);
    if (out.egressRule) std::memcpy(out.egressRule + from, egR, 4 * m);
    if (out.ingressRule) std::memcpy(out.ingressRule + from, inR, 4 * m);
    if (out.decidingRule) std::memcpy(out.decidingRule + from, decR, 4 * m);
    if (out.evalReasons) std::memcpy(out.evalReasons + from, evr, 4 * m);
    if (out.natBackend) std::memcpy(out.natBackend + from, backend, 4 * m);
    if (out.rulesVisited) std::memcpy(out.rulesVisited + from, vis, 4 * m);
  }
}

void Engine::classifyBatch(int family, const Batch& in, const BatchOut& out, int strategy) const {
  if (fastTransit_ && family == 4 && strategy == STRATEGY_DECISION && !out.events) return classifyFastTransit(in, out);
  if (nodeLanes_ && family == 4 && strategy == STRATEGY_DECISION && !out.events)
    return laneWalks_ ? classifyNodeLanes<true>(in, out, strategy) : classifyNodeLanes<false>(in, out, strategy);
  const size_t w = family == 4 ? 1 : 4;
  // Software pipeline over chunks of kChunk tuples: the NAT index slot and the
  // trie's first level are prefetched two chunks ahead; the first stage (NAT,
  // address classes; prefetch of identity rows and programs) and, for the
  // decision strategy, the lockstep tree descent run one chunk ahead of
  // evaluation. Tuples stay independent: same results as classify() one by one.
  constexpr size_t kChunk = 16;
  Prep bufs[2][kChunk];
  const bool natPrefetch = natHash_ != nullptr && !(family == 4 && natClass_);  // else prepare probes few tuples
  const uint32_t* dir = family == 4 ? v4Dir_.get() : nullptr;
  const bool lockstep = family == 4 && strategy == STRATEGY_DECISION && anyFirstTree_;
  // NAT frontend hashes, computed once per tuple two chunks ahead (for the
  // slot prefetch) and used by prepare one chunk ahead: chunk c's slots are
  // free again when chunk c + 2's are written.
  uint64_t hashes[2][kChunk];
  auto prefetchFar = [&](size_t from, uint64_t* hs) {
    for (size_t j = from, m = 0; j < in.n && j < from + kChunk; j++, m++) {
      if (natPrefetch) {
        hs[m] = natHashOf(family, in.dst + j * w, in.proto[j], in.dport[j]);
        __builtin_prefetch(&natHash_[uint32_t(hs[m]) & natMask_]);
      }
      if (dir) {
        __builtin_prefetch(&dir[in.src[j] >> 16]);
        __builtin_prefetch(&dir[in.dst[j] >> 16]);
      }
    }
  };
  auto stage1 = [&](size_t from, Prep* pps, const uint64_t* hs) {
    size_t m = 0;
    for (size_t j = from; j < in.n && j < from + kChunk; j++, m++) {
      prepare(family, in.src + j * w, in.dst + j * w, in.proto[j], in.sport[j], in.dport[j], natPrefetch ? hs[m] : 0,
              &pps[m]);
      prefetchFor(pps[m]);
    }
    if (lockstep) descendLockstep(pps, m);
  };
  prefetchFar(0, hashes[0]);
  prefetchFar(kChunk, hashes[1]);
  stage1(0, bufs[0], hashes[0]);
  // Results of a chunk, then written out column by column: one test per
  // optional output and chunk instead of per tuple.
  Result rs[kChunk];
  for (size_t from = 0, c = 0; from < in.n; from += kChunk, c++) {
    prefetchFar(from + 2 * kChunk, hashes[c & 1]);
    if (from + kChunk < in.n) stage1(from + kChunk, bufs[(c + 1) & 1], hashes[(c + 1) & 1]);
    Prep* pps = bufs[c & 1];
    const size_t m = in.n - from < kChunk ? in.n - from : kChunk;
    if (out.events) {
      for (size_t k = 0; k < m; k++) {
        const size_t i = from + k;
        EventSink sink{out.events + i * out.eventStride, out.eventStride < kMaxEventStride ? out.eventStride : kMaxEventStride, 0};
        evaluate<true>(family, pps[k], &rs[k], strategy, &sink);
        out.eventCount[i] = traceIds_ ? sink.count() : kEventOverflow;
      }
    } else {
      for (size_t k = 0; k < m; k++) evaluate<false>(family, pps[k], &rs[k], strategy, nullptr);
    }
    writeResults(out, from, rs, m);
  }
}

}  // namespace nv
