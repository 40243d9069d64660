// libFuzzer target for the image loader and the classifier (DESIGN.md §6,
// issue 3: "the native code never reads out of bounds").
//
// Built by native/fuzz/Makefile with -fsanitize=fuzzer,address,undefined from
// every native/src/*.cc. Per input:
//
//  1. the raw bytes go to Engine::load as they are (header, CRC, everything);
//  2. a copy with the header's totalLength set to the input length and the
//     CRC32C recomputed (nv::crc32c) goes to Engine::load, so mutations get
//     past the checksum and exercise the structural verification;
//  3. when (2) loads, the same image is re-laid out with a 64-byte gap after
//     every section (offsets are free in the format, so it must load and
//     classify identically), those gaps are ASan-poisoned in the engine's own
//     copy, and a fixed set of IPv4/IPv6 tuples (edge addresses, protocols
//     0/1/6/17/58/132/136/255, ports 0/65535, plus addresses, NAT frontends and NodePorts
//     taken from the image) goes through every public classify entry
//     (classify with and without trace events, classifyBatch with all outputs,
//     the decision strategy's batch against its single tuples, and on images
//     that take the fast transit path that path against the general one
//     and trace events at the image's stride and at a short one, classifyBatch
//     with only the required one). A read past the end of any section - not
//     only past the end of the image - is then an ASan report
//     ("use-after-poison"); a write past a tuple's event stride is a canary
//     or heap-buffer-overflow report.
//
// Oracles: ASan/UBSan/LeakSanitizer, plus __builtin_trap() when the batch and
// single-tuple entries (trace events included), or the two layouts of one
// image, disagree, when events on change the other outputs, or a result field
// or event is out of range (an index into a table it does not fit, a count
// over the stride or over traceBound() without the overflow flag).
//
// Set NV_FUZZ_POISON=0 to turn step 3's poisoning off (e.g. if a future engine
// legitimately reads the header or directory after load; gaps are never read
// by a correct engine, so that should not be needed).
#include <sanitizer/allocator_interface.h>
#include <sanitizer/asan_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine.h"
#include "../test/load_with.h"
#include "format.h"

