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
// Handshake, ChannelSender and ChannelReceiver are owned by one connection, used by one thread.
// Randomness (the ephemeral seed) is passed in, so the simulator can fix it.
#pragma once

#include <sodium.h>

#include <array>
#include <functional>
#include <optional>

#include "crdt/keys.h"
#include "crdt/status.h"

namespace anwang::net {

struct SessionKeys {
  std::array<std::uint8_t, 32> send{};
  std::array<std::uint8_t, 32> receive{};
  PublicKey peer;
};

class Handshake {
 public:
  enum class Role { kInitiator, kResponder };
  using AcceptPeer = std::function<Status(const PublicKey& peer)>;

  Handshake(Role role, const KeyPair& node_key, const Hash32& network, const std::array<std::uint8_t, 32>& ephemeral_seed,
            AcceptPeer accept_peer);
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
