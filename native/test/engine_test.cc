// Native tests without Node (built with ASan/UBSan by native/test/Makefile):
// the golden image loads; every truncation and single-bit flip is rejected;
// random corruption with a recomputed CRC is rejected with a code or, when
// accepted, classifies random tuples without any out-of-bounds access
// (the sanitizers are the oracle here); a few known verdicts.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine.h"
#include "load_with.h"

namespace {

int failures = 0;
#define EXPECT(cond, ...)                                   \
  do {                                                      \
    if (!(cond)) {                                          \
      failures++;                                           \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                    \
      std::fprintf(stderr, "\n");                           \
    }                                                       \
  } while (0)

uint32_t rng_state = 12345;
uint32_t rnd() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

void fixCrc(std::vector<uint8_t>& b) {
  std::memset(b.data() + 24, 0, 4);
  const uint32_t c = nv::crc32c(b.data(), b.size());
  std::memcpy(b.data() + 24, &c, 4);
}

const int kStrategies[] = {nv::STRATEGY_LINEAR, nv::STRATEGY_DECISION, nv::STRATEGY_DECISION_BITMAPS};
constexpr uint32_t kCanary = 0xDEADBEEFu;

void classifyRandom(const nv::Engine& e, int n) {
  nv::Result r;
  for (int i = 0; i < n; i++) {
    uint32_t s[4] = {rnd(), rnd(), rnd(), rnd()}, d[4] = {rnd(), rnd(), rnd(), rnd()};
    if (i % 3 == 0) s[0] = 0x0A000000u | (rnd() & 0xffff);  // 10.0.x.x
    if (i % 3 == 1) d[0] = 0x0A000000u | (rnd() & 0xffff);
    if (i % 5 == 0) d[0] = 0x0A600014u;                      // the example's ClusterIP
    const uint8_t protos[] = {6, 17, 1, 58, 132, 47};
    const int fam = i % 4 == 0 ? 6 : 4;
    const uint8_t proto = protos[rnd() % 6];
    const uint16_t sp = uint16_t(rnd()), dp = i % 2 ? 80 : uint16_t(rnd());
    nv::Result q, q2;
    e.classify(fam, s, d, proto, sp, dp, &r, nv::STRATEGY_LINEAR);
    e.classify(fam, s, d, proto, sp, dp, &q, nv::STRATEGY_DECISION);
    e.classify(fam, s, d, proto, sp, dp, &q2, nv::STRATEGY_DECISION_BITMAPS);
    {
      // Trace events on (any image the loader accepts): within the capacity.
      uint32_t ev[17];
      ev[16] = kCanary;
      uint8_t count = 0;
      nv::Result t;
      e.classify(fam, s, d, proto, sp, dp, &t, i % 2 ? nv::STRATEGY_DECISION : nv::STRATEGY_LINEAR, ev, 16, &count);
      EXPECT(ev[16] == kCanary && (count <= 16 || count == nv::kEventOverflow), "events overrun on tuple %d", i);
      EXPECT(t.verdict == r.verdict && t.decidingRule == r.decidingRule, "events on changed the verdict on tuple %d", i);
    }
    EXPECT(q.verdict == q2.verdict && q.decidingRule == q2.decidingRule && q.evalReasons == q2.evalReasons, "bitmap path differs on tuple %d", i);
    // Both strategies agree (the TypeScript differential tests compare them with the reference).
    EXPECT(r.verdict == q.verdict && r.decidingRule == q.decidingRule && r.egressRule == q.egressRule &&
               r.ingressRule == q.ingressRule && r.evalReasons == q.evalReasons && r.natBackend == q.natBackend,
           "linear and decision strategies disagree on tuple %d", i);
  }
}

// ---- trace events (engine.h BatchOut::events) -------------------------------

// Tuples biased to the addresses of src/gen clusters (pods 10.128.x.y, nodes
// 172.18.0.x, services 10.96.0.x, externals, load balancers; IPv6 likewise)
// and to the egress-allowlist example, with common ports.
void biasedTuple(int i, int* fam, uint32_t* s, uint32_t* d, uint8_t* proto, uint16_t* sp, uint16_t* dp) {
  auto v4 = [](uint32_t* a) {
    const uint32_t bases[] = {0x0A800000u, 0x0A800100u, 0x0A800200u, 0x0A800300u, 0xAC12000Au, 0x0A60000Au,
                              0xC6120001u, 0xC6130001u, 0x64400001u, 0x0A000108u, 0xCB00710Au};
    const uint32_t b = rnd() % 11;
    a[0] = bases[b] + rnd() % (b < 4 ? 32 : 8);
    if (rnd() % 16 == 0) a[0] = rnd();
  };
  auto v6 = [](uint32_t* a) {
    const uint32_t r = rnd() % 4;
    a[0] = 0xfd000010u;
    a[1] = 0x02440000u | (rnd() % 4);
    a[2] = 0;
    a[3] = 1 + rnd() % 12;
    if (r == 1) { a[0] = 0xfd000172u; a[1] = 0x00180000u; a[3] = 0xa + rnd() % 4; }
    if (r == 2) { a[0] = 0xfd000010u; a[1] = 0x00960000u; a[3] = 0xa + rnd() % 4; }
    if (r == 3) { a[0] = 0x20010db8u; a[1] = 0x00010000u; a[3] = 1 + rnd() % 3; }
  };
  *fam = i % 5 == 0 ? 6 : 4;
  for (int k = 0; k < 4; k++) s[k] = d[k] = 0;
  if (*fam == 4) { v4(s); v4(d); } else { v6(s); v6(d); }
  const uint8_t protos[] = {6, 6, 6, 17, 17, 1, 58, 132};
  *proto = protos[rnd() % 8];
  const uint16_t ports[] = {80, 443, 53, 8080, 22, 9090, 5432, 6443, 3000, 10250};
  *sp = rnd() % 3 ? uint16_t(1024 + rnd() % 60000) : ports[rnd() % 10];
  *dp = rnd() % 5 ? ports[rnd() % 10] : uint16_t(rnd());
  if (*proto == 1 || *proto == 58) { *sp = uint16_t(rnd() % 12); *dp = uint16_t(rnd() % 3); }
}

struct TraceStats { int tuples = 0, logged = 0, multiEval = 0, forward = 0, transit = 0, maxCount = 0; };

// Structural checks of one tuple's events against its Result: every
// evaluation closed by EV_EVAL, the SRC/DST evaluations' last entries and
// reasons are egressRule/ingressRule and evalReasons' bytes, the deciding
// evaluation (first deny, else last) gives decidingRule.
void checkEvents(const nv::Engine& e, const nv::Result& r, const uint32_t* ev, uint32_t n, int i, TraceStats* st) {
  uint32_t lastEntry = nv::fmt::kNone, evals = 0, decRule = nv::fmt::kNone, decReason = 0;
  bool haveDeny = false, logs = false;
  uint32_t egRule = nv::fmt::kNone, inRule = nv::fmt::kNone, egReason = 0, inReason = 0;
  for (uint32_t k = 0; k < n; k++) {
    const uint32_t kind = ev[k] >> nv::kEventKindShift, pay = ev[k] & nv::kEventPayload;
    if (kind == nv::EV_ENTRY || kind == nv::EV_LOG) {
      EXPECT(pay < e.ruleCount(), "tuple %d: event rule id %u out of range", i, pay);
      if (kind == nv::EV_ENTRY) lastEntry = pay; else logs = true;
      continue;
    }
    EXPECT(kind == nv::EV_EVAL, "tuple %d: unknown event kind %u", i, kind);
    const uint32_t slot = pay & 0xff, reason = (pay >> 8) & 0xff, allow = (pay >> 16) & 1;
    EXPECT(slot <= nv::SLOT_TRANSIT_EGRESS && (pay >> 17) == 0, "tuple %d: bad EV_EVAL %08x", i, pay);
    evals++;
    if (slot == nv::SLOT_SRC) { egRule = lastEntry; egReason = reason; }
    if (slot == nv::SLOT_DST) { inRule = lastEntry; inReason = reason; }
    if (slot == nv::SLOT_FWD_EGRESS || slot == nv::SLOT_FWD_INGRESS) st->forward++;
    if (slot == nv::SLOT_TRANSIT_INGRESS || slot == nv::SLOT_TRANSIT_EGRESS) st->transit++;
    if (!haveDeny) { decRule = lastEntry; decReason = reason; }
    if (!allow) haveDeny = true;
    lastEntry = nv::fmt::kNone;
  }
  EXPECT(n == 0 || (ev[n - 1] >> nv::kEventKindShift) == nv::EV_EVAL, "tuple %d: events not closed by EV_EVAL", i);
  EXPECT(egRule == r.egressRule && inRule == r.ingressRule && egReason == (r.evalReasons & 0xff) &&
             inReason == ((r.evalReasons >> 8) & 0xff),
         "tuple %d: events disagree with egress/ingress outputs", i);
  if (evals > 0)
    EXPECT(decRule == r.decidingRule && decReason == ((r.evalReasons >> 16) & 0xff), "tuple %d: events disagree with the deciding outputs", i);
  st->tuples++;
  st->logged += logs;
  st->multiEval += evals > 1;
  if (int(n) > st->maxCount) st->maxCount = int(n);
}

// Trace events: equal across strategies and between the single-tuple and
// batch paths, consistent with the other outputs, within traceBound; a short
// stride flags overflow and never writes past it.
TraceStats checkTraces(const nv::Engine& e, int n) {
  TraceStats st;
  const uint32_t bound = e.traceBound();
  EXPECT(bound >= 4, "traceBound %u below one evaluation per possible slot", bound);
  const uint32_t K = bound < nv::kMaxEventStride ? bound : nv::kMaxEventStride;
  std::vector<int> fams(n);
  std::vector<uint32_t> src4(n), dst4(n), src6(4 * n), dst6(4 * n);
  std::vector<uint16_t> sps(n), dps(n);
  std::vector<uint8_t> prs(n);
  std::vector<uint32_t> single[3];  // per strategy, n * K
  std::vector<uint8_t> singleCount[3];
  for (int s = 0; s < 3; s++) { single[s].assign(size_t(n) * K, 0); singleCount[s].assign(n, 0); }
  std::vector<uint32_t> buf(K + 2);
  for (int i = 0; i < n; i++) {
    uint32_t s[4], d[4];
    biasedTuple(i, &fams[i], s, d, &prs[i], &sps[i], &dps[i]);
    src4[i] = s[0]; dst4[i] = d[0];
    for (int k = 0; k < 4; k++) { src6[4 * i + k] = s[k]; dst6[4 * i + k] = d[k]; }
    for (int si = 0; si < 3; si++) {
      nv::Result r;
      buf[K] = buf[K + 1] = kCanary;
      uint8_t count = 0;
      e.classify(fams[i], s, d, prs[i], sps[i], dps[i], &r, kStrategies[si], buf.data(), K, &count);
      EXPECT(buf[K] == kCanary && buf[K + 1] == kCanary, "tuple %d: events written past the capacity", i);
      EXPECT(count != nv::kEventOverflow && count <= bound, "tuple %d: %u events, bound %u", i, count, bound);
      if (count == nv::kEventOverflow) continue;
      nv::Result plain;
      e.classify(fams[i], s, d, prs[i], sps[i], dps[i], &plain, kStrategies[si]);
      EXPECT(plain.verdict == r.verdict && plain.decidingRule == r.decidingRule && plain.evalReasons == r.evalReasons &&
                 plain.rulesVisited == r.rulesVisited,
             "tuple %d: events on changed the outputs (strategy %d)", i, kStrategies[si]);
      if (si == 0) checkEvents(e, r, buf.data(), count, i, &st);
      std::memcpy(&single[si][size_t(i) * K], buf.data(), count * 4);
      singleCount[si][i] = count;
      if (si > 0)
        EXPECT(count == singleCount[0][i] && std::memcmp(buf.data(), &single[0][size_t(i) * K], count * 4) == 0,
               "tuple %d: events of strategy %d differ from linear", i, kStrategies[si]);
      // Every shorter capacity: overflow flagged, nothing written past it.
      for (uint32_t cap = count > 0 ? count - 1 : 0; cap > 0 && cap + 3 > count; cap--) {
        std::vector<uint32_t> small(cap + 1, 0);
        small[cap] = kCanary;
        uint8_t c2 = 0;
        e.classify(fams[i], s, d, prs[i], sps[i], dps[i], &r, kStrategies[si], small.data(), cap, &c2);
        EXPECT(c2 == nv::kEventOverflow && small[cap] == kCanary, "tuple %d: capacity %u not flagged or overrun", i, cap);
      }
    }
  }
  // Batch path, per family and strategy, with the full stride and a short one.
  for (int fam : {4, 6}) {
    std::vector<size_t> at;
    for (int i = 0; i < n; i++) if (fams[i] == fam) at.push_back(size_t(i));
    const size_t m = at.size(), w = fam == 4 ? 1 : 4;
    std::vector<uint32_t> bs(m * w), bd(m * w);
    std::vector<uint16_t> bsp(m), bdp(m);
    std::vector<uint8_t> bpr(m), vd(m);
    for (size_t j = 0; j < m; j++) {
      const size_t i = at[j];
      for (size_t k = 0; k < w; k++) {
        bs[j * w + k] = fam == 4 ? src4[i] : src6[4 * i + k];
        bd[j * w + k] = fam == 4 ? dst4[i] : dst6[4 * i + k];
      }
      bsp[j] = sps[i]; bdp[j] = dps[i]; bpr[j] = prs[i];
    }
    for (int si = 0; si < 3; si++) {
      for (uint32_t stride : {K, K > 3 ? K / 3 : 1u}) {
        std::vector<uint32_t> ev(m * stride + 1, 0);
        ev[m * stride] = kCanary;
        std::vector<uint8_t> cnt(m, 0);
        nv::Batch b{m, bs.data(), bd.data(), bsp.data(), bdp.data(), bpr.data()};
        nv::BatchOut o{};
        o.verdict = vd.data();
        o.events = ev.data();
        o.eventCount = cnt.data();
        o.eventStride = stride;
        e.classifyBatch(fam, b, o, kStrategies[si]);
        EXPECT(ev[m * stride] == kCanary, "batch events written past the buffer (IPv%d, strategy %d)", fam, kStrategies[si]);
        for (size_t j = 0; j < m; j++) {
          const size_t i = at[j];
          const uint8_t want = singleCount[si][i];
          if (want > stride) {
            EXPECT(cnt[j] == nv::kEventOverflow, "batch tuple %zu: %u events in stride %u not flagged", i, want, stride);
          } else {
            EXPECT(cnt[j] == want && std::memcmp(&ev[j * stride], &single[si][i * K], want * 4) == 0,
                   "batch != single events at tuple %zu (strategy %d, stride %u)", i, kStrategies[si], stride);
          }
        }
      }
    }
  }
  return st;
}

}  // namespace

