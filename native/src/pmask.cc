// Program masks (see Engine::PmProg, engine.h): a program's rules as bit
// positions in walk order, with one mask per field class, so its outcome is
// the first set bit of the AND of five masks instead of a walk through its
// tiers. Built at load for images with few programs (one node's data path),
// best effort: a program that does not qualify, or that the budget does not
// cover, keeps the walk (same verdicts and rules either way). A program too
// long for kPmWords words keeps the first rules of each tier (kPmTierRules)
// and a PM_WALK position for the rest of the tier, where the walk takes over
// (Calico-shaped tiers decide most packets in their first rules).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "engine.h"

namespace nv {

using namespace fmt;

namespace {
// A rule's test as the masks see it.
struct RuleView {
  const MatchRec* m;
  bool verify;  // some test the masks cannot decide (the rule is then a candidate for it everywhere)
};
}  // namespace

void Engine::buildProgMasks() {
  if (!dfast_ || nPrograms_ == 0 || nPrograms_ > kPmMaxPrograms || nIdentRows_ == 0 ||
      nIdentRows_ > (1u << 24))
    return;
  uint64_t budget = uint64_t(256) << 20;
  if (const char* env = std::getenv("NV_PMASK")) {
    if (env[0] == '0' && env[1] == 0) return;
  }
  uint32_t minRules = kPmMinRules;  // NV_PMASK_MIN_RULES (tests: every program)
  if (const char* env = std::getenv("NV_PMASK_MIN_RULES")) minRules = uint32_t(std::strtoul(env, nullptr, 10));
  if (const char* env = std::getenv("NV_PMASK_MB")) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (end != env) budget = uint64_t(v) << 20;
  }

  // 1. Per program: its positions (rules in walk order and the outcomes in
  //    between), or nothing when it does not qualify.
  struct Pos {
    PmPos p;
    const MatchRec* rule;  // a rule position's test, else nullptr (always set)
  };
  struct Cand {
    uint32_t prog, failsafe;
    std::vector<Pos> pos;
  };
  std::vector<Cand> cands;
  // Positions per program (the last kept for a PM_WALK) and rules per tier
  // (NV_PMASK_POSITIONS, NV_PMASK_TIER; tests: fewer).
  size_t maxPos = size_t(kPmWords) * 64, perTier = kPmTierRules;
  if (const char* env = std::getenv("NV_PMASK_POSITIONS")) maxPos = std::min<size_t>(maxPos, std::max<size_t>(3, std::strtoul(env, nullptr, 10)));
  if (const char* env = std::getenv("NV_PMASK_TIER")) perTier = std::max<size_t>(1, std::strtoul(env, nullptr, 10));
  // A program's positions with tiers of at most tierCap rules; false when it
  // does not qualify.
  auto positions = [&](uint32_t prog, size_t tierCap, Cand& c) {
    const Program& pr = programs_[prog];
    c = Cand{prog, kNone, {}};
    bool ok = pr.opCount > 0, terminal = false;
    auto add = [&](uint32_t ruleId, uint8_t kind, uint8_t allow, uint8_t reason, const MatchRec* rule) {
      PmPos q;
      std::memset(&q, 0, sizeof q);
      q.ruleId = ruleId;
      q.kind = kind;
      q.allow = allow;
      q.reason = reason;
      q.counted = rule ? 1 : 0;
      c.pos.push_back(Pos{q, rule});
    };
    // A PM_WALK position: the walk from op i's tier t on (ruleId: i << 16 | t).
    auto walkAt = [&](uint32_t i, uint32_t t) {
      if (i > kPmWalkOpMax || t > 0xffff) ok = false;
      add(i << 16 | t, PM_WALK, 0, EVAL_NONE, nullptr);
    };
    // Positions left, one kept back for a last PM_WALK.
    auto room = [&]() { return maxPos - 1 - c.pos.size(); };
    auto rulesOf = [&](uint32_t start, uint32_t count) {
      size_t n = 0;
      for (uint32_t r = 0; r < count; r++) n += refRules_[start + r].action != ACTION_LOG;
      return n;
    };
    for (uint32_t i = 0; ok && !terminal && i < pr.opCount; i++) {
      const Op& o = ops_[pr.opStart + i];
      if (o.opcode == OP_FAILSAFE && i == 0) {
        c.failsafe = o.arg;
      } else if (o.opcode == OP_TIERS && o.arg != TIERS_PREDNAT) {
        for (uint32_t t = 0; ok && !terminal && t < o.count; t++) {
          const uint32_t tbi = tierRefs_[o.start + t];
          if (dfast_[2 * uint64_t(tbi)].flags & (kFastTree | kFastBitmaps)) {
            ok = false;  // address-keyed structures: not identity masks
            break;
          }
          if (room() < 2) {  // the rest of the program is walked
            walkAt(i, t);
            terminal = true;
            break;
          }
          const TierBlock& tb = tierBlocks_[tbi];
          const size_t first = c.pos.size(), nr = rulesOf(tb.v4Start, tb.v4Count);
          // A tier with more rules than it may have positions keeps its first
          // ones and a PM_WALK (the walk of the whole tier on) for its end.
          const bool cut = nr > tierCap || nr + 1 > room();
          const size_t take = cut ? std::min(tierCap, room() - 1) : nr;
          size_t taken = 0;
          for (uint32_t r = 0; taken < take && r < tb.v4Count; r++) {
            const MatchRec& m = refRules_[tb.v4Start + r];
            if (m.action == ACTION_LOG) continue;  // trace only (events keep the walk)
            if (m.action == ACTION_PASS) add(m.ruleId, PM_PASS, 0, EVAL_NONE, &m);
            else add(m.ruleId, PM_DECIDE, m.action == ACTION_ALLOW, EVAL_RULE, &m);
            taken++;
          }
          // The end of the tier (tierOutcome): deny decides, else on to the next.
          if (cut) walkAt(i, t);
          else if (tb.endAction == ACTION_DENY) add(tb.endRule, PM_DECIDE, 0, EVAL_END_OF_TIER, nullptr);
          else add(tb.endRule, PM_PASS, 0, EVAL_NONE, nullptr);
          // Pass rules and a passing end go on after the tier's last position.
          for (size_t k = first; k < c.pos.size(); k++)
            if (c.pos[k].p.kind == PM_PASS) c.pos[k].p.next = uint16_t(c.pos.size());
        }
      } else if (o.opcode == OP_PROFILES) {
        size_t need = 1;  // the profiles' rules and their outcome, or the walk
        for (uint32_t k = 0; k < o.count; k++) {
          const ProfileBlock& pb = profileBlocks_[profileRefs_[o.start + k]];
          if (pb.missingRule != kNone) break;
          need += rulesOf(pb.v4Start, pb.v4Count);
        }
        if (need > room()) {
          walkAt(i, 0);
          terminal = true;
          break;
        }
        for (uint32_t k = 0; ok && !terminal && k < o.count; k++) {
          const ProfileBlock& pb = profileBlocks_[profileRefs_[o.start + k]];
          if (pb.missingRule != kNone) {
            add(pb.missingRule, PM_DECIDE, 0, EVAL_MISSING_PROFILE, nullptr);
            terminal = true;
            break;
          }
          for (uint32_t r = 0; r < pb.v4Count; r++) {
            const MatchRec& m = refRules_[pb.v4Start + r];
            if (m.action == ACTION_LOG) continue;
            add(m.ruleId, PM_DECIDE, m.action == ACTION_ALLOW, EVAL_PROFILE, &m);  // Pass was compiled as Deny
          }
        }
        if (!terminal) add(config_->noProfileMatchRule, PM_DECIDE, 0, EVAL_NO_PROFILE_MATCH, nullptr);
        terminal = true;
      } else {
        ok = false;  // a failsafe op later, pre-DNAT or forward tiers
      }
    }
    if (ok && !terminal) add(kNone, PM_FALL, 0, EVAL_NONE, nullptr);  // runProgram's fall-through
    return ok;
  };
  for (uint32_t prog = 0; prog < nPrograms_; prog++) {
    // Whole tiers where the whole program fits, else tiers cut to perTier.
    Cand c;
    if (!positions(prog, SIZE_MAX, c)) continue;
    bool cut = false;
    for (const Pos& q : c.pos) cut |= q.p.kind == PM_WALK;
    if (cut && !positions(prog, perTier, c)) continue;
    // Short programs walk faster than their masks are read.
    size_t rules = 0;
    for (const Pos& q : c.pos) rules += q.rule != nullptr;
    if (rules < minRules) continue;
    cands.push_back(std::move(c));
  }
  if (cands.empty()) return;