namespace {

using nv::Engine;
using nv::LoadError;
using nv::Result;
namespace fmt = nv::fmt;

constexpr size_t kMaxInput = 1 << 20;  // 1 MiB: keep runs fast
constexpr uint32_t kNone = fmt::kNone;

bool gPoison = true;

// NV_FUZZ_STATS=1: at exit, how often each load outcome happened (raw input,
// and with length/CRC fixed), to see how deep the mutations get.
uint64_t gStats[2][64];
void printStats() {
  for (int k = 0; k < 2; k++) {
    std::fprintf(stderr, "fuzz_image stats (%s):", k == 0 ? "raw" : "length+CRC fixed");
    for (int i = 0; i < 64; i++)
      if (gStats[k][i]) std::fprintf(stderr, " %s=%llu", nv::loadErrorName(LoadError(i)), (unsigned long long)gStats[k][i]);
    std::fprintf(stderr, "\n");
  }
}

// ---- finding the engine's private copy of the image (for poisoning) ----
// While Engine::load runs, every heap allocation at least as large as the
// image is remembered; afterwards the one holding the image bytes is the
// engine's copy. Nothing is assumed about Engine's members.
struct Alloc {
  const volatile void* p;
  size_t n;
};
constexpr int kMaxAllocs = 16;
Alloc gAllocs[kMaxAllocs];
int gNAllocs = 0;
size_t gRecordMin = 0;  // 0: not recording

void mallocHook(const volatile void* p, size_t n) {
  if (gRecordMin != 0 && n >= gRecordMin && gNAllocs < kMaxAllocs) gAllocs[gNAllocs++] = Alloc{p, n};
}
void freeHook(const volatile void* p) {
  if (gRecordMin == 0) return;
  for (int i = 0; i < gNAllocs; i++)
    if (gAllocs[i].p == p) gAllocs[i] = gAllocs[--gNAllocs];
}

template <typename T>
T rd(const uint8_t* b, size_t off) {
  T v;
  std::memcpy(&v, b + off, sizeof v);
  return v;
}
template <typename T>
void wr(uint8_t* b, size_t off, T v) {
  std::memcpy(b + off, &v, sizeof v);
}

void fixHeader(std::vector<uint8_t>& b) {
  wr<uint64_t>(b.data(), offsetof(fmt::ImageHeader, totalLength), b.size());
  wr<uint32_t>(b.data(), offsetof(fmt::ImageHeader, crc32c), 0);
  wr<uint32_t>(b.data(), offsetof(fmt::ImageHeader, crc32c), nv::crc32c(b.data(), b.size()));
}

std::unique_ptr<Engine> load(const uint8_t* data, size_t size, LoadError* err) {
  std::string detail;
  std::unique_ptr<Engine> e = Engine::load(data, size, err, &detail);
  if ((*err == LoadError::Ok) != (e != nullptr)) __builtin_trap();  // engine iff Ok
  if (!e && std::strcmp(nv::loadErrorName(*err), "UNKNOWN") == 0) __builtin_trap();
  return e;
}

void count(int k, LoadError err) {
  const int i = int(err);
  gStats[k][i >= 0 && i < 64 ? i : 63]++;
}

// ---- directory of a verified image ----
struct Entry {
  uint32_t id;
  uint64_t offset, length, count;
};

std::vector<Entry> directory(const uint8_t* b) {
  const auto h = rd<fmt::ImageHeader>(b, 0);
  std::vector<Entry> out;
  for (uint32_t i = 0; i < h.sectionCount; i++) {
    const auto se = rd<fmt::SectionEntry>(b, h.directoryOffset + size_t(i) * sizeof(fmt::SectionEntry));
    out.push_back(Entry{se.id, se.offset, se.length, se.count});
  }
  return out;
}

const Entry* find(const std::vector<Entry>& dir, uint32_t id) {
  for (const Entry& e : dir)
    if (e.id == id) return &e;
  return nullptr;
}

// The same image with every section moved to its own place followed by a
// 64-byte zero gap. gaps receives [begin, end) of each gap.
std::vector<uint8_t> spread(const std::vector<uint8_t>& img, const std::vector<Entry>& dir,
                            std::vector<std::pair<size_t, size_t>>* gaps) {
  const auto h = rd<fmt::ImageHeader>(img.data(), 0);
  const size_t dirEnd = h.directoryOffset + size_t(h.sectionCount) * sizeof(fmt::SectionEntry);
  auto align = [](size_t x) { return (x + fmt::kSectionAlign - 1) / fmt::kSectionAlign * fmt::kSectionAlign; };
  size_t cursor = align(dirEnd);
  std::vector<size_t> offs;
  for (const Entry& e : dir) {
    offs.push_back(cursor);
    const size_t end = cursor + e.length;
    gaps->emplace_back(end, align(end) + fmt::kSectionAlign);
    cursor = align(end) + fmt::kSectionAlign;
  }
  std::vector<uint8_t> out(cursor, 0);
  std::memcpy(out.data(), img.data(), dirEnd);
  for (size_t i = 0; i < dir.size(); i++) {
    if (dir[i].length) std::memcpy(out.data() + offs[i], img.data() + dir[i].offset, dir[i].length);
    wr<uint64_t>(out.data(), h.directoryOffset + i * sizeof(fmt::SectionEntry) + offsetof(fmt::SectionEntry, offset), offs[i]);
  }
  fixHeader(out);
  return out;
}

// ---- tuples ----
struct Tuples {
  int family;
  std::vector<uint32_t> src, dst;  // 1 or 4 words per tuple
  std::vector<uint16_t> sport, dport;
  std::vector<uint8_t> proto;
  size_t n() const { return proto.size(); }
  void add(const uint32_t* s, const uint32_t* d, uint8_t p, uint16_t sp, uint16_t dp) {
    const int w = family == 4 ? 1 : 4;
    src.insert(src.end(), s, s + w);
    dst.insert(dst.end(), d, d + w);
    proto.push_back(p);
    sport.push_back(sp);
    dport.push_back(dp);
  }
};

struct Addr {
  uint32_t w[4];
};

const uint8_t kProtos[] = {0, 1, 6, 17, 58, 132, 136, 255};
const uint16_t kPorts[] = {0, 65535, 80, 53, 22, 8080, 1, 443};

Tuples makeTuples(int family, const uint8_t* img, const std::vector<Entry>& dir) {
  std::vector<Addr> addrs;
  if (family == 4) {
    for (uint32_t a : {0x00000000u, 0xffffffffu, 0x0a000001u, 0x7f000001u, 0xc0a8000bu, 0x0a600014u})
      addrs.push_back(Addr{{a, 0, 0, 0}});
  } else {
    addrs.push_back(Addr{{0, 0, 0, 0}});
    addrs.push_back(Addr{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}});
    addrs.push_back(Addr{{0, 0, 0, 1}});
    addrs.push_back(Addr{{0xfd000000u, 0, 0, 1}});
    addrs.push_back(Addr{{0, 0, 0xffffu, 0x0a000001u}});  // ::ffff:10.0.0.1
    addrs.push_back(Addr{{0x20010db8u, 0, 0, 0}});
  }
  // Interval starts of the image (and the address before each): both sides of
  // every class boundary we pick.
  const Entry* st = find(dir, family == 4 ? fmt::S_V4_STARTS : fmt::S_V6_STARTS);
  if (st && st->count > 0) {
    const uint64_t step = st->count > 6 ? st->count / 6 : 1;
    for (uint64_t i = 0; i < st->count && addrs.size() < 18; i += step) {
      Addr a{{0, 0, 0, 0}};
      if (family == 4) {
        a.w[0] = rd<uint32_t>(img, st->offset + i * 4);
      } else {
        for (int k = 0; k < 4; k++) a.w[k] = rd<uint32_t>(img, st->offset + i * 16 + k * 4);
      }
      addrs.push_back(a);
      Addr b = a;  // a - 1 (128-bit for v6)
      for (int k = family == 4 ? 0 : 3; k >= 0; k--)
        if (b.w[k]-- != 0) break;
      addrs.push_back(b);
    }
  }
  Tuples t{family, {}, {}, {}, {}, {}};
  const size_t k = addrs.size();
  const size_t np = sizeof kPorts / sizeof kPorts[0];
  // Every address as source and as destination, every protocol, port edges.
  for (size_t i = 0; i < 96; i++) {
    const Addr& s = addrs[i % k];
    const Addr& d = addrs[(i * 7 + i / k) % k];
    t.add(s.w, d.w, kProtos[i % 8], kPorts[(i / 8) % np], kPorts[(i / 3 + i) % np]);
  }
  // NAT frontends of this family, hit exactly: dst = frontend, its proto and port.
  const Entry* fe = find(dir, fmt::S_NAT_FRONTENDS);
  if (fe) {
    const uint64_t step = fe->count > 8 ? fe->count / 8 : 1;
    for (uint64_t i = 0; i < fe->count; i += step) {
      const auto f = rd<fmt::NatFrontend>(img, fe->offset + i * sizeof(fmt::NatFrontend));
      if (f.family != family) continue;
      for (size_t j = 0; j < 3; j++) t.add(addrs[(i + j) % k].w, f.addr, f.proto, kPorts[j], f.port);
    }
  }
  // NodePorts of this family on node addresses (interval starts whose class has a
  // hostNode), and on the first other address: the NodePort applies only to the former.
  const Entry* npe = find(dir, fmt::S_NAT_NODEPORTS);
  const Entry* cls = find(dir, fmt::S_CLASSES);
  const Entry* cl = find(dir, family == 4 ? fmt::S_V4_CLASS : fmt::S_V6_CLASS);
  if (npe && npe->count > 0 && cls && cl && st) {
    std::vector<Addr> hosts;
    for (uint64_t i = 0; i < st->count && i < 4096 && hosts.size() < 3; i++) {
      const uint32_t c = rd<uint32_t>(img, cl->offset + i * 4);
      if (c >= cls->count) continue;
      if (rd<fmt::AddrClass>(img, cls->offset + c * sizeof(fmt::AddrClass)).hostNode == kNone) continue;
      Addr a{{0, 0, 0, 0}};
      for (int w = 0; w < (family == 4 ? 1 : 4); w++) a.w[w] = rd<uint32_t>(img, st->offset + i * (family == 4 ? 4 : 16) + w * 4);
      hosts.push_back(a);
    }
    hosts.push_back(addrs[0]);
    const uint64_t step = npe->count > 8 ? npe->count / 8 : 1;
    for (uint64_t i = 0; i < npe->count; i += step) {
      const auto f = rd<fmt::NatNodePort>(img, npe->offset + i * sizeof(fmt::NatNodePort));
      if (f.family != family) continue;
      for (size_t j = 0; j < hosts.size(); j++) t.add(addrs[(i + j) % k].w, hosts[j].w, f.proto, kPorts[j % np], f.port);
    }
  }
  return t;
}

