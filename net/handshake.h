// handshake.h — mutual authentication of two nodes and the encrypted channel after it. Sans-IO.
//
// In the spirit of Scuttlebutt's secret handshake: ephemeral X25519 keys, each node signing the
// transcript with its Ed25519 node key, bound to the network id.
//   1. initiator → responder: version | network id | initiator ephemeral | initiator node key
//   2. responder → initiator: version | responder ephemeral | responder node key | signature
//      of "anwang/handshake/v1\0" | message 1 | responder ephemeral | responder node key
//   3. initiator → responder: signature of that transcript | the responder's signature
// A wrong network, a node the local `accept_peer` refuses (not enrolled), a bad signature, or a
// replayed or altered message fails the handshake: its fresh ephemeral keys make every
// transcript unique. Session keys are BLAKE2b of the X25519 secret and the whole transcript, one
// per direction, for crypto_secretstream.
//
// Versions (net/PROTOCOL.md): the first byte of messages 1 and 2. An initiator says hello in one
// version; a responder answers in the hello's version if it speaks it (kWireVersionOldest up to
// its own), so a node of this release still syncs with one of the previous release either way.
// A version-3 responder that refuses a version-3 hello tells the initiator why in a plain frame
// (kPlainRefusal, then one sentence) instead of message 2; a version-2 peer is refused as before,
// by closing the connection.
//
// Handshake, ChannelSender and ChannelReceiver are owned by one connection, used by one thread.
// Randomness (the ephemeral seed) is passed in, so the simulator can fix it.
#pragma once

#include <sodium.h>

#include <array>
#include <functional>
#include <optional>
#include <string>

#include "crdt/keys.h"
#include "crdt/status.h"

namespace anwang::net {

// Wire protocol versions this release speaks: 2, that of the previous release, and 3, which adds
// the clock, key-head and refusal messages of a session (node/sync.cpp).
inline constexpr std::uint8_t kWireVersionOldest = 2;
inline constexpr std::uint8_t kWireVersionLatest = 3;
// The first byte of a plain frame that refuses a version-3 hello (never a version number).
inline constexpr std::uint8_t kPlainRefusal = 0;

// A refusal sentence from a peer as this node shows it: valid UTF-8 without control characters,
// at most limits::refusal_bytes_max bytes (a peer's text reaches logs and terminals).
std::string refusal_sentence(ByteView bytes);
// A refusal sentence cut to at most `bytes_max` bytes, on a character boundary.
std::string cut_sentence(std::string sentence, std::size_t bytes_max);

struct SessionKeys {
  std::array<std::uint8_t, 32> send{};
  std::array<std::uint8_t, 32> receive{};
  PublicKey peer;
};

class Handshake {
 public:
  enum class Role { kInitiator, kResponder };
  using AcceptPeer = std::function<Status(const PublicKey& peer)>;

  // `version`: an initiator's hello is in this version; a responder answers hellos from
  // kWireVersionOldest up to it. REQUIRES: kWireVersionOldest <= version <= kWireVersionLatest.
  Handshake(Role role, const KeyPair& node_key, const Hash32& network, const std::array<std::uint8_t, 32>& ephemeral_seed,
            AcceptPeer accept_peer, std::uint8_t version = kWireVersionLatest);
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;
  ~Handshake();

  // Initiator: message 1.
  Bytes start();
  // The next message to send (possibly empty), or why the handshake failed.
  Result<Bytes> on_message(ByteView message);
  bool done() const { return keys_.has_value(); }
  // REQUIRES: done().
  const SessionKeys& keys() const { return *keys_; }
  // The session's version: the hello's, once message 1 (responder) or 2 (initiator) is accepted.
  std::uint8_t version() const { return version_; }
  // Responder: after refusing the hello of a peer that speaks version 3 or later, the plain frame
  // to send it (kPlainRefusal, then why); empty otherwise.
  const Bytes& refusal() const { return refusal_; }
  // Initiator: the responder refused the hello with a plain refusal frame (it speaks version 3).
  bool refused_by_peer() const { return refused_by_peer_; }
  // Initiator: the responder has answered the hello (with message 2, or a refusal).
  bool hello_answered() const { return hello_answered_; }

 private:
  Status derive(ByteView peer_ephemeral, ByteView transcript);
  Role role_;
  const KeyPair& node_key_;
  Hash32 network_;
  AcceptPeer accept_peer_;
  std::array<std::uint8_t, 32> ephemeral_public_{};
  std::array<std::uint8_t, 32> ephemeral_secret_{};
  Bytes transcript_;
  PublicKey peer_;
  Bytes peer_ephemeral_;
  int step_ = 0;
  std::uint8_t version_;
  Bytes refusal_;
  bool refused_by_peer_ = false;
  bool hello_answered_ = false;
  std::optional<SessionKeys> keys_;
};

// One direction of the encrypted channel.
class ChannelSender {
 public:
  // Returns the stream header, to send first.
  Bytes start(const std::array<std::uint8_t, 32>& key);
  Bytes seal(ByteView plaintext);

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
};

class ChannelReceiver {
 public:
  Status start(const std::array<std::uint8_t, 32>& key, ByteView header);
  Result<Bytes> open(ByteView ciphertext);

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
  bool started_ = false;
};

}  // namespace anwang::net
