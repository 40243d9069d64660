// SIMD twins of one stage of the fast transit path's tree form
// (classifyFastTransit: lockstep descent, then each lane's leaves scanned in
// rule order to the first box hit): 16 lanes per vector on AVX-512, 8 on
// AVX2. Compiled for their instruction sets by target attributes and chosen
// at load by what the CPU has (Engine::simd_), so the addon runs on any
// x86-64, and on other architectures, where this file compiles to stubs.
// Tested equal to the scalar form: engine_test and the ClassBench tests run
// all three (NV_SIMD=0 forces the scalar form, NV_SIMD=avx2 the AVX2 one).
#include <cstdlib>
#include <cstring>

#include "engine.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 flags the intrinsics' own _mm512_undefined_* results (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define NV_X86_SIMD 1
#endif

namespace nv {

void Engine::scanTail(const Tree& t, uint32_t bits, size_t base, const uint32_t* ats, const uint32_t* lefts, uint32_t* bs,
                      uint64_t noPorts, const uint32_t* src, const uint32_t* dst, const uint8_t* proto, const uint16_t* sport,
                      const uint16_t* dport, uint32_t* visited, InexactFn inexact, void* ctx) {
  const Box* boxes = t.boxes.get();
  const uint16_t* l16 = t.leaves16.get();
  const uint32_t* l32 = t.leaves.get();
  for (; bits; bits &= bits - 1) {
    const uint32_t j = uint32_t(__builtin_ctz(bits));
    const size_t k = base + j;
    const TreeNode leaf{ats[j], lefts[j] << 3 | kTreeLeaf};
    const uint8_t pf = (noPorts >> k) & 1 ? 0 : uint8_t(fmt::PROTO_HAS_PORTS);
    auto inex = [&](uint32_t rule) { return inexact(ctx, k, rule); };
    bs[j] = l16 ? leafFirst(l16, boxes, leaf, bs[j], src[k], dst[k], proto[k], sport[k], dport[k], pf, &visited[k], inex)
                : leafFirst(l32, boxes, leaf, bs[j], src[k], dst[k], proto[k], sport[k], dport[k], pf, &visited[k], inex);
  }
}

#ifdef NV_X86_SIMD

uint8_t Engine::simdSupported() {
  bool avx2Only = false;
  if (const char* env = std::getenv("NV_SIMD")) {
    if (env[0] == '0' && env[1] == 0) return kSimdNone;
    avx2Only = std::strcmp(env, "avx2") == 0;
  }
  __builtin_cpu_init();
  if (!avx2Only && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return kSimdAvx512;
  return __builtin_cpu_supports("avx2") ? kSimdAvx2 : kSimdNone;
}

#define NV_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

namespace {
// Sixteen lanes' keys, one vector per dimension (src, dst, proto, sport,
// dport); lanes past the batch are zero (never live).
struct Keys16 {
  __m512i k[5];
};

// Per lane of m: the unsigned range test x - lo <= hi - lo on the bits of `low`.
NV_AVX512 inline __mmask16 inRange(__mmask16 m, __m512i x, __m512i lo, __m512i hi, __m512i low) {
  return _mm512_mask_cmple_epu32_mask(m, _mm512_and_si512(_mm512_sub_epi32(x, lo), low), _mm512_and_si512(_mm512_sub_epi32(hi, lo), low));
}

// The 32-bit halves of the 64-bit words at base + off[lane] (lanes in m):
// *first the low, *second the high ones (two 8-lane gathers, then the even and
// odd 32-bit elements of both).
NV_AVX512 inline void gatherPair(__mmask16 m, __m256i offLo, __m256i offHi, const char* base, __m512i* first, __m512i* second) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const __m512i lo = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), __mmask8(m), offLo, base, 1);
  const __m512i hi = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), __mmask8(m >> 8), offHi, base, 1);
  *first = _mm512_permutex2var_epi32(lo, even, hi);
  *second = _mm512_permutex2var_epi32(lo, odd, hi);
}
}  // namespace