bool sameResult(const Result& a, const Result& b) {
  return a.verdict == b.verdict && a.reason == b.reason && a.egressRule == b.egressRule &&
         a.ingressRule == b.ingressRule && a.decidingRule == b.decidingRule && a.evalReasons == b.evalReasons &&
         a.natBackend == b.natBackend && a.rulesVisited == b.rulesVisited;
}

void fail(const char* what, size_t i) {
  std::fprintf(stderr, "fuzz_image: %s (tuple %zu)\n", what, i);
  __builtin_trap();
}

constexpr uint32_t kCanary = 0xC0FFEE11u;

// One tuple's trace events are well formed: known kinds, rule ids in range,
// valid EV_EVAL words, closed by an EV_EVAL.
void checkEvents(const Engine& e, const uint32_t* ev, uint8_t count, size_t i) {
  if (count == nv::kEventOverflow) return;
  for (uint32_t k = 0; k < count; k++) {
    const uint32_t kind = ev[k] >> nv::kEventKindShift, pay = ev[k] & nv::kEventPayload;
    if (kind == nv::EV_ENTRY || kind == nv::EV_LOG) {
      if (pay >= e.ruleCount()) fail("event rule id out of range", i);
    } else if (kind == nv::EV_EVAL) {
      if ((pay & 0xff) > nv::SLOT_TRANSIT_EGRESS || ((pay >> 8) & 0xff) > nv::EVAL_ALL_TIERS_PASSED || (pay >> 17))
        fail("EV_EVAL out of range", i);
    } else {
      fail("unknown event kind", i);
    }
  }
  if (count > 0 && (ev[count - 1] >> nv::kEventKindShift) != nv::EV_EVAL) fail("events not closed by EV_EVAL", i);
}

