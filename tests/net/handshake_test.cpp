// Handshake and channel: mutual authentication, refusals, tampering, replay.
#include <catch2/catch.hpp>

#include <algorithm>
#include <new>
#include <optional>

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
  auto m4 = responder.on_message(*m3);
  REQUIRE(m4.is_ok());
  REQUIRE(initiator.on_message(*m4).is_ok());  // version 4: the responder's identity, sealed
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
  // Version 3 refuses at the hello (version 4 once the initiator has proved its key, below).
  net::Handshake stranger(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, 3);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), only_b);
  auto refused = responder.on_message(stranger.start());
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("not enrolled"));
  net::Handshake stranger4(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder4(net::Handshake::Role::kResponder, p.b, p.network, seed(2), only_b);
  auto m2 = responder4.on_message(stranger4.start());
  REQUIRE(m2.is_ok());
  auto m3 = stranger4.on_message(*m2);
  REQUIRE(m3.is_ok());
  auto refused4 = responder4.on_message(*m3);
  REQUIRE_FALSE(refused4.is_ok());
  CHECK_THAT(refused4.status().message(), Catch::Contains("not enrolled"));
  CHECK_FALSE(responder4.done());
  net::Handshake foreign(net::Handshake::Role::kInitiator, p.a, blake2b_256(as_bytes("other")), seed(3), accept_all);
  net::Handshake responder2(net::Handshake::Role::kResponder, p.b, p.network, seed(4), accept_all);
  auto wrong = responder2.on_message(foreign.start());
  REQUIRE_FALSE(wrong.is_ok());
  CHECK_THAT(wrong.status().message(), Catch::Contains("another network"));
}

TEST_CASE("a tampered or replayed handshake fails", "[handshake]") {
  Pair p;
  // Version 3 (version 4: "version 4: a tampered message ...", below).
  for (std::size_t byte : {std::size_t{40}, std::size_t{70}, std::size_t{100}}) {
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, 3);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    auto m2 = responder.on_message(initiator.start());
    REQUIRE(m2.is_ok());
    Bytes altered = *m2;
    altered[byte % altered.size()] ^= 1;
    CHECK_FALSE(initiator.on_message(altered).is_ok());
  }
  // Replay a whole recorded initiator side against a fresh responder.
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, 3);
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

TEST_CASE("a responder answers a version-2, -3 or -4 hello in that version", "[handshake]") {
  Pair p;
  for (std::uint8_t version : {std::uint8_t{2}, std::uint8_t{3}, std::uint8_t{4}}) {
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, version);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    Bytes hello = initiator.start();
    CHECK(hello[0] == version);
    auto m2 = responder.on_message(hello);
    REQUIRE(m2.is_ok());
    CHECK((*m2)[0] == version);
    auto m3 = initiator.on_message(*m2);
    REQUIRE(m3.is_ok());
    auto m4 = responder.on_message(*m3);
    REQUIRE(m4.is_ok());
    CHECK(m4->empty() == (version < 4));
    if (version == 4) REQUIRE(initiator.on_message(*m4).is_ok());
    REQUIRE(initiator.done());
    REQUIRE(responder.done());
    CHECK(initiator.version() == version);
    CHECK(responder.version() == version);
    CHECK(initiator.keys().send == responder.keys().receive);
  }
  // A node of an earlier release (it speaks 2, or 2 and 3) refuses a newer hello, saying nothing
  // to it: the initiator sees the connection close before any answer (and dials again, lower).
  for (std::uint8_t oldest_missing : {std::uint8_t{3}, std::uint8_t{4}}) {
    net::Handshake newer(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, oldest_missing);
    net::Handshake older(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all,
                         static_cast<std::uint8_t>(oldest_missing - 1));
    auto refused = older.on_message(newer.start());
    REQUIRE_FALSE(refused.is_ok());
    CHECK_THAT(refused.status().message(), Catch::Contains("wire protocol version " + std::to_string(oldest_missing)));
    CHECK(older.refusal().empty());
    CHECK_FALSE(newer.hello_answered());
  }
}

