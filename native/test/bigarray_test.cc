// BigArray (native/include/bigarray.h) outside AddressSanitizer, which turns
// the huge-page mappings off: sizes below, at and above the threshold, the
// mappings' 2 MiB alignment, every byte writable and readable back, the
// NV_HUGEPAGES=0 switch, and release (run under UBSan; valgrind-clean).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bigarray.h"

namespace {
int failures = 0;
void check(bool ok, const char* what, size_t n) {
  if (!ok) {
    std::fprintf(stderr, "bigarray_test: %s (n = %zu)\n", what, n);
    failures++;
  }
}

template <typename T>
void roundTrip(size_t n, bool expectMapped) {
  nv::BigArray<T> a = nv::bigArray<T>(n);
  check(a != nullptr, "allocation failed", n);
  if (!a) return;
  const size_t count = n == 0 ? 1 : n;
  const bool mapped = a.get_deleter().mapped != 0;
  check(mapped == expectMapped, expectMapped ? "expected a mapping" : "expected new[]", n);
  if (mapped) {
    check(reinterpret_cast<uintptr_t>(a.get()) % nv::kHugePage == 0, "mapping not 2 MiB aligned", n);
    check(a.get_deleter().mapped >= count * sizeof(T), "mapping shorter than the array", n);
    check(a.get_deleter().mapped % nv::kHugePage == 0, "mapping length not whole huge pages", n);
  }
  unsigned char* b = reinterpret_cast<unsigned char*>(a.get());
  for (size_t i = 0; i < count * sizeof(T); i++) b[i] = static_cast<unsigned char>(i * 131 + 7);
  size_t bad = 0;
  for (size_t i = 0; i < count * sizeof(T); i++) bad += b[i] != static_cast<unsigned char>(i * 131 + 7);
  check(bad == 0, "contents not read back", n);
}

struct Rec {
  uint32_t a[12];
};
}  // namespace

int main() {
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(NV_BIGARRAY_NO_MAP)
  const bool maps = true;
#else
  const bool maps = false;
#endif
  unsetenv("NV_HUGEPAGES");
  roundTrip<uint32_t>(0, false);
  roundTrip<uint32_t>(1000, false);
  roundTrip<uint8_t>(nv::kHugeMin - 1, false);
  roundTrip<uint8_t>(nv::kHugeMin, maps);
  roundTrip<uint64_t>((3 * nv::kHugePage + 12345) / 8, maps);
  roundTrip<Rec>(100003, maps);  // 4.8 MB of 48-byte records
  for (int i = 0; i < 64; i++) roundTrip<uint32_t>(size_t(1) << 19, maps);  // release: no growth
  check(!nv::bigArray<Rec>(SIZE_MAX / 8), "absurd size allocated", SIZE_MAX / 8);
  setenv("NV_HUGEPAGES", "0", 1);
  roundTrip<uint64_t>((3 * nv::kHugePage) / 8, false);
  setenv("NV_HUGEPAGES", "1", 1);
  roundTrip<uint64_t>((3 * nv::kHugePage) / 8, maps);
  if (failures) return 1;
  std::printf("bigarray_test: ok (%s)\n", maps ? "huge-page mappings" : "new[] only");
  return 0;
}
