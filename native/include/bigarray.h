// Engine-owned arrays of trivial records, backed by transparent huge pages
// when large: the engine's tables are read at random (address classes,
// identity rows, rule lists, trees), and with 4 KiB pages nearly every such
// read at 10^4-10^5 rules is also a TLB miss. On Linux an array of at least
// kHugeMin bytes is an anonymous mapping aligned to 2 MiB with
// madvise(MADV_HUGEPAGE) (effective where THP is "always" or "madvise"; a
// no-op where it is "never"); anything smaller, or when the mapping fails, is
// an ordinary nothrow new[]. Contents are uninitialised either way (callers
// initialise what they read). Allocation failure is a null array, never an
// exception. NV_HUGEPAGES=0 in the environment (read at each allocation, i.e.
// at load) turns the mappings off, for A/B measurement; builds under
// AddressSanitizer never map, so every array keeps its redzones.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define NV_BIGARRAY_NO_MAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NV_BIGARRAY_NO_MAP 1
#endif
#endif

namespace nv {

struct BigFree {
  size_t mapped = 0;  // bytes of the mapping, 0: allocated with new[]
  template <typename T>
  void operator()(T* p) const {
#if defined(__linux__)
    if (mapped) {
      munmap(static_cast<void*>(p), mapped);
      return;
    }
#endif
    delete[] p;
  }
};

template <typename T>
using BigArray = std::unique_ptr<T[], BigFree>;

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugeMin = size_t(1) << 20;

// n records of T (n == 0 allocates one, so the pointer is never null on success).
template <typename T>
BigArray<T> bigArray(size_t n) {
  static_assert(std::is_trivially_default_constructible<T>::value && std::is_trivially_destructible<T>::value,
                "BigArray holds plain records");
  if (n == 0) n = 1;
  if (n > SIZE_MAX / sizeof(T)) return BigArray<T>(nullptr, BigFree{});
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(NV_BIGARRAY_NO_MAP)
  const size_t bytes = n * sizeof(T);
  const char* env = std::getenv("NV_HUGEPAGES");
  const bool off = env && env[0] == '0' && env[1] == 0;
  if (!off && bytes >= kHugeMin && bytes <= SIZE_MAX - 2 * kHugePage) {
    // Over-map by one huge page, then trim to a 2 MiB-aligned span.
    const size_t len = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw != MAP_FAILED) {
      const uintptr_t a = reinterpret_cast<uintptr_t>(raw);
      const uintptr_t aligned = (a + kHugePage - 1) & ~(uintptr_t(kHugePage) - 1);
      if (aligned > a) munmap(raw, aligned - a);
      const uintptr_t end = a + len + kHugePage;
      if (end > aligned + len) munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
      madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
      return BigArray<T>(reinterpret_cast<T*>(aligned), BigFree{len});
    }
  }
#endif
  return BigArray<T>(new (std::nothrow) T[n], BigFree{});
}

// Grows a to at least `need` records (doubling from 1,024, at most `limit`),
// keeping its first `cap` records; cap becomes the new capacity. False when
// over the limit or out of memory (a unchanged).
template <typename T>
bool growArray(BigArray<T>& a, uint32_t& cap, uint64_t need, uint64_t limit) {
  if (need <= cap) return true;
  if (need > limit) return false;
  uint64_t c = cap ? uint64_t(cap) : 1024;
  while (c < need) c *= 2;
  if (c > limit) c = limit;
  BigArray<T> b = bigArray<T>(size_t(c));
  if (!b) return false;
  if (cap) std::memcpy(b.get(), a.get(), sizeof(T) * cap);
  a = std::move(b);
  cap = uint32_t(c);
  return true;
}

}  // namespace nv
