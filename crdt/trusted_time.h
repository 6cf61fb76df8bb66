// trusted_time.h — a node's clock judged against its peers' clocks. Pure.
//
// In every session of wire version 3 (net/PROTOCOL.md) each node tells the other its trusted time;
// the receiver keeps, per peer, the offset (the peer's time minus its own clock) and its own clock
// when it saw it (node/STORE.md, `local`). From those and its own clock, trusted_time() works out
// the time the node trusts (DESIGN §5 "Time"):
//   - the clocks that vote are the node's own and each peer's recent one (observed within
//     limits::clock_offset_age_ms_max of the node's clock, either way); a clock that reads before
//     limits::clock_plausible_after_ms (a Raspberry Pi without a real-time clock boots at 1970)
//     does not vote;
//   - the network's time is the lower median of the votes. The node's own clock is one vote, so
//     one peer alone never moves a sane clock by more than it moves the peer: of two clocks, the
//     earlier wins. Following a clock that is ahead cannot be undone (a hybrid logical clock
//     never goes back, so every op the node signs afterwards stays ahead), while following one
//     behind is repaired at the next correction;
//   - when the network's time differs from the node's clock by more than
//     limits::clock_skew_ms_max, the difference is the node's correction and its clock is
//     `behind` or `ahead`; otherwise the correction is zero and the clock `ok`. With no recent
//     peer clock the verdict is `no_peers` (or `behind`, uncorrected, for a clock before 2026).
// Trusted time = the node's clock + its correction. Store::author stamps ops with it; overdue
// flags never run ahead of it by more than the skew bound (crdt/HAZARD.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "crdt/hlc.h"
#include "crdt/keys.h"

namespace anwang {

// What a node knows of one peer's clock: its latest offset.
struct PeerClockOffset {
  PublicKey peer;
  std::int64_t offset_ms = 0;     // the peer's time minus this node's clock, when observed
  std::uint64_t observed_ms = 0;  // this node's clock then
};

enum class ClockVerdict {
  kOk,       // the node's clock agrees with the network's time (or there is no majority against it)
  kBehind,   // the node's clock is behind the network's: corrected forward, or, with no peer, a clock before 2026
  kAhead,    // the node's clock is ahead of the network's: corrected back
  kNoPeers,  // no recent peer clock: the node's own (sane-looking) clock is used as it is
};
const char* clock_verdict_name(ClockVerdict verdict);  // "ok", "behind", "ahead", "no_peers"

struct TrustedTime {
  std::uint64_t local_ms = 0;
  std::int64_t correction_ms = 0;
  std::uint64_t trusted_ms = 0;   // local_ms + correction_ms (never below 0)
  ClockVerdict verdict = ClockVerdict::kNoPeers;
  bool local_plausible = true;    // the node's clock reads 2026 or later
  bool known = true;              // trusted_ms rests on a plausible clock (false: a Pi at 1970 that has seen no peer)
  std::size_t peer_votes = 0;     // recent, plausible peer clocks that voted
};

// Whether an offset observed at `observed_ms` still counts at `local_ms`.
bool offset_is_recent(std::uint64_t local_ms, std::uint64_t observed_ms);
// Whether a clock reading can be right at all (2026 or later).
bool clock_is_plausible(std::uint64_t ms);

// The trusted time of a node whose clock reads `local_ms`, given the offsets it keeps.
TrustedTime trusted_time(std::uint64_t local_ms, std::span<const PeerClockOffset> peers);

// A clock read through a correction: `physical` plus `correction_ms` (the trusted time).
class CorrectedClock final : public PhysicalClock {
 public:
  CorrectedClock(const PhysicalClock& physical, std::int64_t correction_ms)
      : physical_(physical), correction_ms_(correction_ms) {}
  std::uint64_t now_ms() const override;

 private:
  const PhysicalClock& physical_;
  std::int64_t correction_ms_;
};

// How far `offset_ms` puts a clock from another, as a person reads it: "365 days ahead",
// "3 hours 12 minutes behind", "40 seconds ahead"; with `other`, "365 days ahead of OTHER" and
// "3 hours 12 minutes behind OTHER".
std::string describe_offset(std::int64_t offset_ms, const std::string& other = "");

}  // namespace anwang
