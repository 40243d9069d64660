// Recursive Flow Classification tables (engine.h, Engine::Rfc), derived at
// load from a tree block's boxes. Gupta & McKeown, "Packet Classification on
// Multiple Fields" (SIGCOMM 1999): the header is cut into chunks (source and
// destination address halves, ports, protocol); phase 0 maps each chunk's
// value to an equivalence class (the set of rules whose projection contains
// it); each later phase maps a pair of classes to the class of the
// intersection of their rule sets, and the last one to the first rule of it.
// A lookup is thirteen table reads, no branch, whatever the rules.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "engine.h"

namespace nv {

namespace {

constexpr uint32_t kMaxClasses = 0xffff;  // class ids are 16-bit
constexpr uint32_t kChunks = 7;           // src hi, src lo, dst hi, dst lo, sport, dport (16 bits), proto (8)

// Interned rule sets of W words: id per distinct set, in first-seen order.
struct Classes {
  uint32_t W = 0, n = 0, cap = 0, mask = 0;
  std::unique_ptr<uint64_t[]> bits;
  std::unique_ptr<uint32_t[]> slots;  // id + 1, 0 empty

  bool init(uint32_t words) {
    W = words;
    n = 0;
    cap = 64;
    mask = 255;
    bits.reset(new (std::nothrow) uint64_t[size_t(cap) * W]);
    slots.reset(new (std::nothrow) uint32_t[size_t(mask) + 1]);
    if (!bits || !slots) return false;
    std::memset(slots.get(), 0, sizeof(uint32_t) * (size_t(mask) + 1));
    return true;
  }
  const uint64_t* at(uint32_t i) const { return bits.get() + size_t(i) * W; }
  uint64_t hash(const uint64_t* v) const {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint32_t k = 0; k < W; k++) h = (h ^ v[k]) * 0xff51afd7ed558ccdull, h ^= h >> 29;
    return h;
  }
  bool grow() {
    if (n == cap) {
      const uint32_t c2 = cap * 2;
      std::unique_ptr<uint64_t[]> b(new (std::nothrow) uint64_t[size_t(c2) * W]);
      if (!b) return false;
      std::memcpy(b.get(), bits.get(), sizeof(uint64_t) * size_t(n) * W);
      bits = std::move(b);
      cap = c2;
    }
    if (uint64_t(n) * 2 >= mask) {
      const uint32_t m2 = mask * 2 + 1;
      std::unique_ptr<uint32_t[]> s(new (std::nothrow) uint32_t[size_t(m2) + 1]);
      if (!s) return false;
      std::memset(s.get(), 0, sizeof(uint32_t) * (size_t(m2) + 1));
      for (uint32_t i = 0; i < n; i++) {
        uint32_t h = uint32_t(hash(at(i))) & m2;
        while (s[h]) h = (h + 1) & m2;
        s[h] = i + 1;
      }
      slots = std::move(s);
      mask = m2;
    }
    return true;
  }
  // The id of set v, added if new; -1 when out of memory or over kMaxClasses.
  int32_t intern(const uint64_t* v) {
    uint32_t h = uint32_t(hash(v)) & mask;
    for (; slots[h]; h = (h + 1) & mask)
      if (std::memcmp(at(slots[h] - 1), v, sizeof(uint64_t) * W) == 0) return int32_t(slots[h] - 1);
    if (n >= kMaxClasses || !grow()) return -1;
    h = uint32_t(hash(v)) & mask;
    while (slots[h]) h = (h + 1) & mask;
    std::memcpy(bits.get() + size_t(n) * W, v, sizeof(uint64_t) * W);
    slots[h] = n + 1;
    return int32_t(n++);
  }
};

// One piece of a rule: the (lo, hi) of its projection on every chunk.
struct Piece {
  uint16_t lo[kChunks], hi[kChunks];
};

// [lo, hi] cut into pieces that are products of a high-half range and a
// low-half range (at most three: head, aligned middle, tail).
uint32_t splitRange(uint32_t lo, uint32_t hi, uint16_t out[3][4]) {
  auto put = [&](uint32_t k, uint32_t a, uint32_t b) {
    out[k][0] = uint16_t(a >> 16);
    out[k][1] = uint16_t(b >> 16);
    out[k][2] = uint16_t(a);
    out[k][3] = uint16_t(b);
  };
  if ((lo >> 16) == (hi >> 16)) {
    put(0, lo, hi);
    return 1;
  }
  uint32_t n = 0;
  uint32_t mlo = lo, mhi = hi;
  if (lo & 0xffffu) {
    put(n++, lo, lo | 0xffffu);
    mlo = (lo | 0xffffu) + 1;
  }
  const bool tail = (hi & 0xffffu) != 0xffffu;
  if (tail) mhi = (hi & ~0xffffu) - 1;
  if (mlo <= mhi && mlo >= lo) put(n++, mlo, mhi);
  if (tail) put(n++, hi & ~0xffffu, hi);
  return n;
}

}  // namespace