// Roots in order, each descended and scanned before the next, for the lanes
// whose best so far is not below the root's smallest rule (the others can find
// nothing better there). Descent: sixteen lanes per vector, one vector per 16
// lanes; each round moves every live lane of every vector one level (two
// 64-bit gathers of the nodes, the key of the node's dimension by
// compare-and-blend, an unsigned compare with the threshold) — the same nodes
// and comparisons as lockstepRounds. Scan: rounds over the 16-lane blocks in
// lockstep, candidate j of every lane's leaf at once (a gather of the entry,
// then of the box's fields) while it is below the lane's best so far, and a
// round's last few lanes one by one with leafFirst — the order and checks of
// leafFirst throughout, so the same first match and the same boxes counted
// (a skipped root's first candidate would not be below the best either).
NV_AVX512 void Engine::treeStageAvx512(const Tree& t, size_t m, uint64_t live, uint64_t noPorts, const uint32_t* src,
                                       const uint32_t* dst, const uint8_t* proto, const uint16_t* sport, const uint16_t* dport,
                                       uint32_t* best, uint32_t* visited, InexactFn inexact, void* ctx) {
  constexpr size_t kBlocks = kFastLanes / 16;
  // Rounds with at most this many lanes left finish one by one (measured:
  // 3 took fw1 10K from 39.6 to 36.0 ns per header and ipc1 10K from 30.8 to
  // 28.2; 0, 5 and 8 were slower).
  constexpr int kScalarTail = 3;
  const size_t blocks = (m + 15) / 16;
  const uint32_t roots = t.nRoots < 4 ? t.nRoots : 4;
  Keys16 keys[kBlocks];
  __mmask16 liveOf[kBlocks];
  for (size_t b = 0; b < blocks; b++) {
    const size_t n = m - 16 * b < 16 ? m - 16 * b : 16;
    const __mmask16 in = __mmask16((uint32_t(1) << n) - 1);
    liveOf[b] = __mmask16(live >> (16 * b)) & in;
    keys[b].k[0] = _mm512_maskz_loadu_epi32(in, src + 16 * b);
    keys[b].k[1] = _mm512_maskz_loadu_epi32(in, dst + 16 * b);
    keys[b].k[2] = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(in, proto + 16 * b));
    keys[b].k[3] = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(in, sport + 16 * b));
    keys[b].k[4] = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(in, dport + 16 * b));
  }
  // Per root, the scans: rounds over the 16-lane blocks in lockstep (one
  // candidate of each block per round), so the blocks' gathers overlap; a
  // lane's best so far bounds the next root's candidates.
  const Box* boxes = t.boxes.get();
  const char* bx = reinterpret_cast<const char*>(boxes);
  const uint16_t* l16 = t.leaves16.get();
  const uint32_t* l32 = t.leaves.get();
  const __m512i none = _mm512_set1_epi32(int(fmt::kNone)), low8 = _mm512_set1_epi32(0xff), low16 = _mm512_set1_epi32(0xffff);
  const __m512i all = _mm512_set1_epi32(-1), zero = _mm512_setzero_si512();
  __m512i bst[kBlocks], vis[kBlocks], at[kBlocks], left[kBlocks];
  __mmask16 a[kBlocks];
  for (size_t b = 0; b < blocks; b++) bst[b] = none, vis[b] = zero;
  // Root by root: a lane whose first match so far precedes every rule of
  // the next root skips its descent and scan (measured: fw1 10K 34.1 -> 26.4
  // ns per header, its last root — wide source and destination — mostly
  // skipped; ipc1 10K unchanged; all roots' descents at once, for their
  // overlapping misses, did not pay that back).
  for (uint32_t g = 0; g < roots; g++) {
    // The units (vector v: lanes 16 vb[v] ...): root slots from the root's cut table.
    __m512i idx[kBlocks], start[kBlocks], count[kBlocks];
    __mmask16 act[kBlocks], goOf[kBlocks];
    size_t vb[kBlocks];  // the vector's block of 16 lanes
    size_t nv = 0;
    const uint32_t* cut = t.cut.get();
    {
      const __m512i minRule = _mm512_set1_epi32(int(t.minRule[g]));
      const __m512i shS = _mm512_set1_epi32(t.cutShS[g]), shD = _mm512_set1_epi32(t.cutShD[g]), cD = _mm512_set1_epi32(t.cutD[g]);
      for (size_t b = 0; b < blocks; b++) {
        // Lanes whose first match so far precedes every rule of this root skip it.
        const __mmask16 go = _mm512_mask_cmpge_epu32_mask(liveOf[b], bst[b], minRule);
        if (!go) continue;
        // (src >> shS) << cD | dst >> shD; a shift by 32 gives 0, as in rootOf.
        const __m512i cell = _mm512_or_si512(_mm512_sllv_epi32(_mm512_srlv_epi32(keys[b].k[0], shS), cD),
                                             _mm512_srlv_epi32(keys[b].k[1], shD));
        idx[nv] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), go, cell, cut + t.cutBase[g], 4);
        start[nv] = count[nv] = _mm512_setzero_si512();
        act[nv] = go;
        goOf[nv] = go;
        vb[nv] = b;
        nv++;
      }
    }
    const TreeNode* nodes = t.nodes.get();
    const __m512i seven = _mm512_set1_epi32(int(kTreeLeaf)), one = _mm512_set1_epi32(1);
    const __m512i two = _mm512_set1_epi32(2), three = _mm512_set1_epi32(3), four = _mm512_set1_epi32(4);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (bool any = true; any;) {
      any = false;
      for (size_t v = 0; v < nv; v++) {
        const __mmask16 am = act[v];
        if (!am) continue;
        // The nodes of the live lanes (8 bytes each: w0, w1), lanes 0-7 and 8-15.
        const __m512i x = idx[v];
        const __m512i lo = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), __mmask8(am), _mm512_castsi512_si256(x), nodes, 8);
        const __m512i hi =
            _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), __mmask8(am >> 8), _mm512_extracti64x4_epi64(x, 1), nodes, 8);
        const __m512i w0 = _mm512_permutex2var_epi32(lo, even, hi);
        const __m512i w1 = _mm512_permutex2var_epi32(lo, odd, hi);
        const __m512i dim = _mm512_and_si512(w1, seven);
        const Keys16& k = keys[vb[v]];
        __m512i key = k.k[0];
        key = _mm512_mask_mov_epi32(key, _mm512_cmpeq_epi32_mask(dim, one), k.k[1]);
        key = _mm512_mask_mov_epi32(key, _mm512_cmpeq_epi32_mask(dim, two), k.k[2]);
        key = _mm512_mask_mov_epi32(key, _mm512_cmpeq_epi32_mask(dim, three), k.k[3]);
        key = _mm512_mask_mov_epi32(key, _mm512_cmpeq_epi32_mask(dim, four), k.k[4]);
        const __mmask16 ge = _mm512_cmpge_epu32_mask(key, w0);
        const __m512i upper = _mm512_srli_epi32(w1, 3);  // inner: first child; leaf: rule count
        const __mmask16 leaf = _mm512_mask_cmpeq_epi32_mask(am, dim, seven);
        const __mmask16 next = am & ~leaf;
        idx[v] = _mm512_mask_add_epi32(x, next, upper, _mm512_maskz_mov_epi32(ge, one));
        start[v] = _mm512_mask_mov_epi32(start[v], leaf, w0);
        count[v] = _mm512_mask_mov_epi32(count[v], leaf, upper);
        act[v] = next;
        any |= next != 0;
      }
    }
    {
      // The root's vectors (one per block with lanes to scan).
      for (size_t b = 0; b < blocks; b++) a[b] = 0;
      for (size_t v = 0; v < nv; v++) {
        const size_t b = vb[v];
        a[b] = _mm512_mask_cmpgt_epu32_mask(goOf[v], count[v], zero);
        at[b] = start[v];
        left[b] = count[v];
      }
      for (bool any = true; any;) {
        any = false;
        for (size_t b = 0; b < blocks; b++) {
          if (!a[b]) continue;
          if (__builtin_popcount(a[b]) <= kScalarTail) {
            // A few lanes left: their scans one by one (leafFirst), cheaper than
            // the eight gathers of a round.
            alignas(64) uint32_t ats[16], lefts[16], bs[16];
            _mm512_store_si512(ats, at[b]);
            _mm512_store_si512(lefts, left[b]);
            _mm512_store_si512(bs, bst[b]);
            scanTail(t, a[b], 16 * b, ats, lefts, bs, noPorts, src, dst, proto, sport, dport, visited, inexact, ctx);
            bst[b] = _mm512_load_si512(bs);
            a[b] = 0;
            continue;
          }
          const __m512i r = l16 ? _mm512_and_si512(_mm512_mask_i32gather_epi32(zero, a[b], at[b], l16, 2), low16)
                                : _mm512_mask_i32gather_epi32(zero, a[b], at[b], l32, 4);
          const __mmask16 c = _mm512_mask_cmplt_epu32_mask(a[b], r, bst[b]);
          const __m512i off = _mm512_slli_epi32(r, 5);  // sizeof(Box) == 32
          const __m512i pf = _mm512_mask_i32gather_epi32(zero, c, off, bx + offsetof(Box, pLo), 1);
          const __m512i flags = _mm512_and_si512(_mm512_srli_epi32(pf, 16), low8);
          const __mmask16 exact = _mm512_mask_test_epi32_mask(c, flags, _mm512_set1_epi32(kBoxExact));
          const __mmask16 needPorts = _mm512_mask_test_epi32_mask(exact, flags, _mm512_set1_epi32(kBoxPorts));
          const Keys16& k = keys[b];
          __mmask16 h = exact & ~(needPorts & __mmask16(noPorts >> (16 * b)));
          // Pairs of adjacent fields as 64-bit gathers (half the element loads
          // of 32-bit ones), split into their 32-bit halves.
          const __m256i offLo = _mm512_castsi512_si256(off), offHi = _mm512_extracti64x4_epi64(off, 1);
          __m512i sLo, sHi, dLo, dHi, sp, dp;
          gatherPair(h, offLo, offHi, bx + offsetof(Box, sLo), &sLo, &sHi);
          gatherPair(h, offLo, offHi, bx + offsetof(Box, dLo), &dLo, &dHi);
          gatherPair(h, offLo, offHi, bx + offsetof(Box, spLo), &sp, &dp);
          h = inRange(h, k.k[0], sLo, sHi, all);
          h = inRange(h, k.k[1], dLo, dHi, all);
          h = inRange(h, k.k[2], pf, _mm512_srli_epi32(pf, 8), low8);
          h = inRange(h, k.k[3], sp, _mm512_srli_epi32(sp, 16), low16);
          h = inRange(h, k.k[4], dp, _mm512_srli_epi32(dp, 16), low16);
          vis[b] = _mm512_mask_add_epi32(vis[b], exact, vis[b], one);
          if (const __mmask16 inex = c & ~exact) {
            alignas(64) uint32_t rs[16];
            _mm512_store_si512(rs, r);
            for (uint32_t bits = inex; bits; bits &= bits - 1) {
              const uint32_t lane = uint32_t(__builtin_ctz(bits));
              if (inexact(ctx, 16 * b + lane, rs[lane])) h |= __mmask16(1u << lane);
            }
          }
          bst[b] = _mm512_mask_mov_epi32(bst[b], h, r);
          at[b] = _mm512_add_epi32(at[b], one);
          left[b] = _mm512_sub_epi32(left[b], one);
          a[b] = _mm512_mask_cmpgt_epu32_mask(c & ~h, left[b], zero);
          any |= a[b] != 0;
        }
      }
    }
  }
  for (size_t b = 0; b < blocks; b++) {
    const size_t n = m - 16 * b < 16 ? m - 16 * b : 16;
    const __mmask16 in = __mmask16((uint32_t(1) << n) - 1);
    _mm512_mask_storeu_epi32(best + 16 * b, in, bst[b]);
    _mm512_mask_storeu_epi32(visited + 16 * b, in, _mm512_add_epi32(_mm512_maskz_loadu_epi32(in, visited + 16 * b), vis[b]));
  }
}

