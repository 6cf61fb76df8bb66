#include "net/handshake.h"

#include <cassert>
#include <cstring>

#include "crdt/hash.h"
#include "crdt/limits.h"

namespace anwang::net {

namespace {

// 2: reconciliation v2, attachments as reconciliation items, not-ops replies, batched commits.
// 3: the same, and each side's clock and key heads first, and refusals that say why.
// 4: the same session as 3 after a handshake that hides both node keys.
constexpr std::string_view kContext("anwang/handshake/v1\0", 20);
constexpr std::size_t kMessage1Bytes = 1 + 32 + 32 + 32;
constexpr std::size_t kMessage2Bytes = 1 + 32 + 32 + crypto_sign_BYTES;
constexpr std::size_t kMessage3Bytes = crypto_sign_BYTES;

// Version 4 (net/PROTOCOL.md, "Handshake").
constexpr std::string_view kContextV4("anwang/handshake/v4\0", 20);
constexpr std::string_view kHelloLabel("anwang/handshake/v4 hello\0", 26);
constexpr std::string_view kInitiatorSigned("anwang/handshake/v4 initiator\0", 30);
constexpr std::string_view kResponderSigned("anwang/handshake/v4 responder\0", 30);
constexpr std::string_view kInitiatorSealed("initiator identity");
constexpr std::string_view kResponderSealed("responder identity");
constexpr std::size_t kSealBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kV4Message1Bytes = 1 + 32 + 32;
constexpr std::size_t kV4Message2Bytes = 1 + 32;
constexpr std::size_t kV4Message3Bytes = 32 + crypto_sign_BYTES + kSealBytes;
constexpr std::uint8_t kV4Accept = 1;  // message 4's first byte (sealed): key and signature follow
constexpr std::size_t kV4Message4Bytes = 1 + 32 + crypto_sign_BYTES + kSealBytes;
static_assert(kV4Message4Bytes <= limits::handshake_frame_bytes_max);
static_assert(kMessage2Bytes <= limits::handshake_frame_bytes_max);

Status refused(std::string why) { return Status::error(Status::Code::kRefused, "handshake refused: " + why); }

void append(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }
void append(Bytes& out, std::string_view text) {
  out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(text.data()),
             reinterpret_cast<const std::uint8_t*>(text.data()) + text.size());
}

// Message 1's network tag: BLAKE2b-256 keyed with the network id over kHelloLabel ‖ 04 ‖ ephemeral.
Hash32 hello_tag(const Hash32& network, ByteView version_and_ephemeral) {
  Hash32 tag;
  crypto_generichash_state state;
  crypto_generichash_init(&state, network.bytes.data(), network.bytes.size(), tag.bytes.size());
  crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(kHelloLabel.data()), kHelloLabel.size());
  crypto_generichash_update(&state, version_and_ephemeral.data(), version_and_ephemeral.size());
  crypto_generichash_final(&state, tag.bytes.data(), tag.bytes.size());
  sodium_memzero(&state, sizeof state);
  return tag;
}

// What a version-4 signature covers: label ‖ BLAKE2b-256(transcript) ‖ the signer's node key.
Bytes signed_part(std::string_view label, ByteView transcript, const PublicKey& signer) {
  Bytes out;
  append(out, label);
  append(out, blake2b_256(transcript).view());
  append(out, signer.view());
  return out;
}

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
}

Handshake::~Handshake() {
  wipe_secrets();
  forget_keys();
}

void Handshake::wipe_secrets() {
  sodium_memzero(ephemeral_secret_.data(), ephemeral_secret_.size());
  sodium_memzero(shared_.data(), shared_.size());
}

void Handshake::forget_keys() {
  if (keys_) keys_->wipe();
}

std::vector<ByteView> Handshake::secret_buffers_for_test() const {
  std::vector<ByteView> out{ByteView(ephemeral_secret_), ByteView(shared_)};
  if (keys_) {
    out.push_back(ByteView(keys_->send));
    out.push_back(ByteView(keys_->receive));
  }
  return out;
}

Bytes Handshake::start() {
  Bytes message{version_};
  if (version_ >= kWireVersionHidden) {
    append(transcript_, kContextV4);
    append(transcript_, network_.view());
    append(message, ephemeral_public_);
    append(message, hello_tag(network_, message).view());
  } else {
    append(transcript_, kContext);
    append(message, network_.view());
    append(message, ephemeral_public_);
    append(message, node_key_.public_key().view());
  }
  append(transcript_, message);
  step_ = 1;
  return message;
}

