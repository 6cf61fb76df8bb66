// Range-based reconciliation: both sides learn exactly the difference, in few rounds and bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <numeric>
#include <random>
#include <set>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "net/reconcile.h"
#include "support/hostile_lister.h"

using namespace anwang;

namespace {

struct Outcome {
  std::set<Hash32> a_sends, a_fetches, b_sends, b_fetches;
  int round_trips = 0;
  std::size_t bytes_a_to_b = 0, bytes_b_to_a = 0;
  std::size_t largest_message = 0;
  bool duplicates = false;  // an id twice in one side's to_send() or to_fetch()
};

// Runs a session in memory as node/sync.cpp does: a round trip is the initiator's message and the
// responder's reply; an empty message ends it.
Outcome reconcile(std::vector<net::ItemKey> a, std::vector<net::ItemKey> b) {
  if (!std::is_sorted(a.begin(), a.end())) std::sort(a.begin(), a.end());
  if (!std::is_sorted(b.begin(), b.end())) std::sort(b.begin(), b.end());
  net::Reconciler initiator(std::move(a)), responder(std::move(b));
  Outcome outcome;
  Bytes message = initiator.initiate();
  while (!message.empty()) {
    REQUIRE(outcome.round_trips < 64);
    outcome.bytes_a_to_b += message.size();
    outcome.largest_message = std::max(outcome.largest_message, message.size());
    ++outcome.round_trips;
    auto reply = responder.on_message(message);
    REQUIRE(reply.is_ok());
    if (reply->empty()) break;
    outcome.bytes_b_to_a += reply->size();
    outcome.largest_message = std::max(outcome.largest_message, reply->size());
    auto next = initiator.on_message(*reply);
    REQUIRE(next.is_ok());
    message = std::move(*next);
  }
  auto collect = [&](const std::vector<Hash32>& ids, std::set<Hash32>& into) {
    into.insert(ids.begin(), ids.end());
    if (into.size() != ids.size()) outcome.duplicates = true;
  };
  collect(initiator.to_send(), outcome.a_sends);
  collect(initiator.to_fetch(), outcome.a_fetches);
  collect(responder.to_send(), outcome.b_sends);
  collect(responder.to_fetch(), outcome.b_fetches);
  return outcome;
}

std::vector<Hash32> sorted_ids(const std::vector<net::ItemKey>& items) {
  std::vector<Hash32> out;
  out.reserve(items.size());
  for (const auto& key : items) out.push_back(net::item_id(key));
  std::sort(out.begin(), out.end());
  return out;
}

std::set<Hash32> minus(const std::vector<Hash32>& a, const std::vector<Hash32>& b) {
  std::set<Hash32> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

// Each side sends or fetches exactly the ids the other lacks: no id missing, none extra, and
// none both sent by one side and fetched by the other.
void check_exact(const std::set<Hash32>& only_a, const std::set<Hash32>& only_b,
                 const Outcome& outcome) {
  std::set<Hash32> a_to_b = outcome.a_sends, b_to_a = outcome.b_sends;
  a_to_b.insert(outcome.b_fetches.begin(), outcome.b_fetches.end());
  b_to_a.insert(outcome.a_fetches.begin(), outcome.a_fetches.end());
  INFO("A holds " << only_a.size() << " B lacks, B holds " << only_b.size() << " A lacks; A to B "
                  << a_to_b.size() << ", B to A " << b_to_a.size());
  CHECK((a_to_b == only_a));
  CHECK((b_to_a == only_b));
  CHECK(a_to_b.size() == outcome.a_sends.size() + outcome.b_fetches.size());
  CHECK(b_to_a.size() == outcome.b_sends.size() + outcome.a_fetches.size());
  CHECK_FALSE(outcome.duplicates);
}

void check_exact(const std::vector<net::ItemKey>& a, const std::vector<net::ItemKey>& b,
                 const Outcome& outcome) {
  const std::vector<Hash32> ids_a = sorted_ids(a), ids_b = sorted_ids(b);
  check_exact(minus(ids_a, ids_b), minus(ids_b, ids_a), outcome);
}

Hash32 random_id(std::mt19937_64& rng) {
  Hash32 id;
  for (std::size_t i = 0; i < 32; i += 8) {
    std::uint64_t word = rng();
    for (std::size_t b = 0; b < 8; ++b)
      id.bytes[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
  return id;
}

net::ItemKey random_item(std::mt19937_64& rng, std::uint64_t hlc) {
  return net::item_key(hlc, random_id(rng));
}

// Hybrid logical clock values as a node writes them: milliseconds since 1970 in the high 48
// bits, a counter in the low 16; items come a few seconds apart, some within one millisecond.
std::vector<net::ItemKey> history(std::mt19937_64& rng, std::size_t n) {
  std::vector<net::ItemKey> items;
  items.reserve(n);
  std::uint64_t ms = 1'700'000'000'000;
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (rng() % 8 == 0) {
      ++counter;
    } else {
      ms += rng() % 20000;
      counter = 0;
    }
    items.push_back(random_item(rng, (ms << 16) | counter));
  }
  std::sort(items.begin(), items.end());
  return items;
}

std::uint64_t hlc_of(const net::ItemKey& key) {
  std::uint64_t hlc = 0;
  for (int i = 0; i < 8; ++i) hlc = hlc << 8 | key[static_cast<std::size_t>(i)];
  return hlc;
}

// Splits `items` into what A and B hold: everything shared except `positions`, each of which
// only one side holds (A when `a_holds` says so).
void split(const std::vector<net::ItemKey>& items, const std::vector<std::size_t>& positions,
           const std::function<bool(std::size_t)>& a_holds, std::vector<net::ItemKey>& a,
           std::vector<net::ItemKey>& b) {
  std::vector<char> differs(items.size(), 0);
  for (std::size_t p : positions) differs[p] = 1;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!differs[i] || a_holds(i)) a.push_back(items[i]);
    if (!differs[i] || !a_holds(i)) b.push_back(items[i]);
  }
}

}  // namespace