  auto viewOf = [&](const MatchRec& m) {
    bool verify = m.dstSvcSet != kNone || (m.flags & (M_ICMP_TYPE | M_NOT_ICMP_TYPE));
    for (uint32_t pl : {m.srcPorts, m.srcNotPorts, m.dstPorts, m.dstNotPorts})
      if (pl != kNone && portLists_[pl].namedCount > 0) verify = true;
    return RuleView{&m, verify};
  };

  // 2. The node's port classes: every qualifying program's numeric range
  //    bounds, per field (0: destination, 1: source).
  std::vector<uint32_t> bounds[2];
  for (const Cand& c : cands) {
    for (const Pos& q : c.pos) {
      if (!q.rule) continue;
      const MatchRec& m = *q.rule;
      const uint32_t lists[2][2] = {{m.dstPorts, m.dstNotPorts}, {m.srcPorts, m.srcNotPorts}};
      for (int f = 0; f < 2; f++) {
        for (uint32_t pl : lists[f]) {
          if (pl == kNone) continue;
          const PortList& l = portLists_[pl];
          for (uint32_t k = 0; k < l.rangeCount; k++) {
            const PortRange& r = portRanges_[l.rangeStart + k];
            bounds[f].push_back(r.first);
            if (r.last < 65535) bounds[f].push_back(uint32_t(r.last) + 1);
          }
        }
      }
    }
  }
  std::vector<uint32_t> classStart[2];  // per field: each class's first port
  BigArray<uint16_t> portClass = bigArray<uint16_t>(size_t(2) * 65536);
  if (!portClass) return;
  for (int f = 0; f < 2; f++) {
    bounds[f].push_back(0);
    std::sort(bounds[f].begin(), bounds[f].end());
    bounds[f].erase(std::unique(bounds[f].begin(), bounds[f].end()), bounds[f].end());
    classStart[f] = bounds[f];
    if (classStart[f].size() >= 65535) return;
    uint32_t cls = 0;
    for (uint32_t port = 0; port < 65536; port++) {
      if (cls + 1 < classStart[f].size() && port == classStart[f][cls + 1]) cls++;
      portClass[size_t(f) * 65536 + port] = uint16_t(cls);
    }
  }
  uint64_t bytes = uint64_t(nPrograms_) * 4;  // (+ the two-level port tables)

