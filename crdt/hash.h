// hash.h — BLAKE2b-256 (libsodium crypto_generichash), the only hash anwang uses.
//
// Op ids, object ids, blob hashes and store digests are all BLAKE2b-256. Pure functions;
// Blake2b (the incremental hasher) is a value owned by one thread at a time.
#pragma once

#include <sodium.h>

#include <string_view>

#include "crdt/bytes.h"

namespace anwang {

Hash32 blake2b_256(ByteView data);

// Incremental hasher for long inputs (store digests, blobs).
class Blake2b {
 public:
  Blake2b();
  void update(ByteView data);
  void update(std::string_view text) { update(as_bytes(text)); }
  Hash32 finish();

 private:
  crypto_generichash_state state_;
};

// Id of an object named by kind and name ("region", "150430100"): every node computes the
// same id for the same jurisdiction, so concurrent definitions land on one object.
Hash32 named_object_id(std::string_view kind, std::string_view name);

// Id of an object created by an author's op number `author_seq` (a note, later a hazard).
Hash32 authored_object_id(const Hash32& author, std::uint64_t author_seq);

}  // namespace anwang