#define NV_AVX2 __attribute__((target("avx2")))

namespace {
// AVX2 has no mask registers: a lane mask is a vector of all-ones / zero
// 32-bit lanes, and its bits come from movemask.
NV_AVX2 inline uint32_t bitsOf(__m256i m) { return uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(m))); }
NV_AVX2 inline __m256i maskOf(uint32_t bits) {
  const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(int(bits)), sel), sel);
}
// Unsigned a <= b per lane (AVX2 compares are signed).
NV_AVX2 inline __m256i leU(__m256i a, __m256i b) { return _mm256_cmpeq_epi32(_mm256_max_epu32(a, b), b); }
// Per lane of m: the unsigned range test x - lo <= hi - lo on the bits of `low`.
NV_AVX2 inline __m256i inRange8(__m256i m, __m256i x, __m256i lo, __m256i hi, __m256i low) {
  return _mm256_and_si256(m, leU(_mm256_and_si256(_mm256_sub_epi32(x, lo), low), _mm256_and_si256(_mm256_sub_epi32(hi, lo), low)));
}
// The 32-bit halves of the 64-bit words at base + off[lane] * scale (lanes in
// m): *first the low, *second the high ones (two 4-lane 64-bit gathers, then
// the even and odd 32-bit elements of both).
template <int kScale>
NV_AVX2 inline void gatherPair8(__m256i m, __m256i off, const char* base, __m256i* first, __m256i* second) {
  const __m256i zero = _mm256_setzero_si256();
  const auto* b = reinterpret_cast<const long long*>(base);
  const __m256i lo = _mm256_mask_i32gather_epi64(zero, b, _mm256_castsi256_si128(off), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m)), kScale);
  const __m256i hi = _mm256_mask_i32gather_epi64(zero, b, _mm256_extracti128_si256(off, 1),
                                                 _mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1)), kScale);
  const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i l = _mm256_permutevar8x32_epi32(lo, split), h = _mm256_permutevar8x32_epi32(hi, split);
  *first = _mm256_permute2x128_si256(l, h, 0x20);
  *second = _mm256_permute2x128_si256(l, h, 0x31);
}
NV_AVX2 inline __m256i load8(const uint32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
// The 32-bit words at base + off[lane] * scale (lanes in m; 0 elsewhere).
template <int kScale>
NV_AVX2 inline __m256i gather32(__m256i m, __m256i off, const void* base) {
  return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), static_cast<const int*>(base), off, m, kScale);
}
}  // namespace

