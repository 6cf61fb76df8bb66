// Hybrid logical clock: always later than before and than the parents, close to wall time.
#include <catch2/catch.hpp>

#include "crdt/hlc.h"

using namespace anwang;

TEST_CASE("the clock follows wall time when it moves forward", "[hlc]") {
  ManualClock wall(1'000'000);
  HybridClock clock(wall, 0);
  CHECK(clock.next(0) == hlc_from_ms(1'000'000));
  wall.advance_ms(5);
  CHECK(clock.next(0) == hlc_from_ms(1'000'005));
}

TEST_CASE("the clock never goes back, even when the wall clock does", "[hlc]") {
  ManualClock wall(1'000'000);
  HybridClock clock(wall, 0);
  std::uint64_t first = *clock.next(0);
  wall.set_ms(10);  // a Pi that booted in 1970
  std::uint64_t second = *clock.next(0);
  CHECK(second > first);
  CHECK(hlc_ms(second) == 1'000'000);
  CHECK(hlc_counter(second) == 1);
}

TEST_CASE("a timestamp is later than the newest parent", "[hlc]") {
  ManualClock wall(1'000);
  HybridClock clock(wall, 0);
  std::uint64_t parent = hlc_from_ms(50'000) + 7;
  CHECK(clock.next(parent) == parent + 1);
}

TEST_CASE("a restarted clock continues after the last timestamp it issued", "[hlc]") {
  ManualClock wall(1'000);
  HybridClock clock(wall, hlc_from_ms(2'000));
  CHECK(clock.next(0) == hlc_from_ms(2'000) + 1);
}

TEST_CASE("timestamps print as UTC with the counter", "[hlc]") {
  CHECK(hlc_to_string(hlc_from_ms(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(hlc_to_string(hlc_from_ms(1'790'000'000'123) + 3) == "2026-09-21T14:13:20.123Z+3");
}

TEST_CASE("times people read show no logical counter", "[hlc]") {
  std::uint64_t stamped = hlc_from_ms(1'795'370'099'274) + 1;  // the second op in that millisecond
  CHECK(hlc_display(stamped) == "2026-11-22T17:54:59.274Z");
  CHECK(hlc_display(stamped, TimeShown::kSeconds) == "2026-11-22 17:54:59");
  CHECK(hlc_display(stamped, TimeShown::kMinutes) == "2026-11-22 17:54");
  CHECK(hlc_display(stamped, TimeShown::kDate) == "2026-11-22");
  CHECK(hlc_display(hlc_from_ms(0)) == "1970-01-01T00:00:00.000Z");
  // The exact form keeps the counter, for diagnostics.
  CHECK(hlc_to_string(stamped) == "2026-11-22T17:54:59.274Z+1");
}

// Issue 20, finding 1: `floor + 1` wrapped to 0 for a parent at 2^64-1, and nothing bounded an
// op's timestamp, so one such op made every later op "not later than its parent".
TEST_CASE("the clock never wraps: at the ceiling it issues nothing", "[hlc][issue20]") {
  ManualClock wall(1'790'000'000'000);
  HybridClock clock(wall, 0);
  CHECK_FALSE(clock.next(~std::uint64_t{0}).has_value());
  CHECK_FALSE(clock.next(kHlcCeiling - 1).has_value());
  CHECK_FALSE(clock.next(kHlcCeiling).has_value());
  // Nothing was issued by the refusals: the clock goes on from the wall clock.
  CHECK(clock.next(0) == hlc_from_ms(1'790'000'000'000));
  // Just below the ceiling, the last timestamp before it.
  CHECK(clock.next(kHlcCeiling - 2) == kHlcCeiling - 1);
  CHECK_FALSE(clock.next(0).has_value());  // and then none: the clock's own last one is at the ceiling
  ManualClock far(limits::hlc_ms_ceiling);
  HybridClock wrong(far, 0);
  CHECK_FALSE(wrong.next(0).has_value());  // a wall clock in 2100
}
