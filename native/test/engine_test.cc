// Native tests without Node (built with ASan/UBSan by native/test/Makefile):
// the golden image loads; every truncation and single-bit flip is rejected;
// random corruption with a recomputed CRC is rejected with a code or, when
// accepted, classifies random tuples without any out-of-bounds access
// (the sanitizers are the oracle here); a few known verdicts.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "engine.h"

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
    EXPECT(q.verdict == q2.verdict && q.decidingRule == q2.decidingRule && q.evalReasons == q2.evalReasons, "bitmap path differs on tuple %d", i);
    // Both strategies agree (the TypeScript differential tests compare them with the reference).
    EXPECT(r.verdict == q.verdict && r.decidingRule == q.decidingRule && r.egressRule == q.egressRule &&
               r.ingressRule == q.ingressRule && r.evalReasons == q.evalReasons && r.natBackend == q.natBackend,
           "linear and decision strategies disagree on tuple %d", i);
  }
}

}  // namespace

int main(int argc, char** argv) {
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
  EXPECT(eng->treeCount() > 0, "no decision tree built with NV_DTREE_MIN_RULES=1");

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
    auto g = nv::Engine::load(img.data(), img.size(), &err, &detail);
    unsetenv("NV_DTREE_GROUPS");
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
      nv::BatchOut o{vd.data(), rs.data(), er.data(), ir.data(), dr.data(), ev.data(), nb.data(), rv.data()};
      eng->classifyBatch(4, b, o, strategy);
      // Short batches (shorter than the pipeline's look-ahead) give the same answers.
      for (size_t m : {size_t(0), size_t(1), size_t(7), size_t(9), size_t(17)}) {
        std::vector<uint8_t> vm(m + 1);
        std::vector<uint32_t> dm(m + 1);
        nv::Batch bm{m, src.data(), dst.data(), sp.data(), dp.data(), pr.data()};
        nv::BatchOut om{vm.data(), nullptr, nullptr, nullptr, dm.data(), nullptr, nullptr, nullptr};
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