// ---- fast transit path (Engine::classifyFastTransit) -------------------------

// IPv4 interval starts of an image (V4_STARTS), read from its section
// directory: addresses at, just below and inside them reach the rules' boxes.
std::vector<uint32_t> v4Starts(const std::vector<uint8_t>& img) {
  std::vector<uint32_t> out;
  nv::fmt::ImageHeader h;
  std::memcpy(&h, img.data(), sizeof h);
  for (uint32_t i = 0; i < h.sectionCount; i++) {
    nv::fmt::SectionEntry e;
    std::memcpy(&e, img.data() + h.directoryOffset + i * sizeof e, sizeof e);
    if (e.id != nv::fmt::S_V4_STARTS) continue;
    out.resize(e.count);
    std::memcpy(out.data(), img.data() + e.offset, e.count * 4);
  }
  return out;
}

// The fast path against its twin (NV_FAST_TRANSIT=0: the general path), every
// output, with one tree root and with grouped roots, batches of several sizes.
void checkFastTransit(const std::vector<uint8_t>& img) {
  nv::LoadError err;
  std::string detail;
  const std::vector<uint32_t> starts = v4Starts(img);
  EXPECT(starts.size() > 8, "transit fixture: no IPv4 intervals");
  if (starts.size() <= 8) return;
  const size_t n = 4099;  // not a multiple of the lane count
  std::vector<uint32_t> src(n), dst(n);
  std::vector<uint16_t> sp(n), dp(n);
  std::vector<uint8_t> pr(n);
  const uint16_t ports[] = {0, 22, 53, 80, 443, 1024, 8080, 65535};
  const uint8_t protos[] = {6, 6, 17, 17, 1, 47, 0};
  auto addr = [&]() {
    const uint32_t a = starts[rnd() % starts.size()];
    switch (rnd() % 4) {
      case 0: return a;
      case 1: return a - 1;
      case 2: return a + (rnd() & 0xff);
      default: return rnd();
    }
  };
  for (size_t i = 0; i < n; i++) {
    src[i] = addr();
    dst[i] = addr();
    pr[i] = protos[rnd() % 7];
    sp[i] = rnd() % 3 ? ports[rnd() % 8] : uint16_t(rnd());
    dp[i] = rnd() % 3 ? ports[rnd() % 8] : uint16_t(rnd());
  }
  // RFC tables (Engine::Rfc; this fixture's block gets them), alone (the
  // fast path's RFC form) and with every 7th rule checked apart
  // (NV_RFC_APART=7: the lookups of firstDecided and the fast path that test
  // rules outside the tables), against the trees alone (NV_RFC=0): every
  // output but the work count.
  for (const char* apart : {"0", "7"}) {
    unsetenv("NV_DTREE_MIN_RULES");
    setenv("NV_RFC_APART", apart, 1);
    auto withRfc = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_RFC_APART");
    setenv("NV_RFC", "0", 1);
    auto trees = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_RFC");
    setenv("NV_DTREE_MIN_RULES", "1", 1);
    EXPECT(withRfc && trees, "transit fixture rejected: %s %s", nv::loadErrorName(err), detail.c_str());
    if (!withRfc || !trees) return;
    EXPECT(withRfc->rfcCount() > 0 && trees->rfcCount() == 0, "RFC tables: %u with, %u without", withRfc->rfcCount(), trees->rfcCount());
    std::vector<uint32_t> o32[2][6];
    std::vector<uint8_t> o8[2][2];
    for (int k = 0; k < 2; k++) {
      for (auto& v : o32[k]) v.assign(n, kCanary);
      for (auto& v : o8[k]) v.assign(n, 0xee);
      nv::Batch b{n, src.data(), dst.data(), sp.data(), dp.data(), pr.data()};
      nv::BatchOut o{o8[k][0].data(), o8[k][1].data(), o32[k][0].data(), o32[k][1].data(), o32[k][2].data(),
                     o32[k][3].data(), o32[k][4].data(), o32[k][5].data(), nullptr, nullptr, 0};
      (k ? trees : withRfc)->classifyBatch(4, b, o, nv::STRATEGY_DECISION);
    }
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
      for (int j = 0; j < 5; j++) differ += o32[0][j][i] != o32[1][j][i];
      for (int j = 0; j < 2; j++) differ += o8[0][j][i] != o8[1][j][i];
    }
    EXPECT(differ == 0, "RFC tables != trees on %zu outputs (NV_RFC_APART=%s)", differ, apart);
    // The single-tuple general path (events on) uses the tables too.
    for (size_t i = 0; i < 500; i++) {
      nv::Result a, b;
      uint32_t ev[64];
      uint8_t cnt = 0;
      withRfc->classify(4, &src[i], &dst[i], pr[i], sp[i], dp[i], &a, nv::STRATEGY_DECISION, ev, 64, &cnt);
      trees->classify(4, &src[i], &dst[i], pr[i], sp[i], dp[i], &b, nv::STRATEGY_DECISION, ev, 64, &cnt);
      EXPECT(a.verdict == b.verdict && a.decidingRule == b.decidingRule && a.evalReasons == b.evalReasons,
             "tuple %zu: RFC tables != trees on the general path (NV_RFC_APART=%s)", i, apart);
    }
  }
  // RFC tables (the fast path's RFC form), with rules checked apart, then
  // without RFC tables: one root, grouped trees, one root with 32-bit leaves
  // (blocks of more than 65,536 rules; 16-bit otherwise).
  bool simdTested = false, avx2Tested = false;
  // Tree configs three times: the AVX-512 stage where the CPU has it, the
  // AVX2 one (NV_SIMD=avx2, suffix V) where it has AVX2, then the scalar twin
  // (NV_SIMD=0, suffix S); suffix I: every 5th rule gets the full rule test in
  // the leaf scans (NV_DTREE_INEXACT=5).
  for (const char* config : {"R", "A", "0", "1", "L", "0V", "1V", "LV", "0S", "1S", "LS", "1I", "1IV", "1IS"}) {
    const char* groups = config[0] == '1' ? "1" : "0";
    const bool scalar = std::strchr(config, 'S') != nullptr;
    const bool avx2 = std::strchr(config, 'V') != nullptr;
    if (scalar) setenv("NV_SIMD", "0", 1);
    if (avx2) setenv("NV_SIMD", "avx2", 1);
    if (std::strchr(config, 'I')) setenv("NV_DTREE_INEXACT", "5", 1);
    setenv("NV_DTREE_GROUPS", groups, 1);
    if (config[0] == 'L') setenv("NV_DTREE_LEAVES32", "1", 1);
    if (config[0] == 'A') setenv("NV_RFC_APART", "7", 1);
    if (config[0] != 'R' && config[0] != 'A') setenv("NV_RFC", "0", 1);
    unsetenv("NV_DTREE_MIN_RULES");
    auto fast = nv::Engine::load(img.data(), img.size(), &err, &detail);
    setenv("NV_FAST_TRANSIT", "0", 1);
    auto twin = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_FAST_TRANSIT");
    unsetenv("NV_DTREE_GROUPS");
    unsetenv("NV_DTREE_LEAVES32");
    unsetenv("NV_RFC");
    unsetenv("NV_RFC_APART");
    unsetenv("NV_SIMD");
    unsetenv("NV_DTREE_INEXACT");
    setenv("NV_DTREE_MIN_RULES", "1", 1);
    EXPECT(fast && twin, "transit fixture rejected: %s %s", nv::loadErrorName(err), detail.c_str());
    if (!fast || !twin) return;
    EXPECT(fast->fastTransit() && !twin->fastTransit(), "fast transit path not taken (groups %s), or not off in the twin", groups);
    EXPECT(fast->fastRfc() == (config[0] == 'R'), "config %s: the fast path's RFC form %s", config, fast->fastRfc() ? "taken" : "not taken");
    EXPECT(!fast->simd() || !scalar, "config %s: NV_SIMD=0 did not turn the SIMD stages off", config);
    EXPECT(!avx2 || std::strcmp(fast->simdForm(), "avx512") != 0, "config %s: NV_SIMD=avx2 kept the AVX-512 stage", config);
    if (config[0] == '0' && !config[1]) simdTested = std::strcmp(fast->simdForm(), "avx512") == 0;
    if (config[0] == '0' && avx2) avx2Tested = std::strcmp(fast->simdForm(), "avx2") == 0;
    for (size_t m : {n, size_t(0), size_t(1), size_t(31), size_t(33), size_t(63), size_t(65), size_t(100)}) {
      std::vector<uint32_t> o32[2][6];
      std::vector<uint8_t> o8[2][2];
      for (int k = 0; k < 2; k++) {
        for (auto& v : o32[k]) v.assign(m + 1, kCanary);
        for (auto& v : o8[k]) v.assign(m + 1, 0xee);
        nv::Batch b{m, src.data(), dst.data(), sp.data(), dp.data(), pr.data()};
        nv::BatchOut o{o8[k][0].data(), o8[k][1].data(), o32[k][0].data(), o32[k][1].data(), o32[k][2].data(),
                       o32[k][3].data(), o32[k][4].data(), o32[k][5].data(), nullptr, nullptr, 0};
        (k ? twin : fast)->classifyBatch(4, b, o, nv::STRATEGY_DECISION);
        EXPECT(o32[k][0][m] == kCanary && o8[k][0][m] == 0xee, "batch of %zu wrote past its end", m);
      }
      size_t differ = 0;
      for (size_t i = 0; i < m; i++) {
        for (int j = 0; j < 6; j++) differ += o32[0][j][i] != o32[1][j][i];
        for (int j = 0; j < 2; j++) differ += o8[0][j][i] != o8[1][j][i];
      }
      EXPECT(differ == 0, "fast transit path != general path on %zu outputs (batch %zu, groups %s)", differ, m, groups);
      // Single tuples take the fast path too (a batch of one).
      for (size_t i = 0; i < m && i < 500; i++) {
        nv::Result r;
        fast->classify(4, &src[i], &dst[i], pr[i], sp[i], dp[i], &r, nv::STRATEGY_DECISION);
        EXPECT(r.verdict == o8[1][0][i] && r.reason == o8[1][1][i] && r.egressRule == o32[1][0][i] && r.ingressRule == o32[1][1][i] &&
                   r.decidingRule == o32[1][2][i] && r.evalReasons == o32[1][3][i] && r.natBackend == o32[1][4][i] &&
                   r.rulesVisited == o32[1][5][i],
               "single tuple %zu on the fast path != general path (groups %s)", i, groups);
      }
    }
    classifyRandom(*fast, 2000);
  }
  std::printf("fast transit: %zu tuples, RFC tables == trees, fast path == general path: RFC, RFC with rules apart, trees (one root, grouped, 32-bit leaves; %s, %s, scalar)\n", n,
              simdTested ? "AVX-512" : "no AVX-512 here", avx2Tested ? "AVX2" : "no AVX2 here");
}

