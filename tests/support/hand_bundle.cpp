#include "support/hand_bundle.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "crdt/hash.h"

namespace anwang::test {

namespace {

// BLAKE2b-256(label | X25519 | ephemeral | recipient [| sender]): version 2 adds the sender.
std::array<std::uint8_t, 32> stream_key(std::uint32_t version, ByteView shared, ByteView ephemeral,
                                        const PublicKey& recipient, const PublicKey& sender) {
  Blake2b hasher;
  hasher.update(std::string_view(version == 1 ? "anwang/bundle/v1" : "anwang/bundle/v2"));
  hasher.update(shared);
  hasher.update(ephemeral);
  hasher.update(recipient.view());
  if (version != 1) hasher.update(sender.view());
  return hasher.finish().bytes;
}

}  // namespace

HandBundle::HandBundle(const PublicKey& recipient, const PublicKey& sender, const KeyPair& signer, std::uint32_t version) {
  auto x_recipient = x25519_public(recipient);
  if (!x_recipient) throw std::runtime_error("the recipient key has no X25519 form");
  std::array<std::uint8_t, 32> eph_pk{}, eph_sk{}, shared{};
  crypto_box_keypair(eph_pk.data(), eph_sk.data());
  if (crypto_scalarmult(shared.data(), eph_sk.data(), x_recipient->data()) != 0) throw std::runtime_error("X25519 failed");
  auto key = stream_key(version, shared, eph_pk, recipient, sender);
  const char magic[8] = {'A', 'N', 'W', 'A', 'N', 'G', 'B', 'N'};
  header_.assign(magic, magic + 8);
  append_u32_le(header_, version);
  header_.insert(header_.end(), recipient.bytes.begin(), recipient.bytes.end());
  header_.insert(header_.end(), sender.bytes.begin(), sender.bytes.end());
  header_.insert(header_.end(), eph_pk.begin(), eph_pk.end());
  std::size_t at = header_.size();
  header_.resize(at + crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  crypto_secretstream_xchacha20poly1305_init_push(&state_, header_.data() + at, key.data());
  if (version != 1) {
    // The signature over "anwang/bundle/v2\0" and every header byte before it.
    Bytes message(17, 0);
    std::memcpy(message.data(), "anwang/bundle/v2", 16);
    message.insert(message.end(), header_.begin(), header_.end());
    Signature signature = signer.sign(message);
    header_.insert(header_.end(), signature.begin(), signature.end());
  }
  file_ = header_;
}

void HandBundle::add_record(std::uint8_t type, const Bytes& body, bool final) {
  Bytes plain{type};
  plain.insert(plain.end(), body.begin(), body.end());
  Bytes cipher(plain.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long cipher_len = 0;
  crypto_secretstream_xchacha20poly1305_push(&state_, cipher.data(), &cipher_len, plain.data(), plain.size(),
                                             header_.data(), header_.size(),
                                             final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  append_u32_le(file_, static_cast<std::uint32_t>(cipher_len));
  file_.insert(file_.end(), cipher.begin(), cipher.begin() + static_cast<std::ptrdiff_t>(cipher_len));
  record_ends_.push_back(file_.size());
}

void HandBundle::add_op(const Bytes& op) {
  add_record(1, op, false);
  ++ops_;
}

void HandBundle::add_blob(const Bytes& data, const std::string& media_type) {
  Hash32 hash = blake2b_256(data);
  Bytes begin(hash.bytes.begin(), hash.bytes.end());
  append_u64_be(begin, data.size());
  begin.insert(begin.end(), media_type.begin(), media_type.end());
  add_record(2, begin, false);
  add_record(3, data, false);
}

void HandBundle::add_end() {
  Bytes count;
  append_u64_be(count, ops_);
  add_record(4, count, true);
}

void HandBundle::write(const std::filesystem::path& file) const {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(file_.data()), static_cast<std::streamsize>(file_.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace anwang::test