// The AVX2 form of treeStageAvx512: the same descent and scans, the same
// nodes, candidates and checks in the same order (so the same first match
// and the same boxes counted), on vectors of 8 lanes.
NV_AVX2 void Engine::treeStageAvx2(const Tree& t, size_t m, uint64_t live, uint64_t noPorts, const uint32_t* src,
                                   const uint32_t* dst, const uint8_t* proto, const uint16_t* sport, const uint16_t* dport,
                                   uint32_t* best, uint32_t* visited, InexactFn inexact, void* ctx) {
  constexpr size_t kBlocks = kFastLanes / 8;
  // Measured flat from 0 to 3 (fw1 10K 45-47 ns, ipc1 10K 37-38).
  constexpr int kScalarTail = 2;
  const size_t blocks = (m + 7) / 8;
  const uint32_t roots = t.nRoots < 4 ? t.nRoots : 4;
  // The keys as 32-bit rows, zero past m (those lanes are never live).
  alignas(32) uint32_t key[5][kFastLanes];
  for (size_t k = 0; k < 8 * blocks; k++) {
    const bool in = k < m;
    key[0][k] = in ? src[k] : 0;
    key[1][k] = in ? dst[k] : 0;
    key[2][k] = in ? proto[k] : 0;
    key[3][k] = in ? sport[k] : 0;
    key[4][k] = in ? dport[k] : 0;
  }
  uint32_t liveOf[kBlocks];
  __m256i noPortsOf[kBlocks];  // lanes whose protocol has no ports, as lane masks
  for (size_t b = 0; b < blocks; b++) {
    liveOf[b] = uint32_t(live >> (8 * b)) & 0xffu;
    noPortsOf[b] = maskOf(uint32_t(noPorts >> (8 * b)) & 0xffu);
  }
  const uint32_t* cut = t.cut.get();
  const __m256i zero = _mm256_setzero_si256();
  const Box* boxes = t.boxes.get();
  const char* bx = reinterpret_cast<const char*>(boxes);
  const uint16_t* l16 = t.leaves16.get();
  const uint32_t* l32 = t.leaves.get();
  const __m256i none = _mm256_set1_epi32(int(fmt::kNone)), low8 = _mm256_set1_epi32(0xff), low16 = _mm256_set1_epi32(0xffff);
  const __m256i all = _mm256_set1_epi32(-1);
  const __m256i exactBit = _mm256_set1_epi32(kBoxExact), portsBit = _mm256_set1_epi32(kBoxPorts);
  __m256i bst[kBlocks], vis[kBlocks], at[kBlocks], left[kBlocks];
  uint32_t a[kBlocks];
  for (size_t b = 0; b < blocks; b++) bst[b] = none, vis[b] = zero;
  // Root by root (as treeStageAvx512): a lane whose first match so far
  // precedes every rule of the next root skips its descent and scan.
  for (uint32_t g = 0; g < roots; g++) {
    // The root's units (vector v: lanes 8 vb[v] ...), lanes whose first
    // match so far precedes every rule of the root left out.
    __m256i idx[kBlocks], start[kBlocks], count[kBlocks];
    uint32_t act[kBlocks], goOf[kBlocks];
    size_t vb[kBlocks];
    size_t nv = 0;
    {
      const __m256i minRule = _mm256_set1_epi32(int(t.minRule[g]));
      const __m256i shS = _mm256_set1_epi32(int(t.cutShS[g])), shD = _mm256_set1_epi32(int(t.cutShD[g])), cD = _mm256_set1_epi32(int(t.cutD[g]));
      for (size_t b = 0; b < blocks; b++) {
        const uint32_t go = liveOf[b] & bitsOf(leU(minRule, bst[b]));
        if (!go) continue;
        // (src >> shS) << cD | dst >> shD; a shift by 32 gives 0, as in rootOf.
        const __m256i cell = _mm256_or_si256(_mm256_sllv_epi32(_mm256_srlv_epi32(load8(&key[0][8 * b]), shS), cD), _mm256_srlv_epi32(load8(&key[1][8 * b]), shD));
        idx[nv] = gather32<4>(maskOf(go), cell, cut + t.cutBase[g]);
        start[nv] = count[nv] = zero;
        act[nv] = goOf[nv] = go;
        vb[nv] = b;
        nv++;
      }
    }
    const char* nodes = reinterpret_cast<const char*>(t.nodes.get());
    const __m256i seven = _mm256_set1_epi32(int(kTreeLeaf)), one = _mm256_set1_epi32(1);
    const __m256i two = _mm256_set1_epi32(2), three = _mm256_set1_epi32(3), four = _mm256_set1_epi32(4);
    for (bool any = true; any;) {
      any = false;
      for (size_t v = 0; v < nv; v++) {
        if (!act[v]) continue;
        const __m256i am = maskOf(act[v]);
        const __m256i x = idx[v];
        __m256i w0, w1;
        gatherPair8<8>(am, x, nodes, &w0, &w1);
        const __m256i dim = _mm256_and_si256(w1, seven);
        const size_t b = vb[v];
        __m256i k = load8(&key[0][8 * b]);
        k = _mm256_blendv_epi8(k, load8(&key[1][8 * b]), _mm256_cmpeq_epi32(dim, one));
        k = _mm256_blendv_epi8(k, load8(&key[2][8 * b]), _mm256_cmpeq_epi32(dim, two));
        k = _mm256_blendv_epi8(k, load8(&key[3][8 * b]), _mm256_cmpeq_epi32(dim, three));
        k = _mm256_blendv_epi8(k, load8(&key[4][8 * b]), _mm256_cmpeq_epi32(dim, four));
        const __m256i ge = leU(w0, k);
        const __m256i upper = _mm256_srli_epi32(w1, 3);  // inner: first child; leaf: rule count
        const __m256i leaf = _mm256_and_si256(am, _mm256_cmpeq_epi32(dim, seven));
        const __m256i next = _mm256_andnot_si256(leaf, am);
        idx[v] = _mm256_blendv_epi8(x, _mm256_add_epi32(upper, _mm256_and_si256(ge, one)), next);
        start[v] = _mm256_blendv_epi8(start[v], w0, leaf);
        count[v] = _mm256_blendv_epi8(count[v], upper, leaf);
        act[v] = bitsOf(next);
        any |= act[v] != 0;
      }
    }
    {
      for (size_t b = 0; b < blocks; b++) a[b] = 0;
      for (size_t v = 0; v < nv; v++) {
        const size_t b = vb[v];
        a[b] = goOf[v] & ~bitsOf(_mm256_cmpeq_epi32(count[v], zero));
        at[b] = start[v];
        left[b] = count[v];
      }
      for (bool any = true; any;) {
        any = false;
        for (size_t b = 0; b < blocks; b++) {
          if (!a[b]) continue;
          if (__builtin_popcount(a[b]) <= kScalarTail) {
            alignas(32) uint32_t ats[8], lefts[8], bs[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(ats), at[b]);
            _mm256_store_si256(reinterpret_cast<__m256i*>(lefts), left[b]);
            _mm256_store_si256(reinterpret_cast<__m256i*>(bs), bst[b]);
            scanTail(t, a[b], 8 * b, ats, lefts, bs, noPorts, src, dst, proto, sport, dport, visited, inexact, ctx);
            bst[b] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bs));
            a[b] = 0;
            continue;
          }
          const __m256i am = maskOf(a[b]);
          const __m256i r = l16 ? _mm256_and_si256(gather32<2>(am, at[b], l16), low16) : gather32<4>(am, at[b], l32);
          const __m256i c = _mm256_andnot_si256(leU(bst[b], r), am);  // r < best so far
          const __m256i off = _mm256_slli_epi32(r, 5);  // sizeof(Box) == 32
          const __m256i pf = gather32<1>(c, off, bx + offsetof(Box, pLo));
          const __m256i flags = _mm256_and_si256(_mm256_srli_epi32(pf, 16), low8);
          const __m256i exact = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_and_si256(flags, exactBit), zero), c);
          const __m256i needPorts = _mm256_andnot_si256(_mm256_cmpeq_epi32(_mm256_and_si256(flags, portsBit), zero), exact);
          __m256i h = _mm256_andnot_si256(_mm256_and_si256(needPorts, noPortsOf[b]), exact);
          __m256i sLo, sHi, dLo, dHi, sp, dp;
          gatherPair8<1>(h, off, bx + offsetof(Box, sLo), &sLo, &sHi);
          gatherPair8<1>(h, off, bx + offsetof(Box, dLo), &dLo, &dHi);
          gatherPair8<1>(h, off, bx + offsetof(Box, spLo), &sp, &dp);
          h = inRange8(h, load8(&key[0][8 * b]), sLo, sHi, all);
          h = inRange8(h, load8(&key[1][8 * b]), dLo, dHi, all);
          h = inRange8(h, load8(&key[2][8 * b]), pf, _mm256_srli_epi32(pf, 8), low8);
          h = inRange8(h, load8(&key[3][8 * b]), sp, _mm256_srli_epi32(sp, 16), low16);
          h = inRange8(h, load8(&key[4][8 * b]), dp, _mm256_srli_epi32(dp, 16), low16);
          vis[b] = _mm256_sub_epi32(vis[b], exact);  // exact lanes are -1
          uint32_t hb = bitsOf(h);
          if (const uint32_t inex = bitsOf(c) & ~bitsOf(exact)) {
            alignas(32) uint32_t rs[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(rs), r);
            for (uint32_t bits = inex; bits; bits &= bits - 1) {
              const uint32_t lane = uint32_t(__builtin_ctz(bits));
              if (inexact(ctx, 8 * b + lane, rs[lane])) hb |= 1u << lane;
            }
            h = maskOf(hb);
          }
          bst[b] = _mm256_blendv_epi8(bst[b], r, h);
          at[b] = _mm256_add_epi32(at[b], one);
          left[b] = _mm256_sub_epi32(left[b], one);
          a[b] = bitsOf(c) & ~hb & ~bitsOf(_mm256_cmpeq_epi32(left[b], zero));
          any |= a[b] != 0;
        }
      }
    }
  }
  for (size_t b = 0; b < blocks; b++) {
    alignas(32) uint32_t bs[8], vs[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(bs), bst[b]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(vs), vis[b]);
    for (size_t j = 0; j < 8 && 8 * b + j < m; j++) {
      best[8 * b + j] = bs[j];
      visited[8 * b + j] += vs[j];
    }
  }
}