// CRC32C: the check value, and the hardware form (where the CPU has one)
// against the table form over lengths 0-300 at every start alignment, with a
// running CRC, and over one long buffer.
void checkCrc32c() {
  const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  EXPECT(nv::crc32c(check, 9) == 0xE3069283u && nv::crc32cPortable(check, 9) == 0xE3069283u, "CRC32C check value of \"123456789\"");
  std::vector<uint8_t> buf(1 << 20);
  uint32_t x = 12345;
  for (auto& b : buf) b = uint8_t((x = x * 1103515245u + 12345u) >> 16);
  size_t differ = 0;
  for (size_t off = 0; off < 8; off++)
    for (size_t len = 0; len <= 300; len++) differ += nv::crc32c(buf.data() + off, len, uint32_t(len)) != nv::crc32cPortable(buf.data() + off, len, uint32_t(len));
  differ += nv::crc32c(buf.data() + 3, buf.size() - 3) != nv::crc32cPortable(buf.data() + 3, buf.size() - 3);
  EXPECT(differ == 0, "CRC32C: %zu of 2,409 buffers differ between the hardware and table forms", differ);
  std::printf("crc32c: check value, hardware == table form on 2,409 buffers\n");
}

// Program masks and the node lane path (engine.h PmProg, nodeLanes_)
// against the walk (NV_PMASK=0; from the batch loop, and from the lanes
// forced on with NV_NODE_LANES=1), on every program that qualifies
// (NV_PMASK_MIN_RULES=0; trees at their default size, as a tree block keeps
// its walk): batches with the lanes, batches without them (NV_NODE_LANES=0)
// and single tuples give the walk's outputs; the two mask forms also agree
// on rulesVisited (candidates looked at, not the walk's tests).
// mixes: the image has programs whose L4 index spaces straddle NV_LANE_L4_MAX=8
// (the traces fixture), so lane programs and walked programs share the lanes.
// Cut programs (tiers of at most 2 rules, programs of at most 6 positions:
// NV_PMASK_TIER, NV_PMASK_POSITIONS) walk from their PM_WALK positions on:
// the walk's outputs too, with and without the lanes. The lanes' scalar
// forms (NV_SIMD=0) give the same outputs as their SIMD ones, and lane
// programs by their masks alone (NV_LANE_MEMO=0) the same as by the
// first-position table (pmMemo_), cut or not.
void checkProgMasks(const std::vector<uint8_t>& img, const char* name, bool mixes) {
  const char* noTrees = nullptr;  // NV_DTREE_MIN_RULES unset: trees at their default size
  auto walk = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK", "0"}, {"NV_NODE_LANES", "0"}});
  auto walkLanes = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK", "0"}, {"NV_NODE_LANES", "1"}});
  auto lanes = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}});
  auto noLanes = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_NODE_LANES", "0"}});
  // Lane programs beside walked programs (a small L4 index space limit).
  auto mixed = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_LANE_L4_MAX", "2"}});
  auto cut = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_PMASK_TIER", "2"}, {"NV_PMASK_POSITIONS", "6"}});
  auto cutNoLanes = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_PMASK_TIER", "2"}, {"NV_PMASK_POSITIONS", "6"},
                                   {"NV_NODE_LANES", "0"}});
  auto scalar = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_SIMD", "0"}});
  auto noMemo = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_LANE_MEMO", "0"}});
  auto cutNoMemo = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_PMASK_TIER", "2"}, {"NV_PMASK_POSITIONS", "6"},
                                  {"NV_LANE_MEMO", "0"}});
  EXPECT(walk && walkLanes && lanes && noLanes && mixed && cut && cutNoLanes && scalar && noMemo && cutNoMemo,
         "%s: load for the program mask check failed", name);
  if (!walk || !walkLanes || !lanes || !noLanes || !mixed || !cut || !cutNoLanes || !scalar || !noMemo || !cutNoMemo) return;
  EXPECT(lanes->laneMemoBytes() > 0 && cut->laneMemoBytes() > 0 && noMemo->laneMemoBytes() == 0 && cutNoMemo->laneMemoBytes() == 0,
         "%s: the lanes' first-position table not built as asked (%llu / %llu)", name, (unsigned long long)lanes->laneMemoBytes(),
         (unsigned long long)noMemo->laneMemoBytes());
  EXPECT((!mixes || cut->pmCut()) && cut->pmCount() > 0 && cut->nodeLanes() == lanes->nodeLanes() && !lanes->pmCut(),
         "%s: NV_PMASK_TIER / NV_PMASK_POSITIONS should cut programs (%u programs)", name, cut->pmCount());
  EXPECT(walkLanes->nodeLanes() && !walk->nodeLanes(), "%s: NV_NODE_LANES=1 / 0 not obeyed", name);
  EXPECT(walk->pmCount() == 0 && lanes->pmCount() > 0 && noLanes->pmCount() == lanes->pmCount() && !noLanes->nodeLanes(),
         "%s: program masks not built as asked (%u / %u)", name, walk->pmCount(), lanes->pmCount());
  const size_t n = 3000;
  std::vector<uint32_t> src(n), dst(n);
  std::vector<uint16_t> sp(n), dp(n);
  std::vector<uint8_t> pr(n);
  for (size_t i = 0; i < n; i++) {
    int fam;
    uint32_t s[4], d[4];
    biasedTuple(int(i), &fam, s, d, &pr[i], &sp[i], &dp[i]);
    src[i] = s[0];
    dst[i] = d[0];
  }
  struct Cols {
    std::vector<uint8_t> vd, rs;
    std::vector<uint32_t> er, ir, dr, ev, nb, rv;
    explicit Cols(size_t k) : vd(k), rs(k), er(k), ir(k), dr(k), ev(k), nb(k), rv(k) {}
    nv::BatchOut out() { return {vd.data(), rs.data(), er.data(), ir.data(), dr.data(), ev.data(), nb.data(), rv.data(), nullptr, nullptr, 0}; }
  };
  Cols a(n), b(n), c(n), wl(n), mx(n), ct(n), cn(n), sc(n), nm(n), cm(n);
  const nv::Batch batch{n, src.data(), dst.data(), sp.data(), dp.data(), pr.data()};
  walk->classifyBatch(4, batch, a.out(), nv::STRATEGY_DECISION);
  walkLanes->classifyBatch(4, batch, wl.out(), nv::STRATEGY_DECISION);
  lanes->classifyBatch(4, batch, b.out(), nv::STRATEGY_DECISION);
  noLanes->classifyBatch(4, batch, c.out(), nv::STRATEGY_DECISION);
  mixed->classifyBatch(4, batch, mx.out(), nv::STRATEGY_DECISION);
  cut->classifyBatch(4, batch, ct.out(), nv::STRATEGY_DECISION);
  cutNoLanes->classifyBatch(4, batch, cn.out(), nv::STRATEGY_DECISION);
  scalar->classifyBatch(4, batch, sc.out(), nv::STRATEGY_DECISION);
  noMemo->classifyBatch(4, batch, nm.out(), nv::STRATEGY_DECISION);
  cutNoMemo->classifyBatch(4, batch, cm.out(), nv::STRATEGY_DECISION);
  // Two runs' outputs for tuple i differ (every column; rulesVisited where rv).
  auto differs = [](const Cols& x, const Cols& y, size_t i, bool rv) {
    return x.vd[i] != y.vd[i] || x.rs[i] != y.rs[i] || x.er[i] != y.er[i] || x.ir[i] != y.ir[i] || x.dr[i] != y.dr[i] ||
           x.ev[i] != y.ev[i] || x.nb[i] != y.nb[i] || (rv && x.rv[i] != y.rv[i]);
  };
  size_t differ = 0, denied = 0, laneDiffer = 0, singleDiffer = 0, walkLaneDiffer = 0, mixedDiffer = 0, cutDiffer = 0, cutLaneDiffer = 0;
  for (size_t i = 0; i < n; i++) {
    // The lanes walking programs without masks: every output the batch loop's.
    walkLaneDiffer += differs(a, wl, i, true);
    if (differs(a, b, i, false) && differ++ < 3)
      std::fprintf(stderr, "%s tuple %zu: walk %u/%u/%u/%u/%x masks %u/%u/%u/%u/%x\n", name, i, a.vd[i], a.rs[i], a.er[i], a.ir[i], a.ev[i],
                   b.vd[i], b.rs[i], b.er[i], b.ir[i], b.ev[i]);
    denied += a.vd[i] == 0;
    // Lanes walking some programs: the walk's outputs (rulesVisited aside: the two forms count differently).
    mixedDiffer += differs(a, mx, i, false);
    // Cut programs: the walk's outputs; lanes and batch loop alike (rulesVisited too), with the
    // first-position table or by the masks alone.
    cutDiffer += differs(a, ct, i, false);
    cutLaneDiffer += differs(ct, cn, i, true);
    cutLaneDiffer += differs(ct, cm, i, true);
    {
      nv::Result rc;
      cut->classify(4, &src[i], &dst[i], pr[i], sp[i], dp[i], &rc, nv::STRATEGY_DECISION);
      cutLaneDiffer += rc.verdict != ct.vd[i] || rc.decidingRule != ct.dr[i] || rc.evalReasons != ct.ev[i] || rc.rulesVisited != ct.rv[i];
    }
    laneDiffer += differs(b, sc, i, true);  // the lanes' scalar forms
    laneDiffer += differs(b, nm, i, true);  // by the masks alone
    laneDiffer += differs(b, c, i, true);   // the batch loop
    nv::Result r;
    lanes->classify(4, &src[i], &dst[i], pr[i], sp[i], dp[i], &r, nv::STRATEGY_DECISION);
    singleDiffer += r.verdict != b.vd[i] || r.reason != b.rs[i] || r.egressRule != b.er[i] || r.ingressRule != b.ir[i] ||
                    r.decidingRule != b.dr[i] || r.evalReasons != b.ev[i] || r.natBackend != b.nb[i] || r.rulesVisited != b.rv[i];
  }
  EXPECT(differ == 0, "%s: program masks differ from the walk on %zu of %zu tuples", name, differ, n);
  EXPECT(laneDiffer == 0, "%s: node lanes differ from the batch loop on %zu tuples", name, laneDiffer);
  EXPECT(walkLaneDiffer == 0, "%s: node lanes walking differ from the batch loop on %zu tuples", name, walkLaneDiffer);
  EXPECT(!mixes || (mixed->laneWalks() && mixed->laneSpecCount() > 0 && mixed->laneSpecCount() < lanes->laneSpecCount()),
         "%s: NV_LANE_L4_MAX should leave some programs walked beside lane programs (%u of %u)", name, mixed->laneSpecCount(),
         lanes->laneSpecCount());
  EXPECT(mixedDiffer == 0, "%s: lane programs beside walked programs differ from the walk on %zu tuples", name, mixedDiffer);
  EXPECT(cutDiffer == 0, "%s: cut programs differ from the walk on %zu tuples", name, cutDiffer);
  EXPECT(cutLaneDiffer == 0, "%s: cut programs: lanes, batch loop and single tuples differ on %zu tuples", name, cutLaneDiffer);
  EXPECT(singleDiffer == 0, "%s: single tuples differ from the batch on %zu tuples", name, singleDiffer);
  EXPECT(denied > 0 && denied < n, "%s: the tuples should be both allowed and denied (%zu denied)", name, denied);
  std::printf("program masks (%s): %u programs, %llu bytes, node lanes %s; %zu tuples (%zu denied) == the walk\n", name,
              lanes->pmCount(), (unsigned long long)lanes->pmBytes(), lanes->nodeLanes() ? "on" : "off", n, denied);
}