// Every public classify entry; returns the single-tuple results.
std::vector<Result> classifyAll(const Engine& e, const Tuples& t) {
  const size_t n = t.n();
  std::vector<Result> single(n);
  const int w = t.family == 4 ? 1 : 4;
  const uint32_t K = e.traceBound() < nv::kMaxEventStride ? (e.traceBound() ? e.traceBound() : 1) : nv::kMaxEventStride;
  std::vector<uint32_t> events(n * K + 1), one(K + 1);
  std::vector<uint8_t> counts(n);
  events[n * K] = kCanary;
  for (size_t i = 0; i < n; i++) {
    e.classify(t.family, &t.src[i * w], &t.dst[i * w], t.proto[i], t.sport[i], t.dport[i], &single[i]);
    {
      Result q;
      one[K] = kCanary;
      e.classify(t.family, &t.src[i * w], &t.dst[i * w], t.proto[i], t.sport[i], t.dport[i], &q, nv::STRATEGY_LINEAR,
                 one.data(), K, &counts[i]);
      if (one[K] != kCanary) fail("events written past the capacity", i);
      if (!sameResult(q, single[i])) fail("classify with events != classify", i);
      if (counts[i] != nv::kEventOverflow && (counts[i] > K || counts[i] > e.traceBound())) fail("event count over the bound", i);
      checkEvents(e, one.data(), counts[i], i);
      if (counts[i] != nv::kEventOverflow) std::memcpy(&events[i * K], one.data(), counts[i] * 4u);
    }
    const Result& r = single[i];
    if (r.verdict > 1) fail("verdict out of range", i);
    if (r.reason > nv::FLOW_NOT_POLICED) fail("flow reason out of range", i);
    for (uint32_t rule : {r.egressRule, r.ingressRule, r.decidingRule})
      if (rule != kNone && rule >= e.ruleCount()) fail("rule id out of range", i);
    for (int b = 0; b < 3; b++)
      if (((r.evalReasons >> (8 * b)) & 0xff) > nv::EVAL_ALL_TIERS_PASSED) fail("eval reason out of range", i);
    if (r.natBackend != kNone && r.natBackend >= e.backendCount()) fail("NAT backend out of range", i);
  }
  nv::Batch in{n, t.src.data(), t.dst.data(), t.sport.data(), t.dport.data(), t.proto.data()};
  std::vector<uint8_t> verdict(n), reason(n);
  std::vector<uint32_t> eg(n), ing(n), dec(n), ev(n), nat(n), vis(n);
  e.classifyBatch(t.family, in, nv::BatchOut{verdict.data(), reason.data(), eg.data(), ing.data(), dec.data(), ev.data(),
                                             nat.data(), vis.data(), nullptr, nullptr, 0});
  for (size_t i = 0; i < n; i++) {
    const Result b{verdict[i], reason[i], eg[i], ing[i], dec[i], ev[i], nat[i], vis[i]};
    if (!sameResult(b, single[i])) fail("classifyBatch != classify", i);
  }
  // Trace events in the batch, at the image's stride and at a short one (2):
  // equal to the single-tuple events, or flagged when they do not fit.
  for (uint32_t stride : {K, 2u}) {
    std::vector<uint32_t> bev(n * stride + 1, 0);
    bev[n * stride] = kCanary;
    std::vector<uint8_t> bcount(n, 0xee), bverdict(n);
    nv::BatchOut o{bverdict.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                   bev.data(), bcount.data(), stride};
    e.classifyBatch(t.family, in, o);
    if (bev[n * stride] != kCanary) fail("batch events written past the buffer", n);
    for (size_t i = 0; i < n; i++) {
      if (bverdict[i] != verdict[i]) fail("classifyBatch with events != classifyBatch", i);
      const uint8_t want = counts[i] == nv::kEventOverflow || counts[i] > stride ? nv::kEventOverflow : counts[i];
      if (bcount[i] != want) fail("batch event count != single", i);
      if (want != nv::kEventOverflow && std::memcmp(&bev[i * stride], &events[i * K], want * 4u) != 0)
        fail("batch events != single", i);
    }
  }
  std::vector<uint8_t> verdictOnly(n, 0xee);
  e.classifyBatch(t.family, in, nv::BatchOut{verdictOnly.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                             nullptr, nullptr, 0});
  for (size_t i = 0; i < n; i++)
    if (verdictOnly[i] != verdict[i]) fail("classifyBatch (verdict only) != classifyBatch", i);
  // The decision strategy: batch == single tuples (its fast transit path on
  // transit-only ACL images included). Not compared with the linear strategy:
  // an accepted but tampered image may hold decision blocks that list other
  // rules than its tier blocks (the loader checks each table, not that the two
  // agree), which gives other answers but never an unsafe read.
  std::vector<uint8_t> dv(n), dr(n);
  std::vector<uint32_t> de(n), di(n), dd(n), dx(n), dn(n), dw(n);
  const nv::BatchOut dout{dv.data(), dr.data(), de.data(), di.data(), dd.data(), dx.data(), dn.data(), dw.data(), nullptr, nullptr, 0};
  e.classifyBatch(t.family, in, dout, nv::STRATEGY_DECISION);
  for (size_t i = 0; i < n; i++) {
    Result q;
    e.classify(t.family, &t.src[i * w], &t.dst[i * w], t.proto[i], t.sport[i], t.dport[i], &q, nv::STRATEGY_DECISION);
    if (!sameResult(q, Result{dv[i], dr[i], de[i], di[i], dd[i], dx[i], dn[i], dw[i]})) fail("decision batch != decision single", i);
  }
  // Empty batch with null arrays: nothing may be touched.
  e.classifyBatch(t.family, nv::Batch{0, nullptr, nullptr, nullptr, nullptr, nullptr},
                  nv::BatchOut{nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0});
  return single;
}

