#include "crdt/hlc.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace anwang {

std::optional<std::uint64_t> HybridClock::next(std::uint64_t floor) {
  // Checked: every term stays below the ceiling, so `+ 1` never wraps.
  std::uint64_t now_ms = physical_.now_ms();
  if (now_ms >= limits::hlc_ms_ceiling || last_ >= kHlcCeiling - 1 || floor >= kHlcCeiling - 1) return std::nullopt;
  std::uint64_t candidate = std::max({hlc_from_ms(now_ms), last_ + 1, floor + 1});
  last_ = candidate;
  return candidate;
}

std::string hlc_to_string(std::uint64_t hlc) {
  std::uint64_t ms = hlc_ms(hlc);
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out = text;
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03uZ", static_cast<unsigned>(ms % 1000));
  out += millis;
  if (hlc_counter(hlc) != 0) out += "+" + std::to_string(hlc_counter(hlc));
  return out;
}

std::string hlc_display(std::uint64_t hlc, TimeShown shown) {
  std::uint64_t ms = hlc_ms(hlc);
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  switch (shown) {
    case TimeShown::kIso:
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
      break;
    case TimeShown::kSeconds: std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc); return text;
    case TimeShown::kMinutes: std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &utc); return text;
    case TimeShown::kDate: std::strftime(text, sizeof text, "%Y-%m-%d", &utc); return text;
  }
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03uZ", static_cast<unsigned>(ms % 1000));
  return std::string(text) + millis;
}

}  // namespace anwang
