// text.h — small text helpers shared by the model and its interfaces. Pure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anwang {

// "a,b,,c" → {"a", "b", "c"}: comma-separated items, empty ones dropped, order kept.
inline std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// 50000 → "50,000": counts as people read them in messages.
inline std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Whether `text` is UTF-8 as the op format takes it: every lead byte followed by its
// continuation bytes (op fields are checked with it, and `anwang import` tells UTF-8 files from
// GBK ones by it).
inline bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<std::uint8_t>(text[i]);
    std::size_t extra = 0;
    if (byte < 0x80) extra = 0;
    else if ((byte >> 5) == 0x6) extra = 1;
    else if ((byte >> 4) == 0xe) extra = 2;
    else if ((byte >> 3) == 0x1e) extra = 3;
    else return false;
    if (text.size() - i - 1 < extra) return false;
    for (std::size_t k = 1; k <= extra; ++k)
      if ((static_cast<std::uint8_t>(text[i + k]) >> 6) != 2) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace anwang
