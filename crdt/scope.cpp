#include "crdt/scope.h"

#include <algorithm>
#include <cassert>
#include <cctype>

#include "crdt/limits.h"

namespace anwang {

namespace {
bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool all_alnum(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}
}  // namespace

Status check_scope(std::string_view code) {
  if (code.size() > limits::scope_bytes_max)
    return Status::invalid("scope code is longer than " + std::to_string(limits::scope_bytes_max) + " characters");
  auto dash = code.find('-');
  std::string_view digits = code.substr(0, dash);
  if (!all_digits(digits) || (digits.size() != 6 && digits.size() != 9 && digits.size() != 12))
    return Status::invalid("scope code '" + std::string(code) +
                           "' must be 6 (county), 9 (township) or 12 (village) digits, "
                           "optionally followed by -GRID for a grid or group");
  if (dash == std::string_view::npos) return Status::ok();
  if (digits.size() != 12)
    return Status::invalid("scope code '" + std::string(code) + "': only a 12-digit village code may carry a -GRID suffix");
  std::string_view suffix = code.substr(dash + 1);
  if (suffix.empty() || suffix.size() > 8 || !all_alnum(suffix))
    return Status::invalid("scope code '" + std::string(code) + "': the grid suffix must be 1 to 8 letters or digits");
  return Status::ok();
}

ScopeLevel scope_level(std::string_view code) {
  if (code.find('-') != std::string_view::npos) return ScopeLevel::kGrid;
  switch (code.size()) {
    case 6: return ScopeLevel::kCounty;
    case 9: return ScopeLevel::kTownship;
    default: assert(code.size() == 12); return ScopeLevel::kVillage;
  }
}

const char* scope_level_name(ScopeLevel level) {
  switch (level) {
    case ScopeLevel::kCounty: return "county";
    case ScopeLevel::kTownship: return "township";
    case ScopeLevel::kVillage: return "village";
    case ScopeLevel::kGrid: return "grid";
  }
  return "?";
}

bool scope_contains(std::string_view outer, std::string_view inner) {
  if (inner.size() < outer.size() || inner.substr(0, outer.size()) != outer) return false;
  if (inner.size() == outer.size()) return true;
  // Compare whole levels: the code goes on where a deeper level starts. The digit levels have
  // fixed widths (6, 9, 12), so after a county or township code any digit starts the next level;
  // a village code is followed by "-" and a grid suffix; a grid suffix is whole ("-1" does not
  // enclose "-10"), and only "-" could start a level below it.
  char next = inner[outer.size()];
  bool grid = outer.find('-') != std::string_view::npos;
  if (grid || outer.size() == 12) return next == '-';
  return (outer.size() == 6 || outer.size() == 9) && next >= '0' && next <= '9';
}

std::string scope_parent(std::string_view code) {
  switch (scope_level(code)) {
    case ScopeLevel::kCounty: return "";
    case ScopeLevel::kTownship: return std::string(code.substr(0, 6));
    case ScopeLevel::kVillage: return std::string(code.substr(0, 9));
    case ScopeLevel::kGrid: return std::string(code.substr(0, 12));
  }
  return "";
}

}  // namespace anwang
