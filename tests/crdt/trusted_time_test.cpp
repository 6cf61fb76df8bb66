// Trusted time: a node's clock judged against its peers' (crdt/trusted_time.h).
#include <catch2/catch.hpp>

#include <vector>

#include "crdt/limits.h"
#include "crdt/trusted_time.h"

using namespace anwang;

namespace {

constexpr std::uint64_t kNow = 1'790'000'000'000;  // late 2026
constexpr std::int64_t kYear = 365ll * 86'400'000;
constexpr std::int64_t kMinute = 60'000;

PublicKey peer(int n) {
  PublicKey key;
  key.bytes[0] = static_cast<std::uint8_t>(n);
  return key;
}

// Peers whose offsets were all seen a moment ago (by this node's clock at `local`).
std::vector<PeerClockOffset> peers(std::uint64_t local, std::initializer_list<std::int64_t> offsets) {
  std::vector<PeerClockOffset> out;
  int n = 0;
  for (std::int64_t offset : offsets) out.push_back({peer(++n), offset, local});
  return out;
}

}  // namespace

TEST_CASE("a sane clock with no peer seen is used as it is", "[trusted_time]") {
  TrustedTime t = trusted_time(kNow, {});
  CHECK(t.verdict == ClockVerdict::kNoPeers);
  CHECK(t.correction_ms == 0);
  CHECK(t.trusted_ms == kNow);
  CHECK(t.known);
}

TEST_CASE("a clock at 1970 is wrong whatever else is known, and takes its peers' time once it has one", "[trusted_time]") {
  TrustedTime alone = trusted_time(12'000, {});
  CHECK(alone.verdict == ClockVerdict::kBehind);
  CHECK_FALSE(alone.known);
  CHECK_FALSE(alone.local_plausible);
  CHECK(alone.trusted_ms == 12'000);
  auto seen = peers(12'000, {static_cast<std::int64_t>(kNow) - 12'000});
  TrustedTime corrected = trusted_time(15'000, seen);
  CHECK(corrected.verdict == ClockVerdict::kBehind);
  CHECK(corrected.known);
  CHECK(corrected.trusted_ms == kNow + 3'000);
  CHECK(corrected.peer_votes == 1);
}

TEST_CASE("one peer never moves a sane clock ahead: of two clocks the earlier wins", "[trusted_time]") {
  // This node is right, its only peer a year ahead: it keeps its clock.
  TrustedTime right = trusted_time(kNow, peers(kNow, {kYear}));
  CHECK(right.verdict == ClockVerdict::kOk);
  CHECK(right.correction_ms == 0);
  // This node is the one a year ahead: it takes the peer's time.
  TrustedTime ahead = trusted_time(kNow + kYear, peers(kNow + kYear, {-kYear}));
  CHECK(ahead.verdict == ClockVerdict::kAhead);
  CHECK(ahead.correction_ms == -kYear);
  CHECK(ahead.trusted_ms == kNow);
}

TEST_CASE("with more peers the majority decides, and a peer at 1970 does not vote", "[trusted_time]") {
  // Two peers agree the node is 30 days behind; a third is a year ahead: the median is 30 days.
  constexpr std::int64_t kMonth = 30ll * 86'400'000;
  TrustedTime behind = trusted_time(kNow, peers(kNow, {kMonth, kMonth + 2 * kMinute, kYear}));
  CHECK(behind.verdict == ClockVerdict::kBehind);
  CHECK(behind.correction_ms == kMonth);  // the lower median of 0 (its own), M, M + 2 min and a year
  // The node and one peer agree, one peer is a year ahead, one reads 1970.
  TrustedTime ok = trusted_time(kNow, peers(kNow, {kMinute, kYear, -static_cast<std::int64_t>(kNow) + 5'000}));
  CHECK(ok.verdict == ClockVerdict::kOk);
  CHECK(ok.peer_votes == 2);
}

TEST_CASE("clocks within the skew bound agree, and old offsets do not count", "[trusted_time]") {
  constexpr std::int64_t kBound = static_cast<std::int64_t>(limits::clock_skew_ms_max);
  CHECK(trusted_time(kNow, peers(kNow, {kBound, kBound})).verdict == ClockVerdict::kOk);
  CHECK(trusted_time(kNow, peers(kNow, {kBound + 1, kBound + 1})).verdict == ClockVerdict::kBehind);
  std::vector<PeerClockOffset> stale{{peer(1), kYear, kNow - limits::clock_offset_age_ms_max - 1}};
  CHECK(trusted_time(kNow, stale).verdict == ClockVerdict::kNoPeers);
  // A clock set forward by NTP after the offsets were seen at 1970: they no longer count.
  std::vector<PeerClockOffset> from_1970{{peer(1), static_cast<std::int64_t>(kNow), 10'000}};
  CHECK(trusted_time(kNow, from_1970).verdict == ClockVerdict::kNoPeers);
}

TEST_CASE("offsets read as people read them", "[trusted_time]") {
  CHECK(describe_offset(kYear) == "365 days ahead");
  CHECK(describe_offset(-(3 * 60 + 12) * kMinute) == "3 hours 12 minutes behind");
  CHECK(describe_offset(40'000) == "40 seconds ahead");
  CHECK(describe_offset(-6 * kMinute) == "6 minutes behind");
  CHECK(describe_offset(kYear, "this node's time") == "365 days ahead of this node's time");
  CHECK(describe_offset(-2 * kMinute, "its peers' time") == "2 minutes behind its peers' time");
}
