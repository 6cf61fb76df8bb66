// scope.h — jurisdiction codes (统计用区划代码) as scopes.
//
// A scope is an administrative division code: 6 digits for a county, 9 for a township, 12 for a
// village, then "-" and 1–8 letters or digits for a basic grid or group under a village
// ("150430100201-03"). A scope contains another when it is the same code or the other code goes on
// from it by whole levels: a county's 6 digits enclose its townships' 9, a township's its villages'
// 12, a village the grid suffixes after its "-"; a grid suffix encloses only itself
// ("150430100201-1" does not contain "150430100201-10"). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "crdt/status.h"

namespace anwang {

enum class ScopeLevel { kCounty, kTownship, kVillage, kGrid };

// Ok, or invalid with one sentence saying what is wrong with `code`.
Status check_scope(std::string_view code);
// REQUIRES: check_scope(code) is ok.
ScopeLevel scope_level(std::string_view code);
const char* scope_level_name(ScopeLevel level);
// True when `outer` equals `inner` or encloses it. Both must be valid scopes.
bool scope_contains(std::string_view outer, std::string_view inner);
// The enclosing scope one level up; empty for a county.
std::string scope_parent(std::string_view code);

}  // namespace anwang
