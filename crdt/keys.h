// keys.h — Ed25519 keys (libsodium) for people and nodes.
//
// A KeyPair is built from a 32-byte seed; where the seed comes from (randomness, a file) is the
// caller's business, so this stays pure. The secret half lives in one place and is wiped with
// sodium_memzero when the KeyPair dies; KeyPair is move-only. Thread-compatible.
#pragma once

#include <sodium.h>

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "crdt/bytes.h"

namespace anwang {

using PublicKey = Hash32;  // 32 bytes, ordered bytewise like every other id
using Signature = std::array<std::uint8_t, crypto_sign_BYTES>;

class KeyPair {
 public:
  static constexpr std::size_t kSeedBytes = crypto_sign_SEEDBYTES;

  // REQUIRES: seed.size() == kSeedBytes.
  static KeyPair from_seed(ByteView seed);

  KeyPair(KeyPair&& other) noexcept;
  KeyPair& operator=(KeyPair&& other) noexcept;
  KeyPair(const KeyPair&) = delete;
  KeyPair& operator=(const KeyPair&) = delete;
  ~KeyPair();

  const PublicKey& public_key() const { return public_key_; }
  Signature sign(ByteView message) const;
  // The seed, for writing a key file. The caller wipes its copy.
  std::array<std::uint8_t, kSeedBytes> seed() const;
  // The X25519 secret matching this key (for decrypting what was encrypted to it). The caller
  // wipes its copy.
  std::array<std::uint8_t, 32> x25519_secret() const;

 private:
  KeyPair() = default;
  PublicKey public_key_;
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> secret_{};
};

bool verify_signature(const PublicKey& key, ByteView message, ByteView signature);

// Signatures known to be valid, consulted by verify_signature. A node has no use for one: it
// checks each op once, when the op arrives. The simulator runs a whole county's nodes in one
// process, where every node would check every op again; it installs a memo so that no valid
// signature costs an Ed25519 check more than once per process, and one the process made itself
// none (KeyPair::sign, under the pair's own public key, which its secret key holds): an Ed25519
// signature verifies under the key that made it, by construction. Entries are
// BLAKE2b(key ‖ signature ‖ message), so only the exact bytes signed or checked match: a message
// formed differently by the verifier, another key claimed as author, a forged, damaged or
// bit-flipped op or handshake is always checked by libsodium, every time it is seen. Op decoding
// remembers, in the same memo, the ids of op bytes that passed every check (see
// verified_op_entry in op.cpp), and skips the checks when it meets the same bytes again.
// Thread-safe.
class SignatureMemo {
 public:
  explicit SignatureMemo(std::size_t capacity) : capacity_(capacity) {}
  bool contains(const Hash32& entry) const;
  void insert(const Hash32& entry);  // forgets everything when full
  void clear();
  std::size_t size() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_set<Hash32> entries_;
};

// Makes verify_signature use `memo` (nullptr: none, the default). The memo must outlive its use.
void set_signature_memo(SignatureMemo* memo);
SignatureMemo* signature_memo();

// The X25519 public key matching an Ed25519 key; nullopt for a key that has none.
std::optional<std::array<std::uint8_t, 32>> x25519_public(const PublicKey& key);

// Short human fingerprint of a public key: "ab12-cd34-ef56-7890" (BLAKE2b of the key).
std::string key_fingerprint(const PublicKey& key);

}  // namespace anwang
