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

// A rule set as its nonzero 64-bit words (word index, bits), in index order:
// the sets of large blocks are sparse, so intersections cost the words that
// are there, not the block's width.
struct Row {
  const uint32_t* idx;
  const uint64_t* bits;
  uint32_t len;
};

// Interned rule sets: an id per distinct set, in first-seen order.
struct Classes {
  uint32_t n = 0, mask = 0;
  BigArray<uint32_t> start;  // n + 1 offsets into idx / bits
  BigArray<uint32_t> idx;    // the rows' word indices (`words` entries)
  BigArray<uint64_t> bits;   // and their bits
  uint32_t capStart = 0, capIdx = 0, capBits = 0;
  std::unique_ptr<uint32_t[]> slots;  // id + 1, 0 empty
  uint64_t words = 0;  // summed row lengths
  static constexpr uint64_t kLimit = uint64_t(1) << 31;

  bool init() {
    n = 0;
    mask = 255;
    words = 0;
    slots.reset(new (std::nothrow) uint32_t[size_t(mask) + 1]);
    if (!slots || !growArray(start, capStart, 1, kLimit)) return false;
    start[0] = 0;
    std::memset(slots.get(), 0, sizeof(uint32_t) * (size_t(mask) + 1));
    return true;
  }
  Row at(uint32_t i) const { return Row{idx.get() + start[i], bits.get() + start[i], start[i + 1] - start[i]}; }
  static uint64_t hash(const Row& r) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ r.len;
    for (uint32_t k = 0; k < r.len; k++) h = (h ^ r.bits[k] ^ (uint64_t(r.idx[k]) << 40)) * 0xff51afd7ed558ccdull, h ^= h >> 29;
    return h;
  }
  static bool same(const Row& a, const Row& b) {
    if (a.len != b.len) return false;
    return a.len == 0 || (std::memcmp(a.idx, b.idx, 4 * size_t(a.len)) == 0 && std::memcmp(a.bits, b.bits, 8 * size_t(a.len)) == 0);
  }
  bool rehash() {
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
    return true;
  }
  // The id of set r, added if new; -1 when out of memory or over kMaxClasses.
  int32_t intern(const Row& r) {
    const uint64_t hv = hash(r);
    uint32_t h = uint32_t(hv) & mask;
    for (; slots[h]; h = (h + 1) & mask)
      if (same(at(slots[h] - 1), r)) return int32_t(slots[h] - 1);
    if (n >= kMaxClasses || words + r.len > kLimit || !growArray(start, capStart, n + 2, kLimit) ||
        !growArray(idx, capIdx, words + r.len, kLimit) || !growArray(bits, capBits, words + r.len, kLimit))
      return -1;
    if (r.len) {
      std::memcpy(idx.get() + words, r.idx, 4 * size_t(r.len));
      std::memcpy(bits.get() + words, r.bits, 8 * size_t(r.len));
    }
    words += r.len;
    start[n + 1] = uint32_t(words);
    slots[h] = n + 1;
    n++;
    if (uint64_t(n) * 2 >= mask && !rehash()) return -1;
    return int32_t(n - 1);
  }
};

// Distinct rows of an n x w matrix of 16-bit entries: id[i] for row i (ids in
// first-seen order), the distinct rows packed into out (n x w capacity);
// returns their count, 0 when out of memory.
uint32_t distinctRows(const uint16_t* m, uint32_t n, uint32_t w, uint16_t* id, uint16_t* out) {
  uint32_t mask = 1;
  while (mask < 2 * n) mask <<= 1;
  mask--;
  std::unique_ptr<uint32_t[]> slot(new (std::nothrow) uint32_t[size_t(mask) + 1]);
  if (!slot) return 0;
  std::memset(slot.get(), 0, sizeof(uint32_t) * (size_t(mask) + 1));
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint16_t* row = m + uint64_t(i) * w;
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint32_t j = 0; j < w; j++) h = (h ^ row[j]) * 0xff51afd7ed558ccdull, h ^= h >> 31;
    uint32_t sl = uint32_t(h) & mask;
    for (; slot[sl]; sl = (sl + 1) & mask)
      if (std::memcmp(out + uint64_t(slot[sl] - 1) * w, row, 2 * size_t(w)) == 0) break;
    if (!slot[sl]) {
      std::memcpy(out + uint64_t(k) * w, row, 2 * size_t(w));
      slot[sl] = ++k;
    }
    id[i] = uint16_t(slot[sl] - 1);
  }
  return k;
}

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