TEST_CASE("equal sets settle in one round trip", "[reconcile]") {
  std::mt19937_64 rng(1);
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 5000; ++i)
    items.push_back(random_item(rng, 1000 + static_cast<std::uint64_t>(i)));
  Outcome outcome = reconcile(items, items);
  CHECK(outcome.round_trips == 1);
  CHECK(outcome.bytes_b_to_a == 0);
  CHECK(outcome.bytes_a_to_b < 100);
  CHECK(outcome.a_sends.empty());
  CHECK(outcome.b_fetches.empty());
}

TEST_CASE("both sides learn exactly what the other lacks, for any split of the differences",
          "[reconcile]") {
  std::mt19937_64 rng(2);
  for (int round = 0; round < 30; ++round) {
    std::vector<net::ItemKey> shared, only_a, only_b;
    std::size_t n = rng() % 3000, da = rng() % 50, db = rng() % 50;
    if (round % 5 == 0) da = rng() % 500;  // sometimes one side is far behind
    for (std::size_t i = 0; i < n; ++i) shared.push_back(random_item(rng, rng() % 100000));
    for (std::size_t i = 0; i < da; ++i) only_a.push_back(random_item(rng, rng() % 100000));
    for (std::size_t i = 0; i < db; ++i) only_b.push_back(random_item(rng, rng() % 100000));
    std::vector<net::ItemKey> a = shared, b = shared;
    a.insert(a.end(), only_a.begin(), only_a.end());
    b.insert(b.end(), only_b.begin(), only_b.end());
    CAPTURE(round, n, da, db);
    check_exact(a, b, reconcile(a, b));
  }
}

TEST_CASE("an empty side gets everything, and scattered differences cost few rounds",
          "[reconcile]") {
  std::mt19937_64 rng(3);
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 20000; ++i) items.push_back(random_item(rng, static_cast<std::uint64_t>(i)));
  Outcome fresh = reconcile({}, items);
  CHECK(fresh.a_fetches.size() + fresh.b_sends.size() == items.size());
  CHECK(fresh.round_trips == 1);
  Outcome other_way = reconcile(items, {});
  CHECK(other_way.a_sends.size() + other_way.b_fetches.size() == items.size());
  CHECK(other_way.round_trips == 1);
  std::vector<net::ItemKey> fewer = items;
  std::shuffle(fewer.begin(), fewer.end(), rng);
  fewer.resize(fewer.size() - 100);
  Outcome scattered = reconcile(fewer, items);
  CHECK(scattered.a_fetches.size() + scattered.b_sends.size() == 100);
  CHECK(scattered.round_trips <= 4);
}

