// Handshake and channel: mutual authentication, refusals, tampering, replay.
#include <catch2/catch.hpp>

#include "crdt/hash.h"
#include "crdt/limits.h"
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

TEST_CASE("a version-3 responder answers a version-2 or a version-3 hello in that version", "[handshake]") {
  Pair p;
  for (std::uint8_t version : {std::uint8_t{2}, std::uint8_t{3}}) {
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, version);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    Bytes hello = initiator.start();
    CHECK(hello[0] == version);
    auto m2 = responder.on_message(hello);
    REQUIRE(m2.is_ok());
    CHECK((*m2)[0] == version);
    auto m3 = initiator.on_message(*m2);
    REQUIRE(m3.is_ok());
    REQUIRE(responder.on_message(*m3).is_ok());
    CHECK(initiator.version() == version);
    CHECK(responder.version() == version);
    CHECK(initiator.keys().send == responder.keys().receive);
  }
  // A node of the previous release (it speaks 2 only) refuses a version-3 hello, saying nothing
  // to it: the initiator sees the connection close before any answer.
  net::Handshake newer(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake older(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all, 2);
  auto refused = older.on_message(newer.start());
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("wire protocol version 3"));
  CHECK(older.refusal().empty());
  CHECK_FALSE(newer.hello_answered());
}

TEST_CASE("a version-3 hello refused at the handshake is told why in a plain frame; a version-2 one is not",
          "[handshake]") {
  Pair p;
  auto only_b = [&](const PublicKey& key) {
    return key == p.b.public_key() ? Status::ok() : Status::invalid("node " + key.short_hex() + " is not enrolled in this network");
  };
  net::Handshake stranger(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), only_b);
  REQUIRE_FALSE(responder.on_message(stranger.start()).is_ok());
  const Bytes& frame = responder.refusal();
  REQUIRE_FALSE(frame.empty());
  CHECK(frame[0] == net::kPlainRefusal);
  CHECK(frame.size() <= limits::handshake_frame_bytes_max);
  auto told = stranger.on_message(frame);
  REQUIRE_FALSE(told.is_ok());
  CHECK(stranger.refused_by_peer());
  CHECK(stranger.hello_answered());
  CHECK_THAT(told.status().message(), Catch::Contains("refused by the peer: node " + p.a.public_key().short_hex() +
                                                      " is not enrolled in this network"));
  net::Handshake old_stranger(net::Handshake::Role::kInitiator, p.a, p.network, seed(3), accept_all, 2);
  net::Handshake responder2(net::Handshake::Role::kResponder, p.b, p.network, seed(4), only_b);
  REQUIRE_FALSE(responder2.on_message(old_stranger.start()).is_ok());
  CHECK(responder2.refusal().empty());
  // A refusal's text is shown as a sentence: control characters and broken UTF-8 do not pass.
  Bytes hostile{net::kPlainRefusal, 'b', 'a', 'd', '\r', '\x1b', '[', '2', 'J', 0xff, 'x'};
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(5), accept_all);
  initiator.start();
  auto shown = initiator.on_message(hostile);
  REQUIRE_FALSE(shown.is_ok());
  CHECK(shown.status().message() == "refused by the peer: bad  [2J?x");
}
