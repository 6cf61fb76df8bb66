#include "crdt/keys.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>

#include "crdt/hash.h"

namespace anwang {

namespace {

std::atomic<SignatureMemo*> installed_memo{nullptr};

// A signature's memo entry: BLAKE2b(key ‖ signature ‖ message).
Hash32 signature_entry(const PublicKey& key, ByteView signature, ByteView message) {
  Blake2b hasher;
  hasher.update(key.view());
  hasher.update(signature);
  hasher.update(message);
  return hasher.finish();
}

}  // namespace

KeyPair KeyPair::from_seed(ByteView seed) {
  assert(seed.size() == kSeedBytes);
  KeyPair pair;
  crypto_sign_seed_keypair(pair.public_key_.bytes.data(), pair.secret_.data(), seed.data());
  return pair;
}

KeyPair::KeyPair(KeyPair&& other) noexcept : public_key_(other.public_key_), secret_(other.secret_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_ = other.secret_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

KeyPair::~KeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

Signature KeyPair::sign(ByteView message) const {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_.data());
  // A signature made with a secret key under the public key it holds (libsodium's secret key
  // ends with it) verifies by construction; a moved-from pair's secret is wiped, so it is not.
  if (SignatureMemo* memo = signature_memo();
      memo != nullptr && !sodium_is_zero(secret_.data(), secret_.size()) &&
      std::equal(public_key_.bytes.begin(), public_key_.bytes.end(), secret_.begin() + crypto_sign_SEEDBYTES))
    memo->insert(signature_entry(public_key_, signature, message));
  return signature;
}

std::array<std::uint8_t, KeyPair::kSeedBytes> KeyPair::seed() const {
  std::array<std::uint8_t, kSeedBytes> out{};
  crypto_sign_ed25519_sk_to_seed(out.data(), secret_.data());
  return out;
}

std::array<std::uint8_t, 32> KeyPair::x25519_secret() const {
  std::array<std::uint8_t, 32> out{};
  crypto_sign_ed25519_sk_to_curve25519(out.data(), secret_.data());
  return out;
}

std::optional<std::array<std::uint8_t, 32>> x25519_public(const PublicKey& key) {
  std::array<std::uint8_t, 32> out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), key.bytes.data()) != 0) return std::nullopt;
  return out;
}

bool SignatureMemo::contains(const Hash32& entry) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.count(entry) != 0;
}

void SignatureMemo::insert(const Hash32& entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= capacity_) entries_.clear();
  entries_.insert(entry);
}

std::size_t SignatureMemo::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void SignatureMemo::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

void set_signature_memo(SignatureMemo* memo) { installed_memo.store(memo); }

SignatureMemo* signature_memo() { return installed_memo.load(); }

bool verify_signature(const PublicKey& key, ByteView message, ByteView signature) {
  if (signature.size() != crypto_sign_BYTES) return false;
  SignatureMemo* memo = signature_memo();
  Hash32 entry;
  if (memo) {
    entry = signature_entry(key, signature, message);
    if (memo->contains(entry)) return true;
  }
  bool valid = crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.bytes.data()) == 0;
  if (valid && memo) memo->insert(entry);
  return valid;
}

std::string key_fingerprint(const PublicKey& key) {
  Hash32 digest = blake2b_256(key.view());
  std::string hex = to_hex(ByteView(digest.bytes.data(), 8));
  return hex.substr(0, 4) + "-" + hex.substr(4, 4) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4);
}

}  // namespace anwang