Status Handshake::derive(ByteView peer_ephemeral, ByteView transcript) {
  bool initiator = role_ == Role::kInitiator;
  if (version_ >= kWireVersionHidden) {
    // Keyed with the X25519 secret and the network id, over the whole transcript.
    keys_.emplace();
    keys_->peer = peer_;
    keys_->send = key_for(initiator ? "initiator->responder" : "responder->initiator");
    keys_->receive = key_for(initiator ? "responder->initiator" : "initiator->responder");
    wipe_secrets();
    return Status::ok();
  }
  std::array<std::uint8_t, 32> shared{};
  if (crypto_scalarmult(shared.data(), ephemeral_secret_.data(), peer_ephemeral.data()) != 0) {
    wipe_secrets();
    return refused("the peer's ephemeral key is invalid");
  }
  Hash32 transcript_hash = blake2b_256(transcript);
  auto direction = [&](std::string_view label) {
    std::array<std::uint8_t, 32> key{};
    crypto_generichash_state state;
    crypto_generichash_init(&state, shared.data(), shared.size(), key.size());
    crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
    crypto_generichash_update(&state, transcript_hash.bytes.data(), transcript_hash.bytes.size());
    crypto_generichash_final(&state, key.data(), key.size());
    sodium_memzero(&state, sizeof state);
    return key;
  };
  SessionKeys keys;
  keys.peer = peer_;
  keys.send = direction(initiator ? "initiator->responder" : "responder->initiator");
  keys.receive = direction(initiator ? "responder->initiator" : "initiator->responder");
  sodium_memzero(shared.data(), shared.size());
  keys_.emplace(keys);
  keys.wipe();
  wipe_secrets();
  return Status::ok();
}

// Version 4.

Status Handshake::compute_shared(ByteView peer_ephemeral) {
  int rc = crypto_scalarmult(shared_.data(), ephemeral_secret_.data(), peer_ephemeral.data());
  sodium_memzero(ephemeral_secret_.data(), ephemeral_secret_.size());  // needed for nothing else
  if (rc != 0) return refused("the peer's ephemeral key is invalid");
  return Status::ok();
}

// BLAKE2b-256 keyed with the X25519 secret ‖ the network id, over `label` ‖ BLAKE2b-256(transcript).
std::array<std::uint8_t, 32> Handshake::key_for(std::string_view label) const {
  std::array<std::uint8_t, 64> key{};
  std::copy(shared_.begin(), shared_.end(), key.begin());
  std::copy(network_.bytes.begin(), network_.bytes.end(), key.begin() + 32);
  Hash32 transcript_hash = blake2b_256(transcript_);
  std::array<std::uint8_t, 32> out{};
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), key.size(), out.size());
  crypto_generichash_update(&state, reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
  crypto_generichash_update(&state, transcript_hash.bytes.data(), transcript_hash.bytes.size());
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
  sodium_memzero(key.data(), key.size());
  return out;
}

// XChaCha20-Poly1305 under key_for(label), a zero nonce (each key seals one message) and
// BLAKE2b-256(transcript) as additional data.
Bytes Handshake::seal(std::string_view label, ByteView plaintext) const {
  auto key = key_for(label);
  Hash32 ad = blake2b_256(transcript_);
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  Bytes out(plaintext.size() + kSealBytes);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &length, plaintext.data(), plaintext.size(), ad.bytes.data(),
                                             ad.bytes.size(), nullptr, nonce.data(), key.data());
  sodium_memzero(key.data(), key.size());
  out.resize(length);
  return out;
}

Result<Bytes> Handshake::open(std::string_view label, ByteView ciphertext) const {
  if (ciphertext.size() < kSealBytes) return refused("malformed sealed message");
  auto key = key_for(label);
  Hash32 ad = blake2b_256(transcript_);
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  Bytes out(ciphertext.size() - kSealBytes);
  unsigned long long length = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &length, nullptr, ciphertext.data(), ciphertext.size(),
                                                      ad.bytes.data(), ad.bytes.size(), nonce.data(), key.data());
  sodium_memzero(key.data(), key.size());
  if (rc != 0)
    return refused("a sealed message does not open: the peer belongs to another network, or the message was altered "
                   "or replayed");
  out.resize(length);
  return out;
}

// Responder, message 1: checks the network tag; answers with its ephemeral alone.
Result<Bytes> Handshake::answer_hello_v4(ByteView message) {
  if (message.size() != kV4Message1Bytes) return refused("malformed first message");
  if (sodium_memcmp(hello_tag(network_, message.first(33)).bytes.data(), message.data() + 33, 32) != 0) {
    // Useful to an honest node set up for another network, and says nothing of this node.
    std::string sentence = "the node dialled belongs to another anwang network than this one: check the address";
    refusal_.assign(1, kPlainRefusal);
    append(refusal_, std::string_view(sentence));
    return refused("the peer belongs to another network");
  }
  version_ = message[0];
  append(transcript_, kContextV4);
  append(transcript_, network_.view());
  append(transcript_, message);
  Bytes reply{version_};
  append(reply, ephemeral_public_);
  append(transcript_, reply);
  if (Status s = compute_shared(message.subspan(1, 32)); !s) return s;
  step_ = 2;
  return reply;
}

