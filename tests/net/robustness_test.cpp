// Bytes from outside never crash a parser: random and mutated inputs to every decoder that reads
// what a peer or a file sent. (Coverage-guided fuzzing of the same entry points is issue 6.)
#include <catch2/catch.hpp>

#include <random>

#include "crdt/hash.h"
#include "crdt/op.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/reconcile.h"
#include "support/fixtures.h"
#include "support/hostile_lister.h"

using namespace anwang;

namespace {

Bytes random_bytes(std::mt19937_64& rng, std::size_t max) {
  Bytes out(rng() % (max + 1));
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Bytes mutate(std::mt19937_64& rng, Bytes in) {
  if (in.empty()) return in;
  switch (rng() % 4) {
    case 0: in[rng() % in.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
    case 1: in.resize(rng() % in.size()); break;
    case 2: in.insert(in.begin() + static_cast<std::ptrdiff_t>(rng() % in.size()), static_cast<std::uint8_t>(rng())); break;
    default:
      for (int i = 0; i < 8; ++i) in[rng() % in.size()] = static_cast<std::uint8_t>(rng());
  }
  return in;
}

}  // namespace

TEST_CASE("random and mutated op bytes are refused or decoded, never a crash", "[robustness]") {
  std::mt19937_64 rng(11);
  test::OpFactory factory;
  std::vector<Bytes> seeds{factory.genesis().bytes, factory.note(test::test_key(1), "150430100", "x").bytes};
  std::size_t refused = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes input = i % 2 ? random_bytes(rng, 512) : mutate(rng, seeds[rng() % seeds.size()]);
    auto decoded = decode_op(input);
    if (std::holds_alternative<RefusedOp>(decoded)) {
      ++refused;
      CHECK_FALSE(std::get<RefusedOp>(decoded).detail.empty());
    } else {
      CHECK(std::get<Op>(decoded).bytes == input);  // only exact canonical signed ops decode
    }
  }
  CHECK(refused > 19000);
}

TEST_CASE("random reconciliation, handshake and frame input is refused or handled, never a crash", "[robustness]") {
  std::mt19937_64 rng(12);
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 100; ++i) items.push_back(net::item_key(static_cast<std::uint64_t>(i), blake2b_256(as_bytes(std::to_string(i)))));
  net::Reconciler honest(items);
  Bytes valid = honest.initiate();
  KeyPair key = test::test_key(3);
  Hash32 network = blake2b_256(as_bytes("n"));
  for (int i = 0; i < 5000; ++i) {
    net::Reconciler reconciler(items);
    Bytes input = i % 2 ? random_bytes(rng, 300) : mutate(rng, valid);
    (void)reconciler.on_message(input);
    net::Handshake responder(net::Handshake::Role::kResponder, key, network, blake2b_256(as_bytes("e")).bytes,
                             [](const PublicKey&) { return Status::ok(); });
    (void)responder.on_message(random_bytes(rng, 200));
    net::FrameDecoder decoder;
    if (decoder.feed(random_bytes(rng, 100)).is_ok())
      while (decoder.next()) {
      }
    net::ChannelReceiver receiver;
    (void)receiver.open(random_bytes(rng, 100));
  }
  SUCCEED("no input crashed a decoder");
}

// Issue 20, item 7: crafted lists (random choices between listing, claiming and settling each
// range) never take a side past its fetch budget or its round limit, and never crash it.
TEST_CASE("crafted reconciliation lists stay within the fetch budget and the round limit", "[robustness][budget]") {
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 50'000; ++i)
    items.push_back(net::item_key(static_cast<std::uint64_t>(i) << 16, blake2b_256(as_bytes("r " + std::to_string(i)))));
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    net::Reconciler victim(items, seed * 2'000);
    test::HostileLister peer(seed, [&rng] { return static_cast<std::uint8_t>(rng()); });
    Bytes message = peer.first(rng() % 200'000);
    std::size_t rounds = 0;
    while (true) {
      auto reply = victim.on_message(message);
      if (!reply.is_ok() || reply->empty()) break;
      REQUIRE(++rounds <= limits::reconcile_rounds_max);
      auto next = peer.answer(*reply);
      REQUIRE(next);
      message = std::move(*next);
    }
    INFO("seed " << seed);
    CHECK(victim.to_fetch().size() <= seed * 2'000);
    CHECK(victim.rounds() <= static_cast<int>(limits::reconcile_rounds_max));
  }
}
