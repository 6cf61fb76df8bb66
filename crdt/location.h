// location.h — a point on the map as ops carry it: a hazard's location (HazardAction.location) and
// a ledger unit's `location` field.
//
// The text is "LNG,LAT": longitude then latitude in decimal degrees (WGS84, which CGCS2000 matches
// to within centimetres), each an optional "-", 1 to 3 digits and optionally "." and 1 to
// limits::location_decimals_max digits (7 decimals are 1 cm; a phone's fix is metres). No spaces,
// no "+", no exponent: one spelling a person can read and every node parses alike. Longitude is
// within [-180, 180], latitude within [-90, 90]. The order is GeoJSON's (x, y), so a boundary and
// a point read the same way. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crdt/status.h"

namespace anwang {

struct Location {
  double lng = 0;
  double lat = 0;
};

// Ok, or invalid with one sentence saying what is wrong with `text` (named `what` in it).
Status check_location(std::string_view text, std::string_view what = "location");
// The point `text` names; nothing when check_location refuses it.
std::optional<Location> parse_location(std::string_view text);
// Whether a coordinate pair lies within the ranges above (for GeoJSON boundaries too).
bool location_in_range(double lng, double lat);

}  // namespace anwang