// Initiator, message 2: seals its node key and its signature of the transcript (message 3).
Result<Bytes> Handshake::on_reply_v4(ByteView message) {
  if (message.size() != kV4Message2Bytes) return refused("malformed second message");
  append(transcript_, message);
  if (Status s = compute_shared(message.subspan(1, 32)); !s) return s;
  const PublicKey& mine = node_key_.public_key();
  Signature signature = node_key_.sign(signed_part(kInitiatorSigned, transcript_, mine));
  Bytes plain;
  append(plain, mine.view());
  append(plain, signature);
  Bytes sealed = seal(kInitiatorSealed, plain);
  append(transcript_, plain);
  step_ = 3;
  return sealed;
}

// Responder, message 3: opens the initiator's key and signature, checks both and the
// enrolment; only then seals its own (message 4), or why it refuses a proved but refused node.
Result<Bytes> Handshake::on_identity_v4(ByteView message) {
  if (message.size() != kV4Message3Bytes) return refused("malformed third message");
  auto plain = open(kInitiatorSealed, message);
  if (!plain) return plain.status();
  peer_ = *Hash32::from_view(ByteView(*plain).first(32));
  ByteView signature = ByteView(*plain).subspan(32, crypto_sign_BYTES);
  if (!verify_signature(peer_, signed_part(kInitiatorSigned, transcript_, peer_), signature))
    return refused("the initiator's signature does not verify");
  append(transcript_, *plain);
  if (Status s = accept_peer_(peer_); !s) {
    // The initiator proved its key: it may hear why, sealed, and still nothing of this node.
    Bytes why{kPlainRefusal};
    append(why, std::string_view(cut_sentence(s.message(), limits::handshake_frame_bytes_max - kSealBytes - 1)));
    refusal_ = seal(kResponderSealed, why);
    return refused(s.message());
  }
  const PublicKey& mine = node_key_.public_key();
  Signature mine_signed = node_key_.sign(signed_part(kResponderSigned, transcript_, mine));
  Bytes reply_plain{kV4Accept};
  append(reply_plain, mine.view());
  append(reply_plain, mine_signed);
  Bytes sealed = seal(kResponderSealed, reply_plain);
  append(transcript_, ByteView(reply_plain).subspan(1));
  if (Status s = derive(ByteView(), transcript_); !s) return s;
  step_ = 4;
  return sealed;
}

// Initiator, message 4: opens the responder's key and signature (or its refusal), checks them.
Result<Bytes> Handshake::on_answer_v4(ByteView message) {
  auto plain = open(kResponderSealed, message);
  if (!plain) return plain.status();
  if (!plain->empty() && (*plain)[0] == kPlainRefusal) {
    refused_by_peer_ = true;
    wipe_secrets();
    return Status::error(Status::Code::kRefused, "refused by the peer: " + refusal_sentence(ByteView(*plain).subspan(1)));
  }
  if (message.size() != kV4Message4Bytes || (*plain)[0] != kV4Accept) return refused("malformed fourth message");
  peer_ = *Hash32::from_view(ByteView(*plain).subspan(1, 32));
  if (!verify_signature(peer_, signed_part(kResponderSigned, transcript_, peer_),
                        ByteView(*plain).subspan(33, crypto_sign_BYTES)))
    return refused("the responder's signature does not verify");
  if (Status s = accept_peer_(peer_); !s) return refused(s.message());
  append(transcript_, ByteView(*plain).subspan(1));
  if (Status s = derive(ByteView(), transcript_); !s) return s;
  step_ = 4;
  return Bytes{};
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
  auto result = step(message);
  if (!result) wipe_secrets();  // a failed handshake keeps nothing secret
  return result;
}

Result<Bytes> Handshake::step(ByteView message) {
  if (role_ == Role::kResponder && step_ == 0) {
    if (!message.empty() && (message[0] < kWireVersionOldest || message[0] > version_))
      return refused(other_version(message[0], version_));
    if (!message.empty() && message[0] >= kWireVersionHidden) return answer_hello_v4(message);
    transcript_.assign(kContext.begin(), kContext.end());
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
    version_ = message[0];  // accept_peer_ may ask (a downgrade)
    if (Status s = accept_peer_(peer_); !s) return refuse(s.message(), s.message());
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
    if (version_ >= kWireVersionHidden) return on_reply_v4(message);
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
  if (role_ == Role::kResponder && step_ == 2 && version_ >= kWireVersionHidden) return on_identity_v4(message);
  if (role_ == Role::kInitiator && step_ == 3 && version_ >= kWireVersionHidden) return on_answer_v4(message);
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