void poison(const uint8_t* base, const std::vector<std::pair<size_t, size_t>>& gaps, bool on) {
  for (const auto& g : gaps) {
    if (on) ASAN_POISON_MEMORY_REGION(base + g.first, g.second - g.first);
    else ASAN_UNPOISON_MEMORY_REGION(base + g.first, g.second - g.first);
  }
}

void exercise(const Engine& a, const std::vector<uint8_t>& img) {
  const std::vector<Entry> dir = directory(img.data());
  std::vector<std::pair<size_t, size_t>> gaps;
  const std::vector<uint8_t> wide = spread(img, dir, &gaps);

  gNAllocs = 0;
  gRecordMin = wide.size();
  LoadError err;
  std::unique_ptr<Engine> b = load(wide.data(), wide.size(), &err);
  gRecordMin = 0;
  if (!b) {
    std::fprintf(stderr, "fuzz_image: the same image with gaps after its sections does not load: %s\n", nv::loadErrorName(err));
    __builtin_trap();
  }
  std::vector<const uint8_t*> copies;
  if (gPoison) {
    for (int i = 0; i < gNAllocs; i++) {
      const uint8_t* p = const_cast<const uint8_t*>(static_cast<const volatile uint8_t*>(gAllocs[i].p));
      if (std::memcmp(p, wide.data(), wide.size()) == 0) copies.push_back(p);
    }
    copies.push_back(wide.data());  // in case an engine ever borrows the caller's buffer
    for (const uint8_t* p : copies) poison(p, gaps, true);
  }
  for (int family : {4, 6}) {
    const Tuples t = makeTuples(family, img.data(), dir);
    const std::vector<Result> ra = classifyAll(a, t);
    const std::vector<Result> rb = classifyAll(*b, t);
    for (size_t i = 0; i < ra.size(); i++)
      if (!sameResult(ra[i], rb[i])) fail("the same image laid out differently classifies differently", i);
  }
  for (const uint8_t* p : copies) poison(p, gaps, false);
  // The fast transit path against its twin, the general path (NV_FAST_TRANSIT=0).
  if (a.fastTransit()) {
    setenv("NV_FAST_TRANSIT", "0", 1);
    LoadError terr;
    const std::unique_ptr<Engine> twin = Engine::load(img.data(), img.size(), &terr, nullptr);
    unsetenv("NV_FAST_TRANSIT");
    if (!twin) fail("the image loads with the fast transit path but not without it", 0);
    if (twin->fastTransit()) fail("NV_FAST_TRANSIT=0 left the fast transit path on", 0);
    // And with trees only (NV_RFC=0): the fast path's tree stages (AVX-512
    // where the CPU has it), which RFC tables would otherwise take; and those
    // on AVX2 (NV_SIMD=avx2), the same trees.
    setenv("NV_RFC", "0", 1);
    const std::unique_ptr<Engine> trees = Engine::load(img.data(), img.size(), &terr, nullptr);
    setenv("NV_SIMD", "avx2", 1);
    const std::unique_ptr<Engine> trees2 = Engine::load(img.data(), img.size(), &terr, nullptr);
    unsetenv("NV_SIMD");
    unsetenv("NV_RFC");
    if (!trees || !trees2) fail("the image loads with RFC tables but not without them", 0);
    const Tuples t = makeTuples(4, img.data(), dir);
    const size_t n = t.proto.size();
    const nv::Batch in{n, t.src.data(), t.dst.data(), t.sport.data(), t.dport.data(), t.proto.data()};
    std::vector<uint8_t> v[4], r[4];
    std::vector<uint32_t> o[4][6];
    const Engine* engines[4] = {&a, twin.get(), trees.get(), trees2.get()};
    for (int k = 0; k < 4; k++) {
      v[k].assign(n, 0);
      r[k].assign(n, 0);
      for (auto& x : o[k]) x.assign(n, 0);
      engines[k]->classifyBatch(4, in, nv::BatchOut{v[k].data(), r[k].data(), o[k][0].data(), o[k][1].data(), o[k][2].data(),
                                                    o[k][3].data(), o[k][4].data(), o[k][5].data(), nullptr, nullptr, 0},
                                nv::STRATEGY_DECISION);
    }
    for (size_t i = 0; i < n; i++) {
      const Result x{v[0][i], r[0][i], o[0][0][i], o[0][1][i], o[0][2][i], o[0][3][i], o[0][4][i], o[0][5][i]};
      const Result y{v[1][i], r[1][i], o[1][0][i], o[1][1][i], o[1][2][i], o[1][3][i], o[1][4][i], o[1][5][i]};
      const Result z{v[2][i], r[2][i], o[2][0][i], o[2][1][i], o[2][2][i], o[2][3][i], o[2][4][i], o[2][5][i]};
      const Result z2{v[3][i], r[3][i], o[3][0][i], o[3][1][i], o[3][2][i], o[3][3][i], o[3][4][i], o[3][5][i]};
      if (!sameResult(x, y)) fail("fast transit path != general path", i);
      if (!sameResult(z, z2)) fail("tree stages on AVX2 != on AVX-512 / scalar (NV_SIMD=avx2)", i);
      // Work counts differ between RFC tables and trees; the verdict and rules must not.
      if (z.verdict != y.verdict || z.reason != y.reason || z.decidingRule != y.decidingRule || z.evalReasons != y.evalReasons)
        fail("fast transit path with trees only != general path", i);
    }
  }
  // Program masks on every program that qualifies (NV_PMASK_MIN_RULES=0, the
  // trees at their default size: a tree block keeps its walk), with and
  // without the node lane path, against the walk (NV_PMASK=0): the same
  // verdicts, reasons and rules; rulesVisited (candidates looked at) the same
  // between the two mask forms and single tuples.
  {
    const char* noTrees = nullptr;  // NV_DTREE_MIN_RULES unset: trees at their default size
    const std::unique_ptr<Engine> walk = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK", "0"}, {"NV_NODE_LANES", "0"}});
    const std::unique_ptr<Engine> walkLanes =
        loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK", "0"}, {"NV_NODE_LANES", "1"}});
    const std::unique_ptr<Engine> masks = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}});
    const std::unique_ptr<Engine> noLanes =
        loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_NODE_LANES", "0"}});
    // Lane programs beside walked programs (programs whose L4 index space exceeds 8 walked).
    const std::unique_ptr<Engine> mixed =
        loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_LANE_L4_MAX", "8"}});
    // Cut programs (tiers of one rule, programs of four positions): PM_WALK
    // positions hand the packet to the walk from their tier on.
    const std::unique_ptr<Engine> cut =
        loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_PMASK_TIER", "1"}, {"NV_PMASK_POSITIONS", "4"}});
    const std::unique_ptr<Engine> cutNoLanes = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_PMASK_TIER", "1"},
                                                             {"NV_PMASK_POSITIONS", "4"}, {"NV_NODE_LANES", "0"}});
    // The lanes' scalar forms (NV_SIMD=0).
    const std::unique_ptr<Engine> scalar = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_SIMD", "0"}});
    // Lane programs by their masks alone (no first-position table), cut or not.
    const std::unique_ptr<Engine> noMemo = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_LANE_MEMO", "0"}});
    const std::unique_ptr<Engine> cutNoMemo = loadWith(img, {{"NV_DTREE_MIN_RULES", noTrees}, {"NV_PMASK_MIN_RULES", "0"}, {"NV_PMASK_TIER", "1"},
                                                            {"NV_PMASK_POSITIONS", "4"}, {"NV_LANE_MEMO", "0"}});
    if (!walk || !walkLanes || !masks || !noLanes || !mixed || !cut || !cutNoLanes || !scalar || !noMemo || !cutNoMemo)
      fail("the image loads with the default trees but not with or without program masks", 0);
    // Decision batches of IPv4 tuples, every output.
    const Tuples t = makeTuples(4, img.data(), dir);
    const size_t n = t.proto.size();
    auto decide = [&](const Engine& e) {
      const nv::Batch in{n, t.src.data(), t.dst.data(), t.sport.data(), t.dport.data(), t.proto.data()};
      std::vector<uint8_t> v(n), r(n);
      std::vector<uint32_t> o[6];
      for (auto& x : o) x.assign(n, 0);
      e.classifyBatch(4, in, nv::BatchOut{v.data(), r.data(), o[0].data(), o[1].data(), o[2].data(), o[3].data(), o[4].data(),
                                          o[5].data(), nullptr, nullptr, 0},
                      nv::STRATEGY_DECISION);
      std::vector<Result> res(n);
      for (size_t i = 0; i < n; i++) res[i] = Result{v[i], r[i], o[0][i], o[1][i], o[2][i], o[3][i], o[4][i], o[5][i]};
      return res;
    };
    const std::vector<Result> w = decide(*walk);
    if (walkLanes->nodeLanes()) {
      // The lanes walking programs: every output the batch loop's.
      const std::vector<Result> y = decide(*walkLanes);
      for (size_t i = 0; i < n; i++)
        if (!sameResult(w[i], y[i])) fail("node lanes walking != the batch loop", i);
    }
    if (masks->pmCount() > 0) {
      const std::vector<Result> mr = decide(*masks), lr = decide(*noLanes), xr = decide(*mixed), cr = decide(*cut), cnr = decide(*cutNoLanes),
                                sr = decide(*scalar), nmr = decide(*noMemo), cnmr = decide(*cutNoMemo);
      for (size_t i = 0; i < n; i++) {
        const Result& m = mr[i];
        const Result& l = lr[i];
        Result m0 = m, w0 = w[i], x0 = xr[i], c0 = cr[i];
        m0.rulesVisited = w0.rulesVisited = x0.rulesVisited = c0.rulesVisited = 0;
        if (!sameResult(w0, m0)) fail("program masks != the walk", i);
        if (!sameResult(w0, x0)) fail("lane programs beside walked programs != the walk", i);
        if (!sameResult(w0, c0)) fail("cut programs (PM_WALK) != the walk", i);
        if (!sameResult(cr[i], cnr[i])) fail("cut programs: node lane path != the batch loop", i);
        if (!sameResult(m, l)) fail("node lane path != the batch loop (program masks)", i);
        if (!sameResult(m, sr[i])) fail("node lane path: SIMD != scalar (NV_SIMD=0)", i);
        if (!sameResult(m, nmr[i])) fail("lane programs: first-position table != masks alone (NV_LANE_MEMO=0)", i);
        if (!sameResult(cr[i], cnmr[i])) fail("cut lane programs: first-position table != masks alone (NV_LANE_MEMO=0)", i);
        Result single;
        masks->classify(4, &t.src[i], &t.dst[i], t.proto[i], t.sport[i], t.dport[i], &single, nv::STRATEGY_DECISION);
        if (!sameResult(single, m)) fail("program masks: classifyBatch != classify", i);
      }
    }
  }
}

}  // namespace