// Random sets and random splits under many seeds: small and large sets, few and many
// differences on either or both sides, equal timestamps, and timestamps at the extremes.
TEST_CASE("randomized: exact differences for random sets and splits", "[reconcile]") {
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    std::mt19937_64 rng(seed);
    const std::size_t sizes[] = {0, 1, 2, 5, 17, 60, 300, 1000, 4000};
    std::size_t n = sizes[rng() % std::size(sizes)];
    if (seed % 40 == 0) n = 20000 + rng() % 20000;
    const int clock =
        static_cast<int>(rng() % 4);  // 0: distinct, 1: few values, 2: one value, 3: extremes
    std::vector<net::ItemKey> items;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t hlc = clock == 0   ? rng()
                          : clock == 1 ? rng() % 5
                          : clock == 2 ? 42
                                       : (rng() % 2 ? 0 : ~std::uint64_t{0});
      items.push_back(random_item(rng, hlc));
    }
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    // Differences: none, a few, a fraction, or all; held by A, by B, or either.
    const int amount = static_cast<int>(rng() % 5);
    const double fraction = amount == 0   ? 0
                            : amount == 1 ? 0.002
                            : amount == 2 ? 0.03
                            : amount == 3 ? 0.3
                                          : 1.0;
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (static_cast<double>(rng() % 1'000'000) < fraction * 1'000'000) positions.push_back(i);
    if (amount == 1 && !items.empty()) positions.push_back(rng() % items.size());
    std::sort(positions.begin(), positions.end());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    const int holder = static_cast<int>(rng() % 3);
    std::vector<std::uint8_t> coin(items.size());
    for (auto& c : coin) c = static_cast<std::uint8_t>(rng() % 2);
    std::vector<net::ItemKey> a, b;
    split(
        items, positions, [&](std::size_t i) { return holder == 0 || (holder == 2 && coin[i]); }, a,
        b);
    CAPTURE(seed, n, clock, amount, holder, positions.size());
    Outcome outcome = reconcile(a, b);
    check_exact(a, b, outcome);
    if (positions.empty()) CHECK(outcome.round_trips == 1);
    CHECK(outcome.largest_message <= limits::reconcile_reply_bytes_target + 16 * 1024);
  }
}

// Ids that share long prefixes defeat the short prefixes of listed ranges: the lister's check
// finds out, and the range is settled with full ids instead.
TEST_CASE("ids sharing long prefixes are still told apart", "[reconcile]") {
  for (std::size_t shared_bytes : {2, 3, 4, 5, 8, 16, 31}) {
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
      std::mt19937_64 rng(seed * 100 + shared_bytes);
      Hash32 base = random_id(rng);
      auto near = [&](std::uint64_t hlc) {
        Hash32 id = random_id(rng);
        std::copy_n(base.bytes.begin(), shared_bytes, id.bytes.begin());
        return net::item_key(hlc, id);
      };
      std::vector<net::ItemKey> items;
      std::set<Hash32> ids;  // distinct ids, however few bytes are left to tell them apart
      const std::size_t n = 1 + rng() % (shared_bytes == 31 ? 200 : 400);
      while (items.size() < n) {
        net::ItemKey item = near(rng() % 3 == 0 ? 7 : rng() % 1000);
        if (ids.insert(net::item_id(item)).second) items.push_back(item);
      }
      std::sort(items.begin(), items.end());
      std::vector<std::size_t> positions;
      for (std::size_t i = 0; i < items.size(); ++i)
        if (rng() % 4 == 0) positions.push_back(i);
      std::vector<net::ItemKey> a, b;
      split(
          items, positions, [&](std::size_t i) { return i % 2 == 0; }, a, b);
      CAPTURE(shared_bytes, seed, items.size(), positions.size());
      check_exact(a, b, reconcile(a, b));
    }
  }
}

