// Jurisdiction codes as scopes.
#include <catch2/catch.hpp>

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
