// CRC32C (Castagnoli) and the NAT tuple hash (twin of src/net/hash.ts).
#include <cstring>

#include "engine.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace nv {

namespace {
struct Crc32cTable {
  uint32_t t[256];
  constexpr Crc32cTable() : t() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};
constexpr Crc32cTable kCrc;
}  // namespace

// Byte at a time from a table: the portable form (and the twin the tests
// check the hardware forms against).
uint32_t crc32cPortable(const uint8_t* data, size_t len, uint32_t crc) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < len; i++) c = kCrc.t[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

// The CPU's CRC32C instructions where it has them (x86-64 SSE4.2, ARMv8
// CRC), eight bytes per step: the loader checks the whole image, and the
// table form spent ~8 instructions a byte (a 120 MB image: ~1 billion).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
namespace {
__attribute__((target("sse4.2"))) uint32_t crc32cHw(const uint8_t* p, size_t n, uint32_t crc) {
  uint64_t c = ~crc;
  for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 7); n--) c = _mm_crc32_u8(uint32_t(c), *p++);
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  for (; n > 0; n--) c = _mm_crc32_u8(uint32_t(c), *p++);
  return ~uint32_t(c);
}
bool hwCrc() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
}  // namespace
#define NV_HW_CRC 1
#elif defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
namespace {
__attribute__((target("+crc"))) uint32_t crc32cHw(const uint8_t* p, size_t n, uint32_t crc) {
  uint32_t c = ~crc;
  for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 7); n--) c = __builtin_aarch64_crc32cb(c, *p++);
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_aarch64_crc32cx(c, v);
  }
  for (; n > 0; n--) c = __builtin_aarch64_crc32cb(c, *p++);
  return ~c;
}
bool hwCrc() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
}  // namespace
#define NV_HW_CRC 1
#endif

uint32_t crc32c(const uint8_t* data, size_t len, uint32_t crc) {
#ifdef NV_HW_CRC
  static const bool hw = hwCrc();
  if (hw) return crc32cHw(data, len, crc);
#endif
  return crc32cPortable(data, len, crc);
}

// FNV-1a (32-bit) over src bytes, dst bytes (big-endian), proto, sport, dport (big-endian).
uint32_t tupleHash(int family, const uint32_t* src, const uint32_t* dst, uint8_t proto, uint16_t sport, uint16_t dport) {
  uint32_t h = 0x811c9dc5u;
  auto byte = [&h](uint32_t b) { h = (h ^ (b & 0xff)) * 0x01000193u; };
  const int words = family == 4 ? 1 : 4;
  for (int i = 0; i < words; i++)
    for (int s = 24; s >= 0; s -= 8) byte(src[i] >> s);
  for (int i = 0; i < words; i++)
    for (int s = 24; s >= 0; s -= 8) byte(dst[i] >> s);
  byte(proto);
  byte(sport >> 8);
  byte(sport);
  byte(dport >> 8);
  byte(dport);
  return h;
}

}  // namespace nv