// Structure-aware half of the mutations: most byte-level mutations (inserts,
// erases) shift every offset and die in BAD_SECTION. So half the time, when the
// input's directory parses, mutate the bytes of one section (or one directory
// entry's count) in place and keep every offset; the header is fixed by
// LLVMFuzzerTestOneInput anyway.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t maxSize);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t maxSize, unsigned int seed) {
  uint32_t r = seed * 2654435761u + 1;
  auto next = [&r]() { r ^= r << 13; r ^= r >> 17; r ^= r << 5; return r; };
  if (size < sizeof(fmt::ImageHeader) || (next() & 1)) return LLVMFuzzerMutate(data, size, maxSize);
  const auto h = rd<fmt::ImageHeader>(data, 0);
  if (h.directoryOffset != sizeof(fmt::ImageHeader) || h.sectionCount == 0 || h.sectionCount > 1024 ||
      h.directoryOffset + uint64_t(h.sectionCount) * sizeof(fmt::SectionEntry) > size)
    return LLVMFuzzerMutate(data, size, maxSize);
  const uint32_t i = next() % h.sectionCount;
  const size_t eo = h.directoryOffset + size_t(i) * sizeof(fmt::SectionEntry);
  auto se = rd<fmt::SectionEntry>(data, eo);
  if ((next() % 8) == 0 && se.recordSize != 0) {
    // Change one section's record count, keeping length = count * recordSize.
    const uint64_t c = (next() & 1) ? se.count + 1 : se.count ? se.count - 1 : 0;
    se.count = c;
    se.length = c * se.recordSize;
    wr(data, eo, se);
    return size;
  }
  if (se.length == 0 || se.offset > size || se.length > size - se.offset) return LLVMFuzzerMutate(data, size, maxSize);
  // Mutate a window of at most 256 bytes of the section, in place.
  size_t off = se.offset, len = se.length;
  if (len > 256) {
    off += (next() % (len / 8)) * 8 % (len - 255);
    len = 256;
  }
  uint8_t tmp[256];
  std::memcpy(tmp, data + off, len);
  const size_t n = LLVMFuzzerMutate(tmp, len, len);
  std::memcpy(data + off, tmp, n < len ? n : len);
  return size;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Derived decision trees on every IPv4 tier block, however small (by default
  // only blocks of 64+ rules get one): tree building, exact leaf boxes, the
  // per-program first-tree table and the batch loop's lockstep descent then run
  // on every accepted input. Set NV_DTREE_MIN_RULES to override.
  setenv("NV_DTREE_MIN_RULES", "1", 0);
  // RFC tables only where they are small (1 MiB, 4M build steps): the small
  // blocks of most inputs still get them, but the 500-rule transit fixture's
  // ~8 MiB would cost ~0.5 s per input under the sanitizers (engine_test
  // builds and checks them under ASan). Set NV_RFC_MB / NV_RFC_WORK to override.
  setenv("NV_RFC_MB", "1", 0);
  setenv("NV_RFC_WORK", "4", 0);
  const char* p = std::getenv("NV_FUZZ_POISON");
  gPoison = !(p && p[0] == '0');
  const char* st = std::getenv("NV_FUZZ_STATS");
  if (st && st[0] == '1') std::atexit(printStats);
  if (gPoison && __sanitizer_install_malloc_and_free_hooks(mallocHook, freeHook) == 0) gPoison = false;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return -1;  // not added to the corpus
  LoadError err;
  // (1) as is.
  std::unique_ptr<Engine> raw = load(data, size, &err);
  count(0, err);
  // (2) length and CRC fixed.
  std::vector<uint8_t> img(data, data + size);
  if (size >= sizeof(fmt::ImageHeader)) fixHeader(img);
  std::unique_ptr<Engine> e = raw || size < sizeof(fmt::ImageHeader) ? nullptr : load(img.data(), img.size(), &err);
  if (!raw && size >= sizeof(fmt::ImageHeader)) count(1, err);
  const Engine* ok = raw ? raw.get() : e.get();
  if (ok) exercise(*ok, img);
  return 0;
}