TEST_CASE("a version-3 hello refused at the handshake is told why in a plain frame; a version-2 one is not",
          "[handshake]") {
  Pair p;
  auto only_b = [&](const PublicKey& key) {
    return key == p.b.public_key() ? Status::ok() : Status::invalid("node " + key.short_hex() + " is not enrolled in this network");
  };
  net::Handshake stranger(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, 3);
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

// Version 4, as net/PROTOCOL.md writes it, computed here by hand from libsodium (so the tests
// also pin the wire format, and can play a hostile initiator).
namespace {

constexpr std::string_view kV4Context("anwang/handshake/v4\0", 20);
constexpr std::string_view kV4HelloLabel("anwang/handshake/v4 hello\0", 26);
constexpr std::string_view kV4InitiatorSigned("anwang/handshake/v4 initiator\0", 30);

void put(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }
void put(Bytes& out, std::string_view text) { put(out, as_bytes(text)); }

bool contains(const Bytes& haystack, ByteView needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

using Key32 = std::array<std::uint8_t, 32>;

// BLAKE2b-256 keyed with shared ‖ network over label ‖ BLAKE2b-256(transcript).
Key32 v4_key(const Key32& shared, const Hash32& network, std::string_view label, const Bytes& transcript) {
  Bytes key;
  put(key, ByteView(shared));
  put(key, network.view());
  Bytes input;
  put(input, label);
  put(input, blake2b_256(transcript).view());
  Key32 out{};
  crypto_generichash(out.data(), out.size(), input.data(), input.size(), key.data(), key.size());
  return out;
}

Bytes v4_seal(const Key32& key, const Bytes& transcript, const Bytes& plaintext) {
  Hash32 ad = blake2b_256(transcript);
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  Bytes out(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &length, plaintext.data(), plaintext.size(), ad.bytes.data(),
                                             ad.bytes.size(), nullptr, nonce.data(), key.data());
  out.resize(length);
  return out;
}

std::optional<Bytes> v4_open(const Key32& key, const Bytes& transcript, const Bytes& ciphertext) {
  Hash32 ad = blake2b_256(transcript);
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  if (ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return std::nullopt;
  Bytes out(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &length, nullptr, ciphertext.data(), ciphertext.size(),
                                                 ad.bytes.data(), ad.bytes.size(), nonce.data(), key.data()) != 0)
    return std::nullopt;
  out.resize(length);
  return out;
}

// An initiator played by hand: its ephemeral, message 1, and (given message 2) the X25519 secret
// and the transcript T2.
struct HandInitiator {
  Key32 ephemeral_public{}, ephemeral_secret{}, shared{};
  Hash32 network;
  Bytes transcript;
  HandInitiator(const Hash32& network_id, int n) : network(network_id) {
    crypto_box_seed_keypair(ephemeral_public.data(), ephemeral_secret.data(), seed(n).data());
  }
  Bytes hello() {
    Bytes m1{4};
    put(m1, ByteView(ephemeral_public));
    Bytes tagged;
    put(tagged, kV4HelloLabel);
    put(tagged, m1);
    Key32 tag{};
    crypto_generichash(tag.data(), tag.size(), tagged.data(), tagged.size(), network.bytes.data(), network.bytes.size());
    put(m1, ByteView(tag));
    put(transcript, kV4Context);
    put(transcript, network.view());
    put(transcript, m1);
    return m1;
  }
  bool reply(const Bytes& m2) {
    put(transcript, m2);
    return crypto_scalarmult(shared.data(), ephemeral_secret.data(), m2.data() + 1) == 0;
  }
  // Message 3 claiming `claimed` with `signature`, sealed under `sealing_network`'s keys.
  Bytes identity(const PublicKey& claimed, ByteView signature, const Hash32& sealing_network) const {
    Bytes plain;
    put(plain, claimed.view());
    put(plain, signature);
    return v4_seal(v4_key(shared, sealing_network, "initiator identity", transcript), transcript, plain);
  }
  Bytes signed_part(const PublicKey& signer) const {
    Bytes out;
    put(out, kV4InitiatorSigned);
    put(out, blake2b_256(transcript).view());
    put(out, signer.view());
    return out;
  }
};

}  // namespace

TEST_CASE("version 4: a passive observer of a handshake sees neither node key, only ephemerals and ciphertext",
          "[handshake][v4]") {
  Pair p;
  auto transcript_of = [&](std::uint8_t version) {
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, version);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    Bytes wire;
    Bytes message = initiator.start();
    bool initiator_next = false;
    while (!(initiator.done() && responder.done())) {
      put(wire, message);
      auto next = (initiator_next ? initiator : responder).on_message(message);
      REQUIRE(next.is_ok());
      initiator_next = !initiator_next;
      message = *next;
    }
    CHECK(initiator.version() == version);
    CHECK(initiator.keys().peer == p.b.public_key());
    CHECK(responder.keys().peer == p.a.public_key());
    CHECK(initiator.keys().send == responder.keys().receive);
    CHECK(initiator.keys().receive == responder.keys().send);
    net::ChannelSender to_responder, to_initiator;
    put(wire, to_responder.start(initiator.keys().send));
    put(wire, to_initiator.start(responder.keys().send));
    return wire;
  };
  Bytes hidden = transcript_of(net::kWireVersionLatest);
  CHECK(net::kWireVersionLatest == 4);
  for (const KeyPair* key : {&p.a, &p.b}) {
    CHECK_FALSE(contains(hidden, key->public_key().view()));
    CHECK_FALSE(contains(hidden, key->public_key().view().first(6)));  // not even a part of it
  }
  CHECK_FALSE(contains(hidden, p.network.view().first(6)));
  CHECK(hidden.size() == 65 + 33 + 112 + 113 + 2 * 24);
  // The same search finds both keys in a version-3 handshake, where they travel in clear.
  Bytes clear = transcript_of(3);
  CHECK(contains(clear, p.a.public_key().view()));
  CHECK(contains(clear, p.b.public_key().view()));
}

TEST_CASE("version 4: an initiator that claims an enrolled key it does not hold gets nothing of the responder",
          "[handshake][v4]") {
  Pair p;
  KeyPair thief = test_key(3);
  auto enrolled = [&](const PublicKey& key) {
    return key == p.a.public_key() || key == p.b.public_key()
               ? Status::ok()
               : Status::invalid("node " + key.short_hex() + " is not enrolled in this network");
  };
  // Message 2 is an ephemeral key and nothing else, whoever asks.
  auto answer = [&](net::Handshake& responder, HandInitiator& hand) {
    Bytes m1 = hand.hello();
    auto m2 = responder.on_message(m1);
    REQUIRE(m2.is_ok());
    CHECK(m2->size() == 33);
    CHECK_FALSE(contains(*m2, p.b.public_key().view().first(6)));
    REQUIRE(hand.reply(*m2));
  };
  // A's key claimed with a signature by the thief's own key, with random bytes, and with A's
  // signature over another transcript (recorded from an earlier session): no answer at all.
  Bytes random_signature(crypto_sign_BYTES);
  randombytes_buf(random_signature.data(), random_signature.size());
  HandInitiator earlier(p.network, 20);
  earlier.hello();
  Bytes earlier_reply{4};
  put(earlier_reply, ByteView(seed(21)));
  earlier.reply(earlier_reply);
  Signature recorded = p.a.sign(earlier.signed_part(p.a.public_key()));
  for (int attempt = 0; attempt < 3; ++attempt) {
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), enrolled);
    HandInitiator hand(p.network, 10 + attempt);
    answer(responder, hand);
    Signature by_thief = thief.sign(hand.signed_part(p.a.public_key()));
    ByteView signature = attempt == 0 ? ByteView(by_thief) : attempt == 1 ? ByteView(random_signature) : ByteView(recorded);
    auto m4 = responder.on_message(hand.identity(p.a.public_key(), signature, p.network));
    REQUIRE_FALSE(m4.is_ok());
    CHECK_THAT(m4.status().message(), Catch::Contains("signature does not verify"));
    CHECK(responder.refusal().empty());  // nothing is sent: the connection closes
    CHECK_FALSE(responder.done());
  }
  // The same hand-made message 3 with A's own signature is answered: the refusals above are the
  // signature's doing, and message 4 opens to B's key and B's signature.
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), enrolled);
  HandInitiator hand(p.network, 13);
  answer(responder, hand);
  Signature by_a = p.a.sign(hand.signed_part(p.a.public_key()));
  auto m4 = responder.on_message(hand.identity(p.a.public_key(), by_a, p.network));
  REQUIRE(m4.is_ok());
  CHECK(responder.done());
  Bytes t3 = hand.transcript;
  put(t3, p.a.public_key().view());
  put(t3, ByteView(by_a));
  auto opened = v4_open(v4_key(hand.shared, p.network, "responder identity", t3), t3, *m4);
  REQUIRE(opened);
  REQUIRE(opened->size() == 1 + 32 + crypto_sign_BYTES);
  CHECK((*opened)[0] == 1);
  CHECK(Hash32::from_view(ByteView(*opened).subspan(1, 32)) == p.b.public_key());
}

