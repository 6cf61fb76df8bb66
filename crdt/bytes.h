// bytes.h — fixed-size byte strings (ids, keys) and hex.
//
// Hash32 is a 32-byte value used for op ids, object ids, network ids and public keys. It orders
// bytewise, so sorted containers of them match the order LMDB keeps. Pure value type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace anwang {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

struct Hash32 {
  std::array<std::uint8_t, 32> bytes{};

  static std::optional<Hash32> from_view(ByteView view);
  static std::optional<Hash32> from_hex(std::string_view hex);
  std::string hex() const;
  std::string short_hex() const { return hex().substr(0, 12); }
  ByteView view() const { return ByteView(bytes.data(), bytes.size()); }
  bool is_zero() const;

  auto operator<=>(const Hash32&) const = default;
};

std::string to_hex(ByteView bytes);
std::optional<Bytes> from_hex(std::string_view hex);

inline ByteView as_bytes(std::string_view text) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// Big-endian encoding of integers, so byte order equals numeric order in LMDB keys.
void append_u64_be(Bytes& out, std::uint64_t value);
std::uint64_t read_u64_be(const std::uint8_t* bytes);
void append_u32_le(Bytes& out, std::uint32_t value);
std::uint32_t read_u32_le(const std::uint8_t* bytes);
void append_u64_le(Bytes& out, std::uint64_t value);
std::uint64_t read_u64_le(const std::uint8_t* bytes);

}  // namespace anwang

template <>
struct std::hash<anwang::Hash32> {
  std::size_t operator()(const anwang::Hash32& h) const noexcept {
    std::size_t out = 0;
    for (int i = 0; i < 8; ++i) out = (out << 8) | h.bytes[i];
    return out;
  }
};
