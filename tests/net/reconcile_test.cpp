// Range-based reconciliation: both sides learn exactly the difference, in few rounds and bytes.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "crdt/hash.h"
#include "net/reconcile.h"

using namespace anwang;

namespace {

struct Outcome {
  std::set<Hash32> a_sends, a_fetches, b_sends, b_fetches;
  int round_trips = 0;
  std::size_t bytes_a_to_b = 0, bytes_b_to_a = 0;
};

Outcome reconcile(std::vector<net::ItemKey> a, std::vector<net::ItemKey> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  net::Reconciler initiator(a), responder(b);
  Outcome outcome;
  Bytes message = initiator.initiate();
  while (!message.empty()) {
    outcome.bytes_a_to_b += message.size();
    ++outcome.round_trips;
    auto reply = responder.on_message(message);
    REQUIRE(reply.is_ok());
    if (reply->empty()) break;
    outcome.bytes_b_to_a += reply->size();
    auto next = initiator.on_message(*reply);
    REQUIRE(next.is_ok());
    message = std::move(*next);
  }
  outcome.a_sends.insert(initiator.to_send().begin(), initiator.to_send().end());
  outcome.a_fetches.insert(initiator.to_fetch().begin(), initiator.to_fetch().end());
  outcome.b_sends.insert(responder.to_send().begin(), responder.to_send().end());
  outcome.b_fetches.insert(responder.to_fetch().begin(), responder.to_fetch().end());
  return outcome;
}

net::ItemKey random_item(std::mt19937_64& rng, std::uint64_t hlc) {
  return net::item_key(hlc, blake2b_256(as_bytes(std::to_string(rng()))));
}

}  // namespace

TEST_CASE("equal sets settle in one round trip", "[reconcile]") {
  std::mt19937_64 rng(1);
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 5000; ++i) items.push_back(random_item(rng, 1000 + static_cast<std::uint64_t>(i)));
  Outcome outcome = reconcile(items, items);
  CHECK(outcome.round_trips == 1);
  CHECK(outcome.bytes_b_to_a == 0);
  CHECK(outcome.bytes_a_to_b < 100);
  CHECK(outcome.a_sends.empty());
  CHECK(outcome.b_fetches.empty());
}

TEST_CASE("both sides learn exactly what the other lacks, for any split of the differences", "[reconcile]") {
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
    Outcome outcome = reconcile(a, b);
    std::set<Hash32> expect_a, expect_b;
    for (const auto& k : only_a) expect_a.insert(net::item_id(k));
    for (const auto& k : only_b) expect_b.insert(net::item_id(k));
    std::set<Hash32> a_to_b = outcome.a_sends, b_to_a = outcome.b_sends;
    a_to_b.insert(outcome.b_fetches.begin(), outcome.b_fetches.end());
    b_to_a.insert(outcome.a_fetches.begin(), outcome.a_fetches.end());
    CAPTURE(round, n, da, db);
    CHECK(a_to_b == expect_a);
    CHECK(b_to_a == expect_b);
  }
}

TEST_CASE("an empty side gets everything, and scattered differences cost few rounds", "[reconcile]") {
  std::mt19937_64 rng(3);
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 20000; ++i) items.push_back(random_item(rng, static_cast<std::uint64_t>(i)));
  Outcome fresh = reconcile({}, items);
  CHECK(fresh.a_fetches.size() + fresh.b_sends.size() >= items.size());
  std::vector<net::ItemKey> fewer = items;
  std::shuffle(fewer.begin(), fewer.end(), rng);
  fewer.resize(fewer.size() - 100);
  Outcome scattered = reconcile(fewer, items);
  CHECK(scattered.a_fetches.size() + scattered.b_sends.size() == 100);
  CHECK(scattered.round_trips <= 4);
}

TEST_CASE("malformed reconciliation messages are refused, not trusted", "[reconcile]") {
  net::Reconciler r({});
  CHECK_FALSE(r.on_message(Bytes{}).is_ok());
  CHECK_FALSE(r.on_message(Bytes{9}).is_ok());
  Bytes truncated{1, 0, 0};
  CHECK_FALSE(r.on_message(truncated).is_ok());
}
