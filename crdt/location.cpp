// location.cpp — see location.h.
#include "crdt/location.h"

#include <cmath>

#include "crdt/limits.h"

namespace anwang {

namespace {

// One coordinate: -?D{1,3}(.D{1,decimals_max})?; its value, or nothing. Read digit by digit, so no
// locale's decimal separator can change it.
std::optional<double> coordinate(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  std::size_t at = negative ? 1 : 0;
  double whole = 0, fraction = 0, scale = 1;
  std::size_t digits = 0, decimals = 0;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) whole = whole * 10 + (text[at] - '0');
  if (digits < 1 || digits > 3) return std::nullopt;
  if (at < text.size()) {
    if (text[at] != '.') return std::nullopt;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++decimals) {
      fraction = fraction * 10 + (text[at] - '0');
      scale *= 10;
    }
    if (decimals < 1 || decimals > limits::location_decimals_max || at != text.size()) return std::nullopt;
  }
  double value = whole + fraction / scale;
  return negative ? -value : value;
}

}  // namespace

bool location_in_range(double lng, double lat) {
  return std::isfinite(lng) && std::isfinite(lat) && lng >= -180 && lng <= 180 && lat >= -90 && lat <= 90;
}

std::optional<Location> parse_location(std::string_view text) {
  if (text.size() > limits::location_bytes_max) return std::nullopt;
  std::size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto lng = coordinate(text.substr(0, comma));
  auto lat = coordinate(text.substr(comma + 1));
  if (!lng || !lat || !location_in_range(*lng, *lat)) return std::nullopt;
  return Location{*lng, *lat};
}

Status check_location(std::string_view text, std::string_view what) {
  if (text.size() > limits::location_bytes_max)
    return Status::invalid(std::string(what) + " is longer than " + std::to_string(limits::location_bytes_max) + " bytes");
  if (parse_location(text)) return Status::ok();
  return Status::invalid(std::string(what) + " must be \"LNG,LAT\" in decimal degrees (longitude -180 to 180, latitude -90 to 90, "
                         "at most " + std::to_string(limits::location_decimals_max) + " decimals), e.g. 119.9236,42.2779");
}

}  // namespace anwang