NV_AVX512 void Engine::laneMarksAvx512(size_t m, const uint32_t* eg, const uint32_t* ing, uint64_t* mk) {
  const __m512i host = _mm512_set1_epi32(int(kLaneHost)), none = _mm512_set1_epi32(int(fmt::kNone));
  const __m512i slow = _mm512_set1_epi32(int(kLaneSlow)), walk = _mm512_set1_epi32(int(kLaneWalk));
  for (size_t g = 0; g < m; g += 16) {
    const __mmask16 live = m - g >= 16 ? __mmask16(0xffff) : __mmask16((1u << (m - g)) - 1);
    const __m512i e = _mm512_maskz_loadu_epi32(live, eg + g), i = _mm512_maskz_loadu_epi32(live, ing + g);
    const __mmask16 r[7] = {__mmask16(_mm512_mask_cmpeq_epi32_mask(live, e, host) | _mm512_mask_cmpeq_epi32_mask(live, i, host)),
                            _mm512_mask_cmpeq_epi32_mask(live, e, none),
                            _mm512_mask_cmpeq_epi32_mask(live, i, none),
                            _mm512_mask_cmpeq_epi32_mask(live, e, slow),
                            _mm512_mask_cmpeq_epi32_mask(live, i, slow),
                            _mm512_mask_cmpge_epu32_mask(live, e, walk),
                            _mm512_mask_cmpge_epu32_mask(live, i, walk)};
    for (int j = 0; j < 7; j++) mk[j] |= uint64_t(r[j]) << g;
  }
}

#else

uint8_t Engine::simdSupported() { return kSimdNone; }
void Engine::laneMarksAvx512(size_t, const uint32_t*, const uint32_t*, uint64_t*) {}
void Engine::treeStageAvx512(const Tree&, size_t, uint64_t, uint64_t, const uint32_t*, const uint32_t*, const uint8_t*,
                             const uint16_t*, const uint16_t*, uint32_t*, uint32_t*, InexactFn, void*) {}
void Engine::treeStageAvx2(const Tree&, size_t, uint64_t, uint64_t, const uint32_t*, const uint32_t*, const uint8_t*,
                           const uint16_t*, const uint16_t*, uint32_t*, uint32_t*, InexactFn, void*) {}

#endif

}  // namespace nv