TEST_CASE("version 4: a node that proved its key but is not enrolled hears why, sealed, and nothing of the responder",
          "[handshake][v4]") {
  Pair p;
  KeyPair stranger_key = test_key(3);
  auto only_a = [&](const PublicKey& key) {
    return key == p.a.public_key() ? Status::ok()
                                   : Status::invalid("node " + key.short_hex() + " is not enrolled in this network");
  };
  net::Handshake stranger(net::Handshake::Role::kInitiator, stranger_key, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), only_a);
  auto m2 = responder.on_message(stranger.start());
  REQUIRE(m2.is_ok());
  auto m3 = stranger.on_message(*m2);
  REQUIRE(m3.is_ok());
  auto refused = responder.on_message(*m3);
  REQUIRE_FALSE(refused.is_ok());
  const Bytes& frame = responder.refusal();
  REQUIRE_FALSE(frame.empty());
  CHECK(frame.size() <= limits::handshake_frame_bytes_max);
  CHECK_FALSE(contains(frame, p.b.public_key().view().first(6)));
  CHECK_FALSE(contains(frame, as_bytes("not enrolled")));  // sealed
  auto told = stranger.on_message(frame);
  REQUIRE_FALSE(told.is_ok());
  CHECK(stranger.refused_by_peer());
  CHECK_FALSE(stranger.done());
  CHECK(told.status().message() ==
        "refused by the peer: node " + stranger_key.public_key().short_hex() + " is not enrolled in this network");
  CHECK_THAT(told.status().message(), !Catch::Contains(p.b.public_key().short_hex()));
}