TEST_CASE("an id the peer lacks with the same prefix as one it holds is found", "[reconcile]") {
  // A holds x, B holds y: same timestamp, same first 8 bytes, so any prefix list short of 9
  // bytes shows them as one id. Around them both hold the same items.
  std::mt19937_64 rng(11);
  for (std::size_t around : {0, 3, 40, 2000}) {
    std::vector<net::ItemKey> shared;
    for (std::size_t i = 0; i < around; ++i) shared.push_back(random_item(rng, 500 + rng() % 1000));
    Hash32 x = random_id(rng), y = random_id(rng);
    std::copy_n(x.bytes.begin(), 8, y.bytes.begin());
    std::vector<net::ItemKey> a = shared, b = shared;
    a.push_back(net::item_key(1000, x));
    b.push_back(net::item_key(1000, y));
    CAPTURE(around);
    Outcome outcome = reconcile(a, b);
    check_exact(a, b, outcome);
    CHECK(outcome.round_trips <= 4);
    // And ids equal in all but their last byte.
    y = x;
    y.bytes[31] ^= 1;
    b.back() = net::item_key(1000, y);
    check_exact(a, b, reconcile(a, b));
  }
}

TEST_CASE("identical, disjoint, tiny and extreme sets", "[reconcile]") {
  std::mt19937_64 rng(12);
  Hash32 zero{}, ones;
  ones.bytes.fill(0xff);
  const net::ItemKey lowest = net::item_key(0, zero),
                     highest = net::item_key(~std::uint64_t{0}, ones);
  std::vector<net::ItemKey> some;
  for (int i = 0; i < 300; ++i) some.push_back(random_item(rng, rng() % 50));
  std::vector<net::ItemKey> other;
  for (int i = 0; i < 500; ++i) other.push_back(random_item(rng, rng() % 50));
  std::vector<net::ItemKey> many;
  for (int i = 0; i < 30000; ++i) many.push_back(random_item(rng, rng()));
  std::vector<net::ItemKey> many_other;
  for (int i = 0; i < 30000; ++i) many_other.push_back(random_item(rng, rng()));
  std::vector<net::ItemKey> with_extremes = some;
  with_extremes.push_back(lowest);
  with_extremes.push_back(highest);
  const std::vector<std::pair<std::vector<net::ItemKey>, std::vector<net::ItemKey>>> cases = {
      {{}, {}},
      {{lowest}, {}},
      {{}, {highest}},
      {{lowest}, {highest}},
      {{lowest, highest}, {lowest, highest}},
      {{highest}, {highest}},
      {some, some},
      {some, other},
      {with_extremes, some},
      {some, with_extremes},
      {many, many_other},
      {many, {highest}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    check_exact(cases[i].first, cases[i].second, reconcile(cases[i].first, cases[i].second));
    check_exact(cases[i].second, cases[i].first, reconcile(cases[i].second, cases[i].first));
  }
}

TEST_CASE("large differences travel in bounded messages, over more rounds", "[reconcile]") {
  std::mt19937_64 rng(14);
  const std::vector<net::ItemKey> items = history(rng, 60000);
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (rng() % 3 == 0) positions.push_back(i);
  std::vector<net::ItemKey> a, b;
  split(
      items, positions, [&](std::size_t i) { return i % 2 == 0; }, a, b);
  Outcome outcome = reconcile(a, b);
  check_exact(a, b, outcome);
  CHECK(outcome.largest_message <= limits::reconcile_reply_bytes_target + 16 * 1024);
  const double per_difference = static_cast<double>(outcome.bytes_a_to_b + outcome.bytes_b_to_a) /
                                static_cast<double>(positions.size());
  CHECK(per_difference < 20);  // differences this dense are listed: a few bytes each
  CHECK(outcome.round_trips <= 16);
}

TEST_CASE("malformed reconciliation messages are refused, not trusted", "[reconcile]") {
  net::Reconciler r({});
  CHECK_FALSE(r.on_message(Bytes{}).is_ok());
  CHECK_FALSE(r.on_message(Bytes{9}).is_ok());
  // A version-1 message (the whole range's fingerprint, as version 1 sent it) is refused by name.
  Bytes version_1{1, 0, 255, 1, 0, 0, 0, 0};
  version_1.resize(version_1.size() + 32);
  auto old = r.on_message(version_1);
  REQUIRE_FALSE(old.is_ok());
  CHECK(old.status().message() == "reconciliation message of an unknown version");
  CHECK_FALSE(r.on_message(Bytes{2, 1}).is_ok());        // a split with no entry
  CHECK_FALSE(r.on_message(Bytes{2, 1, 4}).is_ok());     // a fingerprint cut short
  CHECK_FALSE(r.on_message(Bytes{2, 1, 0, 2}).is_ok());  // more than one response to one range
  CHECK_FALSE(r.on_message(Bytes{2, 4}).is_ok());        // skips past the ranges sent
  CHECK_FALSE(r.on_message(Bytes{2, 3}).is_ok());        // an unknown response
  CHECK_FALSE(r.on_message(Bytes{2, 1, 2, 0, 0, 0, 0}).is_ok());  // an answer to a list never sent
  CHECK_FALSE(r.on_message(Bytes{2, 0x81, 0x00}).is_ok());  // a varint not in its shortest form
  Bytes huge(limits::reconcile_message_bytes_max + 1, 0);
  huge[0] = 2;
  CHECK_FALSE(r.on_message(huge).is_ok());
  // A well-formed message still works after all that: an empty initiator.
  auto fine = r.on_message(Bytes{2, 1, 0});
  REQUIRE(fine.is_ok());
  CHECK(fine->empty());
}

// Messages changed at random (bytes flipped, cut, spliced) never crash a reconciler, and one
// refused leaves it able to finish the session with the real messages.
TEST_CASE("mutated reconciliation messages are refused or answered, never trusted blindly",
          "[reconcile]") {
  std::mt19937_64 rng(13);
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 3000; ++i) items.push_back(random_item(rng, rng() % 100000));
  std::sort(items.begin(), items.end());
  std::vector<net::ItemKey> a, b;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < items.size(); i += 17) positions.push_back(i);
  split(
      items, positions, [](std::size_t i) { return i % 2 == 0; }, a, b);
  for (int trial = 0; trial < 200; ++trial) {
    net::Reconciler initiator(a), responder(b);
    Bytes message = initiator.initiate();
    bool initiator_turn = false;
    int steps = 0;
    while (!message.empty() && steps++ < 20) {
      net::Reconciler& receiver = initiator_turn ? initiator : responder;
      Bytes mutated = message;
      switch (rng() % 4) {
        case 0:
          mutated[rng() % mutated.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
          break;
        case 1:
          mutated.resize(rng() % mutated.size());
          break;
        case 2:
          mutated.insert(mutated.begin() + static_cast<std::ptrdiff_t>(rng() % mutated.size()),
                         static_cast<std::uint8_t>(rng()));
          break;
        default:
          break;
      }
      (void)net::Reconciler(receiver).on_message(mutated);  // a copy takes the damage
      auto reply = receiver.on_message(message);
      REQUIRE(reply.is_ok());
      message = std::move(*reply);
      initiator_turn = !initiator_turn;
    }
    CHECK(message.empty());
  }
}

