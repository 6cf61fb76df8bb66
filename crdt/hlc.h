// hlc.h — hybrid logical clock.
//
// An HLC timestamp is a uint64: milliseconds since 1970 in the high 48 bits, a logical counter
// in the low 16. A node's next timestamp is later than its previous one, later than every parent
// of the op it stamps, and close to wall time when the wall clock is sane. Timestamps order
// display, deadlines and overdue flags; never authority.
//
// The physical clock is injected (PhysicalClock), so tests and the simulator can set it.
// HybridClock is owned by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crdt/limits.h"

namespace anwang {

class PhysicalClock {
 public:
  virtual ~PhysicalClock() = default;
  virtual std::uint64_t now_ms() const = 0;
};

// A clock that returns what it is told (tests, simulator).
class ManualClock final : public PhysicalClock {
 public:
  explicit ManualClock(std::uint64_t now_ms) : now_ms_(now_ms) {}
  std::uint64_t now_ms() const override { return now_ms_; }
  void set_ms(std::uint64_t now_ms) { now_ms_ = now_ms; }
  void advance_ms(std::uint64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  std::uint64_t now_ms_;
};

inline constexpr std::uint64_t hlc_from_ms(std::uint64_t ms) { return ms << 16; }
inline constexpr std::uint64_t hlc_ms(std::uint64_t hlc) { return hlc >> 16; }
inline constexpr std::uint64_t hlc_counter(std::uint64_t hlc) { return hlc & 0xffff; }
// The first timestamp no op may carry (limits::hlc_ms_ceiling): every valid hlc is below it.
inline constexpr std::uint64_t kHlcCeiling = hlc_from_ms(limits::hlc_ms_ceiling);

// "2026-11-22T17:03:13.123Z+4" (the counter after the plus when it is not zero): the exact
// timestamp, for diagnostics. What people read is hlc_display.
std::string hlc_to_string(std::uint64_t hlc);

// How a time is shown to people. The logical counter orders ops; nobody reads it, so no form
// shows it (`anwang show --json` keeps the exact value as the integer "hlc"). All in UTC.
enum class TimeShown {
  kIso,      // "2026-11-22T17:54:59.274Z": JSON
  kSeconds,  // "2026-11-22 17:54:59": the log and histories, where steps may be seconds apart
  kMinutes,  // "2026-11-22 17:54": tables (UI.md: dates 2026-12-07, times 14:05)
  kDate,     // "2026-11-22": days, deadlines
};
std::string hlc_display(std::uint64_t hlc, TimeShown shown = TimeShown::kIso);

class HybridClock {
 public:
  // `last` is the latest timestamp this node has issued (persisted across restarts).
  HybridClock(const PhysicalClock& physical, std::uint64_t last) : physical_(physical), last_(last) {}

  // A timestamp later than everything issued so far and later than `floor` (the newest parent),
  // or none when that would reach kHlcCeiling (a parent or this clock at the ceiling: the op
  // cannot be stamped, and nothing is issued).
  std::optional<std::uint64_t> next(std::uint64_t floor);
  std::uint64_t last() const { return last_; }

 private:
  const PhysicalClock& physical_;
  std::uint64_t last_;
};

}  // namespace anwang
