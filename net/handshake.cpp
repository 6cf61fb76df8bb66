#include "net/handshake.h"

#include <cassert>
#include <cstring>

#include "crdt/hash.h"
#include "crdt/limits.h"

namespace anwang::net {

namespace {

// 2: reconciliation v2, attachments as reconciliation items, not-ops replies, batched commits.
// 3: the same, and each side's clock and key heads first, and refusals that say why.
constexpr std::string_view kContext("anwang/handshake/v1\0", 20);
constexpr std::size_t kMessage1Bytes = 1 + 32 + 32 + 32;
constexpr std::size_t kMessage2Bytes = 1 + 32 + 32 + crypto_sign_BYTES;
constexpr std::size_t kMessage3Bytes = crypto_sign_BYTES;

Status refused(std::string why) { return Status::error(Status::Code::kRefused, "handshake refused: " + why); }

void append(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

// The length of the UTF-8 character starting at `text[at]`, or 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
  if (length == 0 || at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i)
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
  return length;
}

}  // namespace

std::string cut_sentence(std::string sentence, std::size_t bytes_max) {
  if (sentence.size() <= bytes_max) return sentence;
  std::size_t at = 0;
  while (at < sentence.size()) {
    std::size_t length = utf8_length(sentence, at);
    if (length == 0) length = 1;
    if (at + length > bytes_max) break;
    at += length;
  }
  sentence.resize(at);
  return sentence;
}

std::string refusal_sentence(ByteView bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::string out;
  for (std::size_t at = 0; at < text.size() && out.size() < limits::refusal_bytes_max;) {
    std::size_t length = utf8_length(text, at);
    if (length == 0) {
      out += '?';
      ++at;
      continue;
    }
    unsigned char lead = static_cast<unsigned char>(text[at]);
    if (length == 1 && (lead < 0x20 || lead == 0x7f))
      out += ' ';
    else
      out.append(text.substr(at, length));
    at += length;
  }
  return cut_sentence(std::move(out), limits::refusal_bytes_max);
}

Handshake::Handshake(Role role, const KeyPair& node_key, const Hash32& network,
                     const std::array<std::uint8_t, 32>& ephemeral_seed, AcceptPeer accept_peer, std::uint8_t version)
    : role_(role), node_key_(node_key), network_(network), accept_peer_(std::move(accept_peer)), version_(version) {
  assert(version >= kWireVersionOldest && version <= kWireVersionLatest);
  crypto_box_seed_keypair(ephemeral_public_.data(), ephemeral_secret_.data(), ephemeral_seed.data());
  transcript_.assign(kContext.begin(), kContext.end());
}

Handshake::~Handshake() { sodium_memzero(ephemeral_secret_.data(), ephemeral_secret_.size()); }

Bytes Handshake::start() {
  Bytes message{version_};
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

// `highest`: the highest version this node speaks (the oldest is kWireVersionOldest).
std::string other_version(std::uint8_t theirs, std::uint8_t highest) {
  std::string ours = highest == kWireVersionOldest ? "version " + std::to_string(highest)
                                                   : "versions " + std::to_string(kWireVersionOldest) + " to " +
                                                         std::to_string(highest);
  return "the peer speaks anwang wire protocol version " + std::to_string(theirs) + " and this node " + ours +
         ": run the same anwang release on both nodes";
}

}  // namespace

Result<Bytes> Handshake::on_message(ByteView message) {
  if (role_ == Role::kResponder && step_ == 0) {
    if (!message.empty() && (message[0] < kWireVersionOldest || message[0] > version_))
      return refused(other_version(message[0], version_));
    if (message.size() != kMessage1Bytes) return refused("malformed first message");
    // A peer that speaks version 3 is told why it is refused from here on (a version-2 one is not:
    // it would not read the frame).
    auto refuse = [&](const std::string& why, const std::string& sentence) -> Status {
      if (message[0] >= 3) {
        refusal_.assign(1, kPlainRefusal);
        std::string text = cut_sentence(sentence, limits::handshake_frame_bytes_max - 1);
        refusal_.insert(refusal_.end(), text.begin(), text.end());
      }
      return refused(why);
    };
    if (Hash32::from_view(message.subspan(1, 32)) != network_)
      return refuse("the peer belongs to another network",
                    "node " + node_key_.public_key().short_hex() + " belongs to network " + network_.short_hex() +
                        ", not to the network the hello names");
    peer_ = *Hash32::from_view(message.subspan(65, 32));
    if (Status s = accept_peer_(peer_); !s) return refuse(s.message(), s.message());
    version_ = message[0];
    peer_ephemeral_.assign(message.begin() + 33, message.begin() + 65);
    append(transcript_, message);
    Bytes reply{version_};
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
    hello_answered_ = true;
    if (version_ >= 3 && !message.empty() && message[0] == kPlainRefusal) {
      refused_by_peer_ = true;
      return Status::error(Status::Code::kRefused,
                           "refused by the peer: " + refusal_sentence(message.subspan(1)));
    }
    if (!message.empty() && message[0] != version_) return refused(other_version(message[0], version_));
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
