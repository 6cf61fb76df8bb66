// Jurisdiction codes as scopes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "crdt/scope.h"

using namespace anwang;

TEST_CASE("valid codes at every level are accepted", "[scope]") {
  CHECK(check_scope("150430").is_ok());
  CHECK(check_scope("150430100").is_ok());
  CHECK(check_scope("150430100201").is_ok());
  CHECK(check_scope("150430100201-03").is_ok());
  CHECK(scope_level("150430") == ScopeLevel::kCounty);
  CHECK(scope_level("150430100") == ScopeLevel::kTownship);
  CHECK(scope_level("150430100201") == ScopeLevel::kVillage);
  CHECK(scope_level("150430100201-03") == ScopeLevel::kGrid);
}

TEST_CASE("malformed codes are refused with a sentence", "[scope]") {
  for (const char* bad : {"", "15043", "1504301", "15043010020", "150430x", "150430100-3", "150430100201-",
                          "150430100201-toolong99", "150430100201-0 3", "-03"}) {
    CAPTURE(bad);
    Status s = check_scope(bad);
    CHECK_FALSE(s.is_ok());
    CHECK_FALSE(s.message().empty());
  }
}

TEST_CASE("a scope contains itself and the codes it prefixes", "[scope]") {
  CHECK(scope_contains("150430", "150430"));
  CHECK(scope_contains("150430", "150430100201-03"));
  CHECK(scope_contains("150430100", "150430100201"));
  CHECK_FALSE(scope_contains("150430100", "150430101201"));
  CHECK_FALSE(scope_contains("150430100201", "150430100"));
  CHECK(scope_parent("150430100201-03") == "150430100201");
  CHECK(scope_parent("150430100201") == "150430100");
  CHECK(scope_parent("150430100") == "150430");
  CHECK(scope_parent("150430").empty());
}

// Issue 20, finding 5: containment was a plain string prefix, so a grid member granted at
// "150430100201-1" "may hazard.fix at 150430100201-10", and the same test decided visibility.
TEST_CASE("a grid suffix does not contain a longer suffix that starts with it", "[scope][issue20]") {
  CHECK(scope_contains("150430100201-1", "150430100201-1"));
  CHECK_FALSE(scope_contains("150430100201-1", "150430100201-10"));
  CHECK_FALSE(scope_contains("150430100201-1", "150430100201-1A"));
  CHECK_FALSE(scope_contains("150430100201-10", "150430100201-1"));
  CHECK(scope_contains("150430100201", "150430100201-10"));
  CHECK_FALSE(scope_contains("150430100201", "1504301002011"));
}

namespace {

// The reference: a code as its levels (county, township, village digits, grid suffix); outer
// contains inner when outer is no deeper and every level outer has equals inner's.
std::vector<std::string> levels_of(const std::string& code) {
  std::vector<std::string> out;
  auto dash = code.find('-');
  std::string digits = code.substr(0, dash);
  for (std::size_t width : {6u, 9u, 12u})
    if (digits.size() >= width) out.push_back(digits.substr(0, width));
  if (dash != std::string::npos) out.push_back(code.substr(dash + 1));
  return out;
}

bool contains_by_levels(const std::string& outer, const std::string& inner) {
  auto a = levels_of(outer), b = levels_of(inner);
  if (a.size() > b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("containment compares whole levels, for codes of every length and suffix", "[scope][issue20]") {
  // Codes that share prefixes at every level and every suffix length from 1 to 8, with suffixes
  // that are prefixes of one another.
  std::vector<std::string> codes;
  for (std::string county : {"150430", "150431"}) {
    codes.push_back(county);
    for (std::string town : {"100", "101", "110"}) {
      codes.push_back(county + town);
      for (std::string village : {"201", "202", "220"}) {
        std::string v = county + town + village;
        codes.push_back(v);
        for (std::string suffix : {"1", "10", "100", "1000A", "1000AB", "1000ABC", "1000ABCD", "2", "01", "A", "a"})
          codes.push_back(v + "-" + suffix);
      }
    }
  }
  for (const std::string& code : codes) REQUIRE(check_scope(code).is_ok());
  std::size_t contained = 0;
  for (const std::string& outer : codes)
    for (const std::string& inner : codes) {
      CAPTURE(outer, inner);
      bool expected = contains_by_levels(outer, inner);
      REQUIRE(scope_contains(outer, inner) == expected);
      if (expected) ++contained;
    }
  CHECK(contained > codes.size());  // the property is not vacuous: deeper levels are contained
}
