// handshake.h — mutual authentication of two nodes and the encrypted channel after it. Sans-IO.
//
// Version 4 (net/PROTOCOL.md, "Handshake"), in the spirit of Scuttlebutt's secret handshake and
// Noise XX: neither node key travels in clear, and the responder reveals nothing of itself to an
// initiator that has not proved it holds an enrolled node key of this network.
//   1. initiator → responder: 04 | initiator ephemeral | BLAKE2b keyed with the network id
//   2. responder → initiator: 04 | responder ephemeral
//   3. initiator → responder: sealed under a key from X25519(ephemerals) and the network id:
//      initiator node key | its signature of the transcript so far
//   4. responder → initiator: sealed likewise: responder node key | its signature of the whole
//      transcript, message 3 included; or, to an initiator that proved its key but is refused
//      (not enrolled), why.
// Versions 3 and 2 (the previous releases), kept for compatibility:
//   1. initiator → responder: version | network id | initiator ephemeral | initiator node key
//   2. responder → initiator: version | responder ephemeral | responder node key | signature
//      of "anwang/handshake/v1\0" | message 1 | responder ephemeral | responder node key
//   3. initiator → responder: signature of that transcript | the responder's signature
// A wrong network, a node the local `accept_peer` refuses (not enrolled), a bad signature, or a
// replayed or altered message fails the handshake: its fresh ephemeral keys make every
// transcript unique. Session keys are BLAKE2b of the X25519 secret and the whole transcript, one
// per direction, for crypto_secretstream.
//
// Secrets: the ephemeral secret is wiped as soon as the X25519 secret is computed, that one and
// every key derived from it as soon as the session keys are, the session keys by forget_keys()
// (once the channel holds them) or when the Handshake goes; the channel's states when they go.
//
// Versions (net/PROTOCOL.md): the first byte of messages 1 and 2. An initiator says hello in one
// version; a responder answers in the hello's version if it speaks it (kWireVersionOldest up to
// its own), so a node of this release still syncs with one of the previous releases either way.
// A responder of version 3 or later that refuses a hello of version 3 or later tells the
// initiator why in a plain frame (kPlainRefusal, then one sentence) instead of message 2 — in
// version 4 only that the network differs, nothing of itself; a version-2 peer is refused as
// before, by closing the connection.
//
// Handshake, ChannelSender and ChannelReceiver are owned by one connection, used by one thread.
// Randomness (the ephemeral seed) is passed in, so the simulator can fix it.
#pragma once

#include <sodium.h>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crdt/keys.h"
#include "crdt/status.h"

namespace anwang::net {

// Wire protocol versions this release speaks: 2 and 3, those of the previous releases (3 adds the
// clock, key-head and refusal messages of a session, node/sync.cpp), and 4, whose handshake hides
// both node keys (a version-4 session is a version-3 one once the channel is up).
inline constexpr std::uint8_t kWireVersionOldest = 2;
inline constexpr std::uint8_t kWireVersionLatest = 4;
// The first version whose handshake hides the node keys.
inline constexpr std::uint8_t kWireVersionHidden = 4;
// The first byte of a plain frame that refuses a hello of version 3 or later (never a version
// number); in version 4 also the first byte of a refusal sealed in message 4.
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
  void wipe() {
    sodium_memzero(send.data(), send.size());
    sodium_memzero(receive.data(), receive.size());
  }
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
  // Wipes the session keys (keys().peer stays), once the channel has taken them.
  void forget_keys();
  // The session's version: the hello's, once message 1 (responder) or 2 (initiator) is accepted.
  std::uint8_t version() const { return version_; }
  // Responder: after refusing the hello of a peer that speaks version 3 or later, the plain frame
  // to send it (kPlainRefusal, then why); empty otherwise.
  const Bytes& refusal() const { return refusal_; }
  // Initiator: the responder refused the hello with a plain refusal frame (it speaks version 3).
  bool refused_by_peer() const { return refused_by_peer_; }
  // Initiator: the responder has answered the hello (with message 2, or a refusal).
  bool hello_answered() const { return hello_answered_; }

  // Tests only: the buffers that hold or held secrets (the ephemeral secret, the X25519 secret
  // and the session keys), to check they are wiped.
  std::vector<ByteView> secret_buffers_for_test() const;

 private:
  Result<Bytes> step(ByteView message);
  Status derive(ByteView peer_ephemeral, ByteView transcript);
  // Version 4.
  Result<Bytes> answer_hello_v4(ByteView message);
  Result<Bytes> on_reply_v4(ByteView message);
  Result<Bytes> on_identity_v4(ByteView message);
  Result<Bytes> on_answer_v4(ByteView message);
  Status compute_shared(ByteView peer_ephemeral);
  std::array<std::uint8_t, 32> key_for(std::string_view label) const;
  Bytes seal(std::string_view label, ByteView plaintext) const;
  Result<Bytes> open(std::string_view label, ByteView ciphertext) const;
  void wipe_secrets();
  Role role_;
  const KeyPair& node_key_;
  Hash32 network_;
  AcceptPeer accept_peer_;
  std::array<std::uint8_t, 32> ephemeral_public_{};
  std::array<std::uint8_t, 32> ephemeral_secret_{};
  std::array<std::uint8_t, 32> shared_{};  // version 4: X25519(ephemerals), until the session keys
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
  ChannelSender() = default;
  ChannelSender(const ChannelSender&) = delete;
  ChannelSender& operator=(const ChannelSender&) = delete;
  ~ChannelSender() { sodium_memzero(&state_, sizeof state_); }
  // Returns the stream header, to send first.
  Bytes start(const std::array<std::uint8_t, 32>& key);
  Bytes seal(ByteView plaintext);

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
};

class ChannelReceiver {
 public:
  ChannelReceiver() = default;
  ChannelReceiver(const ChannelReceiver&) = delete;
  ChannelReceiver& operator=(const ChannelReceiver&) = delete;
  ~ChannelReceiver() { sodium_memzero(&state_, sizeof state_); }
  Status start(const std::array<std::uint8_t, 32>& key, ByteView header);
  Result<Bytes> open(ByteView ciphertext);

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
  bool started_ = false;
};

}  // namespace anwang::net
