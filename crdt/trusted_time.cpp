#include "crdt/trusted_time.h"

#include <algorithm>
#include <vector>

#include "crdt/limits.h"

namespace anwang {

const char* clock_verdict_name(ClockVerdict verdict) {
  switch (verdict) {
    case ClockVerdict::kOk: return "ok";
    case ClockVerdict::kBehind: return "behind";
    case ClockVerdict::kAhead: return "ahead";
    case ClockVerdict::kNoPeers: return "no_peers";
  }
  return "no_peers";
}

bool offset_is_recent(std::uint64_t local_ms, std::uint64_t observed_ms) {
  std::uint64_t apart = local_ms > observed_ms ? local_ms - observed_ms : observed_ms - local_ms;
  return apart <= limits::clock_offset_age_ms_max;
}

bool clock_is_plausible(std::uint64_t ms) { return ms >= limits::clock_plausible_after_ms; }

namespace {

std::uint64_t add_offset(std::uint64_t ms, std::int64_t offset) {
  if (offset >= 0) return ms + static_cast<std::uint64_t>(offset);
  std::uint64_t back = static_cast<std::uint64_t>(-(offset + 1)) + 1;
  return back > ms ? 0 : ms - back;
}

std::uint64_t magnitude(std::int64_t value) {
  return value >= 0 ? static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(-(value + 1)) + 1;
}

}  // namespace

TrustedTime trusted_time(std::uint64_t local_ms, std::span<const PeerClockOffset> peers) {
  TrustedTime t;
  t.local_ms = local_ms;
  t.trusted_ms = local_ms;
  t.local_plausible = clock_is_plausible(local_ms);
  std::vector<std::int64_t> votes;
  for (const PeerClockOffset& peer : peers) {
    if (!offset_is_recent(local_ms, peer.observed_ms)) continue;
    // The peer's clock as it read then: a peer at 1970 does not vote either.
    if (!clock_is_plausible(add_offset(peer.observed_ms, peer.offset_ms))) continue;
    votes.push_back(peer.offset_ms);
  }
  t.peer_votes = votes.size();
  if (!t.local_plausible && votes.empty()) {
    t.verdict = ClockVerdict::kBehind;  // certain, but nothing to correct it by
    t.known = false;
    return t;
  }
  if (votes.empty()) {
    t.verdict = ClockVerdict::kNoPeers;
    return t;
  }
  if (t.local_plausible) votes.push_back(0);  // the node's own clock votes too
  std::sort(votes.begin(), votes.end());
  std::int64_t network = votes[(votes.size() - 1) / 2];  // the lower median: of two, the earlier clock
  if (magnitude(network) <= limits::clock_skew_ms_max && t.local_plausible) {
    t.verdict = ClockVerdict::kOk;
    return t;
  }
  t.correction_ms = network;
  t.trusted_ms = add_offset(local_ms, network);
  t.verdict = network > 0 ? ClockVerdict::kBehind : ClockVerdict::kAhead;
  if (network == 0) t.verdict = ClockVerdict::kBehind;  // an implausible clock its peers' median happens to equal
  return t;
}

std::uint64_t CorrectedClock::now_ms() const { return add_offset(physical_.now_ms(), correction_ms_); }

std::string describe_offset(std::int64_t offset_ms, const std::string& other) {
  std::uint64_t ms = magnitude(offset_ms);
  std::string way = offset_ms >= 0 ? " ahead" : " behind";
  if (!other.empty()) way += (offset_ms >= 0 ? " of " : " ") + other;
  constexpr std::uint64_t kMinute = 60'000, kHour = 60 * kMinute, kDay = 24 * kHour;
  auto unit = [](std::uint64_t n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
  std::string text;
  if (ms >= 2 * kDay)
    text = unit(ms / kDay, "day");
  else if (ms >= kHour)
    text = unit(ms / kHour, "hour") + (ms % kHour >= kMinute ? " " + unit(ms % kHour / kMinute, "minute") : "");
  else if (ms >= kMinute)
    text = unit(ms / kMinute, "minute") + (ms % kMinute >= 1000 ? " " + unit(ms % kMinute / 1000, "second") : "");
  else
    text = unit(ms / 1000, "second");
  return text + way;
}

}  // namespace anwang