int main(int argc, char** argv) {
  checkCrc32c();
  const char* path = argc > 1 ? argv[1] : "native/test/fixtures/egress-allowlist.nvt";
  // Force the derived decision trees (engine.h) onto every IPv4 block, however
  // small, so every load below (golden, corrupted) builds and uses them; the
  // STRATEGY_DECISION_BITMAPS runs keep covering the bitmap path.
  setenv("NV_DTREE_MIN_RULES", "1", 1);
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> img((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (img.empty()) {
    std::fprintf(stderr, "cannot read %s\n", path);
    return 2;
  }
  nv::LoadError err;
  std::string detail;
  auto eng = nv::Engine::load(img.data(), img.size(), &err, &detail);
  EXPECT(eng != nullptr, "golden image rejected: %s %s", nv::loadErrorName(err), detail.c_str());
  if (!eng) return 1;
  // Every block tree-decided: by RFC tables where they apply (the tree then
  // released), else by the tree; with NV_RFC=0 by trees only (checked below).
  EXPECT(eng->treeCount() + eng->rfcCount() > 0, "no decision tree or RFC tables built with NV_DTREE_MIN_RULES=1");
  {
    setenv("NV_RFC", "0", 1);
    auto tr = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_RFC");
    EXPECT(tr != nullptr && tr->treeCount() > 0 && tr->rfcCount() == 0, "NV_RFC=0: no decision tree built");
    if (tr) classifyRandom(*tr, 20000);
  }

  // Known verdicts of the founding scenario (examples/egress-allowlist/expectations.yaml).
  nv::Result r;
  const uint32_t frontend = 0x0A00010Au;  // 10.0.1.10
  uint32_t dst = 0xCB00710Au;              // 203.0.113.10 (approved egress)
  eng->classify(4, &frontend, &dst, 6, 40000, 443, &r);
  EXPECT(r.verdict == 1, "frontend -> approved egress should be allowed");
  dst = 0xC6336442u;  // 198.51.100.66
  eng->classify(4, &frontend, &dst, 6, 40002, 443, &r);
  EXPECT(r.verdict == 0, "frontend -> unapproved address should be denied");
  dst = 0x0A600014u;  // 10.96.0.20:80 → backend
  eng->classify(4, &frontend, &dst, 6, 40001, 80, &r);
  EXPECT(r.verdict == 1 && r.natBackend != nv::fmt::kNone, "frontend -> backend service should be allowed via NAT");
  classifyRandom(*eng, 20000);
  {
    // The grouped trees (NV_DTREE_GROUPS=1, one tree per address-width group).
    setenv("NV_DTREE_GROUPS", "1", 1);
    setenv("NV_RFC", "0", 1);
    auto g = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_DTREE_GROUPS");
    unsetenv("NV_RFC");
    EXPECT(g != nullptr && g->treeCount() > 0, "grouped trees not built");
    if (g) classifyRandom(*g, 20000);
  }
  {
    // Address lookup: the derived 16-8-8 trie == the /16 index + binary search.
    setenv("NV_LPM", "search", 1);
    auto s = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_LPM");
    EXPECT(s != nullptr, "NV_LPM=search load failed");
    for (int i = 0; s && i < 50000; i++) {
      uint32_t a = rnd(), b = i % 2 ? (0x0A000000u | (rnd() & 0x1ffff)) : rnd();
      if (i % 3 == 0) a = 0x0A000000u | (rnd() & 0x3ff);
      nv::Result x, y;
      eng->classify(4, &a, &b, 6, 1234, uint16_t(i % 4 ? 443 : 80), &x);
      s->classify(4, &a, &b, 6, 1234, uint16_t(i % 4 ? 443 : 80), &y);
      EXPECT(x.verdict == y.verdict && x.decidingRule == y.decidingRule && x.reason == y.reason && x.evalReasons == y.evalReasons,
             "trie and binary-search lookups disagree on tuple %d", i);
    }
  }
  {
    // Batch path == single tuples, both strategies.
    const size_t n = 512;
    std::vector<uint32_t> src(n), dst(n), er(n), ir(n), dr(n), ev(n), nb(n), rv(n);
    std::vector<uint16_t> sp(n), dp(n);
    std::vector<uint8_t> pr(n), vd(n), rs(n);
    for (size_t i = 0; i < n; i++) {
      src[i] = i % 2 ? 0x0A00010Au : rnd();
      dst[i] = i % 3 ? 0xCB00710Au : (i % 5 ? 0x0A600014u : rnd());
      sp[i] = uint16_t(rnd());
      dp[i] = i % 2 ? 443 : 80;
      pr[i] = i % 7 ? 6 : 17;
    }
    for (int strategy : {nv::STRATEGY_LINEAR, nv::STRATEGY_DECISION, nv::STRATEGY_DECISION_BITMAPS}) {
      nv::Batch b{n, src.data(), dst.data(), sp.data(), dp.data(), pr.data()};
      nv::BatchOut o{vd.data(), rs.data(), er.data(), ir.data(), dr.data(), ev.data(), nb.data(), rv.data(), nullptr, nullptr, 0};
      eng->classifyBatch(4, b, o, strategy);
      // Short batches (shorter than the pipeline's look-ahead) give the same answers.
      for (size_t m : {size_t(0), size_t(1), size_t(7), size_t(9), size_t(17)}) {
        std::vector<uint8_t> vm(m + 1);
        std::vector<uint32_t> dm(m + 1);
        nv::Batch bm{m, src.data(), dst.data(), sp.data(), dp.data(), pr.data()};
        nv::BatchOut om{vm.data(), nullptr, nullptr, nullptr, dm.data(), nullptr, nullptr, nullptr, nullptr, nullptr, 0};
        eng->classifyBatch(4, bm, om, strategy);
        for (size_t i = 0; i < m; i++)
          EXPECT(vm[i] == vd[i] && dm[i] == dr[i], "short batch %zu differs at %zu (strategy %d)", m, i, strategy);
      }
      for (size_t i = 0; i < n; i++) {
        eng->classify(4, &src[i], &dst[i], pr[i], sp[i], dp[i], &r, strategy);
        EXPECT(r.verdict == vd[i] && r.decidingRule == dr[i] && r.natBackend == nb[i] && r.evalReasons == ev[i],
               "batch != single at %zu (strategy %d)", i, strategy);
      }
    }
  }

  {
    TraceStats st = checkTraces(*eng, 3000);
    std::printf("traces (%s): %d tuples, bound %u, max %d events\n", path, st.tuples, eng->traceBound(), st.maxCount);
  }
  if (argc > 2) {
    // The trace fixture (src/gen tiny): host endpoints, forward and transit
    // evaluations, Log rules. Checked with a tree or RFC tables on every block
    // ("1"), trees only ("1T", NV_RFC=0), and without ("64").
    std::ifstream tf(argv[2], std::ios::binary);
    std::vector<uint8_t> timg((std::istreambuf_iterator<char>(tf)), std::istreambuf_iterator<char>());
    for (const char* trees : {"1", "1T", "64"}) {
      setenv("NV_DTREE_MIN_RULES", trees[0] == '1' ? "1" : trees, 1);
      if (trees[1] == 'T') setenv("NV_RFC", "0", 1);
      auto te = nv::Engine::load(timg.data(), timg.size(), &err, &detail);
      unsetenv("NV_RFC");
      EXPECT(te != nullptr, "trace fixture %s rejected: %s %s", argv[2], nv::loadErrorName(err), detail.c_str());
      if (!te) break;
      TraceStats st = checkTraces(*te, 20000);
      std::printf("traces (%s, trees from %s rules, %u trees, %u RFC): %d tuples, bound %u, max %d events, %d with Log hits, %d with several evaluations, %d forward, %d transit\n",
                  argv[2], trees, te->treeCount(), te->rfcCount(), st.tuples, te->traceBound(), st.maxCount, st.logged, st.multiEval, st.forward, st.transit);
      EXPECT(st.logged > 0 && st.multiEval > 0 && st.forward > 0 && st.transit > 0, "trace fixture tuples miss Log hits, forward or transit evaluations");
      classifyRandom(*te, 2000);
    }
    setenv("NV_DTREE_MIN_RULES", "1", 1);
  }

  checkProgMasks(img, path, false);
  if (argc > 2) {
    std::ifstream tf(argv[2], std::ios::binary);
    checkProgMasks(std::vector<uint8_t>((std::istreambuf_iterator<char>(tf)), std::istreambuf_iterator<char>()), argv[2], true);
  }

  if (argc > 3) {
    std::ifstream xf(argv[3], std::ios::binary);
    std::vector<uint8_t> ximg((std::istreambuf_iterator<char>(xf)), std::istreambuf_iterator<char>());
    EXPECT(ximg.size() > 64, "cannot read %s", argv[3]);
    if (ximg.size() > 64) checkFastTransit(ximg);
  }

  // Truncations.
  for (size_t len = 0; len < img.size(); len++) {
    auto e = nv::Engine::load(img.data(), len, &err, nullptr);
    EXPECT(!e && (err == nv::LoadError::TooShort || err == nv::LoadError::BadLength), "truncation to %zu: %s", len, nv::loadErrorName(err));
  }
  // Single bit flips.
  for (size_t bit = 0; bit < img.size() * 8; bit += 7) {
    std::vector<uint8_t> b = img;
    b[bit / 8] ^= uint8_t(1u << (bit % 8));
    auto e = nv::Engine::load(b.data(), b.size(), &err, nullptr);
    EXPECT(!e, "bit flip %zu accepted", bit);
  }
  // Random corruption with a valid CRC.
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; i++) {
    std::vector<uint8_t> b = img;
    const int flips = 1 + rnd() % 4;
    for (int k = 0; k < flips; k++) b[64 + rnd() % (b.size() - 64)] = uint8_t(rnd());
    fixCrc(b);
    auto e = nv::Engine::load(b.data(), b.size(), &err, nullptr);
    if (e) {
      accepted++;
      classifyRandom(*e, 50);
    } else {
      rejected++;
    }
  }
  std::printf("corruption: %d rejected, %d accepted and classified safely\n", rejected, accepted);
  if (failures) {
    std::fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  std::printf("engine_test: ok\n");
  return 0;
}
