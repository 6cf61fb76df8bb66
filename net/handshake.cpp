#include "net/handshake.h"

#include <cstring>

#include "crdt/hash.h"

namespace anwang::net {

namespace {

// 2: reconciliation v2, attachments as reconciliation items, not-ops replies, batched commits.
constexpr std::uint8_t kVersion = 2;
constexpr std::string_view kContext("anwang/handshake/v1\0", 20);
constexpr std::size_t kMessage1Bytes = 1 + 32 + 32 + 32;
constexpr std::size_t kMessage2Bytes = 1 + 32 + 32 + crypto_sign_BYTES;
constexpr std::size_t kMessage3Bytes = crypto_sign_BYTES;

Status refused(std::string why) { return Status::error(Status::Code::kRefused, "handshake refused: " + why); }

void append(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

}  // namespace

Handshake::Handshake(Role role, const KeyPair& node_key, const Hash32& network,
                     const std::array<std::uint8_t, 32>& ephemeral_seed, AcceptPeer accept_peer)
    : role_(role), node_key_(node_key), network_(network), accept_peer_(std::move(accept_peer)) {
  crypto_box_seed_keypair(ephemeral_public_.data(), ephemeral_secret_.data(), ephemeral_seed.data());
  transcript_.assign(kContext.begin(), kContext.end());
}

Handshake::~Handshake() { sodium_memzero(ephemeral_secret_.data(), ephemeral_secret_.size()); }

Bytes Handshake::start() {
  Bytes message{kVersion};
  append(message, network_.view());
  append(message, ephemeral_public_);
  append(message, node_key_.public_key().view());
  append(transcript_, message);
  step_ = 1;
  return message;
}

Status Handshake::derive(ByteView peer_ephemeral, ByteView transcript) {
  std::array<std::uint8_t, 32> shared{};
  if (crypto_scalarmult(shared.data(), ephemeral_secret_.data(), peer_ephemeral.data()) != 0)
    return refused("the peer's ephemeral key is invalid");
  Hash32 transcript_hash = blake2b_256(transcript);
  auto direction = [&](std::string_view label) {
    std::array<std::uint8_t, 32> key{};
    crypto_generichash_state state;
    crypto_generichash_init(&state, shared.data(), shared.size(), key.size());
    crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
    crypto_generichash_update(&state, transcript_hash.bytes.data(), transcript_hash.bytes.size());
    crypto_generichash_final(&state, key.data(), key.size());
    return key;
  };
  SessionKeys keys;
  keys.peer = peer_;
  bool initiator = role_ == Role::kInitiator;
  keys.send = direction(initiator ? "initiator->responder" : "responder->initiator");
  keys.receive = direction(initiator ? "responder->initiator" : "initiator->responder");
  sodium_memzero(shared.data(), shared.size());
  keys_ = keys;
  return Status::ok();
}

namespace {

std::string other_version(std::uint8_t theirs) {
  return "the peer speaks anwang wire protocol version " + std::to_string(theirs) + " and this node version " +
         std::to_string(kVersion) + ": run the same anwang release on both nodes";
}

}  // namespace

Result<Bytes> Handshake::on_message(ByteView message) {
  if (role_ == Role::kResponder && step_ == 0) {
    if (!message.empty() && message[0] != kVersion) return refused(other_version(message[0]));
    if (message.size() != kMessage1Bytes) return refused("malformed first message");
    if (Hash32::from_view(message.subspan(1, 32)) != network_) return refused("the peer belongs to another network");
    peer_ = *Hash32::from_view(message.subspan(65, 32));
    if (Status s = accept_peer_(peer_); !s) return refused(s.message());
    peer_ephemeral_.assign(message.begin() + 33, message.begin() + 65);
    append(transcript_, message);
    Bytes reply{kVersion};
    append(reply, ephemeral_public_);
    append(reply, node_key_.public_key().view());
    append(transcript_, ByteView(reply.data() + 1, 64));
    Signature signature = node_key_.sign(transcript_);
    append(reply, signature);
    append(transcript_, signature);
    step_ = 2;
    return reply;
  }
  if (role_ == Role::kInitiator && step_ == 1) {
    if (!message.empty() && message[0] != kVersion) return refused(other_version(message[0]));
    if (message.size() != kMessage2Bytes) return refused("malformed second message");
    peer_ = *Hash32::from_view(message.subspan(33, 32));
    append(transcript_, message.subspan(1, 64));
    if (!verify_signature(peer_, transcript_, message.subspan(65, crypto_sign_BYTES)))
      return refused("the responder's signature does not verify");
    if (Status s = accept_peer_(peer_); !s) return refused(s.message());
    append(transcript_, message.subspan(65, crypto_sign_BYTES));
    Signature signature = node_key_.sign(transcript_);
    append(transcript_, signature);
    if (Status s = derive(message.subspan(1, 32), transcript_); !s) return s;
    step_ = 3;
    return Bytes(signature.begin(), signature.end());
  }
  if (role_ == Role::kResponder && step_ == 2) {
    if (message.size() != kMessage3Bytes) return refused("malformed third message");
    if (!verify_signature(peer_, transcript_, message)) return refused("the initiator's signature does not verify");
    append(transcript_, message);
    if (Status s = derive(peer_ephemeral_, transcript_); !s) return s;
    step_ = 3;
    return Bytes{};
  }
  return refused("unexpected message");
}

Bytes ChannelSender::start(const std::array<std::uint8_t, 32>& key) {
  Bytes header(crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  crypto_secretstream_xchacha20poly1305_init_push(&state_, header.data(), key.data());
  return header;
}

Bytes ChannelSender::seal(ByteView plaintext) {
  Bytes out(plaintext.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long length = 0;
  crypto_secretstream_xchacha20poly1305_push(&state_, out.data(), &length, plaintext.data(), plaintext.size(), nullptr, 0,
                                             0);
  out.resize(length);
  return out;
}

Status ChannelReceiver::start(const std::array<std::uint8_t, 32>& key, ByteView header) {
  if (header.size() != crypto_secretstream_xchacha20poly1305_HEADERBYTES ||
      crypto_secretstream_xchacha20poly1305_init_pull(&state_, header.data(), key.data()) != 0)
    return Status::error(Status::Code::kRefused, "the peer's channel header is invalid");
  started_ = true;
  return Status::ok();
}

Result<Bytes> ChannelReceiver::open(ByteView ciphertext) {
  if (!started_ || ciphertext.size() < crypto_secretstream_xchacha20poly1305_ABYTES)
    return Status::error(Status::Code::kRefused, "the peer sent an invalid frame");
  Bytes out(ciphertext.size() - crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long length = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_, out.data(), &length, &tag, ciphertext.data(), ciphertext.size(),
                                                 nullptr, 0) != 0)
    return Status::error(Status::Code::kRefused, "a frame from the peer was altered (authentication failed)");
  out.resize(length);
  return out;
}

}  // namespace anwang::net
