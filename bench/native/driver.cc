// Native benchmark driver (no Node): loads an image and a tuple file written by
// bench/scenario-cache.ts and classifies the 4,096 IPv4 tuples in one batch,
// REPS times, with one strategy. Used by bench/instructions.ts under
// valgrind's cachegrind, which counts instructions and simulated branch
// mispredictions exactly — numbers that do not depend on how busy the shared
// machine is. Also prints wall ns/tuple (noisy) and mean rules visited.
//   driver IMAGE TUPLES REPS [strategy: 0 linear, 1 decision]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "engine.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: driver IMAGE TUPLES REPS [strategy]\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  std::vector<uint8_t> img((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::ifstream g(argv[2], std::ios::binary);
  std::vector<uint8_t> tb((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
  const int reps = std::atoi(argv[3]);
  const int strategy = argc > 4 ? std::atoi(argv[4]) : 0;
  const size_t n = tb.size() / 13;  // 4 + 4 + 2 + 2 + 1 bytes per tuple
  if (n == 0 || tb.size() != n * 13 || reps <= 0) {
    std::fprintf(stderr, "bad tuple file or REPS\n");
    return 2;
  }
  nv::LoadError err;
  std::string detail;
  auto e = nv::Engine::load(img.data(), img.size(), &err, &detail);
  if (!e) {
    std::fprintf(stderr, "image rejected: %s %s\n", nv::loadErrorName(err), detail.c_str());
    return 1;
  }
  std::vector<uint32_t> src(n), dst(n), rule(n), visited(n);
  std::vector<uint16_t> sport(n), dport(n);
  std::vector<uint8_t> proto(n), verdict(n);
  std::memcpy(src.data(), tb.data(), 4 * n);
  std::memcpy(dst.data(), tb.data() + 4 * n, 4 * n);
  std::memcpy(sport.data(), tb.data() + 8 * n, 2 * n);
  std::memcpy(dport.data(), tb.data() + 10 * n, 2 * n);
  std::memcpy(proto.data(), tb.data() + 12 * n, n);
  nv::Batch b{n, src.data(), dst.data(), sport.data(), dport.data(), proto.data()};
  nv::BatchOut o{verdict.data(), nullptr, nullptr, nullptr, rule.data(), nullptr, nullptr, visited.data(), nullptr, nullptr, 0};
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; r++) e->classifyBatch(4, b, o, strategy);
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / (double(reps) * n);
  unsigned long long v = 0;
  for (uint32_t x : visited) v += x;
  // FNV-1a over the verdicts and deciding rules: equal runs (strategies,
  // builds, NV_* settings) give equal checksums.
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint64_t(verdict[i]) << 32 | rule[i])) * 1099511628211ull;
  std::printf("{\"tuples\":%zu,\"reps\":%d,\"nsPerTuple\":%.1f,\"rulesVisited\":%.2f,\"checksum\":\"%016llx\",\"pmCount\":%u,\"pmBytes\":%llu}\n",
              n, reps, ns, double(v) / n, (unsigned long long)h, e->pmCount(), (unsigned long long)e->pmBytes());
  return 0;
}