// Builds block t's tables when every rule is an exact box and they fit the
// budgets (bytes and AND work left, both decremented). False: no tables.
bool Engine::buildRfc(uint32_t t, uint64_t* budgetBytes, uint64_t* budgetWork) {
  Tree& tr = trees_[2 * uint64_t(t)];
  const uint32_t nRules = dblocks_[2 * uint64_t(t)].ruleCount;
  const bool debug = std::getenv("NV_RFC_DEBUG") != nullptr;
  auto fail = [&](const char* why) {
    if (debug) std::fprintf(stderr, "rfc block %u: %u rules, none: %s\n", t, nRules, why);
    return false;
  };
  if (!tr.boxes || nRules == 0 || nRules >= kMaxClasses) return fail("rule count");
  // Rules that are not exact boxes stay out of the tables: a lookup checks
  // those before the tables' answer with matchRule (at most kMaxInexact).
  // NV_RFC_APART=N (tests) also leaves out every N-th exact box, to the cap.
  uint32_t every = 0;
  if (const char* env = std::getenv("NV_RFC_APART")) every = uint32_t(std::strtoul(env, nullptr, 10));
  uint32_t nInexact = 0;
  for (uint32_t i = 0; i < nRules; i++)
    if (!(tr.boxes[i].flags & kBoxExact)) nInexact++;
  std::unique_ptr<uint8_t[]> apartOf(new (std::nothrow) uint8_t[nRules]);
  if (!apartOf) return false;
  for (uint32_t i = 0, extra = 0; i < nRules; i++) {
    apartOf[i] = !(tr.boxes[i].flags & kBoxExact);
    if (!apartOf[i] && every > 0 && i % every == 0 && nInexact + extra < Rfc::kMaxInexact) apartOf[i] = 1, extra++;
  }
  for (uint32_t i = 0; i < nRules; i++) {
    const Box& x = tr.boxes[i];
    if (apartOf[i]) continue;
    if (x.sLo > x.sHi || x.dLo > x.dHi || x.spLo > x.spHi || x.dpLo > x.dpHi || x.pLo > x.pHi) return fail("an empty box");
  }
  if (nInexact > Rfc::kMaxInexact) return fail("too many rules that are not exact boxes");
  nInexact = 0;
  for (uint32_t i = 0; i < nRules; i++) nInexact += apartOf[i];
  // Pieces in rule order (a rule's pieces are adjacent), each one bit.
  uint64_t nPieces = 0;
  for (uint32_t i = 0; i < nRules; i++) {
    if (apartOf[i]) continue;
    uint16_t a[3][4], b[3][4];
    nPieces += uint64_t(splitRange(tr.boxes[i].sLo, tr.boxes[i].sHi, a)) * splitRange(tr.boxes[i].dLo, tr.boxes[i].dHi, b);
  }
  if (nPieces > 4 * uint64_t(nRules) || nPieces > (1u << 20)) return fail("too many address pieces");
  std::unique_ptr<Piece[]> pieces(new (std::nothrow) Piece[nPieces]);
  std::unique_ptr<uint16_t[]> ruleOf(new (std::nothrow) uint16_t[nPieces]);
  std::unique_ptr<uint8_t[]> ports(new (std::nothrow) uint8_t[nPieces]);
  if (!pieces || !ruleOf || !ports) return false;
  auto rfc = std::unique_ptr<Rfc>(new (std::nothrow) Rfc);
  if (!rfc) return false;
  uint32_t np = 0;
  for (uint32_t i = 0; i < nRules; i++) {
    const Box& x = tr.boxes[i];
    if (apartOf[i]) {
      rfc->inexact[rfc->nInexact++] = uint16_t(i);
      continue;
    }
    uint16_t a[3][4], b[3][4];
    const uint32_t na = splitRange(x.sLo, x.sHi, a), nb = splitRange(x.dLo, x.dHi, b);
    for (uint32_t u = 0; u < na; u++) {
      for (uint32_t v = 0; v < nb; v++) {
        Piece& p = pieces[np];
        p.lo[0] = a[u][0], p.hi[0] = a[u][1], p.lo[1] = a[u][2], p.hi[1] = a[u][3];
        p.lo[2] = b[v][0], p.hi[2] = b[v][1], p.lo[3] = b[v][2], p.hi[3] = b[v][3];
        p.lo[4] = x.spLo, p.hi[4] = x.spHi, p.lo[5] = x.dpLo, p.hi[5] = x.dpHi;
        p.lo[6] = x.pLo, p.hi[6] = x.pHi;
        ports[np] = (x.flags & kBoxPorts) ? 1 : 0;
        ruleOf[np] = uint16_t(i);
        np++;
      }
    }
  }
  const uint32_t W = nPieces > 0 ? uint32_t((nPieces + 63) / 64) : 1;
  std::unique_ptr<uint64_t[]> cur(new (std::nothrow) uint64_t[W]);
  if (!cur) return false;
  uint64_t bytes = 0;

  // Phase 0: per chunk, a sweep over the pieces' interval ends.
  Classes cls[kChunks];
  for (uint32_t c = 0; c < kChunks; c++) {
    if (!cls[c].init(W)) return false;
    const uint32_t width = c == 6 ? 256 : 65536;
    rfc->chunk[c] = bigArray<uint16_t>(width);
    if (!rfc->chunk[c]) return false;
    bytes += uint64_t(width) * 2;
    std::memset(cur.get(), 0, W * 8);
    if (c == 6) {
      for (uint32_t v = 0; v < 256; v++) {
        std::memset(cur.get(), 0, W * 8);
        const bool hasPorts = protoFlags_[v] & fmt::PROTO_HAS_PORTS;
        for (uint32_t j = 0; j < np; j++)
          if (pieces[j].lo[6] <= v && v <= pieces[j].hi[6] && (hasPorts || !ports[j])) cur[j >> 6] |= uint64_t(1) << (j & 63);
        const int32_t id = cls[c].intern(cur.get());
        if (id < 0) return false;
        rfc->chunk[c][v] = uint16_t(id);
      }
      continue;
    }
    // Events: position << 21 | piece << 1 | (1: leaves, 0: enters).
    std::unique_ptr<uint64_t[]> ev(new (std::nothrow) uint64_t[2 * size_t(np)]);
    if (!ev) return false;
    size_t ne = 0;
    for (uint32_t j = 0; j < np; j++) {
      ev[ne++] = uint64_t(pieces[j].lo[c]) << 21 | uint64_t(j) << 1;
      if (pieces[j].hi[c] < 0xffff) ev[ne++] = (uint64_t(pieces[j].hi[c]) + 1) << 21 | uint64_t(j) << 1 | 1;
    }
    std::sort(ev.get(), ev.get() + ne);
    size_t e = 0;
    for (uint32_t pos = 0; pos < 65536;) {
      while (e < ne && (ev[e] >> 21) == pos) {
        const uint32_t j = uint32_t(ev[e] >> 1) & 0xfffff;
        if (ev[e] & 1) cur[j >> 6] &= ~(uint64_t(1) << (j & 63));
        else cur[j >> 6] |= uint64_t(1) << (j & 63);
        e++;
      }
      const uint32_t next = e < ne ? uint32_t(ev[e] >> 21) : 65536;
      const int32_t id = cls[c].intern(cur.get());
      if (id < 0) return false;
      for (uint32_t v = pos; v < next; v++) rfc->chunk[c][v] = uint16_t(id);
      pos = next;
    }
  }

  // Later phases: out[a * |B| + b] = class of A[a] & B[b] (or, last, its first rule).
  uint64_t work = 0;
  auto combine = [&](const Classes& A, const Classes& B, Classes* out, BigArray<uint16_t>* table) -> bool {
    const uint64_t size = uint64_t(A.n) * B.n;
    if (debug) std::fprintf(stderr, "rfc block %u: combine %u x %u (%.0f M word ANDs)\n", t, A.n, B.n, double(size) * W / 1e6);
    if (size * 2 + bytes > *budgetBytes || work + size * W > *budgetWork) return false;
    *table = bigArray<uint16_t>(size);
    if (!*table || (out && !out->init(W))) return false;
    uint16_t* tab = table->get();
    for (uint32_t a = 0; a < A.n; a++) {
      const uint64_t* x = A.at(a);
      for (uint32_t b = 0; b < B.n; b++) {
        const uint64_t* y = B.at(b);
        if (out) {
          for (uint32_t k = 0; k < W; k++) cur[k] = x[k] & y[k];
          const int32_t id = out->intern(cur.get());
          if (id < 0) return false;
          tab[uint64_t(a) * B.n + b] = uint16_t(id);
        } else {
          uint16_t first = uint16_t(nRules);  // none
          for (uint32_t k = 0; k < W; k++) {
            const uint64_t w = x[k] & y[k];
            if (w) {
              first = ruleOf[k * 64 + uint32_t(__builtin_ctzll(w))];
              break;
            }
          }
          tab[uint64_t(a) * B.n + b] = first;
        }
      }
    }
    work += size * W;
    bytes += size * 2;
    return true;
  };
  // Phase 1: source, destination, ports; phase 2: ports with protocol (q).
  Classes s, d, pp, q;
  if (!combine(cls[0], cls[1], &s, &rfc->s) || !combine(cls[2], cls[3], &d, &rfc->d) || !combine(cls[4], cls[5], &pp, &rfc->pp) ||
      !combine(pp, cls[6], &q, &rfc->q))
    return fail("phase 1 over the budgets");
  // Then two of {s, d, q} (x), and x with the third (the last table): the
  // pairing whose two tables are smallest.
  const Classes* u[3] = {&s, &d, &q};
  static constexpr uint8_t kPairs[3][3] = {{0, 1, 2}, {0, 2, 1}, {1, 2, 0}};
  int bestShape = -1;
  uint64_t bestSize = ~uint64_t(0);
  Classes xs[3];
  BigArray<uint16_t> xt[3];
  const uint64_t bytesBefore = bytes;
  for (int sh = 0; sh < 3; sh++) {
    if (!combine(*u[kPairs[sh][0]], *u[kPairs[sh][1]], &xs[sh], &xt[sh])) {
      xt[sh].reset();
      continue;
    }
    const uint64_t size = uint64_t(u[kPairs[sh][0]]->n) * u[kPairs[sh][1]]->n + uint64_t(xs[sh].n) * u[kPairs[sh][2]]->n;
    if (size < bestSize) bestSize = size, bestShape = sh;
    bytes = bytesBefore;  // only the chosen x table is kept
  }
  if (bestShape < 0) return fail("phase 2 over the budgets");
  const int sh = bestShape;
  bytes = bytesBefore + uint64_t(u[kPairs[sh][0]]->n) * u[kPairs[sh][1]]->n * 2;
  if (!combine(xs[sh], *u[kPairs[sh][2]], nullptr, &rfc->f)) return fail("last phase over the budgets");
  rfc->x = std::move(xt[sh]);
  rfc->none = nRules;
  rfc->nSl = cls[1].n, rfc->nDl = cls[3].n, rfc->nDp = cls[5].n, rfc->nPr = cls[6].n;
  rfc->x1 = kPairs[sh][0], rfc->x2 = kPairs[sh][1], rfc->y = kPairs[sh][2];
  rfc->nX2 = u[kPairs[sh][1]]->n;
  rfc->nY = u[kPairs[sh][2]]->n;
  rfc->bytes = bytes;
  if (debug)
    std::fprintf(stderr,
                 "rfc block %u: %u rules (%u checked apart), %u pieces, chunk classes %u %u %u %u %u %u %u, s %u d %u pp %u q %u, x %u (%u x %u), last %u x %u, "
                 "%.2f MiB, %.0f M word ANDs\n",
                 t, nRules, rfc->nInexact, np, cls[0].n, cls[1].n, cls[2].n, cls[3].n, cls[4].n, cls[5].n, cls[6].n, s.n, d.n, pp.n, q.n, xs[sh].n,
                 u[kPairs[sh][0]]->n, u[kPairs[sh][1]]->n, xs[sh].n, rfc->nY, double(bytes) / 1048576.0, double(work) / 1e6);
  *budgetBytes -= bytes;
  *budgetWork -= work;
  tr.rfc = std::move(rfc);
  return true;
}

void Engine::buildRfcs() {
  if (!trees_) return;
  if (const char* env = std::getenv("NV_RFC")) {
    if (env[0] == '0' && env[1] == 0) return;
  }
  // Engine-wide budgets: table bytes (default 64 MiB, NV_RFC_MB) and the AND
  // work of building them (2^27 word ANDs, ~0.1 s).
  uint64_t budgetBytes = uint64_t(64) << 20, budgetWork = uint64_t(1) << 27;
  if (const char* env = std::getenv("NV_RFC_MB")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && v <= (1ul << 20)) budgetBytes = uint64_t(v) << 20;
  }
  for (uint32_t t = 0; t < nTierBlocks_; t++) {
    const Tree& tr = trees_[2 * uint64_t(t)];
    if (!tr.nodes) continue;
    if (buildRfc(t, &budgetBytes, &budgetWork)) {
      rfcCount_++;
      rfcBytes_ += tr.rfc->bytes;
    }
  }
}

}  // namespace nv
