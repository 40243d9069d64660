// CRC32C (Castagnoli) and the NAT tuple hash (twin of src/net/hash.ts).
#include "engine.h"

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

uint32_t crc32c(const uint8_t* data, size_t len, uint32_t crc) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < len; i++) c = kCrc.t[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return ~c;
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