  // 3. Per program its tables, while the budget lasts. Set membership of an
  //    identity: its dense row, else its sorted set list.
  auto member = [&](uint32_t id, uint32_t set) {
    if (identDense_) return bool((identDense_[identDenseWords_ * id + (set >> 6)] >> (set & 63)) & 1);
    const IdentityRow& r = identRows_[id];
    const uint32_t* v = identSets_ + r.setStart;
    return std::binary_search(v, v + r.setCount, set);
  };
  std::map<std::vector<uint32_t>, std::pair<uint32_t, std::vector<uint32_t>>> sideMaps;  // sets -> (map offset, a representative per class)
  std::vector<uint16_t> maps, idx16;
  std::vector<uint8_t> idx8;
  std::vector<uint64_t> bits;
  std::vector<PmPos> posAll;
  std::vector<const MatchRec*> verifyAll;
  std::vector<PmProg> progs;
  std::vector<uint32_t> progOf(nPrograms_, kNone);
  for (const Cand& c : cands) {
    const uint32_t n = uint32_t(c.pos.size());
    const uint32_t W = (n + 63) / 64;
    std::vector<RuleView> views(n, RuleView{nullptr, false});
    for (uint32_t i = 0; i < n; i++)
      if (c.pos[i].rule) views[i] = viewOf(*c.pos[i].rule);
    PmProg t;
    std::memset(&t, 0, sizeof t);
    t.words = W;
    t.failsafe = c.failsafe;
    t.prog = c.prog;
    const size_t mapsMark = maps.size(), bitsMark = bits.size(), idx16Mark = idx16.size(), idx8Mark = idx8.size();
    std::vector<std::vector<uint32_t>> newMaps;  // side maps this program added (dropped with it)
    // A mask per class, appended to bits: bit i set when position i passes for
    // the class (always-set positions pass everywhere).
    auto pushMask = [&](auto&& passes) {
      const size_t at = bits.size();
      bits.resize(at + W, 0);
      for (uint32_t i = 0; i < n; i++)
        if (!views[i].m || passes(*views[i].m)) bits[at + i / 64] |= uint64_t(1) << (i % 64);
    };
    bool fits = true;
    // Sides: classes of identities by their membership in the sets this
    // side's tests name.
    for (int s = 0; s < 2 && fits; s++) {
      std::vector<uint32_t> sets;
      for (uint32_t i = 0; i < n; i++) {
        if (!views[i].m) continue;
        const MatchRec& m = *views[i].m;
        for (uint32_t k = 0; k < m.addrTestCount; k++) {
          const AddrTest& a = addrTests_[m.addrTestStart + k];
          if ((a.side & 1) == uint32_t(s)) sets.push_back(a.setId);
        }
      }
      std::sort(sets.begin(), sets.end());
      sets.erase(std::unique(sets.begin(), sets.end()), sets.end());
      std::vector<uint32_t> reps;
      if (sets.empty()) {
        t.map[s] = kNone;
        reps.push_back(0);
      } else {
        auto it = sideMaps.find(sets);
        if (it == sideMaps.end()) {
          std::vector<uint32_t> r;
          const size_t off = maps.size();
          maps.resize(off + nIdentRows_);
          if (identDense_) {
            // An identity's signature: its row's words ANDed with the sets'
            // bits (the words that hold any), classed by an open-addressing
            // table of signature hashes (each hit compared word by word).
            std::vector<std::pair<uint32_t, uint64_t>> words;  // (row word, sets' bits in it)
            for (uint32_t set : sets) {
              if (words.empty() || words.back().first != set >> 6) words.emplace_back(set >> 6, 0);
              words.back().second |= uint64_t(1) << (set & 63);
            }
            const size_t nw = words.size();
            // Open addressing, grown by doubling (a few hundred classes
            // usually: the table stays in L1; a fixed 2^17 slots were 512 KB
            // to allocate and fill per map: 100k@node-1's 169 maps faulted
            // in 86 MB).
            uint32_t nslots = 1024;
            std::vector<uint32_t> slots(nslots, kNone);
            std::vector<uint64_t> classSig, classHash, sig(nw);
            for (uint32_t id = 0; id < nIdentRows_ && fits; id++) {
              const uint64_t* row = identDense_.get() + identDenseWords_ * id;
              // Independent products summed (no serial chain), then mixed.
              uint64_t h = 0;
              for (size_t k = 0; k < nw; k++) {
                sig[k] = row[words[k].first] & words[k].second;
                h += (sig[k] ^ (k * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
              }
              h ^= h >> 29;
              h *= 0xc4ceb9fe1a85ec53ull;
              h ^= h >> 32;
              uint32_t slot = uint32_t(h) & (nslots - 1), cls = kNone;
              for (; slots[slot] != kNone; slot = (slot + 1) & (nslots - 1)) {
                const uint32_t c = slots[slot];
                if (std::equal(sig.begin(), sig.end(), classSig.begin() + long(c * nw))) {
                  cls = c;
                  break;
                }
              }
              if (cls == kNone) {
                cls = uint32_t(r.size());
                if (cls >= 65535) {
                  fits = false;
                  break;
                }
                slots[slot] = cls;
                classSig.insert(classSig.end(), sig.begin(), sig.end());
                classHash.push_back(h);
                r.push_back(id);
                if (2 * r.size() > nslots) {  // over half full: double and reinsert
                  nslots *= 2;
                  slots.assign(nslots, kNone);
                  for (uint32_t c = 0; c < r.size(); c++) {
                    uint32_t at = uint32_t(classHash[c]) & (nslots - 1);
                    while (slots[at] != kNone) at = (at + 1) & (nslots - 1);
                    slots[at] = c;
                  }
                }
              }
              maps[off + id] = uint16_t(cls);
            }
          } else {
            std::unordered_map<std::string, uint32_t> ids;
            std::string sig((sets.size() + 7) / 8, '\0');
            for (uint32_t id = 0; id < nIdentRows_ && fits; id++) {
              std::fill(sig.begin(), sig.end(), '\0');
              for (size_t k = 0; k < sets.size(); k++)
                if (member(id, sets[k])) sig[k >> 3] = char(sig[k >> 3] | (1 << (k & 7)));
              auto e = ids.emplace(sig, uint32_t(ids.size()));
              if (e.second) {
                if (ids.size() > 65535) fits = false;
                r.push_back(id);
              }
              maps[off + id] = uint16_t(e.first->second);
            }
          }
          if (!fits) break;
          it = sideMaps.emplace(sets, std::make_pair(uint32_t(off), std::move(r))).first;
          newMaps.push_back(sets);
        }
        t.map[s] = it->second.first;
        reps = it->second.second;
      }
      // The classes' masks, rule by rule: per set, the classes holding it
      // (a bit per class); a rule with tests on this side passes for the AND
      // of its tests' class bits; the others (and always-set positions) for
      // every class.
      t.sideBits[s] = uint32_t(bits.size());
      const size_t nc = reps.size(), cw = (nc + 63) / 64;
      t.classes[s] = uint32_t(nc);
      // holds[k]: the classes holding sets[k] (the sets are sorted).
      std::vector<std::vector<uint64_t>> holds(sets.size(), std::vector<uint64_t>(cw, 0));
      auto setIndex = [&](uint32_t set) { return size_t(std::lower_bound(sets.begin(), sets.end(), set) - sets.begin()); };
      struct SetWord {
        uint32_t word;
        uint64_t bits;  // the sets' bits in that row word
        size_t first;   // index in sets of the first of them
      };
      std::vector<SetWord> setWords;
      for (size_t k = 0; k < sets.size(); k++) {
        if (setWords.empty() || setWords.back().word != sets[k] >> 6) setWords.push_back(SetWord{sets[k] >> 6, 0, k});
        setWords.back().bits |= uint64_t(1) << (sets[k] & 63);
      }
      for (size_t c = 0; c < nc; c++) {
        if (identDense_) {  // the class's memberships, word by word
          const uint64_t* row = identDense_.get() + identDenseWords_ * reps[c];
          for (const SetWord& sw : setWords) {
            // The members' positions among the word's sets follow their bit order.
            for (uint64_t v = row[sw.word] & sw.bits; v; v &= v - 1) {
              const uint32_t bit = uint32_t(__builtin_ctzll(v));
              const size_t j = sw.first + size_t(__builtin_popcountll(sw.bits & ((uint64_t(1) << bit) - 1)));
              holds[j][c / 64] |= uint64_t(1) << (c % 64);
            }
          }
        } else {
          for (size_t j = 0; j < sets.size(); j++)
            if (member(reps[c], sets[j])) holds[j][c / 64] |= uint64_t(1) << (c % 64);
        }
      }
      std::vector<uint64_t> base(W, 0), pass(cw);
      const size_t at = bits.size();
      bits.resize(at + nc * W, 0);
      for (uint32_t i = 0; i < n; i++) {
        const MatchRec* m = views[i].m;
        bool tested = false;
        if (m) {
          std::fill(pass.begin(), pass.end(), ~uint64_t(0));
          for (uint32_t k = 0; k < m->addrTestCount; k++) {
            const AddrTest& a = addrTests_[m->addrTestStart + k];
            if ((a.side & 1) != uint32_t(s)) continue;
            tested = true;
            const std::vector<uint64_t>& h = holds[setIndex(a.setId)];
            for (size_t w = 0; w < cw; w++) pass[w] &= a.negate ? ~h[w] : h[w];
          }
        }
        if (!tested) {
          base[i / 64] |= uint64_t(1) << (i % 64);
          continue;
        }
        for (size_t w = 0; w < cw; w++)
          for (uint64_t x = pass[w]; x; x &= x - 1) {
            const size_t c = w * 64 + size_t(__builtin_ctzll(x));
            if (c < nc) bits[at + c * W + i / 64] |= uint64_t(1) << (i % 64);
          }
      }
      for (size_t c = 0; c < nc; c++)
        for (uint32_t w = 0; w < W; w++) bits[at + c * W + w] |= base[w];
    }
    // Protocol: its tests, and the tests a packet without ports fails
    // (positive port lists, service sets) or only an ICMP packet can pass.
    if (fits) {
      t.protoBits = uint32_t(bits.size());
      t.protoIdx = uint32_t(idx8.size());
      std::map<std::vector<uint64_t>, uint8_t> seen;
      for (uint32_t proto = 0; proto < 256; proto++) {
        const uint8_t pf = protoFlags_[proto];
        const bool ports = pf & PROTO_HAS_PORTS;
        const size_t at = bits.size();
        pushMask([&](const MatchRec& m) {
          if ((m.flags & M_PROTO) && proto != m.proto) return false;
          if ((m.flags & M_NOT_PROTO) && proto == m.notProto) return false;
          if (!ports && (m.srcPorts != kNone || m.dstPorts != kNone || m.dstSvcSet != kNone)) return false;
          if ((m.flags & M_ICMP_TYPE) && !(pf & PROTO_IS_ICMP)) return false;
          return true;
        });
        std::vector<uint64_t> key(bits.begin() + long(at), bits.end());
        auto e = seen.emplace(key, uint8_t(seen.size()));
        if (!e.second) bits.resize(at);
        idx8.push_back(e.first->second);
      }
    }
    // Ports: per node class (its first port), and the class of packets
    // without ports (last): positive lists fail there, negated ones pass.
    // Every range's bounds are class bounds, so a class lies wholly inside
    // or outside each range: the masks are built rule by rule, a rule's bit
    // set in the classes it passes (all of them for rules without a list on
    // the field), then deduplicated.
    for (int f = 0; f < 2 && fits; f++) {
      const std::vector<uint32_t>& starts = classStart[f];
      const size_t ncls = starts.size() + 1, none = starts.size();
      (f == 0 ? t.dportBits : t.sportBits) = uint32_t(bits.size());
      (f == 0 ? t.dportIdx : t.sportIdx) = uint32_t(idx16.size());
      auto clsOf = [&](uint32_t port) { return size_t(std::upper_bound(starts.begin(), starts.end(), port) - starts.begin()) - 1; };
      std::vector<uint64_t> cm(ncls * W, 0), base(W, 0);
      std::vector<uint8_t> pass(ncls);
      auto mark = [&](const PortList& l, uint8_t v) {  // classes in l's ranges := v
        for (uint32_t k = 0; k < l.rangeCount; k++) {
          const PortRange& r = portRanges_[l.rangeStart + k];
          for (size_t c = clsOf(r.first), e = clsOf(r.last); c <= e; c++) pass[c] = v;
        }
      };
      for (uint32_t i = 0; i < n; i++) {
        const MatchRec* m = views[i].m;
        const uint32_t pos = m ? (f == 0 ? m->dstPorts : m->srcPorts) : kNone;
        const uint32_t neg = m ? (f == 0 ? m->dstNotPorts : m->srcNotPorts) : kNone;
        const uint64_t bit = uint64_t(1) << (i % 64);
        if (pos == kNone && neg == kNone) {
          base[i / 64] |= bit;
          continue;
        }
        // Named ports in a positive list: verified, so every class with ports.
        const bool all = pos == kNone || portLists_[pos].namedCount > 0;
        std::fill(pass.begin(), pass.end(), uint8_t(all ? 1 : 0));
        if (!all) mark(portLists_[pos], 1);
        pass[none] = pos == kNone;
        if (neg != kNone) mark(portLists_[neg], 0);  // a negated range hit fails whatever its names hold
        for (size_t c = 0; c < ncls; c++)
          if (pass[c]) cm[c * W + i / 64] |= bit;
      }
      std::map<std::vector<uint64_t>, uint16_t> seen;
      std::vector<uint64_t> key(W);
      for (size_t c = 0; c < ncls; c++) {
        for (uint32_t w = 0; w < W; w++) key[w] = cm[c * W + w] | base[w];
        auto e = seen.emplace(key, uint16_t(seen.size()));
        if (e.second) bits.insert(bits.end(), key.begin(), key.end());
        idx16.push_back(e.first->second);
      }
    }
    const uint64_t add = (maps.size() - mapsMark) * 2 + (bits.size() - bitsMark) * 8 + (idx16.size() - idx16Mark) * 2 +
                         (idx8.size() - idx8Mark) + uint64_t(n) * (sizeof(PmPos) + sizeof(const MatchRec*)) + sizeof(PmProg);
    if (!fits || bytes + add > budget) {
      maps.resize(mapsMark);
      bits.resize(bitsMark);
      idx16.resize(idx16Mark);
      idx8.resize(idx8Mark);
      for (const auto& k : newMaps) sideMaps.erase(k);
      continue;
    }
    bytes += add;
    t.pos = uint32_t(posAll.size());
    for (uint32_t i = 0; i < n; i++) {
      PmPos q = c.pos[i].p;
      const MatchRec* v = views[i].m && views[i].verify ? views[i].m : nullptr;
      q.verify = v != nullptr;
      q.decides = q.kind == PM_DECIDE && !v;
      posAll.push_back(q);
      verifyAll.push_back(v);
    }
    progOf[c.prog] = uint32_t(progs.size());
    progs.push_back(t);
    for (const Pos& q : c.pos) pmCut_ |= q.p.kind == PM_WALK;
  }
  if (progs.empty() || bits.size() >= (uint64_t(1) << 32) || maps.size() >= (uint64_t(1) << 32)) return;

  pmOf_.reset(new (std::nothrow) uint32_t[nPrograms_]);
  pmProgs_.reset(new (std::nothrow) PmProg[progs.size()]);
  pmMaps_ = bigArray<uint16_t>(maps.size() + 1);
  pmBits_ = bigArray<uint64_t>(bits.size() + 1);
  pmIdx_.reset(new (std::nothrow) uint16_t[idx16.size() + 1]);
  pmIdx8_.reset(new (std::nothrow) uint8_t[idx8.size() + 1]);
  pmPos_.reset(new (std::nothrow) PmPos[posAll.size() + 1]);
  pmVerify_.reset(new (std::nothrow) const MatchRec*[verifyAll.size() + 1]);
  if (!pmOf_ || !pmProgs_ || !pmMaps_ || !pmBits_ || !pmIdx_ || !pmIdx8_ || !pmPos_ || !pmVerify_) {
    pmOf_.reset();
    return;
  }
  std::copy(progOf.begin(), progOf.end(), pmOf_.get());
  std::copy(progs.begin(), progs.end(), pmProgs_.get());
  std::copy(maps.begin(), maps.end(), pmMaps_.get());
  std::copy(bits.begin(), bits.end(), pmBits_.get());
  std::copy(idx16.begin(), idx16.end(), pmIdx_.get());
  std::copy(idx8.begin(), idx8.end(), pmIdx8_.get());
  std::copy(posAll.begin(), posAll.end(), pmPos_.get());
  std::copy(verifyAll.begin(), verifyAll.end(), pmVerify_.get());
  {
    std::vector<uint16_t> fine(256, 0);  // block 0 unused
    for (int f = 0; f < 2; f++) {
      for (uint32_t b = 0; b < 256; b++) {
        const uint16_t* p = portClass.get() + size_t(f) * 65536 + 256 * b;
        const bool whole = p[0] < kPortFine && std::all_of(p, p + 256, [&](uint16_t c) { return c == p[0]; });
        if (whole) {
          pmPortHi_[256 * f + b] = p[0];
        } else {
          pmPortHi_[256 * f + b] = uint16_t(kPortFine | (fine.size() / 256));
          fine.insert(fine.end(), p, p + 256);
        }
      }
    }
    pmPortFine_.reset(new (std::nothrow) uint16_t[fine.size()]);
    if (!pmPortFine_) {
      pmOf_.reset();
      return;
    }
    std::copy(fine.begin(), fine.end(), pmPortFine_.get());
    bytes += 2 * fine.size();
  }
  pmNoPort_[0] = uint32_t(classStart[0].size());
  pmNoPort_[1] = uint32_t(classStart[1].size());
  pmCount_ = uint32_t(progs.size());
  pmBytes_ = bytes;
}

// See PmSpec (engine.h). entries: lane_'s programs ([2c + side]), whose PmProg indexes become
// PmSpec indexes, or walks (kLaneWalk | program) where a program's L4 index
// space is too large.
bool Engine::buildLaneSpecs(std::vector<uint32_t>* entries) {
  laneBytes_ = 0;
  if (!pmOf_ || pmCount_ == 0) return true;
  std::vector<uint32_t> progOfPm(pmCount_, kNone);
  for (uint32_t prog = 0; prog < nPrograms_; prog++)
    if (pmOf_[prog] != kNone) progOfPm[pmOf_[prog]] = prog;
  const uint64_t* B = pmBits_.get();
  const size_t nd = size_t(pmNoPort_[0]) + 1, ns = size_t(pmNoPort_[1]) + 1;
  uint64_t maxTriples = uint64_t(1) << 16;  // NV_LANE_L4_MAX (tests: programs walked beside lane programs)
  if (const char* env = std::getenv("NV_LANE_L4_MAX")) maxTriples = std::strtoull(env, nullptr, 10);
  std::vector<uint16_t> laneIdx;  // (the L4 index space is at most 65,536: each part fits)
  std::vector<uint32_t> l4Tab;
  uint64_t memoSize = 0;  // pmMemo_'s entries
  std::vector<uint64_t> laneBits;
  std::vector<PmSpec> specs;
  std::vector<uint32_t> specProg;
  // Per PmProg: its pmLaneIdx_ tables (at) and protocol, dport, sport mask
  // counts, once built; walked: its L4 index space is too large.
  struct LaneIdx {
    uint32_t at = kNone, np = 0, nd = 0, ns = 0;
    bool walked = false;
  };
  std::vector<LaneIdx> idxOf(pmCount_);
  std::map<std::tuple<uint32_t, int, uint32_t>, uint32_t> specOf;  // (PmProg, side, local class) -> PmSpec
  for (size_t e = 0; e < entries->size(); e++) {
    uint32_t& v = (*entries)[e];
    if (v >= kLaneWalk) continue;  // kNone, kLaneSlow, kLaneHost, walks
    const uint32_t pm = v, c = uint32_t(e / 2);
    const int side = int(e % 2);  // 0: egress (the local end is the source), 1: ingress
    const PmProg& t = pmProgs_[pm];
    const uint32_t W = t.words;
    const int local = side == 0 ? SIDE_SRC : SIDE_DST, remote = side == 0 ? SIDE_DST : SIDE_SRC;
    const uint32_t lc = t.map[local] == kNone ? 0 : pmMaps_[t.map[local] + classes_[c].identity];
    auto key = std::make_tuple(pm, side, lc);
    auto it = specOf.find(key);
    if (it != specOf.end()) {
      v = it->second;
      continue;
    }
    // The program's index parts: protocol p, destination port d and source
    // port s give the L4 index (p * nd' + d) * ns' + s (nd', ns': its mask
    // counts for those fields).
    LaneIdx& li = idxOf[pm];
    if (li.at == kNone && !li.walked) {
      for (uint32_t k = 0; k < 256; k++) li.np = std::max(li.np, uint32_t(pmIdx8_[t.protoIdx + k]) + 1);
      for (size_t k = 0; k < nd; k++) li.nd = std::max(li.nd, uint32_t(pmIdx_[t.dportIdx + k]) + 1);
      for (size_t k = 0; k < ns; k++) li.ns = std::max(li.ns, uint32_t(pmIdx_[t.sportIdx + k]) + 1);
      li.walked = uint64_t(li.np) * li.nd * li.ns > std::min<uint64_t>(maxTriples, uint64_t(1) << 16);
      if (!li.walked) {
        li.at = uint32_t(laneIdx.size());
        for (uint32_t k = 0; k < 256; k++) laneIdx.push_back(uint16_t(pmIdx8_[t.protoIdx + k] * li.nd * li.ns));
        for (size_t k = 0; k < nd; k++) laneIdx.push_back(uint16_t(pmIdx_[t.dportIdx + k] * li.ns));
        for (size_t k = 0; k < ns; k++) laneIdx.push_back(pmIdx_[t.sportIdx + k]);
      }
    }
    if (li.walked) {
      v = kLaneWalk | progOfPm[pm];
      continue;
    }
    PmSpec sp;
    sp.words = W;
    sp.pos = t.pos;
    sp.remoteMap = t.map[remote];
    sp.remoteBits = t.sideBits[remote];
    sp.idx[0] = li.at;
    sp.idx[1] = li.at + 256;
    sp.idx[2] = li.at + 256 + uint32_t(nd);
    sp.l4 = uint32_t(l4Tab.size());
    sp.lanes = uint32_t(laneBits.size());
    // The folded masks, deduplicated (mask j at lanes + j * W).
    const uint64_t* lm = B + t.sideBits[local] + uint64_t(lc) * W;
    std::map<std::vector<uint64_t>, uint32_t> seen;
    std::vector<uint64_t> x(W);
    for (uint32_t p = 0; p < li.np; p++) {
      const uint64_t* pmk = B + t.protoBits + uint64_t(p) * W;
      for (uint32_t d = 0; d < li.nd; d++) {
        const uint64_t* dmk = B + t.dportBits + uint64_t(d) * W;
        for (uint32_t q = 0; q < li.ns; q++) {
          const uint64_t* smk = B + t.sportBits + uint64_t(q) * W;
          for (uint32_t w = 0; w < W; w++) x[w] = lm[w] & pmk[w] & dmk[w] & smk[w];
          auto r = seen.emplace(x, uint32_t(seen.size()));
          if (r.second) laneBits.insert(laneBits.end(), x.begin(), x.end());
          l4Tab.push_back(r.first->second);
        }
      }
    }
    sp.folded = uint32_t(seen.size());
    sp.memo = uint32_t(std::min<uint64_t>(memoSize, kNone));
    memoSize += uint64_t(t.classes[remote]) * sp.folded;
    if (laneBits.size() >= (uint64_t(1) << 32) || specs.size() >= kLaneWalk) return false;
    v = uint32_t(specs.size());
    specOf.emplace(key, v);
    specs.push_back(sp);
    specProg.push_back(progOfPm[pm]);
  }
  if (specs.empty()) return true;
  pmSpecs_.reset(new (std::nothrow) PmSpec[specs.size()]);
  pmSpecProg_.reset(new (std::nothrow) uint32_t[specs.size()]);
  pmLaneIdx_.reset(new (std::nothrow) uint16_t[laneIdx.size() + 1]);
  pmLaneL4_.reset(new (std::nothrow) uint32_t[l4Tab.size() + 1]);
  pmLaneBits_ = bigArray<uint64_t>(laneBits.size() + 1);
  if (!pmSpecs_ || !pmSpecProg_ || !pmLaneIdx_ || !pmLaneL4_ || !pmLaneBits_) return false;
  std::copy(specProg.begin(), specProg.end(), pmSpecProg_.get());
  std::copy(specs.begin(), specs.end(), pmSpecs_.get());
  pmSpecCount_ = uint32_t(specs.size());
  std::copy(laneIdx.begin(), laneIdx.end(), pmLaneIdx_.get());
  std::copy(l4Tab.begin(), l4Tab.end(), pmLaneL4_.get());
  std::copy(laneBits.begin(), laneBits.end(), pmLaneBits_.get());
  laneBytes_ = specs.size() * (sizeof(PmSpec) + 4) + 2 * laneIdx.size() + 4 * l4Tab.size() + 8 * laneBits.size();
  // The memo (see pmMemo_): best effort.
  uint64_t memoMax = kLaneMemoMax;  // NV_LANE_MEMO_MAX
  if (const char* env = std::getenv("NV_LANE_MEMO_MAX")) memoMax = std::strtoull(env, nullptr, 10);
  if (const char* env = std::getenv("NV_LANE_MEMO")) {
    if (env[0] == '0' && env[1] == 0) memoMax = 0;
  }
  // Without it, pmLaneL4_ holds the folded masks' offsets (one multiply less per lane).
  auto offsets = [&] {
    for (uint32_t v = 0; v < pmSpecCount_; v++) {
      const PmSpec& sp = pmSpecs_[v];
      const size_t end = v + 1 < pmSpecCount_ ? pmSpecs_[v + 1].l4 : l4Tab.size();
      for (size_t i = sp.l4; i < end; i++) pmLaneL4_[i] = sp.lanes + pmLaneL4_[i] * sp.words;
    }
    return true;
  };
  if (memoSize == 0 || memoSize > memoMax || memoSize >= kNone) return offsets();  // (its offsets are 32-bit)
  BigArray<uint8_t> memo = bigArray<uint8_t>(memoSize);
  if (!memo) return offsets();
  const uint64_t* LB = pmLaneBits_.get();
  for (uint32_t v = 0; v < pmSpecCount_; v++) {
    const PmSpec& sp = pmSpecs_[v];
    // Its remote classes: its span of the table over its folded masks.
    const uint32_t W = sp.words, nrc = uint32_t((v + 1 < pmSpecCount_ ? pmSpecs_[v + 1].memo : memoSize) - sp.memo) / sp.folded;
    for (uint32_t rc = 0; rc < nrc; rc++) {
      const uint64_t* rm = B + sp.remoteBits + uint64_t(rc) * W;
      for (uint32_t j = 0; j < sp.folded; j++) {
        const uint64_t* fm = LB + sp.lanes + uint64_t(j) * W;
        uint32_t first = kNone;
        for (uint32_t w = 0; w < W && first == kNone; w++)
          if (const uint64_t x = rm[w] & fm[w]) first = w * 64 + uint32_t(__builtin_ctzll(x));
        if (first > 255) return offsets();  // not reached: the last position is always set
        memo[sp.memo + uint64_t(rc) * sp.folded + j] = uint8_t(first);
      }
    }
  }
  // With it, the folded masks' indexes in 16 bits (pmLaneJ_: at most 65,536
  // of them per lane program, as L4 indexes) instead of pmLaneL4_.
  pmLaneJ_.reset(new (std::nothrow) uint16_t[l4Tab.size() + 1]);
  if (!pmLaneJ_) return offsets();
  std::copy(l4Tab.begin(), l4Tab.end(), pmLaneJ_.get());
  pmLaneL4_.reset();
  pmMemo_ = std::move(memo);
  pmMemoSize_ = memoSize;
  laneBytes_ = laneBytes_ - 4 * l4Tab.size() + 2 * l4Tab.size() + memoSize;  // pmLaneJ_ for pmLaneL4_, and the table
  return true;
}

// The node lane path (see nodeLanes_): each class's part in it. Best effort:
// without memory, no lanes.
void Engine::buildNodeLanes() {
  nodeLanes_ = false;
  if (nClasses_ == 0 || anyFirstTree_ || (nFrontends_ > 0 && !natClass_)) return;  // trees: the batch loop's lockstep hints
  bool force = false;  // NV_NODE_LANES=1: on whatever the image (tests)
  if (const char* env = std::getenv("NV_NODE_LANES")) {
    if (env[0] == '0' && env[1] == 0) return;
    force = env[0] == '1' && env[1] == 0;
  }
  // Programs the lanes can walk: no pre-DNAT tiers (they need the packet as
  // sent) and no failsafe op (host endpoints').
  std::vector<uint8_t> walkable(nPrograms_, 1);
  for (uint32_t prog = 0; prog < nPrograms_; prog++) {
    const Program& pr = programs_[prog];
    for (uint32_t i = 0; i < pr.opCount; i++) {
      const Op& o = ops_[pr.opStart + i];
      if (o.opcode == OP_FAILSAFE || (o.opcode == OP_TIERS && o.arg == TIERS_PREDNAT)) walkable[prog] = 0;
    }
  }
  const uint32_t ti = config_->transitIngressProg, te = config_->transitEgressProg;
  laneTransit_ = ti < nPrograms_ && te < nPrograms_ && walkable[ti] && walkable[te];
  laneWalks_ = laneTransit_ || pmCut_;  // PM_WALK: lane programs walk too
  lane_.reset(new (std::nothrow) LaneClass[size_t(nClasses_) + 1]);
  if (!lane_) return;
  std::vector<uint32_t> entries(2 * size_t(nClasses_));
  for (uint32_t c = 0; c < nClasses_; c++) {
    const AddrClass& a = classes_[c];
    const bool policed = a.flags & CLASS_POLICED;
    for (int side = 0; side < 2; side++) {
      uint32_t v = kNone;
      if ((a.epKind == EP_HEP || a.epKind == EP_WEP) && policed && a.hostNode != kNone) {
        v = kLaneSlow;
      } else if (a.epKind == EP_HEP && policed) {
        v = kLaneSlow;
      } else if (a.hostNode != kNone) {
        v = kLaneHost;
      } else if (a.epKind == EP_WEP && policed) {
        const uint32_t prog = side == 0 ? a.egressProg : a.ingressProg;
        const NodeRec* node = a.epNode < nNodes_ ? &nodes_[a.epNode] : nullptr;
        const uint32_t fwd = node ? (side == 0 ? node->fwdEgressProg : node->fwdIngressProg) : kNone;
        const uint32_t pm = pmOf_ && prog < nPrograms_ ? pmOf_[prog] : kNone;
        if (prog >= nPrograms_ || prog >= kLaneWalk || fwd != kNone || !walkable[prog]) v = kLaneSlow;
        else v = pm != kNone ? pm : kLaneWalk | prog;
      }
      entries[2 * size_t(c) + side] = v;
    }
  }
  // PmProg entries become lane programs (a walk where one does not fit).
  if (!buildLaneSpecs(&entries)) return;
  for (uint32_t c = 0; c < 2 * nClasses_; c++)
    laneWalks_ |= entries[c] >= kLaneWalk && entries[c] < kLaneHost;  // kLaneWalk | program
  for (uint32_t c = 0; c < nClasses_; c++) {
    LaneClass& l = lane_[c];
    l.prog[0] = entries[2 * size_t(c)];
    l.prog[1] = entries[2 * size_t(c) + 1];
    l.identity = classes_[c].identity;
    l.nat = (natClass_ && natClass_[c] ? 1 : 0) | (nNodePorts_ > 0 && classes_[c].hostNode != kNone ? 2 : 0);
  }
  lane_[nClasses_] = LaneClass{{kNone, kNone}, 0, 0};
  laneBytes_ += sizeof(LaneClass) * (uint64_t(nClasses_) + 1);
  // Lanes pay on one node's data path (its programs long, its tuples mostly
  // to or from its own workloads) or with program masks; a whole cluster's
  // short programs walk as fast from the batch loop (measured: 1k/1k 63 ->
  // 66 ns, 10k/10k 149 -> 150 with lanes).
  uint32_t policedNode = kNone;
  bool oneNode = true;
  for (uint32_t c = 0; c < nClasses_ && oneNode; c++) {
    const AddrClass& a = classes_[c];
    if (a.epKind != EP_WEP || !(a.flags & CLASS_POLICED)) continue;
    if (policedNode == kNone) policedNode = a.epNode;
    oneNode = a.epNode == policedNode;
  }
  oneNode &= policedNode != kNone;  // no policed workload (host endpoints, transit only): their lanes would all go slow
  if (!oneNode && pmCount_ == 0 && !force) return;
  nodeLanes_ = true;
}

}  // namespace nv