TEST_CASE("version 4: another network's node is refused without a word of the responder", "[handshake][v4]") {
  Pair p;
  Hash32 other = blake2b_256(as_bytes("other"));
  net::Handshake foreign(net::Handshake::Role::kInitiator, p.a, other, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
  auto refused = responder.on_message(foreign.start());
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("another network"));
  const Bytes& frame = responder.refusal();
  REQUIRE_FALSE(frame.empty());
  CHECK(frame[0] == net::kPlainRefusal);
  CHECK_FALSE(contains(frame, p.b.public_key().view().first(6)));
  CHECK_FALSE(contains(frame, as_bytes(p.b.public_key().short_hex())));
  CHECK_FALSE(contains(frame, as_bytes(p.network.short_hex())));
  auto told = foreign.on_message(frame);
  REQUIRE_FALSE(told.is_ok());
  CHECK(foreign.hello_answered());  // no fallback to an older version: the answer was clear
  CHECK_THAT(told.status().message(), Catch::Contains("refused by the peer: the node dialled belongs to another"));
  // Keys are bound to the network id too: a message 3 sealed under another network's keys (after
  // a hello that named this network) does not open, and nothing comes back.
  net::Handshake responder2(net::Handshake::Role::kResponder, p.b, p.network, seed(3), accept_all);
  HandInitiator hand(p.network, 4);
  auto m2 = responder2.on_message(hand.hello());
  REQUIRE(m2.is_ok());
  REQUIRE(hand.reply(*m2));
  Signature signature = p.a.sign(hand.signed_part(p.a.public_key()));
  auto m4 = responder2.on_message(hand.identity(p.a.public_key(), signature, other));
  REQUIRE_FALSE(m4.is_ok());
  CHECK(responder2.refusal().empty());
  CHECK_FALSE(responder2.done());
}

TEST_CASE("version 4: a tampered message fails the handshake", "[handshake][v4]") {
  Pair p;
  // Runs a version-4 handshake, flipping one bit of message `tampered` (0–3) at `at`; whether both
  // sides finished.
  auto run = [&](int tampered, std::size_t at) {
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    Bytes message = initiator.start();
    for (int k = 0; k < 4; ++k) {
      if (k == tampered) message[at % message.size()] ^= 1;
      auto next = (k % 2 == 0 ? responder : initiator).on_message(message);
      if (!next) return false;
      message = *next;
    }
    return initiator.done() && responder.done();
  };
  CHECK(run(-1, 0));
  for (int k = 0; k < 4; ++k)
    for (std::size_t at : {std::size_t{0}, std::size_t{1}, std::size_t{20}, std::size_t{40}, std::size_t{60},
                           std::size_t{100}, std::size_t{112}}) {
      INFO("message " << k + 1 << ", byte " << at);
      CHECK_FALSE(run(k, at));
    }
}