// Builds block t's tables when its rules are exact boxes (up to
// Rfc::kMaxInexact that are not, checked apart) and the tables fit the
// budgets (bytes and build steps left, both decremented). False: no tables.
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
  std::unique_ptr<uint32_t[]> rowIdx(new (std::nothrow) uint32_t[W]);
  std::unique_ptr<uint64_t[]> rowBits(new (std::nothrow) uint64_t[W]);
  if (!cur || !rowIdx || !rowBits) return false;
  // The dense set cur as a row (in rowIdx / rowBits).
  auto sparse = [&]() {
    uint32_t len = 0;
    for (uint32_t k = 0; k < W; k++)
      if (cur[k]) rowIdx[len] = k, rowBits[len] = cur[k], len++;
    return Row{rowIdx.get(), rowBits.get(), len};
  };
  uint64_t bytes = 0;

  // Phase 0: per chunk, a sweep over the pieces' interval ends.
  Classes cls[kChunks];
  for (uint32_t c = 0; c < kChunks; c++) {
    if (!cls[c].init()) return false;
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
        const int32_t id = cls[c].intern(sparse());
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
      const int32_t id = cls[c].intern(sparse());
      if (id < 0) return false;
      for (uint32_t v = pos; v < next; v++) rfc->chunk[c][v] = uint16_t(id);
      pos = next;
    }
  }

  // Later phases: out[a * |B| + b] = class of A[a] & B[b] (or, last, its
  // first rule). Work: |B| * words(A) + |A| * words(B) bounds the steps.
  uint64_t work = 0;
  std::unique_ptr<uint64_t[]> dense(new (std::nothrow) uint64_t[W]);
  if (!dense) return false;
  std::memset(dense.get(), 0, 8 * size_t(W));
  auto combine = [&](const Classes& A, const Classes& B, Classes* out, BigArray<uint16_t>* table) -> bool {
    const uint64_t size = uint64_t(A.n) * B.n;
    const uint64_t cost = uint64_t(B.n) * A.words + uint64_t(A.n) * B.words + size;
    if (debug) std::fprintf(stderr, "rfc block %u: combine %u x %u (%.0f M steps)\n", t, A.n, B.n, double(cost) / 1e6);
    if (size * 2 + bytes > *budgetBytes || work + cost > *budgetWork) return false;
    *table = bigArray<uint16_t>(size);
    if (!*table || (out && !out->init())) return false;
    uint16_t* tab = table->get();
    // The side with the longer rows is scattered into a dense array, one row
    // at a time; each row of the other side then costs its own length.
    const bool flip = uint64_t(A.words) * B.n < uint64_t(B.words) * A.n;
    const Classes& O = flip ? B : A;  // outer (scattered)
    const Classes& I = flip ? A : B;  // inner
    for (uint32_t o = 0; o < O.n; o++) {
      const Row x = O.at(o);
      for (uint32_t k = 0; k < x.len; k++) dense[x.idx[k]] = x.bits[k];
      for (uint32_t i = 0; i < I.n; i++) {
        const Row y = I.at(i);
        const uint64_t slot = flip ? uint64_t(i) * B.n + o : uint64_t(o) * B.n + i;
        if (out) {
          uint32_t len = 0;
          for (uint32_t k = 0; k < y.len; k++) {
            const uint64_t w = dense[y.idx[k]] & y.bits[k];
            rowIdx[len] = y.idx[k];
            rowBits[len] = w;
            len += w != 0;
          }
          const int32_t id = out->intern(Row{rowIdx.get(), rowBits.get(), len});
          if (id < 0) return false;
          tab[slot] = uint16_t(id);
        } else {
          uint16_t first = uint16_t(nRules);  // none
          for (uint32_t k = 0; k < y.len; k++) {
            const uint64_t w = dense[y.idx[k]] & y.bits[k];
            if (w) {
              first = ruleOf[y.idx[k] * 64 + uint32_t(__builtin_ctzll(w))];
              break;
            }
          }
          tab[slot] = first;
        }
      }
      for (uint32_t k = 0; k < x.len; k++) dense[x.idx[k]] = 0;
    }
    work += cost;
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
  // Candidates by their x table's size; one whose x table alone is no
  // smaller than the best total so far cannot win and is not built.
  int order[3] = {0, 1, 2};
  auto pairs = [&](int sh) { return uint64_t(u[kPairs[sh][0]]->n) * u[kPairs[sh][1]]->n; };
  std::sort(order, order + 3, [&](int a, int b) { return pairs(a) < pairs(b); });
  for (int sh : order) {
    if (pairs(sh) >= bestSize) continue;
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
  // The last table's equal columns and rows merged: classes of y (or x) with
  // the same first rule against every x (or y) class are one. The table that
  // makes y's classes (s, d or q) and the x table then give the merged ids,
  // so a lookup reads the same number of entries, from a smaller table.
  {
    const uint32_t nX = xs[sh].n, nY = rfc->nY;
    BigArray<uint16_t> tmp = bigArray<uint16_t>(uint64_t(nX) * nY), dist = bigArray<uint16_t>(uint64_t(nX) * nY);
    std::unique_ptr<uint16_t[]> colId(new (std::nothrow) uint16_t[nY]), rowId(new (std::nothrow) uint16_t[nX]);
    if (!tmp || !dist || !colId || !rowId) return fail("out of memory");
    for (uint32_t i = 0; i < nX; i++)
      for (uint32_t j = 0; j < nY; j++) tmp[uint64_t(j) * nX + i] = rfc->f[uint64_t(i) * nY + j];
    const uint32_t cols = distinctRows(tmp.get(), nY, nX, colId.get(), dist.get());
    if (cols == 0) return fail("out of memory");
    for (uint32_t i = 0; i < nX; i++)
      for (uint32_t j = 0; j < cols; j++) tmp[uint64_t(i) * cols + j] = dist[uint64_t(j) * nX + i];
    const uint32_t rows = distinctRows(tmp.get(), nX, cols, rowId.get(), dist.get());
    if (rows == 0) return fail("out of memory");
    BigArray<uint16_t> f = bigArray<uint16_t>(uint64_t(rows) * cols);
    if (!f) return fail("out of memory");
    std::memcpy(f.get(), dist.get(), 2 * uint64_t(rows) * cols);
    BigArray<uint16_t>& ytab = rfc->y == 0 ? rfc->s : rfc->y == 1 ? rfc->d : rfc->q;
    const uint64_t ySize = rfc->y == 0 ? uint64_t(cls[0].n) * cls[1].n : rfc->y == 1 ? uint64_t(cls[2].n) * cls[3].n : uint64_t(pp.n) * cls[6].n;
    for (uint64_t i = 0; i < ySize; i++) ytab[i] = colId[ytab[i]];
    const uint64_t xSize = uint64_t(u[kPairs[sh][0]]->n) * u[kPairs[sh][1]]->n;
    for (uint64_t i = 0; i < xSize; i++) rfc->x[i] = rowId[rfc->x[i]];
    if (debug) std::fprintf(stderr, "rfc block %u: last table %u x %u merged to %u x %u\n", t, nX, nY, rows, cols);
    bytes -= (uint64_t(nX) * nY - uint64_t(rows) * cols) * 2;
    rfc->f = std::move(f);
    rfc->nY = cols;
  }
  rfc->bytes = bytes;
  if (debug)
    std::fprintf(stderr,
                 "rfc block %u: %u rules (%u checked apart), %u pieces, chunk classes %u %u %u %u %u %u %u, s %u d %u pp %u q %u, x %u (%u x %u), last %u x %u, "
                 "%.2f MiB, %.0f M merge steps\n",
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
  // Engine-wide budgets: table bytes (default 64 MiB, NV_RFC_MB) and the
  // work of building them (2^28 merge steps, ~0.3 s at most).
  uint64_t budgetBytes = uint64_t(64) << 20, budgetWork = uint64_t(1) << 28;
  if (const char* env = std::getenv("NV_RFC_MB")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && v <= (1ul << 20)) budgetBytes = uint64_t(v) << 20;
  }
  if (const char* env = std::getenv("NV_RFC_WORK")) {  // in M merge steps (experiments)
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && v <= (1ul << 24)) budgetWork = uint64_t(v) * 1000000;
  }
  for (uint32_t t = 0; t < nTierBlocks_; t++) {
    const Tree& tr = trees_[2 * uint64_t(t)];
    if (!tr.nodes) continue;
    if (buildRfc(t, &budgetBytes, &budgetWork)) {
      rfcCount_++;
      rfcBytes_ += tr.rfc->bytes;
      // The tables replace the tree everywhere (firstDecided, the fast path).
      Tree& w = trees_[2 * uint64_t(t)];
      w.nodes.reset();
      w.leaves.reset();
      w.leaves16.reset();
      w.boxes.reset();
      w.cut.reset();
      treeBytes_ -= w.bytes;
      treeCount_--;
      w.bytes = 0;
    }
  }
}

}  // namespace nv
