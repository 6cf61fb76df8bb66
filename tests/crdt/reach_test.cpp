// Where an op may go (crdt/authority.h, Reach): reach_covers agrees with trying every place, and
// an op narrowed by its parents goes only where all of them go.
#include <catch2/catch.hpp>

#include <random>

#include "crdt/authority.h"
#include "crdt/scope.h"

using namespace anwang;

namespace {

// Places of one county: townships, villages, grids, and under every place a reach below may name
// at least one place that none names.
const std::vector<std::string>& places() {
  static const std::vector<std::string> kPlaces = {
      "150430",          "150430100",       "150430101",       "150430199",       "150430100201",
      "150430100202",    "150430100299",    "150430101201",    "150430199201",    "150430100201-01",
      "150430100201-02", "150430100201-77", "150430100202-01", "150430100299-01", "150430101201-01",
      "150430199201-05", "150430100202-02", "150430101299",    "150430101299-01"};
  return kPlaces;
}

// Places a random reach may name (a subset of the above).
const std::vector<std::string>& named() {
  static const std::vector<std::string> kNamed = {"150430",       "150430100",       "150430101",      "150430100201",
                                                  "150430100202", "150430101201",    "150430100201-01", "150430100201-02",
                                                  "150430100202-01"};
  return kNamed;
}

Reach random_plain(std::mt19937_64& rng) {
  Reach r;
  r.scope = named()[rng() % named().size()];
  if (rng() % 10 == 0) r.everywhere = true;
  if (!r.everywhere && rng() % 3 == 0) {
    r.notice = true;
    for (const std::string& to : named())
      if (to != r.scope && scope_contains(r.scope, to) && rng() % 3 == 0) r.recipients.push_back(to);
  }
  return r;
}

Reach random_reach(std::mt19937_64& rng) {
  Reach r = random_plain(rng);
  while (rng() % 3 == 0) r.within.push_back(random_plain(rng));
  return r;
}

bool covers_by_trying(const Reach& outer, const Reach& inner) {
  for (const std::string& place : places())
    if (visible_to(inner, place) && !visible_to(outer, place)) return false;
  return true;
}

}  // namespace

TEST_CASE("reach_covers agrees with trying every place of the county", "[reach][property]") {
  std::mt19937_64 rng(1919);
  int covered = 0;
  for (int i = 0; i < 20'000; ++i) {
    Reach a = random_reach(rng), b = random_reach(rng);
    INFO("outer " << a.scope << " notice " << a.notice << " within " << a.within.size() << "; inner " << b.scope
                  << " notice " << b.notice << " within " << b.within.size());
    bool expected = covers_by_trying(a, b);
    // A reach naming nothing but the county goes everywhere in it; "everywhere" also reaches
    // other counties' nodes, which no place here tries.
    bool inner_everywhere = b.everywhere && std::all_of(b.within.begin(), b.within.end(), [](const Reach& w) { return w.everywhere; });
    bool outer_everywhere = a.everywhere && std::all_of(a.within.begin(), a.within.end(), [](const Reach& w) { return w.everywhere; });
    if (inner_everywhere && !outer_everywhere) expected = false;
    REQUIRE(reach_covers(a, b) == expected);
    covered += expected;
  }
  CHECK(covered > 2000);
  CHECK(covered < 18000);
}

TEST_CASE("an op narrowed by a parent goes only where both go", "[reach]") {
  Reach note_in_b{"150430100202", false, false, {}, {}};  // a note written at village B
  Reach step_in_a{"150430100201-01", false, false, {}, {}};  // a later step on A's hazard naming it
  CHECK_FALSE(reach_covers(note_in_b, step_in_a));
  Reach narrowed = step_in_a;
  narrow_reach(narrowed, note_in_b);
  REQUIRE(narrowed.within.size() == 1);
  CHECK(visible_to(narrowed, "150430"));
  CHECK(visible_to(narrowed, "150430100"));  // the township holds both villages
  CHECK_FALSE(visible_to(narrowed, "150430100201"));  // village A never holds B's note
  CHECK_FALSE(visible_to(narrowed, "150430100202"));  // village B never holds A's hazard
  // A parent that goes everywhere the op goes narrows nothing.
  Reach authority{"150430", true, false, {}, {}};
  Reach same = step_in_a;
  narrow_reach(same, authority);
  narrow_reach(same, Reach{"150430100201-01", false, false, {}, {}});
  CHECK(same.within.empty());
}