TEST_CASE("a peer that never lets a range settle is cut off", "[reconcile]") {
  // The peer answers every fingerprint with a fingerprint of one item more than this side holds
  // there, so this side echoes its own; the round limit ends it.
  std::vector<net::ItemKey> none;
  net::Reconciler r(none);
  Bytes claim{2, 1, 4, 1, 2, 3, 4, 5, 6, 7, 8};  // one range, the peer holds one item
  bool refused = false;
  for (std::size_t i = 0; i <= limits::reconcile_rounds_max + 1; ++i) {
    auto reply = r.on_message(claim);
    if (!reply.is_ok()) {
      refused = true;
      break;
    }
    REQUIRE_FALSE(reply->empty());
  }
  CHECK(refused);
  CHECK(r.rounds() == static_cast<int>(limits::reconcile_rounds_max));
}

// Issue 20, item 7: a peer's lists of up to 4,096 ids a range, 512 KiB a message, over 1,024
// rounds, made a side record about 15 million ids to fetch (~3 GB). Now a side records at most
// limits::reconcile_fetch_ids_max and then ends the reconciliation; the next session goes on.
TEST_CASE("a peer flooding id lists makes this side fetch at most its budget, then reconciliation ends",
          "[reconcile][budget]") {
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 200'000; ++i)
    items.push_back(net::item_key(static_cast<std::uint64_t>(i) << 20, blake2b_256(as_bytes("item " + std::to_string(i)))));
  net::Reconciler victim(items);
  test::HostileLister peer(20);
  Bytes message = peer.first(400'000);
  int rounds = 0;
  bool ended = false;
  while (rounds < static_cast<int>(limits::reconcile_rounds_max) + 2) {
    ++rounds;
    auto reply = victim.on_message(message);
    if (!reply.is_ok()) break;
    if (reply->empty()) {
      ended = true;
      break;
    }
    auto next = peer.answer(*reply);
    REQUIRE(next);
    message = std::move(*next);
  }
  WARN("a flooding peer named " << victim.to_fetch().size() << " ids to fetch in " << rounds << " rounds");
  CHECK(victim.to_fetch().size() <= limits::reconcile_fetch_ids_max);
  CHECK(victim.fetch_budget_reached());
  CHECK(ended);  // this side ended it with an empty reply, not the peer
}

TEST_CASE("empty messages that need no answer are cut off at the round limit", "[reconcile][budget]") {
  std::vector<net::ItemKey> none;
  net::Reconciler r(none);
  Bytes nothing{2};  // a message answering nothing: every open range settled
  bool refused = false;
  for (std::size_t i = 0; i <= limits::reconcile_rounds_max + 2; ++i) {
    auto reply = r.on_message(nothing);
    if (!reply.is_ok()) {
      refused = true;
      break;
    }
  }
  CHECK(refused);
}

namespace {

struct Figure {
  const char* name;
  std::size_t n, d;
  Outcome outcome;
};

void print_figure(const Figure& f, double ms) {
  const std::size_t total = f.outcome.bytes_a_to_b + f.outcome.bytes_b_to_a;
  std::printf(
      "reconcile n=%-8zu %-34s d=%-5zu %d round trips, %7zu B out, %7zu B back, %7.1f B per "
      "difference, %6.0f ms\n",
      f.n, f.name, f.d, f.outcome.round_trips, f.outcome.bytes_a_to_b, f.outcome.bytes_b_to_a,
      f.d == 0 ? 0.0 : static_cast<double>(total) / static_cast<double>(f.d), ms);
}

Figure measure(const char* name, const std::vector<net::ItemKey>& items,
               const std::vector<std::size_t>& positions,
               const std::function<bool(std::size_t)>& a_holds) {
  std::vector<net::ItemKey> a, b;
  split(items, positions, a_holds, a, b);
  std::set<Hash32> only_a, only_b;
  for (std::size_t p : positions) (a_holds(p) ? only_a : only_b).insert(net::item_id(items[p]));
  auto start = std::chrono::steady_clock::now();
  Figure figure{name, items.size(), positions.size(), reconcile(std::move(a), std::move(b))};
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  check_exact(only_a, only_b, figure.outcome);
  print_figure(figure, ms);
  return figure;
}

double per_difference(const Figure& f) {
  return static_cast<double>(f.outcome.bytes_a_to_b + f.outcome.bytes_b_to_a) /
         static_cast<double>(f.d);
}

void check_figures(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<net::ItemKey> items = history(rng, n);
  std::vector<std::size_t> recent, scattered;
  for (std::size_t i = n - 10; i < n; ++i) recent.push_back(i);
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  scattered.assign(all.begin(), all.begin() + 1000);
  std::vector<std::uint8_t> coin(n);
  for (auto& c : coin) c = static_cast<std::uint8_t>(rng() % 2);
  auto either = [&](std::size_t i) { return coin[i] != 0; };
  auto initiator = [](std::size_t) { return true; };
  auto responder = [](std::size_t) { return false; };

  // Attachments take part as items at the highest timestamp (node/sync.cpp), after the newest ops.
  std::vector<net::ItemKey> with_attachments = items;
  for (std::size_t i = 0; i < n / 20; ++i) with_attachments.push_back(random_item(rng, ~std::uint64_t{0}));
  std::sort(with_attachments.begin(), with_attachments.end());
  Figure behind_attachments = measure("10 newest, attachments after them", with_attachments,
                                      recent, either);
  CHECK(behind_attachments.outcome.round_trips <= 2);
  CHECK(per_difference(behind_attachments) <= 100);
  Figure one = measure("1 scattered, either holds it", items, {scattered[0]}, either);
  CHECK(one.outcome.round_trips <= 2);
  Figure equal = measure("equal", items, {}, initiator);
  CHECK(equal.outcome.round_trips == 1);
  CHECK(equal.outcome.bytes_a_to_b <= 100);
  CHECK(equal.outcome.bytes_b_to_a <= 100);
  for (const auto& [name, positions, holder] :
       {std::tuple{"10 newest, initiator holds them", recent,
                   std::function<bool(std::size_t)>(initiator)},
        std::tuple{"10 newest, responder holds them", recent,
                   std::function<bool(std::size_t)>(responder)},
        std::tuple{"10 newest, either holds each", recent,
                   std::function<bool(std::size_t)>(either)},
        std::tuple{"1,000 scattered, either holds each", scattered,
                   std::function<bool(std::size_t)>(either)},
        std::tuple{"1,000 scattered, initiator holds them", scattered,
                   std::function<bool(std::size_t)>(initiator)},
        std::tuple{"1,000 scattered, responder holds them", scattered,
                   std::function<bool(std::size_t)>(responder)}}) {
    Figure f = measure(name, items, positions, holder);
    INFO(name << ", n = " << n);
    CHECK(f.outcome.round_trips <= 4);
    CHECK(per_difference(f) <= 100);
  }
  // 1,000 new items crowded towards the newest: ops written offline by people appointed late
  // in the history land after their appointment, so most of them fall in its last few percent
  // (the bench's county: 60 % in the last 4 %; here 67 %). Two things made this cost 9 to 26
  // round trips and 475 to 1,548 B per difference at n = 1,000,000: the overall density,
  // inflated by the crowd, split every differing range 256 ways, and the reply's budget, spent
  // on the first ranges, left the crowded ones merged for later rounds.
  std::vector<net::ItemKey> crowded = items;
  const std::uint64_t first = hlc_of(items.front()), last = hlc_of(items.back());
  for (int i = 0; i < 1000; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const double f = 1 - std::pow(u, 8);  // 67 % in the last 4 %
    crowded.push_back(random_item(rng, first + static_cast<std::uint64_t>(f * static_cast<double>(last - first))));
  }
  std::sort(crowded.begin(), crowded.end());
  std::vector<std::size_t> added;
  for (std::size_t i = 0, j = 0; i < crowded.size(); ++i) {
    if (j < items.size() && items[j] == crowded[i]) {
      ++j;
    } else {
      added.push_back(i);
    }
  }
  for (const auto& [name, holder] :
       {std::pair{"1,000 crowded new, initiator holds them", std::function<bool(std::size_t)>(initiator)},
        std::pair{"1,000 crowded new, responder holds them", std::function<bool(std::size_t)>(responder)}}) {
    Figure f = measure(name, crowded, added, holder);
    INFO(name << ", n = " << n);
    CHECK(f.outcome.round_trips <= 4);
    CHECK(per_difference(f) <= 100);
  }
}

}  // namespace

// Issue 7's targets, measured with the pure Reconciler (bytes of reconciliation messages both
// ways; the ops themselves travel separately).
TEST_CASE("figures: 100,000 items, equal, 10 newest differ, 1,000 scattered differ",
          "[reconcile][figures]") {
  check_figures(100'000, 7);
}

TEST_CASE("figures: 1,000,000 items", "[reconcile][figures]") {
  check_figures(1'000'000, 8);
}

TEST_CASE("item keys listed as ascending runs sort like std::sort", "[reconcile]") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    // A store's listing: a few scopes, each in time order; sometimes no order at all.
    std::vector<net::ItemKey> keys;
    std::size_t runs = trial % 10 == 9 ? 0 : 1 + rng() % 8;
    for (std::size_t r = 0; r < runs; ++r) {
      std::vector<net::ItemKey> run(rng() % 60);
      for (auto& key : run) key = net::item_key(rng() % 500, random_id(rng));
      std::sort(run.begin(), run.end());
      keys.insert(keys.end(), run.begin(), run.end());
    }
    if (runs == 0)
      for (std::size_t i = rng() % 300; i > 0; --i) keys.push_back(net::item_key(rng() % 50, random_id(rng)));
    std::vector<net::ItemKey> expected = keys;
    std::sort(expected.begin(), expected.end());
    net::sort_item_keys(keys);
    CHECK(keys == expected);
  }
}