TEST_CASE("version 4: a recorded handshake replayed to either side fails", "[handshake][v4]") {
  Pair p;
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
  Bytes m1 = initiator.start();
  auto m2 = responder.on_message(m1);
  auto m3 = initiator.on_message(*m2);
  auto m4 = responder.on_message(*m3);
  REQUIRE(initiator.on_message(*m4).is_ok());
  REQUIRE(initiator.done());
  // The initiator's side to a fresh responder: it answers the hello with a fresh ephemeral (and
  // nothing else), and message 3, sealed for the recorded session, does not open.
  net::Handshake fresh_responder(net::Handshake::Role::kResponder, p.b, p.network, seed(5), accept_all);
  auto fresh_m2 = fresh_responder.on_message(m1);
  REQUIRE(fresh_m2.is_ok());
  CHECK(*fresh_m2 != *m2);
  auto replayed = fresh_responder.on_message(*m3);
  CHECK_FALSE(replayed.is_ok());
  CHECK(fresh_responder.refusal().empty());
  CHECK_FALSE(fresh_responder.done());
  // The responder's side to a fresh initiator: message 4 does not open.
  net::Handshake fresh_initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(6), accept_all);
  fresh_initiator.start();
  REQUIRE(fresh_initiator.on_message(*m2).is_ok());
  CHECK_FALSE(fresh_initiator.on_message(*m4).is_ok());
  CHECK_FALSE(fresh_initiator.done());
}

TEST_CASE("the handshake wipes its secrets once done or failed, and the session keys once the channel has them",
          "[handshake][secrets]") {
  Pair p;
  auto zero = [](ByteView bytes) { return !bytes.empty() && sodium_is_zero(bytes.data(), bytes.size()) == 1; };
  for (std::uint8_t version : {std::uint8_t{3}, std::uint8_t{4}}) {
    INFO("version " << int{version});
    net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all, version);
    net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
    Bytes message = initiator.start();
    CHECK_FALSE(zero(initiator.secret_buffers_for_test()[0]));  // the ephemeral secret, in use
    bool initiator_next = false;
    while (!(initiator.done() && responder.done())) {
      auto next = (initiator_next ? initiator : responder).on_message(message);
      REQUIRE(next.is_ok());
      initiator_next = !initiator_next;
      message = *next;
    }
    for (net::Handshake* side : {&initiator, &responder}) {
      auto buffers = side->secret_buffers_for_test();
      REQUIRE(buffers.size() == 4);
      CHECK(zero(buffers[0]));  // ephemeral secret
      CHECK(zero(buffers[1]));  // X25519 secret
      CHECK_FALSE(zero(buffers[2]));  // session keys, until the channel has them
      CHECK_FALSE(zero(buffers[3]));
      side->forget_keys();
      CHECK(zero(buffers[2]));
      CHECK(zero(buffers[3]));
    }
    CHECK(initiator.keys().peer == p.b.public_key());
  }
  // A failed handshake keeps nothing either.
  net::Handshake initiator(net::Handshake::Role::kInitiator, p.a, p.network, seed(1), accept_all);
  net::Handshake responder(net::Handshake::Role::kResponder, p.b, p.network, seed(2), accept_all);
  auto m2 = responder.on_message(initiator.start());
  auto m3 = initiator.on_message(*m2);
  REQUIRE(m3.is_ok());
  CHECK_FALSE(zero(responder.secret_buffers_for_test()[1]));
  Bytes altered = *m3;
  altered[5] ^= 1;
  REQUIRE_FALSE(responder.on_message(altered).is_ok());
  for (ByteView buffer : responder.secret_buffers_for_test()) CHECK(zero(buffer));
  // The channel's states (which hold the keys) are wiped when they go.
  alignas(net::ChannelSender) std::array<std::uint8_t, sizeof(net::ChannelSender)> sender_bytes{};
  alignas(net::ChannelReceiver) std::array<std::uint8_t, sizeof(net::ChannelReceiver)> receiver_bytes{};
  auto* sender = new (sender_bytes.data()) net::ChannelSender;
  auto* receiver = new (receiver_bytes.data()) net::ChannelReceiver;
  std::array<std::uint8_t, 32> key{};
  key.fill(7);
  REQUIRE(receiver->start(key, sender->start(key)).is_ok());
  CHECK_FALSE(zero(ByteView(sender_bytes)));
  CHECK_FALSE(zero(ByteView(receiver_bytes)));
  sender->~ChannelSender();
  receiver->~ChannelReceiver();
  CHECK(zero(ByteView(sender_bytes)));
  CHECK(std::all_of(receiver_bytes.begin(), receiver_bytes.begin() + sizeof(crypto_secretstream_xchacha20poly1305_state),
                    [](std::uint8_t b) { return b == 0; }));
}
