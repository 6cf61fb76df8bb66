// Handshake and channel: mutual authentication, refusals, tampering, replay.
#include <catch2/catch.hpp>

#include "crdt/hash.h"
#include "net/handshake.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::test_key;

namespace {

std::array<std::uint8_t, 32> seed(int n) { return blake2b_256(as_bytes("ephemeral " + std::to_string(n))).bytes; }

Status accept_all(const PublicKey&) { return Status::ok(); }

struct Pair {
  KeyPair a = test_key(1), b = test_key(2);
  Hash32 network = blake2b_256(as_bytes("network"));
};

}  // namespace

TEST_CASE("two enrolled nodes agree on keys and talk over the channel", "[handshake]") {
  Pair p;
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
  auto m2 = responder.on_message(initiator.start());
  REQUIRE(m2.is_ok());
  auto m3 = initiator.on_message(*m2);
  REQUIRE(m3.is_ok());
  auto end = responder.on_message(*m3);
  REQUIRE(end.is_ok());
  REQUIRE(initiator.done());
  REQUIRE(responder.done());
  CHECK(initiator.keys().peer == p.b.public_key());
  CHECK(responder.keys().peer == p.a.public_key());
  CHECK(initiator.keys().send == responder.keys().receive);
  CHECK(initiator.keys().receive == responder.keys().send);
  CHECK(initiator.keys().send != initiator.keys().receive);
  net::ChannelSender sender;
  net::ChannelReceiver receiver;
  REQUIRE(receiver.start(responder.keys().receive, sender.start(initiator.keys().send)).is_ok());
  auto opened = receiver.open(sender.seal(as_bytes("隐患 hazard")));
  REQUIRE(opened.is_ok());
  CHECK(*opened == Bytes(as_bytes("隐患 hazard").begin(), as_bytes("隐患 hazard").end()));
  Bytes frame = sender.seal(as_bytes("second"));
  frame[3] ^= 1;
  CHECK_FALSE(receiver.open(frame).is_ok());
}

TEST_CASE("a node not enrolled, or of another network, is refused at the handshake", "[handshake]") {
  Pair p;
  auto only_b = [&](const PublicKey& key) {
    return key == p.b.public_key() ? Status::ok() : Status::invalid("node " + key.short_hex() + " is not enrolled");
  };
  net::Handshake stranger(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), only_b);
  auto refused = responder.on_message(stranger.start());
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("not enrolled"));
  net::Handshake foreign(net::Handshake::Role::kInitiator, p.a, blake2b_256(as_bytes("other")), seed(3), accept_all);
  net::Handshake responder2(net::Handshake::Role::kResponder, p.b, p.network, seed(4), accept_all);
  auto wrong = responder2.on_message(foreign.start());
  REQUIRE_FALSE(wrong.is_ok());
  CHECK_THAT(wrong.status().message(), Catch::Contains("another network"));
}

TEST_CASE("a tampered or replayed handshake fails", "[handshake]") {
  Pair p;
  for (std::size_t byte : {std::size_t{40}, std::size_t{70}, std::size_t{100}}) {
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    auto m2 = responder.on_message(initiator.start());
    REQUIRE(m2.is_ok());
    Bytes altered = *m2;
    altered[byte % altered.size()] ^= 1;
    CHECK_FALSE(initiator.on_message(altered).is_ok());
  }
  // Replay a whole recorded initiator side against a fresh responder.
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
  Bytes m1 = initiator.start();
  auto m2 = responder.on_message(m1);
  auto m3 = initiator.on_message(*m2);
  REQUIRE(m3.is_ok());
  net::Handshake fresh(net::Handshake::Role::kResponder, p.b, p.network, seed(5), accept_all);
  REQUIRE(fresh.on_message(m1).is_ok());
  auto replayed = fresh.on_message(*m3);
  CHECK_FALSE(replayed.is_ok());
  CHECK_FALSE(fresh.done());
}

TEST_CASE("a peer of another wire protocol version is told which versions differ", "[handshake]") {
  Pair p;
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
  Bytes older = initiator.start();
  older[0] = 1;  // what a node of the previous release sends
  auto refused = responder.on_message(older);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("wire protocol version 1"));
  CHECK_THAT(refused.status().message(), Catch::Contains("same anwang release"));
}
